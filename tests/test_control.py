"""Steering generation: latent arithmetic against hand-computed values, and on
trained smoke runs the interpolation, class morph, truncation, traversals and
attribute vectors, bit-identical reruns, and provenance in every file."""
import json

import numpy as np
import pytest

from genjax import control, images, latents, run, sample, workdir
from tests.conftest import run_module, smoke


def test_slerp_keeps_endpoints_and_norms_and_lerp_does_not():
  rng = np.random.default_rng(0)
  a, b = rng.normal(size=(2, 128))
  np.testing.assert_allclose(latents.slerp(a, b, 0.0), a, atol=1e-12)
  np.testing.assert_allclose(latents.slerp(a, b, 1.0), b, atol=1e-12)
  b_same = b * np.linalg.norm(a) / np.linalg.norm(b)
  ts = np.linspace(0, 1, 11)[:, None]
  norms = np.linalg.norm(latents.slerp(a, b_same, ts), axis=-1)
  np.testing.assert_allclose(norms, np.linalg.norm(a), rtol=1e-10)  # on the sphere throughout
  mid = np.linalg.norm(latents.lerp(a, b_same, 0.5))
  assert mid < 0.8 * np.linalg.norm(a)  # two independent Gaussians: lerp shrinks to ~0.71
  # Angles: slerp advances at a constant rate along the great circle.
  unit = lambda v: v / np.linalg.norm(v)
  angle = lambda u, v: np.arccos(np.clip(unit(u) @ unit(v), -1, 1))
  steps = [angle(latents.slerp(a, b, t0), latents.slerp(a, b, t0 + 0.25)) for t0 in (0, .25, .5)]
  np.testing.assert_allclose(steps, angle(a, b) / 4, rtol=1e-9)
  p = latents.path(np.stack([a, b, -a]), frames=4)
  assert p.shape == (9, 128)
  np.testing.assert_allclose(p[[0, 4, 8]], np.stack([a, b, -a]), atol=1e-5)
  np.testing.assert_allclose(latents.slerp(a, 2 * a, 0.5), 1.5 * a)  # parallel: a lerp


def test_principal_directions_recover_a_linear_generators_axes():
  rng = np.random.default_rng(1)
  z = rng.normal(size=(4000, 6))
  w = np.zeros((6, 20))
  w[2, :5], w[4, 5:8] = 3.0, 1.0  # activations vary most along z[2], then z[4]
  directions, norms, ratio = latents.principal_directions(z @ w, z, 2)
  for d, axis in zip(directions, (2, 4)):
    assert abs(d[axis]) / np.linalg.norm(d) > 0.995  # up to sampling noise
  np.testing.assert_allclose(norms, [1.0, 1.0], rtol=0.05)  # one std of z along each axis
  assert ratio[0] > ratio[1] > 0


def test_attribute_vector_and_kl_per_dim_by_hand():
  a, b = np.array([[0.0, 1.0], [2.0, 3.0]]), np.array([[4.0, 4.0]])
  np.testing.assert_allclose(latents.attribute_vector(a, b), [3.0, 2.0])
  mean, logvar = np.array([[1.0, 0.0]]), np.array([[0.0, np.log(4.0)]])
  np.testing.assert_allclose(latents.kl_per_dim(mean, logvar),
                             [0.5, 0.5 * (3.0 - np.log(4.0))])
  np.testing.assert_allclose(latents.truncate(np.array([2.0, -4.0]), 0.0, np.array([1.0, 1.0])),
                             [1.0, 1.0])


@pytest.fixture(scope="module")
def cgan(tmp_path_factory):
  wd = str(tmp_path_factory.mktemp("cgan") / "run")
  run.train_and_evaluate(smoke("cgan"), wd)
  return workdir.restore_workdir(wd)[:2] + (wd,)


@pytest.fixture(scope="module")
def gan(tmp_path_factory):
  wd = str(tmp_path_factory.mktemp("gan") / "run")
  run.train_and_evaluate(smoke("dcgan"), wd)
  return workdir.restore_workdir(wd)[:2] + (wd,)


