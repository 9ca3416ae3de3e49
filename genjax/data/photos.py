"""scikit-image's bundled photos (files inside its wheel) as restoration data:
random patches of the training photos, and the held-out photos whole."""
import functools
import os
from typing import Sequence

import numpy as np
from PIL import Image

from genjax import errors
from genjax.data import fields as fields_lib
from genjax.data.source import Source, register

# The held-out ones are never used in training; evaluation translates them whole.
PHOTOS_TRAIN = ("astronaut", "rocket", "motorcycle_left", "motorcycle_right",
                "hubble_deep_field", "ihc", "retina", "brick", "grass", "gravel", "camera",
                "moon", "coins", "page")
PHOTOS_HELDOUT = ("chelsea", "coffee")
PATCH_SEED = 2


@functools.lru_cache(maxsize=4)
def photos(names: Sequence[str], channels: int):
  """uint8 HWC arrays of the named scikit-image photos, in `channels`."""
  import skimage
  folder = os.path.join(os.path.dirname(skimage.__file__), "data")
  files = {os.path.splitext(f)[0]: f for f in os.listdir(folder)}
  out = []
  for name in names:
    with Image.open(os.path.join(folder, files[name])) as img:
      img = img.convert("L" if channels == 1 else "RGB")
      a = np.asarray(img, np.uint8)
    out.append(a[..., None] if a.ndim == 2 else a)
  return out


@register("photos")
class PhotoPatches(Source):
  """Random square patches (data.image_size) of the training photos, a new
  crop and flip per index (seeded by the index), or for the test split the
  non-overlapping patches of the held-out photos; `whole_images()` gives the
  held-out photos at full size."""

  def __init__(self, cfg, split):
    self.size, self.channels, self.split = cfg.image_size, cfg.channels, split
    if split not in ("train", "test"):
      raise errors.InputError(f"Unknown split {split!r} for data.source=photos; use train "
                              "or test.")
    names = PHOTOS_TRAIN if split == "train" else PHOTOS_HELDOUT
    self.images = photos(names, cfg.channels)
    if split == "train":
      self.length = 1 << 20  # effectively endless: crops never repeat in a run
    else:
      p = self.size
      self.grid = [(k, y, x) for k, im in enumerate(self.images)
                   for y in range(0, im.shape[0] - p + 1, p)
                   for x in range(0, im.shape[1] - p + 1, p)]
      self.length = len(self.grid)
    self.fields = {"image": fields_lib.image(cfg.image_size, cfg.channels)}

  def __len__(self):
    return self.length

  def _patch(self, i):
    p = self.size
    if self.split == "test":
      k, y, x = self.grid[i]
      return self.images[k][y:y + p, x:x + p]
    rng = np.random.default_rng([PATCH_SEED, i])
    im = self.images[i % len(self.images)]
    y, x = rng.integers(0, im.shape[0] - p + 1), rng.integers(0, im.shape[1] - p + 1)
    patch = im[y:y + p, x:x + p]
    return patch[:, ::-1] if rng.integers(2) else patch

  def get(self, indices):
    return {"image": np.stack([self._patch(int(i)) for i in np.asarray(indices)])}

  def whole_images(self):
    return list(self.images)
