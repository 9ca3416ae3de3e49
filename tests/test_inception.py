"""The FID Inception-v3 architecture and its pytorch-fid weight format."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from genjax.metrics import inception
from genjax.evaluators.extractors import build_extractor


@pytest.fixture(scope="module")
def random_weights(tmp_path_factory):
  """Random variables saved in the pytorch-fid naming, as the converter writes."""
  # The shapes from eval_shape (compiling Inception's initialiser takes longer
  # than the tests), the values drawn here: kernels scaled by fan-in, other
  # parameters and the running statistics non-trivial.
  shapes = jax.eval_shape(inception.FIDInceptionV3().init, jax.random.PRNGKey(0),
                          jnp.zeros((1, 299, 299, 3)))
  rng = np.random.default_rng(0)
  def draw(path, s):
    if jax.tree_util.keystr(path).endswith("['kernel']"):
      return rng.normal(0, 1 / np.sqrt(np.prod(s.shape[:-1])), s.shape).astype(np.float32)
    return rng.uniform(0.5, 1.5, s.shape).astype(np.float32)
  variables = jax.tree_util.tree_map_with_path(draw, shapes)
  path = tmp_path_factory.mktemp("inception") / "fid_inception.npz"
  np.savez(path, **inception.to_torch_names(variables))
  return variables, str(path)


def test_weights_use_pytorch_fid_names_and_layouts(random_weights):
  _, path = random_weights
  with np.load(path) as f:
    names = dict(f)
  assert names["Conv2d_1a_3x3.conv.weight"].shape == (32, 3, 3, 3)
  assert names["Mixed_6b.branch7x7_2.conv.weight"].shape == (128, 128, 1, 7)
  assert names["Mixed_7c.branch_pool.conv.weight"].shape == (192, 2048, 1, 1)
  assert names["Mixed_5b.branch1x1.bn.running_var"].shape == (64,)
  assert names["fc.weight"].shape == (1008, 2048) and names["fc.bias"].shape == (1008,)
  assert not any(k.endswith("kernel") or k.endswith("scale") for k in names)


def test_saved_weights_reload_to_the_same_network(random_weights, tmp_path):
  variables, path = random_weights
  loaded = inception.load_weights(path)
  for a, b in zip(jax.tree.leaves(variables), jax.tree.leaves(loaded)):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
  ext = build_extractor(f"inception_v3:{path}")
  images = np.random.default_rng(0).integers(0, 255, (3, 28, 28, 1), np.uint8)
  feats, probs = ext(images)
  assert feats.shape == (3, 2048) and probs.shape == (3, 1008)
  np.testing.assert_allclose(probs.sum(1), 1.0, rtol=1e-5)
  x = jnp.asarray(images, jnp.float32) / 127.5 - 1
  direct, _ = jax.jit(inception.FIDInceptionV3().apply)(variables, x)
  np.testing.assert_allclose(feats, direct, rtol=1e-4, atol=1e-5)


def test_incomplete_weights_are_refused(random_weights, tmp_path):
  _, path = random_weights
  with np.load(path) as f:
    arrays = {k: v for k, v in f.items() if not k.startswith("Mixed_7c")}
  np.savez(tmp_path / "partial.npz", **arrays)
  with pytest.raises(ValueError, match="lack .* arrays"):
    inception.load_weights(str(tmp_path / "partial.npz"))
  with pytest.raises(FileNotFoundError, match="ships none"):
    build_extractor(f"inception_v3:{tmp_path / 'missing.npz'}")
