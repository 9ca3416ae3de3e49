"""Mixed precision (train.precision=bfloat16): float32 parameters, optimizer
state and EMA; bfloat16 operands with float32 accumulation in convolutions and
matmuls; every method trains; a resumed run keeps its precision; sampling
uses the run's precision."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from genjax import data, errors, parallel, run, workdir
from genjax.models import kernels
from tests.conftest import smoke

MNIST = data.DataInfo({"image": data.image(28, 1), "label": data.LABEL},
                      [str(i) for i in range(10)])


def test_bfloat16_keeps_the_state_float32_and_computes_in_bfloat16():
  cfg = smoke("dcgan", {"train.precision": "bfloat16"})
  r = workdir.Run(cfg, MNIST)
  state = r.init_state()
  assert {x.dtype for x in jax.tree.leaves(state) if jnp.issubdtype(x.dtype, jnp.floating)} \
      == {jnp.dtype(jnp.float32)}
  batch = parallel.global_batch({"image": np.zeros((8, 28, 28, 1), np.uint8),
                                 "label": np.zeros((8,), np.int32)}, r.mesh)
  step = r.compile_train_step().lower(state, batch)
  hlo = step.as_text()
  contractions = [l for l in hlo.splitlines()
                  if "stablehlo.dot_general" in l or "stablehlo.convolution" in l]
  assert contractions and all("bf16" in l for l in contractions), contractions[:3]
  assert all("-> tensor<" in l and "xf32>" in l.split("->")[-1] for l in contractions)
  new, metrics = step.compile()(state, batch)
  assert {x.dtype for x in jax.tree.leaves(new) if jnp.issubdtype(x.dtype, jnp.floating)} \
      == {jnp.dtype(jnp.float32)}
  assert all(np.isfinite(float(v)) for v in jax.device_get(metrics).values())
  # The same generator in float32 draws nearly the same images.
  f32 = workdir.Run(smoke("dcgan"), MNIST)
  a = r.generate(new, 4, seed=0, labels=None)
  b = f32.generate(new, 4, seed=0, labels=None)
  assert 0 < np.abs(a - b).max() < 0.1


@pytest.mark.parametrize("name", ["dcgan", "vae", "restore"])  # GAN, VAE, U-Net regression
def test_each_method_family_trains_in_bfloat16(name, tmp_path, monkeypatch, capsys):
  native = name != "vae"  # a CPU without bfloat16 instructions gets a note that says so
  monkeypatch.setattr(kernels, "cpu_has_bfloat16", lambda: native)
  state = run.train_and_evaluate(smoke(name, {"train.precision": "bfloat16"}, num_steps=2),
                                 str(tmp_path / name))
  assert int(state.step) == 2
  assert all(np.isfinite(np.asarray(x)).all() for x in jax.tree.leaves(state))
  assert ("CPU without bfloat16 instructions" in capsys.readouterr().out) == (not native)


def test_a_resumed_run_keeps_its_precision_and_samples_in_it(tmp_path):
  wd = str(tmp_path / "p")
  run.train_and_evaluate(smoke("vae", {"train.precision": "bfloat16"}, num_steps=2), wd)
  with pytest.raises(errors.InputError, match=r"trained in bfloat16 \(train.precision.*cannot "
                     r"switch precision.*--config.train.precision=bfloat16"):
    run.train_and_evaluate(smoke("vae", num_steps=4), wd)
  r, _, _ = workdir.restore_workdir(wd)
  assert r.policy.precision == "bfloat16"
  # The convolution implementation may change (float rounding only).
  state = run.train_and_evaluate(
      smoke("vae", {"train.precision": "bfloat16", "train.conv_impl": "xla"}, num_steps=4), wd)
  assert int(state.step) == 4
