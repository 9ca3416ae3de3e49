"""The interface every data source declares: what the pipeline, the
evaluators, the workdir checks and the decoded cache read of a source, each
with its default, so nothing probes a source for what it can do.

A source is made by `Source(cfg, split)` (cfg: the config's `data` section)
and registered by name with `@register("name")`, the name of `data.source`.
"""
from typing import Dict, Optional, Sequence

import numpy as np

from genjax.data.fields import Field
from genjax.registry import Registry

SOURCES = Registry("data source", "data.source")


def register(name: str):
  """Class decorator: the source `data.source=name` builds."""
  return SOURCES.register(name)


class Source:
  """Random access to the examples of one split.

  fields: name -> Field of each example (image, label, input, mask, ...).
  class_names: the classes of a labelled source (None when unlabelled).
  counts: examples per class over all splits, where the source knows them
    cheaply (image folders print them at the start of training), else None.
  aligned: input[i] and image[i] are a pair (False for unpaired domains).
  decodes: get() reads and decodes files, so worker processes speed it up
    (data.workers = -1 picks them for such sources).
  computes: get() computes each example (a derived task's degradation and
    classical prefilter) rather than copying it; on an accelerator, whose
    training leaves the host's cores free, data.workers = -1 picks worker
    processes for such sources too.
  get(indices) -> {field: array with one row per index}, uint8 images at the
    configured size and channels, int32 labels.
  whole_images(): the held-out images at full size for paired evaluation,
    where the examples are patches of them (photos), else None.
  manifest(cfg): {file under data.path: content hash} of every file the
    source reads (all splits), for file-backed sources, else None.
  """
  fields: Dict[str, Field] = {}
  class_names: Optional[Sequence[str]] = None
  counts: Optional[Sequence[int]] = None
  aligned: bool = True
  decodes: bool = False
  computes: bool = False

  def __len__(self) -> int:
    raise NotImplementedError

  def get(self, indices) -> dict:
    raise NotImplementedError

  def whole_images(self):
    return None

  @classmethod
  def manifest(cls, cfg) -> Optional[dict]:
    del cfg
    return None


class Subset(Source):
  """The examples `indices` of a source (same fields and classes)."""

  def __init__(self, source: Source, indices):
    self.source, self.indices = source, np.asarray(indices)
    self.fields, self.class_names = source.fields, source.class_names
    self.aligned, self.decodes, self.computes = source.aligned, source.decodes, source.computes

  def __len__(self):
    return len(self.indices)

  def get(self, indices):
    return self.source.get(self.indices[np.asarray(indices)])
