"""Image grids and PNG files that carry their provenance as text chunks."""
import json
import math
import os

import numpy as np
from PIL import Image, PngImagePlugin


def to_uint8(images) -> np.ndarray:
  """float images in [-1, 1] -> uint8 in [0, 255]."""
  x = np.asarray(images, dtype=np.float32)
  return np.clip(np.round((x + 1.0) * 127.5), 0, 255).astype(np.uint8)


def grid(images, ncol: int = 0, pad: int = 2, pad_value: int = 255) -> np.ndarray:
  """uint8 NHWC -> one uint8 HWC image of tiles, ncol per row (square default)."""
  images = np.asarray(images)
  n, h, w, c = images.shape
  ncol = ncol or max(1, int(math.ceil(math.sqrt(n))))
  nrow = int(math.ceil(n / ncol))
  out = np.full((nrow * (h + pad) + pad, ncol * (w + pad) + pad, c), pad_value, np.uint8)
  for i, im in enumerate(images):
    r, q = divmod(i, ncol)
    y, x = pad + r * (h + pad), pad + q * (w + pad)
    out[y:y + h, x:x + w] = im
  return out


def save_png(path: str, image: np.ndarray, provenance: dict = None):
  """Writes a uint8 HWC (C in 1, 3) image; provenance goes into tEXt chunks."""
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  image = np.asarray(image)
  info = PngImagePlugin.PngInfo()
  for k, v in (provenance or {}).items():
    info.add_text(f"genjax:{k}", v if isinstance(v, str) else json.dumps(v))
  Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image).save(path, pnginfo=info)


def read_provenance(path: str) -> dict:
  """The genjax:* text chunks of a PNG written by `save_png`."""
  with Image.open(path) as img:
    return {k[len("genjax:"):]: v for k, v in img.text.items() if k.startswith("genjax:")}
