"""End to end: every config's smoke variant trains, samples and resumes exactly."""
import importlib.util
import json
import os
import re
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import tensorflow_datasets as tfds

from genjax import checkpoint, data, images, parallel, run, sample, workdir
from genjax.methods import gan as gan_method
from genjax.models import compute
from tests.conftest import ROOT, assert_trees_close, load_config, rewound, smoke


MNIST = data.DataInfo({"image": data.image(28, 1), "label": data.LABEL},
                      [str(i) for i in range(10)])


def params_of(state):
  return state.g.params if hasattr(state, "g") else state.net.params


@pytest.mark.parametrize("name", ["dcgan", "vae"])
def test_smoke_trains_writes_outputs_and_samples(name, tmp_path):
  wd = str(tmp_path / name)
  cfg = smoke(name)
  run.train_and_evaluate(cfg, wd)
  assert workdir.load_config(wd).to_dict() == json.loads(cfg.to_json())
  rows = [json.loads(l) for l in open(os.path.join(wd, "metrics.jsonl"))]
  train_rows = [r for r in rows if any(k.startswith("train/") for k in r)]
  assert [r["step"] for r in train_rows] == [2, 4]
  assert all(r["train/images_per_sec"] > 0 for r in train_rows)
  assert os.listdir(os.path.join(wd, "tensorboard"))
  assert checkpoint.Checkpointer(os.path.join(wd, "checkpoints")).all_steps() == [2, 4]
  png = os.path.join(wd, "samples", "step_000004.png")
  prov = images.read_provenance(png)
  assert prov["step"] == "4" and prov["config_hash"] == workdir.config_hash(cfg)

  out = str(tmp_path / "s.npz")
  imgs, _, _ = sample.sample_workdir(wd, 10, out, grid=str(tmp_path / "g.png"), batch_size=4)
  saved = np.load(out)
  assert saved["images"].shape == (10, 28, 28, 1) and saved["images"].dtype == np.uint8
  assert json.loads(str(saved["provenance"]))["step"] == 4
  assert saved["images"].std() > 0  # not a constant image


@pytest.mark.skipif(importlib.util.find_spec("torch") is None,
                    reason="PyTorch is not installed, so nothing could import it")
def test_tensorboard_scalars_are_written_without_importing_pytorch(tmp_path):
  """tensorboardX imports PyTorch where it is installed (seconds of every
  run's start); genjax's writer keeps it out, and TensorBoard reads the rows."""
  code = ("import sys; from genjax import logging; w = logging.MetricWriter(sys.argv[1]); "
          "w.write(3, {'loss': 0.5}, prefix='train/'); w.close(); print('torch' in sys.modules)")
  proc = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True,
                        text=True, timeout=120, cwd=ROOT)
  assert proc.returncode == 0 and proc.stdout.split() == ["False"], proc.stderr[-2000:]
  from tensorboard.backend.event_processing import event_accumulator
  acc = event_accumulator.EventAccumulator(str(tmp_path / "tensorboard"))
  acc.Reload()
  assert [(e.step, e.value) for e in acc.Scalars("train/loss")] == [(3, 0.5)]


def test_vae_reports_heldout_nats_and_bits_per_dim(tmp_path):
  wd = str(tmp_path / "vae")
  run.train_and_evaluate(smoke("vae", {"evals.heldout.every": 4}), wd)
  rows = [json.loads(l) for l in open(os.path.join(wd, "metrics.jsonl"))]
  ev = [r for r in rows if "eval/nats" in r][-1]
  assert ev["eval/count"] == 500  # the whole held-out split of mnist5k
  np.testing.assert_allclose(ev["eval/bits_per_dim"],
                             ev["eval/nats"] / (28 * 28 * np.log(2)), rtol=1e-6)
  np.testing.assert_allclose(ev["eval/nats"], ev["eval/rec"] + ev["eval/kl"], rtol=1e-5)
  # An untrained Bernoulli decoder is near 784 ln 2 = 543 nats; training lowers it.
  assert 0 < ev["eval/nats"] < 784 * np.log(2)
  assert ev["eval/iwae_k"] == 8 and 0 < ev["eval/iwae_nats"] < ev["eval/nats"]


