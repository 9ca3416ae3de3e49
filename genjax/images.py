"""Image grids, and PNG files and animations (GIF, WebP, MP4) that carry their
provenance: PNG text chunks, the GIF comment, the WebP's EXIF description,
the MP4's comment tag."""
import json
import math
import os
import re
import subprocess
import warnings

import numpy as np
from PIL import Image, PngImagePlugin

from genjax import errors

GENERATED = "generated image"  # the `content` of every generated file's provenance
ANIMATIONS = ("gif", "webp", "mp4")
_EXIF_DESCRIPTION = 0x010E  # ImageDescription


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


def _pil(frame: np.ndarray) -> Image.Image:
  return Image.fromarray(frame[..., 0] if frame.shape[-1] == 1 else frame)


def save_animation(path: str, frames, provenance: dict = None, fps: float = 10.0):
  """uint8 frames [T, H, W, C] as an animation, by the file's extension:
  .gif and .webp (Pillow; looping, lossless WebP) or .mp4 (H.264 through
  imageio's ffmpeg plugin: pip install genjax[video]). The provenance JSON goes
  into the GIF comment, the WebP's EXIF ImageDescription or the MP4's comment."""
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  frames = np.asarray(frames)
  text = json.dumps(provenance or {}, sort_keys=True)
  ext = os.path.splitext(path)[1].lower().lstrip(".")
  duration = int(round(1000.0 / fps))
  if ext in ("gif", "webp"):
    first, *rest = [_pil(f) for f in frames]
    kw = dict(save_all=True, append_images=rest, duration=duration, loop=0)
    if ext == "gif":
      first.save(path, comment=text, **kw)
    else:
      exif = Image.Exif()
      exif[_EXIF_DESCRIPTION] = text
      first.save(path, lossless=True, exif=exif, **kw)
    return
  if ext != "mp4":
    raise errors.InputError(f"Unknown animation format {ext!r} ({path}); use one of "
                     f"{', '.join(ANIMATIONS)}.")
  try:
    import imageio.v2 as imageio
    import imageio_ffmpeg  # noqa: F401  (the ffmpeg binary imageio's plugin runs)
  except ImportError:
    raise errors.InputError("MP4 needs imageio's ffmpeg plugin: pip install genjax[video] (or "
                     "imageio-ffmpeg), or write gif / webp.") from None
  rgb = np.repeat(frames, 3, -1) if frames.shape[-1] == 1 else frames
  pad = ((0, 0), (0, rgb.shape[1] % 2), (0, rgb.shape[2] % 2), (0, 0))  # yuv420p: even sides
  with warnings.catch_warnings():  # JAX warns of any fork; ffmpeg is exec'd at once
    warnings.filterwarnings("ignore", "os.fork", RuntimeWarning)
    imageio.mimwrite(path, np.pad(rgb, pad, mode="edge"), fps=fps, codec="libx264",
                     macro_block_size=1, output_params=["-metadata", f"comment={text}"])


def read_provenance(path: str) -> dict:
  """The provenance of a PNG, GIF, WebP or MP4 written by genjax (a dict of
  strings for PNG text chunks, the decoded JSON otherwise)."""
  ext = os.path.splitext(path)[1].lower()
  if ext == ".mp4":  # ffmpeg's metadata dump escapes = ; # \\ and newlines with a backslash
    import imageio_ffmpeg
    out = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", path, "-f",
                          "ffmetadata", "-"], capture_output=True, text=True, check=True).stdout
    line = next((l for l in out.splitlines() if l.startswith("comment=")), "comment={}")
    return json.loads(re.sub(r"\\(.)", r"\1", line[len("comment="):]))
  with Image.open(path) as img:
    if ext == ".gif":
      return json.loads(img.info.get("comment", b"{}").decode())
    if ext == ".webp":
      return json.loads(img.getexif().get(_EXIF_DESCRIPTION, "{}"))
    return {k[len("genjax:"):]: v for k, v in img.text.items() if k.startswith("genjax:")}


