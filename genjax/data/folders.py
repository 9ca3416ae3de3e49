"""Image folders: sub-folders as classes or styles (FolderSource), and paired
folders for pix2pix (A/ and B/ with matching names, or side-by-side AB
images). Files are decoded on each read (data.workers run them in parallel)
or once into a decoded cache (genjax.data.prepare)."""
import hashlib
import os

import numpy as np

from genjax import errors
from genjax.data import fields as fields_lib
from genjax.data.arrays import holdout_split
from genjax.data.decode import IMAGE_EXTENSIONS, open_image, prepare_image
from genjax.data.source import Source, register
from genjax.data.tfds_source import image_fields


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


def folder_manifest(cfg) -> dict:
  """{path relative to data.path: sha256 of the file's bytes} of every image
  listed (all splits): what a resumed run and a decoded cache check against."""
  root = os.path.expanduser(cfg.path)
  out = {}
  for path, _ in list_images(root)[1]:
    h = hashlib.sha256()
    with open(path, "rb") as f:
      for chunk in iter(lambda: f.read(1 << 20), b""):
        h.update(chunk)
    out[os.path.relpath(path, root)] = h.hexdigest()[:16]
  return out


@register("folder")
class FolderSource(Source):
  """Images under `path`: each sub-folder is a class (or style), sorted by name
  (see list_images for top-level images, hidden files and links)."""
  decodes = True

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
    if classes:
      self.counts = np.bincount([l for _, l in files], minlength=len(classes)).tolist()
    self.fields = image_fields(cfg, bool(classes))
    self.cfg = cfg

  @classmethod
  def manifest(cls, cfg) -> dict:
    return folder_manifest(cfg)

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


@register("paired_folder")
class PairedFolder(Source):
  """Aligned (input, target) images for pix2pix-style training, under
  data.path, or data.path/<split>/ where that exists (the pix2pix datasets
  ship train/ val/ test/): either A/ and B/ sub-folders whose files share
  names up to the extension (A -> `input`, B -> `image`), or side-by-side
  images with A on the left half and B on the right (pix2pix's AB layout).
  Without split folders a fixed data.holdout_fraction is held out."""
  decodes = True

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
          raise errors.InputError(f"{len(alone)} image(s) in {d!r} have no partner of the "
                                  f"same name in {other!r} (e.g. {alone[0]}); add or remove "
                                  "them.")
      pairs = [(side[a_dir][k], side[b_dir][k]) for k in sorted(side[a_dir])]
    else:
      pairs = [(p, None) for p, _ in list_images(base)[1]]
    if not pairs:
      raise errors.MissingError(f"No image pairs under {base!r} (config key data.path): give "
                                "A/ and B/ folders with matching names or side-by-side AB "
                                "images.")
    held = "test" if split in ("val", "validation") else split  # no split folders
    idx = np.arange(len(pairs)) if split_dirs else holdout_split(len(pairs), held,
                                                                 cfg.holdout_fraction)
    self.pairs = [pairs[i] for i in idx]
    self.fields = {"input": fields_lib.image(cfg.image_size, cfg.channels),
                   "image": fields_lib.image(cfg.image_size, cfg.channels)}
    self.cfg = cfg

  @classmethod
  def manifest(cls, cfg) -> dict:
    return folder_manifest(cfg)

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