@pytest.fixture(scope="module")
def vae(tmp_path_factory):
  wd = str(tmp_path_factory.mktemp("vae") / "run")
  run.train_and_evaluate(smoke("vae", num_steps=30, log_every=10, checkpoint_every=30), wd)
  return workdir.restore_workdir(wd)[:2] + (wd,)


def test_truncation_zero_draws_the_mean_latent_and_one_the_prior(cgan):
  r, state, _ = cgan
  labels = np.arange(6) % 10
  at_zero = r.generate(state, 6, seed=3, labels=labels, truncation=0.0)
  mean = r.generate_from(state, np.zeros((6, r.method.latent_dim)), labels)
  np.testing.assert_array_equal(at_zero, mean)
  np.testing.assert_array_equal(r.generate(state, 6, 3, labels, truncation=1.0),
                                r.generate(state, 6, 3, labels))
  grid = control.truncation_grid(r, state, [0.0, 0.5, 1.0], 4, seed=3)
  assert grid.shape == (4, 3, 28, 28, 1)
  np.testing.assert_array_equal(grid[:, 0], r.generate_from(state, np.zeros((4, 16)),
                                                            np.arange(4)))
  np.testing.assert_array_equal(grid[:, 2], r.generate_from(state, r.sample_latents(3, 4),
                                                            np.arange(4)))


def test_interpolation_and_morph_on_a_conditional_gan(cgan):
  r, state, _ = cgan
  frames = control.interpolate(r, state, [5, 6], 4, labels=[2, 7])
  assert frames.shape == (5, 2, 28, 28, 1)
  ends = r.generate_from(state, control.keypoint_latents(r, [5, 6]), np.array([7, 7]))
  np.testing.assert_allclose(frames[[0, 4], 1], ends, atol=1e-5)
  morph = control.morph(r, state, [1, 7], 4, [5])
  z = control.keypoint_latents(r, [5])
  np.testing.assert_allclose(morph[0, 0], r.generate_from(state, z, np.array([1]))[0], atol=1e-5)
  np.testing.assert_allclose(morph[4, 0], r.generate_from(state, z, np.array([7]))[0], atol=1e-5)
  half = r.generate_from(state, z, np.array([[0] + [0.5] + [0] * 5 + [0.5] + [0] * 2],
                                            np.float32))
  np.testing.assert_allclose(morph[2, 0], half[0], atol=1e-5)  # halfway: mixed label weights


def test_gan_traversal_follows_principal_directions(gan):
  r, state, _ = gan
  grid, directions, ratio = control.gan_traversal(r, state, 3, seed=0, values=(-2, 0, 2))
  assert grid.shape == (3, 3, 28, 28, 1) and directions.shape == (3, 16)
  assert np.all(np.diff(ratio) <= 0)  # largest variance first
  base = r.generate_from(state, r.sample_latents(0, 1))[0]
  for row in grid:
    np.testing.assert_allclose(row[1], base, atol=1e-5)  # value 0: the seed's image
    assert np.abs(row[2] - row[0]).max() > 1e-3


def test_vae_traversal_orders_dimensions_by_kl(vae):
  r, state, _ = vae
  grid, order, kl = control.vae_traversal(r, state, 4, values=(-3, 0, 3))
  ex = r.config.data
  from genjax import data
  imgs = data.split_images(ex, ex.eval_split)
  mean, logvar = r.encode(state, imgs)
  np.testing.assert_allclose(kl, latents.kl_per_dim(mean, logvar), rtol=1e-6)
  assert list(order) == list(np.argsort(-kl, kind="stable"))
  assert grid.shape == (4, 3, 28, 28, 1)
  z = np.zeros((1, 4), np.float32)
  z[0, order[0]] = 3.0
  np.testing.assert_allclose(grid[0, 2], r.generate_from(state, z)[0], atol=1e-6)