def _starts(length: int, tile: int, overlap: int):
  """Tile offsets covering [0, length): a single tile when it fits."""
  if length <= tile:
    return [0]
  starts = list(range(0, length - tile, tile - overlap))
  return starts + [length - tile]


def _ramp(n: int, overlap: int) -> np.ndarray:
  """Blending weight along one side of a tile: rises over `overlap` pixels at
  both ends (never 0, so a pixel covered by one tile keeps its value)."""
  w = np.ones(n)
  if overlap > 0 and n > 2 * overlap:
    r = (np.arange(overlap) + 1.0) / (overlap + 1.0)
    w[:overlap], w[n - overlap:] = r, r[::-1]
  return w


def dihedral(x: np.ndarray, k: int) -> np.ndarray:
  """The k-th of the 8 flips and quarter turns of an HWC image (k % 4 turns,
  then a left-right flip when k >= 4)."""
  x = np.rot90(x, k % 4)
  return x[:, ::-1] if k >= 4 else x


def undo_dihedral(x: np.ndarray, k: int) -> np.ndarray:
  return np.rot90(x[:, ::-1] if k >= 4 else x, -(k % 4))


def self_ensemble(fn, inputs: dict) -> np.ndarray:
  """Test-time self-ensemble (the "x8" of Timofte et al. 2016, Lim et al.
  2017): the mean of an image-to-image `fn` (dict of HWC arrays -> HWC float
  output) over the 8 flips and rotations of its inputs, each output turned
  back. Removes orientation-dependent artefacts at 8x the compute; the result
  commutes with every flip and rotation."""
  outs = [undo_dihedral(fn({key: dihedral(v, k) for key, v in inputs.items()}), k)
          for k in range(8)]
  return np.mean(outs, axis=0, dtype=np.float64).astype(np.float32)


def tiled(fn, inputs: dict, tile: int = 256, overlap: int = 32, multiple: int = 1,
          scale: int = 1) -> np.ndarray:
  """Applies an image-to-image `fn` (dict of NHWC arrays -> NHWC float output
  `scale` x larger) to one image (dict of HWC arrays of equal height and
  width) of any size: sides are reflect-padded to a multiple of `multiple`;
  an image larger than `tile` runs tile by tile, tiles overlapping by
  `overlap` and blended with linear ramps. Where the image fits one tile the
  result is exactly fn on the whole (padded) image."""
  h, w = next(iter(inputs.values())).shape[:2]
  tile = max(multiple, tile // multiple * multiple)
  pad_to = lambda n: n if n > tile else -(-n // multiple) * multiple
  ph, pw = pad_to(h), pad_to(w)
  padded = {k: np.pad(v, ((0, ph - h), (0, pw - w), (0, 0)), mode="reflect" if min(h, w) > 1
                      else "edge") for k, v in inputs.items()}
  th, tw = min(tile, ph), min(tile, pw)
  if (th, tw) == (ph, pw):  # one tile: fn on the whole image
    out = np.asarray(fn({k: v[None] for k, v in padded.items()}))[0]
    return out[:h * scale, :w * scale].astype(np.float32)
  acc = weight = None
  for y in _starts(ph, th, overlap):
    for x in _starts(pw, tw, overlap):
      out = np.asarray(fn({k: v[None, y:y + th, x:x + tw] for k, v in padded.items()}))[0]
      if acc is None:
        acc = np.zeros((ph * scale, pw * scale, out.shape[-1]))
        weight = np.zeros((ph * scale, pw * scale, 1))
      wt = np.outer(_ramp(th * scale, overlap * scale), _ramp(tw * scale, overlap * scale))
      ys, xs = slice(y * scale, (y + th) * scale), slice(x * scale, (x + tw) * scale)
      acc[ys, xs] += wt[..., None] * out
      weight[ys, xs] += wt[..., None]
  return (acc / weight)[:h * scale, :w * scale].astype(np.float32)
