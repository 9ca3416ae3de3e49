"""Image files and arrays to the uint8 HWC images sources hand out: decoding
(EXIF orientation, 16-bit, CMYK), channels (alpha over white, grey <-> RGB)
and the square crop / resize to data.image_size."""
import numpy as np
from PIL import Image, ImageOps

from genjax import errors

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")


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
  """A decoded image file (see _decode); an unreadable one is an error naming it."""
  try:
    with Image.open(path) as img:
      img.load()
      return _decode(img)
  except (OSError, SyntaxError) as e:
    raise errors.InputError(f"Cannot read image {path!r}: {e}. Remove or replace the file "
                            "(data.path).") from None
