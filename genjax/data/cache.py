"""A decoded cache of a dataset: every example of the configured splits,
decoded, cropped and resized once into uint8 .npy arrays (one per field and
split) that training memory-maps, so reading a batch is a copy.

  DIR/meta.json         settings, splits, fields, class names and counts,
                        the files read with their hashes, genjax version
  DIR/<split>/<field>.npy

`python -m genjax.data.prepare` builds it (in worker processes, with a
progress bar); `data.cache=DIR` reads it. A cache whose settings differ from
the config's, or whose folder changed since, is refused with the command
that rebuilds it. Only .npy arrays and JSON are read (never a pickle)."""
import json
import os
import shutil
import time

import numpy as np

import genjax
from genjax import errors
from genjax.data import fields as fields_lib
from genjax.data.pipeline import map_in_workers
from genjax.data.source import SOURCES, Source

META = "meta.json"
# The data settings that change what the cached arrays hold.
SETTINGS = ("source", "name", "path", "data_dir", "image_size", "channels", "crop",
            "crop_size", "image_key", "label_key", "holdout_fraction")


def settings(cfg) -> dict:
  return {k: cfg.get(k) for k in SETTINGS}


def _fingerprint(cfg) -> dict:
  """{file under data.path: [size, mtime_ns]}: a cheap check of a folder."""
  root = os.path.expanduser(cfg.path)
  out = {}
  for rel in SOURCES[cfg.source].manifest(cfg) or {}:
    st = os.stat(os.path.join(root, rel))
    out[rel] = [st.st_size, st.st_mtime_ns]
  return out


class _Rows:
  """A picklable `start -> source rows [start, start + chunk)` for the workers."""

  def __init__(self, source: Source, chunk: int):
    self.source, self.chunk = source, chunk

  def __call__(self, start):
    idx = np.arange(start, min(start + self.chunk, len(self.source)))
    return start, self.source.get(idx)


def build(cfg, out_dir: str, splits, workers: int = 0, chunk: int = 64,
          progress: bool = True) -> dict:
  """Decodes `splits` of data config `cfg` into a cache at out_dir; returns
  its meta. Written to a temporary folder and renamed, so a cache is complete
  or absent."""
  from tqdm import tqdm
  tmp = out_dir.rstrip("/") + ".tmp"
  if os.path.exists(tmp):
    shutil.rmtree(tmp)
  os.makedirs(tmp)
  manifest = SOURCES[cfg.source].manifest(cfg)
  meta = {"version": 1, "settings": settings(cfg), "splits": {}, "genjax_version":
          genjax.__version__, "created": time.strftime("%Y-%m-%d %H:%M:%S"),
          "files": manifest, "fingerprint": _fingerprint(cfg) if manifest else None}
  for split in splits:
    source = SOURCES[cfg.source](cfg, split)
    os.makedirs(os.path.join(tmp, split))
    arrays = {name: np.lib.format.open_memmap(
        os.path.join(tmp, split, f"{name}.npy"), mode="w+", dtype=f.dtype,
        shape=(len(source),) + tuple(f.shape)) for name, f in source.fields.items()}
    starts = range(0, len(source), chunk)
    with tqdm(total=len(source), unit="img", desc=f"{split}", disable=not progress) as bar:
      for start, rows in map_in_workers(_Rows(source, chunk), starts, workers):
        for name, a in arrays.items():
          a[start:start + len(rows[name])] = rows[name]
        bar.update(len(rows["image"]))
    for a in arrays.values():
      a.flush()
    meta["splits"][split] = {
        "length": len(source),
        "fields": {k: [f.kind, list(f.shape)] for k, f in source.fields.items()},
        "class_names": list(source.class_names) if source.class_names else None,
        "counts": list(source.counts) if source.counts else None}
  with open(os.path.join(tmp, META), "w") as f:
    json.dump(meta, f, indent=1)
  if os.path.exists(out_dir):
    shutil.rmtree(out_dir)
  os.replace(tmp, out_dir)
  return meta


def _rebuild(cfg) -> str:
  return (f"rebuild it: python -m genjax.data.prepare --config <the run's config> "
          f"--out {cfg.cache}")


def load_meta(cfg) -> dict:
  path = os.path.join(cfg.cache, META)
  if not os.path.exists(path):
    raise errors.MissingError(f"No decoded cache at data.cache={cfg.cache!r} (no {META}); "
                              f"{_rebuild(cfg)}.")
  with open(path) as f:
    return json.load(f)


def check(cfg, meta: dict):
  """The cache holds what the config asks for: the same settings, and for a
  folder the same files (sizes and times; contents re-hashed where those moved)."""
  want, have = settings(cfg), meta["settings"]
  differ = sorted(k for k in want if want[k] != have.get(k))
  if differ:
    raise errors.InputError(
        f"The decoded cache {cfg.cache!r} was built with other data settings ("
        + ", ".join(f"data.{k}: cache {have.get(k)!r}, config {want[k]!r}" for k in differ)
        + f"); {_rebuild(cfg)}, or drop data.cache.")
  if not meta.get("files"):
    return
  root = os.path.expanduser(cfg.path)
  now = _fingerprint(cfg)
  old = meta["fingerprint"]
  added, removed = sorted(now.keys() - old.keys()), sorted(old.keys() - now.keys())
  moved = [k for k in now.keys() & old.keys() if now[k] != old[k]]
  changed = []
  if moved:  # sizes or times moved: compare contents
    current = SOURCES[cfg.source].manifest(cfg)
    changed = sorted(k for k in moved if current[k] != meta["files"][k])
  if added or removed or changed:
    what = ", ".join(f"{len(v)} {n} (e.g. {v[0]})" for n, v in
                     (("added", added), ("removed", removed), ("changed", changed)) if v)
    raise errors.InputError(f"The files under data.path {root!r} changed since the decoded "
                            f"cache {cfg.cache!r} was built ({what}); {_rebuild(cfg)}.")


class CacheSource(Source):
  """One split of a decoded cache (data.cache), memory-mapped."""

  def __init__(self, cfg, split):
    meta = load_meta(cfg)
    check(cfg, meta)
    if split not in meta["splits"]:
      raise errors.InputError(f"The decoded cache {cfg.cache!r} has splits "
                              f"{', '.join(meta['splits'])}, not {split!r}; {_rebuild(cfg)} "
                              f"with --splits including {split}.")
    info = meta["splits"][split]
    self.fields = {k: fields_lib.Field(kind, tuple(shape))
                   for k, (kind, shape) in info["fields"].items()}
    self.class_names, self.counts = info["class_names"], info["counts"]
    self.folder, self.cfg = os.path.join(cfg.cache, split), cfg
    self.length = info["length"]
    self._open()

  def _open(self):
    self.arrays = {}
    for k in self.fields:
      path = os.path.join(self.folder, f"{k}.npy")
      try:
        self.arrays[k] = np.load(path, mmap_mode="r", allow_pickle=False)
      except ValueError as e:  # object arrays: numpy would need to unpickle them
        raise errors.InputError(f"{path} is not a plain array ({e}); a decoded cache holds "
                                f"uint8 / int32 arrays only and is never unpickled: "
                                f"{_rebuild(self.cfg)}.") from None

  def __getstate__(self):  # a worker process maps the files itself
    return {k: v for k, v in self.__dict__.items() if k != "arrays"}

  def __setstate__(self, state):
    self.__dict__.update(state)
    self._open()

  def __len__(self):
    return self.length

  def get(self, indices):
    idx = np.asarray(indices)
    return {k: np.asarray(a[idx]) for k, a in self.arrays.items()}
