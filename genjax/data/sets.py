"""Whole image sets in memory: every example of a split, or images named by a
spec (.npz, image folder, tfds:NAME:SPLIT), for evaluation and steering."""
import os

import numpy as np

from genjax import config_lib, errors
from genjax.data import arrays, sources


def split_examples(cfg, split: str) -> dict:
  """Every example of `split` of the data config `cfg`, as arrays by field."""
  source = sources.build_source(cfg, split)
  return source.get(np.arange(len(source)))


def split_images(cfg, split: str) -> np.ndarray:
  return split_examples(cfg, split)["image"]


def load_image_set(spec: str, image_size: int, channels: int) -> np.ndarray:
  """uint8 NHWC images from an .npz, an image folder or tfds:NAME:SPLIT,
  resized to image_size and converted to `channels`."""
  if spec.endswith(".npz"):
    return arrays.read_npz(spec)[0]
  cfg = config_lib.data_config("folder")
  cfg.update(image_size=image_size, channels=channels, crop="resize")
  if spec.startswith("tfds:"):
    _, name, split = spec.split(":", 2)
    cfg.update(source="tfds", name=name)
  elif os.path.isdir(spec):
    cfg.path, split = spec, "all"
  else:
    raise errors.InputError(f"Cannot read image set {spec!r}: give an .npz with 'images', an "
                     "image folder, or tfds:NAME:SPLIT.")
  return split_images(cfg, split)
