"""Feature extractors, by name: `classifier:<workdir>` (a classifier trained by
genjax) and `inception_v3:<weights.npz>` (the FID Inception network). Each maps uint8 NHWC images to (features, class probabilities)
and identifies itself (`id`, `weights_hash`) for provenance."""
import hashlib
import os

import jax
import numpy as np

from genjax import data, errors, workdir
from genjax.metrics import inception


def tree_hash(tree) -> str:
  h = hashlib.sha256()
  for leaf in jax.tree.leaves(tree):
    h.update(np.asarray(leaf).tobytes())
  return h.hexdigest()[:16]


def _batched(fn, weights, uint8_images, batch_size):
  """Concatenated (features, probs) of fn(weights, batch) over the images."""
  feats, probs = [], []
  for i in range(0, len(uint8_images), batch_size):
    f, p = fn(weights, np.asarray(uint8_images[i:i + batch_size]))
    feats.append(np.asarray(f))
    probs.append(np.asarray(p))
  return np.concatenate(feats), np.concatenate(probs)


class ClassifierExtractor:
  """Penultimate features and softmax of a genjax classifier run."""

  def __init__(self, run_dir: str, step=None):
    r, state, meta = workdir.restore_workdir(run_dir, step)
    if r.method.features is None:
      raise errors.InputError(f"{run_dir!r} is a {r.config.method!r} run; the classifier "
                       "extractor needs a run of configs/classifier.py.")
    self.state, self.method = state, r.method
    self.image_size, self.channels = r.config.data.image_size, r.config.data.channels
    self.id = f"classifier:{os.path.abspath(run_dir)}@{meta['step']}"
    self.weights_hash = tree_hash(state.ema_params)
    self._fn = r.jit(lambda s, x: self.method.features(s, data.normalize_images(x)))

  def __call__(self, uint8_images, batch_size: int = 500):
    return _batched(self._fn, self.state, self.fit(uint8_images), batch_size)

  def fit(self, uint8_images):
    """Resizes / converts channels to what the classifier was trained on."""
    x = np.asarray(uint8_images)
    if x.shape[1:] == (self.image_size, self.image_size, self.channels):
      return x
    return np.stack([data.prepare_image(im, self.image_size, self.channels, "resize")
                     for im in x])


class InceptionExtractor:
  """Pool features (2048) and class probabilities (1008) of the FID Inception-v3."""
  image_size, channels = 299, 3

  def __init__(self, weights_path: str):
    if not os.path.exists(weights_path):
      raise errors.MissingError(
          f"Inception weights {weights_path!r} not found. genjax ships none: convert "
          "pytorch-fid's FID weights once (see genjax/metrics/inception.py).")
    self.variables = inception.load_weights(weights_path)
    self.id = f"inception_v3:{os.path.abspath(weights_path)}"
    self.weights_hash = tree_hash(self.variables)
    model = inception.FIDInceptionV3()

    def fn(variables, x):
      feats, logits = model.apply(variables, data.normalize_images(x))
      return feats, jax.nn.softmax(logits)
    self._fn = jax.jit(fn)

  def __call__(self, uint8_images, batch_size: int = 100):
    return _batched(self._fn, self.variables, uint8_images, batch_size)


def build_extractor(spec: str):
  """`classifier:<workdir>` or `inception_v3:<converted weights .npz>`."""
  kind, _, arg = spec.partition(":")
  if kind == "classifier" and arg:
    return ClassifierExtractor(arg)
  if kind == "inception_v3" and arg:
    return InceptionExtractor(arg)
  raise errors.InputError(f"Unknown feature extractor {spec!r} (--extractor); use "
                   "classifier:<workdir of a configs/classifier.py run> or "
                   "inception_v3:<weights .npz>.")


