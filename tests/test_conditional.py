"""Conditional generation: layers against hand computations, label flow from
every source, conditional configs end to end (train, sample by label, resume
exactly, spectral-norm state included)."""
import json
import os

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import tensorflow_datasets as tfds
from PIL import Image

from genjax import checkpoint, data, errors, images, methods, models, run, sample, workdir
from genjax.methods import common
from genjax.models import layers
from tests.conftest import assert_trees_close, load_config, rewound, run_module, smoke


def test_conditional_batchnorm_is_batchnorm_with_per_class_gain_and_bias():
  x = np.random.default_rng(0).normal(2.0, 3.0, (6, 3, 3, 4)).astype(np.float32)
  labels = np.array([0, 1, 2, 0, 1, 2])
  layer = layers.ConditionalBatchNorm(3)
  v = layer.init(jax.random.PRNGKey(0), x, labels, train=True)
  gain = np.arange(12, dtype=np.float32).reshape(3, 4) / 7
  bias = -np.arange(12, dtype=np.float32).reshape(3, 4)
  v = {**v, "params": {"gain": {"embedding": gain}, "bias": {"embedding": bias}}}
  out, _ = layer.apply(v, x, labels, train=True, mutable=["batch_stats"])
  mean, var = x.mean((0, 1, 2)), x.var((0, 1, 2))
  x_hat = (x - mean) / np.sqrt(var + 1e-5)
  expected = x_hat * gain[labels][:, None, None] + bias[labels][:, None, None]
  np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-4)
  # Fresh parameters start as plain BatchNorm (gain 1, bias 0) for every class.
  fresh = layer.init(jax.random.PRNGKey(0), x, labels, train=True)
  np.testing.assert_array_equal(fresh["params"]["gain"]["embedding"], 1.0)


