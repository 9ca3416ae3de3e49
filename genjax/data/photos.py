"""Photos as restoration data: random patches of training photos, and held-out
photos whole. The pool is scikit-image's bundled photos (files inside its
wheel); data.heldout names the ones kept out of training (rotate it to
evaluate on different photos). Split "external" is three photos that ship
with other packages (matplotlib's portrait, scikit-learn's two): never
trained on nor tuned on, for a final check on unseen content."""
import functools
import importlib.util
import os
from typing import Sequence

import numpy as np
from PIL import Image

from genjax import errors
from genjax.data import fields as fields_lib
from genjax.data.source import Source, register

PHOTOS = ("astronaut", "rocket", "motorcycle_left", "motorcycle_right", "hubble_deep_field",
          "ihc", "retina", "brick", "grass", "gravel", "camera", "moon", "coins", "page",
          "chelsea", "coffee")
HELDOUT = "chelsea,coffee"  # data.heldout's default
PHOTOS_TRAIN = tuple(p for p in PHOTOS if p not in HELDOUT.split(","))
# Evaluation only: (package, path inside it).
EXTERNAL = {"grace_hopper": ("matplotlib", "mpl-data/sample_data/grace_hopper.jpg"),
            "china": ("sklearn", "datasets/images/china.jpg"),
            "flower": ("sklearn", "datasets/images/flower.jpg")}
PATCH_SEED = 2
AUGMENTS = ("flip", "dihedral")  # data.augment: horizontal flips | the 8 flips and rotations


def _file(name: str) -> str:
  if name in EXTERNAL:
    package, rel = EXTERNAL[name]
    return os.path.join(os.path.dirname(importlib.util.find_spec(package).origin), rel)
  import skimage
  folder = os.path.join(os.path.dirname(skimage.__file__), "data")
  files = {os.path.splitext(f)[0]: f for f in os.listdir(folder)}
  return os.path.join(folder, files[name])


@functools.lru_cache(maxsize=8)
def photos(names: Sequence[str], channels: int):
  """uint8 HWC arrays of the named photos (PHOTOS or EXTERNAL), in `channels`."""
  out = []
  for name in names:
    with Image.open(_file(name)) as img:
      a = np.asarray(img.convert("L" if channels == 1 else "RGB"), np.uint8)
    out.append(a[..., None] if a.ndim == 2 else a)
  return out


def heldout_names(cfg) -> tuple:
  """data.heldout as a tuple of names, checked against the pool."""
  names = tuple(n.strip() for n in cfg.get("heldout", HELDOUT).split(",") if n.strip())
  unknown = [n for n in names if n not in PHOTOS]
  if unknown or not names or len(names) >= len(PHOTOS):
    raise errors.InputError(
        f"data.heldout={cfg.get('heldout')!r}: name 1 to {len(PHOTOS) - 1} of the photos "
        f"{', '.join(PHOTOS)}, comma separated"
        + (f" ({', '.join(unknown)} unknown)." if unknown else "."))
  return names


def augment(patch, rng, kind: str):
  """A random horizontal flip ("flip") or one of the 8 flips and rotations."""
  if kind not in AUGMENTS:
    raise errors.InputError(f"Unknown data.augment {kind!r}; use {' or '.join(AUGMENTS)}.")
  if rng.integers(2):
    patch = patch[:, ::-1]
  return np.rot90(patch, int(rng.integers(4))) if kind == "dihedral" else patch


@register("photos")
class PhotoPatches(Source):
  """Random square patches (data.image_size) of the training photos, a new
  crop and augmentation per index (seeded by the index; with data.zoom a
  region magnified by a log-uniform factor in [min, max], so the patches
  hold smoother and busier content than the photos), or for the test and
  external splits the non-overlapping patches of their photos;
  `whole_images()` gives those photos at full size."""

  def __init__(self, cfg, split):
    self.size, self.channels, self.split = cfg.image_size, cfg.channels, split
    self.augment = cfg.get("augment", "flip")
    self.zoom = tuple(cfg.get("zoom", (1.0, 1.0)))
    if len(self.zoom) != 2 or not 0 < self.zoom[0] <= self.zoom[1]:
      raise errors.InputError(f"data.zoom={cfg.zoom!r}: give (min, max) magnifications, "
                              "0 < min <= max, e.g. (0.5, 2.0); (1, 1) is off.")
    heldout = heldout_names(cfg)
    names = {"train": tuple(p for p in PHOTOS if p not in heldout), "test": heldout,
             "external": tuple(EXTERNAL)}.get(split)
    if names is None:
      raise errors.InputError(f"Unknown split {split!r} for data.source=photos; use train, "
                              "test (data.heldout) or external.")
    self.names = names
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
    if self.split != "train":
      k, y, x = self.grid[i]
      return self.images[k][y:y + p, x:x + p]
    rng = np.random.default_rng([PATCH_SEED, i])
    im = self.images[i % len(self.images)]
    lo, hi = self.zoom
    if (lo, hi) != (1.0, 1.0):  # a region of p / z pixels resized to p: z > 1 magnifies
      z = float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
      side = int(np.clip(round(p / z), 8, min(im.shape[:2])))
      y, x = rng.integers(0, im.shape[0] - side + 1), rng.integers(0, im.shape[1] - side + 1)
      region = Image.fromarray(im[y:y + side, x:x + side].squeeze(-1) if im.shape[-1] == 1
                               else im[y:y + side, x:x + side])
      patch = np.asarray(region.resize((p, p), Image.BICUBIC), np.uint8).reshape(p, p, -1)
      return augment(patch, rng, self.augment)
    y, x = rng.integers(0, im.shape[0] - p + 1), rng.integers(0, im.shape[1] - p + 1)
    return augment(im[y:y + p, x:x + p], rng, self.augment)

  def get(self, indices):
    return {"image": np.stack([self._patch(int(i)) for i in np.asarray(indices)])}

  def whole_images(self):
    return list(self.images)