@pytest.mark.parametrize("name,overrides", [
    ("dcgan", {}),
    ("dcgan", {"gan.loss": "wgan", "gan.gp_weight": 10.0, "gan.n_critic": 2,
               "discriminator.norm": "layer"}),
    ("dcgan", {"gan.loss": "hinge", "gan.r1_weight": 1.0}),
    ("vae", {"model.decoder": "gaussian"}),
])


def test_resume_continues_exactly(name, overrides, tmp_path):
  def config(steps):
    cfg = smoke(name, num_steps=steps, checkpoint_every=2, log_every=1)
    for key, value in overrides.items():
      section, field = key.split(".")
      cfg[section][field] = value
    return cfg

  straight = run.train_and_evaluate(config(4), str(tmp_path / "a"))
  resumed = run.train_and_evaluate(config(4), rewound(str(tmp_path / "a"), 2,
                                                      str(tmp_path / "b")))
  assert int(resumed.step) == 4
  assert_trees_close(straight, resumed, rtol=1e-6, atol=1e-7)


def test_resume_with_a_changed_config_is_refused(tmp_path):
  wd = str(tmp_path / "r")
  run.train_and_evaluate(smoke("dcgan", num_steps=2), wd)
  cfg = smoke("dcgan", num_steps=2)
  cfg.gan.loss = "hinge"
  with pytest.raises(ValueError, match="keys differ: gan.loss"):
    run.train_and_evaluate(cfg, wd)


def test_cpu_scheduler_changes_no_numbers_and_may_change_on_resume(tmp_path):
  straight = run.train_and_evaluate(smoke("vae", num_steps=4, checkpoint_every=2),
                                    str(tmp_path / "a"))
  wd = str(tmp_path / "b")
  run.train_and_evaluate(smoke("vae", num_steps=2, checkpoint_every=2, cpu_scheduler="default"), wd)
  resumed = run.train_and_evaluate(smoke("vae", num_steps=4, checkpoint_every=2), wd)
  assert int(resumed.step) == 4
  assert_trees_close(straight, resumed, rtol=1e-6, atol=1e-7)


def test_cpu_step_options_and_unknown_ones_are_clear_errors(monkeypatch):
  monkeypatch.delenv("XLA_FLAGS", raising=False)  # no level of the user's: genjax's
  assert parallel.step_compiler_options(smoke("vae").train) == {
      "xla_cpu_scheduler_type": "CPU_SCHEDULER_TYPE_MEMORY_OPTIMIZED",
      "xla_cpu_experimental_ynn_fusion_type":
          "LIBRARY_FUSION_TYPE_REDUCE,LIBRARY_FUSION_TYPE_INDIVIDUAL_DOT",
      "xla_backend_optimization_level": parallel.CPU_BACKEND_OPTIMIZATION_LEVEL}
  monkeypatch.setenv("XLA_FLAGS", "--xla_backend_optimization_level=3")  # the user's level wins
  assert "xla_backend_optimization_level" not in parallel.step_compiler_options(smoke("vae").train)
  assert "xla_cpu_experimental_ynn_fusion_type" not in parallel.step_compiler_options(
      smoke("vae", cpu_conv_kernels="ynnpack").train)
  with pytest.raises(ValueError, match=r"train.cpu_scheduler='fastest' is not one of memory"):
    workdir.Run(smoke("vae", cpu_scheduler="fastest"), MNIST)
  with pytest.raises(ValueError, match=r"train.cpu_conv_kernels='mkl' is not one of eigen"):
    workdir.Run(smoke("vae", cpu_conv_kernels="mkl"), MNIST)


