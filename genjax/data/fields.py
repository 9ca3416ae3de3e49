"""What an example holds. A source declares its fields (name -> Field) and a
method the names it needs; `normalize` and `dummy_batch` follow the declaration.

Kinds: "image" (uint8 HWC, enters models as float32 in [-1, 1]), "label"
(int32 class index), "mask" (uint8 HW1, 1 = hole, enters models as float32 0/1),
"level" (uint8 HW1 map of a level on the 0..255 scale, such as the noise std
of each pixel; enters models as float32 level / 255).
"""
import dataclasses
import json
from typing import Dict, Optional, Sequence, Tuple

import jax.numpy as jnp
import numpy as np

from genjax import errors

DTYPES = {"image": np.uint8, "label": np.int32, "mask": np.uint8, "level": np.uint8}


@dataclasses.dataclass(frozen=True)
class Field:
  kind: str                  # image | label | mask | level
  shape: Tuple[int, ...] = ()  # per example

  def __post_init__(self):
    if self.kind not in DTYPES:
      raise errors.InputError(f"Unknown field kind {self.kind!r}; use one of {', '.join(DTYPES)}.")

  @property
  def dtype(self):
    return DTYPES[self.kind]


def image(size: int, channels: int) -> Field:
  return Field("image", (size, size, channels))


LABEL = Field("label")


@dataclasses.dataclass(frozen=True)
class DataInfo:
  """The fields of a source's examples and, for labelled sources, the class
  names (folder sub-folders, TFDS label names, or digits "0".."9")."""
  fields: Dict[str, Field]
  class_names: Optional[Sequence[str]] = None
  counts: Optional[Sequence[int]] = None  # examples per class, where the source knows

  @property
  def num_classes(self) -> int:
    return len(self.class_names) if self.class_names else 0

  def to_json(self) -> str:
    return json.dumps({"fields": {k: [f.kind, list(f.shape)] for k, f in self.fields.items()},
                       "class_names": list(self.class_names or []),
                       "counts": list(self.counts or [])}, indent=2)

  @classmethod
  def from_json(cls, text: str) -> "DataInfo":
    d = json.loads(text)
    fields = {k: Field(kind, tuple(shape)) for k, (kind, shape) in d["fields"].items()}
    return cls(fields, d["class_names"] or None, d.get("counts") or None)


def describe(source) -> DataInfo:
  return DataInfo(dict(source.fields), source.class_names,
                  list(source.counts) if source.counts else None)


def normalize(batch: dict, fields: Dict[str, Field]) -> dict:
  """Images -> float32 in [-1, 1], masks -> float32 0/1, levels -> float32
  level / 255; other entries as they are (jit-able)."""
  out = dict(batch)
  for name, f in fields.items():
    if name in batch and f.kind == "image":
      out[name] = batch[name].astype(jnp.float32) / 127.5 - 1.0
    elif name in batch and f.kind == "mask":
      out[name] = batch[name].astype(jnp.float32)
    elif name in batch and f.kind == "level":
      out[name] = batch[name].astype(jnp.float32) / 255.0
  return out


def dummy_batch(fields: Dict[str, Field], batch_size: int = 2) -> dict:
  """A zero batch with the declared shapes, for initialisation."""
  return {k: np.zeros((batch_size,) + f.shape, f.dtype) for k, f in fields.items()}


def normalize_images(uint8_images):
  """uint8 images -> float32 in [-1, 1]."""
  return normalize({"image": uint8_images}, {"image": Field("image")})["image"]