def test_projection_head_adds_the_inner_product_with_the_class_embedding():
  h = np.random.default_rng(1).normal(size=(4, 5)).astype(np.float32)
  labels = np.array([2, 0, 1, 2])
  head = layers.ProjectionHead(3)
  v = head.init(jax.random.PRNGKey(0), h, labels)
  p = v["params"]
  w, b = np.asarray(p["Dense_0"]["kernel"]), np.asarray(p["Dense_0"]["bias"])
  emb = np.asarray(p["embed"]["embedding"])
  expected = h @ w[:, 0] + b[0] + np.sum(emb[labels] * h, -1)
  np.testing.assert_allclose(head.apply(v, h, labels), expected, rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(head.apply(v, h, None), h @ w[:, 0] + b[0], rtol=1e-5, atol=1e-5)


def test_spectral_norm_keeps_its_power_iteration_in_batch_stats():
  class Net(nn.Module):
    @nn.compact
    def __call__(self, x, train):
      return layers.spectral(nn.Dense(6, name="d"), True, train)(x)
  x = np.random.default_rng(2).normal(size=(3, 10)).astype(np.float32)
  net = Net()
  v = net.init(jax.random.PRNGKey(0), x, train=False)
  assert set(v) == {"params", "batch_stats"}
  step = jax.jit(lambda v, x: net.apply(v, x, train=True, mutable=["batch_stats"]))
  for _ in range(30):  # power iteration converges over training calls
    _, mut = step(v, x)
    v = {"params": v["params"], "batch_stats": mut["batch_stats"]}
  (sigma,) = [float(a) for k, a in jax.tree_util.tree_leaves_with_path(v["batch_stats"])
              if "sigma" in jax.tree_util.keystr(k)]
  w = np.asarray(v["params"]["d"]["kernel"])
  np.testing.assert_allclose(sigma, np.linalg.svd(w, compute_uv=False)[0], rtol=1e-3)
  # Forward uses W / sigma: the normalised layer's output equals x @ (W / sigma) + b.
  out = net.apply(v, x, train=False)
  np.testing.assert_allclose(out, x @ (w / sigma) + np.asarray(v["params"]["d"]["bias"]),
                             rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("model,cond", [("dcgan_discriminator", "concat"),
                                        ("dcgan_discriminator", "projection"),
                                        ("resnet_discriminator", "projection")])
def test_conditional_discriminators_depend_on_the_label(model, cond):
  fields = dict(name=model, cond=cond, num_classes=10)
  fields.update(widths=(8, 16)) if model.startswith("dcgan") else fields.update(
      widths=(8, 8), num_down=1)
  d = models.build(fields)
  x = jnp.asarray(np.random.default_rng(3).normal(size=(2, 28, 28, 1)), jnp.float32)
  v = jax.jit(lambda rng, x, y: d.init(rng, x, y, train=False))(
      jax.random.PRNGKey(0), x, jnp.zeros(2, jnp.int32))
  apply = jax.jit(lambda v, x, y: d.apply(v, x, y, train=False))
  a, b = apply(v, x, jnp.array([1, 1])), apply(v, x, jnp.array([1, 7]))
  assert a.shape == (2,) and a[0] == b[0] and a[1] != b[1]


def test_cvae_decoder_takes_the_label_at_every_layer_with_cond_layers_all():
  m = models.build(dict(name="conv_vae", widths=(8, 16), latent_dim=4, cond="concat",
                        num_classes=10, cond_layers="all"))
  x = jnp.zeros((2, 28, 28, 1))
  v = jax.jit(lambda rng, x, y: m.init(rng, x, jax.random.PRNGKey(1), y))(
      jax.random.PRNGKey(0), x, jnp.zeros(2, jnp.int32))
  dec = [k.shape for path, k in jax.tree_util.tree_leaves_with_path(v["params"])
         if "dec_convs" in jax.tree_util.keystr(path) and k.ndim == 4]
  assert [s[2] for s in dec] == [16 + 10, 8 + 10]  # each layer's input has 10 label maps
  z = jnp.ones((2, 4))
  decode = jax.jit(lambda v, z, y: m.apply(v, z, y, method=m.decode))
  a, b = (decode(v, z, jnp.array(y)) for y in ([1, 1], [1, 7]))
  assert np.allclose(a[0], b[0]) and not np.allclose(a[1], b[1])


def test_acgan_discriminator_returns_class_logits():
  d = models.build(dict(name="dcgan_discriminator", widths=(8, 16), cond="acgan",
                        num_classes=10))
  x = jnp.zeros((3, 28, 28, 1))
  v = d.init(jax.random.PRNGKey(0), x, jnp.zeros(3, jnp.int32), train=False)
  logits, classes = d.apply(v, x, jnp.zeros(3, jnp.int32), train=False)
  assert logits.shape == (3,) and classes.shape == (3, 10)


@pytest.mark.parametrize("size,g_widths,d_widths,down", [
    (32, (32, 32, 32), (16, 16, 16, 16), 2), (64, (32, 16, 16, 8), (8, 8, 16, 16, 16), 4)])
def test_sngan_resnets_make_32_and_64_px_images(size, g_widths, d_widths, down):
  g = models.build(dict(name="resnet_generator", widths=g_widths, cond="cbn", num_classes=5))
  d = models.build(dict(name="resnet_discriminator", widths=d_widths, num_down=down,
                        cond="projection", num_classes=5))
  z, y = jnp.zeros((2, 128)), jnp.array([0, 4])
  gv = jax.eval_shape(lambda: g.init(jax.random.PRNGKey(0), z, y, train=False))
  x = jax.eval_shape(lambda v: g.apply(v, z, y, train=False), gv)
  assert x.shape == (2, size, size, 3)
  dv = jax.eval_shape(lambda: d.init(jax.random.PRNGKey(0), jnp.zeros(x.shape), y, train=False))
  assert "batch_stats" in dv  # spectral-norm vectors (checkpointed with the state)
  out = jax.eval_shape(lambda v: d.apply(v, jnp.zeros(x.shape), y, train=False), dv)
  assert out.shape == (2,)


CONDITIONINGS = [
    ("cgan", {}),  # label embedding beside z, label maps beside the image
    ("cgan", {"generator.cond": "cbn", "discriminator.cond": "projection"}),
    ("cgan", {"generator.cond": "concat", "discriminator.cond": "acgan"}),
    ("cvae", {}),
]


@pytest.mark.parametrize("name,overrides", CONDITIONINGS)
def test_conditional_smoke_trains_samples_by_label_and_resumes_exactly(name, overrides, tmp_path):
  straight = run.train_and_evaluate(smoke(name, overrides), str(tmp_path / "a"))
  wd = rewound(str(tmp_path / "a"), 2, str(tmp_path / "b"))
  resumed = run.train_and_evaluate(smoke(name, overrides), wd)
  assert_trees_close(straight, resumed, rtol=1e-6, atol=1e-7)
  info = json.load(open(os.path.join(wd, workdir.DATA_FILE)))
  assert info["class_names"] == [str(i) for i in range(10)]
  # The preview grid has one row per class.
  png = os.path.join(wd, "samples", "step_000004.png")
  assert images.read_provenance(png)["num"] == "20"  # 10 classes x 2 (16 grid samples)
  out = str(tmp_path / "s.npz")
  imgs, labels, prov = sample.sample_workdir(wd, 9, out, labels=["3", "7"],
                                             class_grid=str(tmp_path / "g.png"), grid_cols=3)
  saved = np.load(out)
  np.testing.assert_array_equal(saved["labels"], [3, 7, 3, 7, 3, 7, 3, 7, 3])
  assert saved["images"].shape == (9, 28, 28, 1) and prov["class_names"][7] == "7"
  with Image.open(tmp_path / "g.png") as png:
    grid = np.asarray(png)
  assert grid.shape[0] == 2 * (28 + 2) + 2  # two rows: classes 3 and 7
  # The label changes the image: same noise, different class (an unconditional
  # generator would give identical images).
  r, state, _ = workdir.restore_workdir(wd)
  threes = r.generate(state, 4, 0, np.full(4, 3))
  sevens = r.generate(state, 4, 0, np.full(4, 7))
  assert np.abs(threes - sevens).max() > 1e-3 * np.abs(threes).max()
  balanced = np.load(sample.sample_workdir(wd, 20, str(tmp_path / "all.npz"))[2]["out"])
  np.testing.assert_array_equal(np.bincount(balanced["labels"]), [2] * 10)


def test_acgan_reports_its_auxiliary_classifier(tmp_path):
  wd = str(tmp_path / "ac")
  run.train_and_evaluate(smoke("cgan", {"discriminator.cond": "acgan"}, log_every=1), wd)
  rows = [json.loads(l) for l in open(os.path.join(wd, "metrics.jsonl"))]
  train = [r for r in rows if "train/d_class" in r]
  assert len(train) == 4 and all(0 < r["train/d_class"] < 10 for r in train)
  assert all(0 <= r["train/d_class_acc"] <= 1 for r in train)


def test_cvae_reports_a_conditional_likelihood(tmp_path):
  wd = str(tmp_path / "cvae")
  run.train_and_evaluate(smoke("cvae", {"evals.heldout.every": 4}), wd)
  rows = [json.loads(l) for l in open(os.path.join(wd, "metrics.jsonl"))]
  ev = [r for r in rows if "eval/nats" in r][-1]
  assert "conditional on the class label" in ev["eval/likelihood"]
  assert 0 < ev["eval/iwae_nats"] < ev["eval/nats"] < 784 * np.log(2)


def _d_updates(cfg):
  """({gan.d_batches: (D's new variables, metrics)} after one D update of a GAN
  built from cfg, from the same state on the same real and fake batch, for
  joint and separate; whether auto chooses joint for this D)."""
  info = data.DataInfo({"image": data.image(16, 3), "label": data.LABEL}, list("abc"))
  rng = np.random.default_rng(0)
  real = jnp.asarray(rng.uniform(-1, 1, (4, 16, 16, 3)), jnp.float32)
  fake = jnp.asarray(rng.uniform(-1, 1, (4, 16, 16, 3)), jnp.float32)
  real_y, fake_y = jnp.array([0, 1, 2, 0]), jnp.array([2, 2, 1, 0])
  state, out = None, {}
  for mode in ("joint", "separate", "auto"):
    cfg.gan.d_batches = mode
    gan = methods.build(cfg, info)
    if state is None:
      state = jax.jit(gan.init_state)(jax.random.PRNGKey(0), {"image": real})
    if mode == "auto":
      return out, gan.joint_d(state.d.batch_stats)
    assert gan.joint_d(state.d.batch_stats) == (mode == "joint")
    new, metrics = jax.jit(gan._d_step)(state, real, real_y, fake, fake_y,
                                        jax.random.PRNGKey(1))
    out[mode] = {"params": new.d.params, "batch_stats": new.d.batch_stats}, metrics


def test_d_sees_real_and_fake_in_one_call_unless_it_has_batch_norm():
  cfg = load_config("cgan", "smoke")  # conditional (label maps): labels must align too
  cfg.discriminator.norm = "layer"  # nothing couples the examples: one call = two calls
  out, auto_joint = _d_updates(cfg)
  assert auto_joint
  assert_trees_close(out["joint"], out["separate"], rtol=1e-5, atol=1e-6)
  cfg.discriminator.norm = "batch"  # DCGAN's: real and fake keep their own statistics
  out, auto_joint = _d_updates(cfg)
  assert not auto_joint
  assert not np.allclose(out["joint"][1]["d_loss"], out["separate"][1]["d_loss"])
  cfg.gan.d_batches = "both"
  with pytest.raises(errors.InputError, match="gan.d_batches"):
    methods.build(cfg, data.DataInfo({"image": data.image(16, 3), "label": data.LABEL},
                                     list("abc")))


def test_spectral_norm_d_runs_one_power_iteration_per_d_update():
  cfg = load_config("cgan", "cifar10")  # SNGAN ResNets: no batch norm in D, so joint
  cfg.generator.update(widths=(8,))
  cfg.discriminator.update(widths=(8,), num_down=1)
  cfg.train.conv_impl = "xla"
  out, auto_joint = _d_updates(cfg)
  assert auto_joint
  u = lambda v: [a for k, a in jax.tree_util.tree_leaves_with_path(v["batch_stats"])
                 if jax.tree_util.keystr(k).endswith("/u']") and a.size > 1]
  assert len(u(out["joint"][0])) == 4  # the block's 3 convolutions, the class embedding
  # Two calls iterate twice from the same u, one call once: u tells them apart.
  for a, b in zip(u(out["joint"][0]), u(out["separate"][0])):
    assert not np.allclose(a, b, rtol=1e-4, atol=1e-6)


def test_sn_sigma_experiment_measures_the_estimate_against_the_svd():
  from experiments import sn_sigma
  cfg = load_config("cgan", "cifar10")
  cfg.discriminator.update(widths=(8,), num_down=1)
  D = models.build(cfg.discriminator, num_classes=3)
  x = jnp.asarray(np.random.default_rng(0).normal(size=(2, 8, 8, 3)), jnp.float32)
  y = jnp.zeros(2, jnp.int32)
  v = D.init(jax.random.PRNGKey(0), x, y, train=False)
  net = lambda v: common.Net(params=v["params"], batch_stats=v["batch_stats"], opt_state=None)
  assert len(sn_sigma.sigma_errors(net(v))) == 5 and sn_sigma.sigma_errors(net(v)).max() > 0.1
  step = jax.jit(lambda v: D.apply(v, x, y, train=True, mutable=["batch_stats"])[1])
  for _ in range(50):  # power iteration on fixed weights converges to s_max
    v = {"params": v["params"], "batch_stats": step(v)["batch_stats"]}
  assert sn_sigma.sigma_errors(net(v)).max() < 1e-3


def test_sngan_cifar10_variant_resumes_exactly_with_spectral_norm_state(tmp_path):
  def config(steps):
    cfg = load_config("cgan", "cifar10")
    cfg.generator.update(widths=(8, 8, 8))
    cfg.discriminator.update(widths=(8, 8))  # two blocks, both down-sampling
    cfg.train.conv_impl = "xla"  # compiles faster
    cfg.gan.n_critic = 1  # compiles in half the time (several D updates per step: test_schedules)
    cfg.train.update(batch_size=4, num_steps=steps, log_every=1, checkpoint_every=1,
                     sample_every=0, progress=False)  # (samples: test_sngan_resnets_make_...)
    cfg.evals.heldout.every = 0
    return cfg
  with tfds.testing.mock_data(num_examples=16):
    straight = run.train_and_evaluate(config(2), str(tmp_path / "a"))
    resumed = run.train_and_evaluate(config(2), rewound(str(tmp_path / "a"), 1,
                                                        str(tmp_path / "b")))
  sn = [jax.tree_util.keystr(k) for k, _ in
        jax.tree_util.tree_leaves_with_path(resumed.d.batch_stats)]
  assert any("/u" in k for k in sn) and any("sigma" in k for k in sn)
  assert_trees_close(straight, resumed, rtol=1e-5, atol=1e-6)


def style_folder(root, styles=("baroque", "cubism", "impressionism"), n=6):
  rng = np.random.default_rng(0)
  for i, style in enumerate(styles):
    os.makedirs(root / style)
    for j in range(n):
      img = np.full((20, 20, 3), 60 * i, np.uint8) + rng.integers(0, 30, (20, 20, 3), np.uint8)
      Image.fromarray(img).save(root / style / f"{j}.png")
  return str(root)


def test_folder_styles_are_saved_by_name_and_sampled_by_name(tmp_path):
  path = style_folder(tmp_path / "art")
  cfg = smoke("cgan", {"data.source": "folder", "data.path": path, "data.channels": 3,
                       "generator.out_channels": 3})
  wd = str(tmp_path / "run")
  run.train_and_evaluate(cfg, wd)
  assert workdir.load_info(wd, cfg).class_names == ["baroque", "cubism", "impressionism"]
  proc = run_module(["genjax.sample", "--workdir", wd, "--num", "4", "--out",
                     str(tmp_path / "s.npz"), "--labels", "cubism,impressionism",
                     "--class_grid", str(tmp_path / "g.png"), "--grid_cols", "2"])
  assert proc.returncode == 0, proc.stderr[-2000:]
  np.testing.assert_array_equal(np.load(tmp_path / "s.npz")["labels"], [1, 2, 1, 2])
  assert json.loads(images.read_provenance(str(tmp_path / "g.png"))["rows"]) == [
      "cubism", "impressionism"]
  bad = run_module(["genjax.sample", "--workdir", wd, "--num", "4", "--out",
                    str(tmp_path / "t.npz"), "--labels", "surrealism"])
  assert bad.returncode != 0 and "Unknown class 'surrealism'" in bad.stderr
  assert "baroque, cubism, impressionism" in bad.stderr


def test_labels_flow_from_tfds_under_mock_data(tmp_path):
  cfg = load_config("cgan", "cifar10")
  cfg.update_from_flattened_dict({"generator.widths": (8, 8, 8), "discriminator.widths": (8, 8, 8, 8),
                                  "gan.n_critic": 1})
  with tfds.testing.mock_data(num_examples=8):
    src = data.build_source(cfg.data, "train")
    info = data.describe(src)
    b = src.get(np.arange(8))
  assert info.num_classes == 10 and "label" in info.fields
  assert b["label"].dtype == np.int32 and b["label"].max() < 10


def test_conditioning_on_an_unlabelled_source_is_a_clear_error(tmp_path):
  for i in range(4):
    Image.fromarray(np.full((8, 8), 40 * i, np.uint8)).save(tmp_path / f"{i}.png")
  cfg = smoke("cgan", {"data.source": "folder", "data.path": str(tmp_path)})
  with pytest.raises(ValueError, match="needs example field\\(s\\) label.*provides only image"):
    run.train_and_evaluate(cfg, str(tmp_path / "wd"))
  assert not os.path.exists(tmp_path / "wd" / workdir.CONFIG_FILE)  # nothing written


def test_half_conditioned_gan_and_unknown_cond_are_clear_errors(tmp_path):
  with pytest.raises(ValueError, match="condition both networks or neither"):
    run.train_and_evaluate(smoke("cgan", {"generator.cond": "none"}), str(tmp_path / "a"))
  with pytest.raises(ValueError, match="Unknown discriminator cond 'film'"):
    run.train_and_evaluate(smoke("cgan", {"discriminator.cond": "film"}), str(tmp_path / "b"))


def test_labels_on_an_unconditional_run_are_refused(tmp_path):
  wd = str(tmp_path / "u")
  run.train_and_evaluate(load_config("dcgan", "smoke"), wd)
  with pytest.raises(ValueError, match="unconditional"):
    sample.sample_workdir(wd, 4, str(tmp_path / "s.npz"), labels=["3"])
  imgs, labels, _ = sample.sample_workdir(wd, 4, str(tmp_path / "s.npz"))
  assert labels is None and "labels" not in np.load(tmp_path / "s.npz")


def test_resolve_labels_by_index_and_name():
  names = ["0", "cat", "dog"]
  assert sample.resolve_labels(None, names) == [0, 1, 2]
  assert sample.resolve_labels(["dog", "1"], names) == [2, 1]
  assert sample.resolve_labels(["0"], names) == [0]  # a name that is also an index
  with pytest.raises(ValueError, match="index 0..2"):
    sample.resolve_labels(["3"], names)


def test_cgan_folder_variant_trains_64px_resnets_on_styles(tmp_path):
  """The folder variant's 64 px ResNets train and sample by style name (exact
  resume of spectral-norm ResNets: the sngan cifar10 test)."""
  path = style_folder(tmp_path / "art", n=4)
  cfg = load_config("cgan", "folder")
  cfg.data.path = path
  cfg.generator.update(widths=(8, 8, 8, 8))
  cfg.discriminator.update(widths=(8, 8, 8, 8, 8))
  cfg.train.conv_impl = "xla"  # compiles faster
  cfg.gan.n_critic = 1
  cfg.train.update(batch_size=4, num_steps=2, log_every=1, checkpoint_every=1,
                   sample_every=0, progress=False)  # it samples below
  state = run.train_and_evaluate(cfg, str(tmp_path / "b"))
  assert int(state.step) == 2 and bool(checkpoint.all_finite(state))
  imgs, labels, prov = sample.sample_workdir(str(tmp_path / "b"), 3, str(tmp_path / "s.npz"),
                                             labels=["impressionism"])
  assert imgs.shape == (3, 64, 64, 3) and (labels == 2).all()
  assert prov["class_names"] == ["baroque", "cubism", "impressionism"]