def test_start_compiles_the_step_beside_the_state_and_errors_reach_the_caller():
  r = workdir.Run(smoke("vae"), MNIST)
  n = r.method.images_per_step
  example = {"image": np.zeros((3, 28, 28, 1), np.uint8), "label": np.zeros((3,), np.int32)}
  state, step = r.start(r.init_state, example)
  assert step.as_text().count("\nENTRY") == 1  # compiled already, before any call
  rng = np.random.default_rng(0)
  local = {"image": rng.integers(0, 256, (n, 28, 28, 1)).astype(np.uint8),
           "label": rng.integers(0, 10, (n,)).astype(np.int32)}
  batch = parallel.global_batch(local, r.mesh)
  new, metrics = step(state, batch)
  expected, expected_metrics = r.compile_train_step()(r.init_state(), batch)
  assert_trees_close((new, metrics), (expected, expected_metrics), rtol=0, atol=0)
  half = parallel.global_batch({k: v[:n // 2] for k, v in local.items()}, r.mesh)
  # batches of other shapes are refused
  with pytest.raises(TypeError, match=rf"compiled with uint8\[{n},28,28,1\]"):
    step(new, half)

  def broken():
    raise OSError("checkpoint unreadable")
  with pytest.raises(OSError, match="checkpoint unreadable"):  # make_state's, at once
    r.start(broken, example)
  with pytest.raises(KeyError, match="image"):  # the compiler thread's, on this thread
    r.start(r.init_state, {"label": example["label"]})


def test_a_gans_d_updates_run_as_one_loop_equal_to_the_unrolled_updates(monkeypatch):
  """n_critic D updates: the first n_critic - 1 in a lax.scan (one compiled D
  update), the same numbers as unrolled, and the loop's convolutions all in
  XLA:CPU's canonical form (its naive emitter is tens of times slower). The D
  update, run in the loop and after it, is traced once."""
  traces = []
  d_step = gan_method.GAN._d_step
  monkeypatch.setattr(gan_method.GAN, "_d_step",
                      lambda self, *a: traces.append(1) or d_step(self, *a))
  overrides = {"gan.n_critic": 3, "gan.loss": "wgan", "gan.gp_weight": 10.0}
  r = workdir.Run(smoke("dcgan", overrides), MNIST)
  n = r.method.images_per_step
  batch = parallel.global_batch(
      {"image": np.random.default_rng(0).integers(0, 256, (n, 28, 28, 1)).astype(np.uint8),
       "label": np.zeros((n,), np.int32)}, r.mesh)
  lower = lambda run: run.compile_train_step().lower(run.sharded_abstract_state, batch)
  lowered = lower(r)
  assert len(traces) == 1
  with compute.unrolled_loops():
    unrolled = lower(r)
  loops = lambda l: l.as_text("hlo").count(" while(")  # (random bits are loops too)
  assert loops(lowered) == loops(unrolled) + 1
  # lax's own gradients ("xla") would leave XLA:CPU's kernels in a loop: unrolled.
  assert loops(lower(workdir.Run(smoke("dcgan", overrides, conv_impl="xla"), MNIST))) == loops(
      unrolled)
  # XLA's cost analysis counts a loop's body once: the benchmark counts unrolled.
  flops = lowered.cost_analysis()["flops"]
  assert flops < unrolled.cost_analysis()["flops"] < 3 * flops
  compiled = lowered.compile()
  convs = re.findall(r" convolution\([^\n]*dim_labels=(\S+?),", compiled.as_text())
  assert convs and set(convs) == {"b01f_01io->b01f"}
  state = r.init_state()
  copy = jax.tree.map(jnp.copy, state)  # (the step donates its state)
  assert_trees_close(compiled(state, batch), unrolled.compile()(copy, batch),
                     rtol=1e-5, atol=1e-6)


def _convolutions_in_ynn_fusions(cfg) -> int:
  """Convolutions that the compiled train step hands to YNNPACK."""
  r = workdir.Run(cfg, MNIST)
  state = r.init_state()
  batch = parallel.global_batch(
      {"image": np.zeros((8, 28, 28, 1), np.uint8), "label": np.zeros((8,), np.int32)}, r.mesh)
  hlo = r.compile_train_step().lower(state, batch).compile().as_text()
  bodies = dict(re.findall(r"\n%?(\S+) [^\n]*\{\n(.*?)\n\}", hlo, re.S))
  called = re.findall(r"calls=%?([\w.\-]+)[^\n]*__ynn_fusion", hlo)
  return sum(bodies.get(name, "").count(" convolution(") for name in called)


def test_cpu_conv_kernels_take_convolutions_out_of_ynnpack():
  cfg = load_config("vae", "mnist")  # (the smoke model's convolutions are too narrow for YNNPACK)
  cfg.train.batch_size = 8
  assert _convolutions_in_ynn_fusions(cfg) == 0
  cfg.train.cpu_conv_kernels = "ynnpack"
  assert _convolutions_in_ynn_fusions(cfg) > 0


def test_cpu_conv_kernels_may_change_on_resume(tmp_path):
  straight = run.train_and_evaluate(smoke("vae", num_steps=4, checkpoint_every=2),
                                    str(tmp_path / "a"))
  wd = str(tmp_path / "b")
  run.train_and_evaluate(
      smoke("vae", num_steps=2, checkpoint_every=2, cpu_conv_kernels="ynnpack"), wd)
  resumed = run.train_and_evaluate(smoke("vae", num_steps=4, checkpoint_every=2), wd)
  assert int(resumed.step) == 4
  assert_trees_close(straight, resumed, rtol=1e-5, atol=1e-6)  # float rounding only


@pytest.mark.parametrize("name,variant", [("dcgan", "cifar10"), ("vae", "celeba64")])
def test_tfds_variants_train_under_mock_data(name, variant, tmp_path):
  cfg = load_config(name, variant)
  for model in ("generator", "discriminator", "model"):  # the variant's data, narrow models
    if model in cfg:
      cfg[model].widths = (8,) * len(cfg[model].widths)
  if name == "vae":
    cfg.vae.iwae_k = 4
  cfg.train.update(batch_size=4, num_steps=1, log_every=1, checkpoint_every=1,
                   sample_every=1, num_grid_samples=4, progress=False)
  cfg.evals.heldout.update(every=1, batch_size=8)
  with tfds.testing.mock_data(num_examples=8):
    state = run.train_and_evaluate(cfg, str(tmp_path / variant))
  assert int(state.step) == 1


def test_workdir_from_an_earlier_layout_samples_and_resumes(tmp_path):
  """config.json with the old `eval` section and train.eval_every, and no
  data.json: load_config upgrades it, the run resumes exactly and samples."""
  straight = run.train_and_evaluate(smoke("vae", num_steps=4), str(tmp_path / "a"))
  wd = str(tmp_path / "old")
  run.train_and_evaluate(smoke("vae", num_steps=2), wd)
  old = json.load(open(os.path.join(wd, workdir.CONFIG_FILE)))
  heldout = old["evals"].pop("heldout")
  old["evals"]["quality"].pop("seed")
  old["eval"] = {"batch_size": heldout["batch_size"], "seed": heldout["seed"]}
  old["train"]["eval_every"] = heldout["every"]
  del old["train"]["cpu_conv_kernels"]
  with open(os.path.join(wd, workdir.CONFIG_FILE), "w") as f:
    json.dump(old, f)
  os.remove(os.path.join(wd, workdir.DATA_FILE))
  assert workdir.config_hash(workdir.load_config(wd)) == workdir.config_hash(smoke("vae", num_steps=2))
  imgs, _, prov = sample.sample_workdir(wd, 3, str(tmp_path / "s.npz"))
  assert imgs.shape == (3, 28, 28, 1) and prov["step"] == 2
  resumed = run.train_and_evaluate(smoke("vae", num_steps=4), wd)
  assert_trees_close(straight, resumed, rtol=1e-6, atol=1e-7)
