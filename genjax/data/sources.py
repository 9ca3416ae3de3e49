"""Every data source by name (data.source), built for a split with the
derived task (data.task), the small-data subset (data.per_class) and the
decoded cache (data.cache) applied. Each source is a small module declaring
the Source interface (source.py): arrays (embedded digits, .npz), tfds_source,
folders (image folders, paired folders), photos, unpaired (two domains)."""
import numpy as np

from genjax import errors
from genjax.data import arrays, cache, folders, photos, tfds_source, unpaired  # noqa: F401 (register)
from genjax.data.source import SOURCES, Source, Subset
from genjax.data.tasks import derived


def first_per_class(source: Source, n: int) -> Subset:
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
  return SOURCES[cfg.source].manifest(cfg)


def base_source(cfg, split: str) -> Source:
  """The source of data.source for one split, read from the decoded cache
  (data.cache) when one is given, before any derived task."""
  if cfg.get("cache"):
    return cache.CacheSource(cfg, split)
  return SOURCES[cfg.source](cfg, split)


def build_source(cfg, split: str) -> Source:
  """The source named by cfg.source for one split, as training reads it."""
  source = base_source(cfg, split)
  if cfg.get("per_class") and split == cfg.split:
    source = first_per_class(source, cfg.per_class)
  if cfg.get("task"):
    source = derived(source, cfg)
  if len(source) == 0:
    raise errors.InputError(f"Data source {cfg.source!r} split {split!r} is empty.")
  return source