def test_attribute_vectors_on_labelled_data(vae, gan, cgan):
  r, state, _ = vae
  za, zb = control.attribute_sets(r, state, "1", "7")
  from genjax import data
  ex = data.split_examples(r.config.data, r.config.data.eval_split)
  np.testing.assert_allclose(za, r.encode(state, ex["image"][ex["label"] == 1])[0])
  grid, vector = control.attribute(r, state, "1", "7", [0.0, 1.0], 3, seed=0)
  np.testing.assert_allclose(vector, zb.mean(0) - za.mean(0), rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(grid[:, 1], r.generate_from(state, za[:3] + vector), atol=1e-6)
  np.testing.assert_allclose(grid[:, 0], r.generate_from(state, za[:3]), atol=1e-6)
  # A GAN has no encoder: a classifier labels its samples (here: by brightness).
  gr, gstate, _ = gan
  classify = lambda x: np.eye(10)[np.clip((x.mean((1, 2, 3)) / 25.6).astype(int), 0, 9)]
  with pytest.raises(ValueError, match="need a classifier that labels its samples"):
    control.attribute(gr, gstate, "1", "7", [0.0], 2, 0)
  z = gr.sample_latents(2, 2000)
  label = np.argmax(classify(images.to_uint8(gr.generate_from(gstate, z))), -1)
  ga, gb = control.attribute_sets(gr, gstate, "3", "4", classify)
  np.testing.assert_array_equal(ga, z[label == 3])
  np.testing.assert_array_equal(gb, z[label == 4])
  cr, cstate, _ = cgan
  with pytest.raises(ValueError, match="conditional run changes class through its label"):
    control.attribute(cr, cstate, "1", "7", [0.0], 2, 0)


def test_steering_reruns_are_bit_identical_and_files_carry_provenance(cgan, tmp_path):
  _, _, wd = cgan
  outs = []
  for i in range(2):
    written = sample.steer(wd, str(tmp_path / f"i{i}"), seed=4, interpolate=3,
                           path_seeds=[4, 9], labels=["3"], formats=("gif", "webp"),
                           sidecar=True)
    outs.append(written)
  for ext in ("png", "gif", "webp"):
    a, b = (open(tmp_path / f"i{i}.{ext}", "rb").read() for i in range(2))
    assert a == b, ext
    prov = images.read_provenance(str(tmp_path / f"i0.{ext}"))
    assert prov["content"] == "generated image" and prov["genjax_version"]
    assert str(prov["seed"]) == "4" and str(prov["step"]) == "4" and prov["config_hash"]
    assert json.load(open(tmp_path / f"i0.{ext}.json"))["config_hash"] == prov["config_hash"]
  from PIL import Image
  with Image.open(tmp_path / "i0.gif") as gif:
    assert gif.n_frames == 4  # 3 frames per segment + the end point
  imgs1, _, _ = sample.sample_workdir(wd, 7, str(tmp_path / "a.npz"), seed=2)
  imgs2, _, _ = sample.sample_workdir(wd, 7, str(tmp_path / "b.npz"), seed=2)
  np.testing.assert_array_equal(imgs1, imgs2)


def test_steering_from_the_command_line_writes_mp4_with_provenance(cgan, tmp_path):
  _, _, wd = cgan
  out = str(tmp_path / "m")
  res = run_module(["genjax.sample", f"--workdir={wd}", "--morph=1:7", "--interpolate=3",
                    f"--out={out}", "--formats=gif,mp4"])
  assert res.returncode == 0, res.stderr
  assert "os.fork" not in res.stderr
  prov = images.read_provenance(out + ".mp4")
  assert prov["morph"] == ["1", "7"] and prov["content"] == "generated image"
  bad = run_module(["genjax.sample", f"--workdir={wd}", "--traverse=2", "--truncation=1",
                    f"--out={out}"])
  assert bad.returncode == 1 and "one steering mode at a time" in bad.stderr
