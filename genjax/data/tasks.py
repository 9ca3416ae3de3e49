"""Derived paired tasks: (degraded input, clean target) made on the fly from
any image source, so restoration and translation are measurable offline.

data.task: denoise (Gaussian noise, data.noise_std on 0..255), sr2 / sr4
(bicubic down-sampling by 2 / 4: the input is smaller), deblur (Gaussian blur,
data.blur_sigma), colorize (grey input, colour target), inpaint (holes:
data.mask = boxes | strokes; a `mask` field, 1 = hole, and the input's pixels
under the hole set to grey). The degradation of example i is seeded by i alone,
so the batch at step s stays a pure function of (seed, s).
"""
import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from genjax.data import fields as fields_lib
from genjax.registry import Registry

TASK_SEED = 1
DEGRADATIONS = Registry("derived task", "data.task")


def _pil(x):
  return Image.fromarray(x[..., 0] if x.shape[-1] == 1 else x)


def _arr(img):
  a = np.asarray(img, np.uint8)
  return a[..., None] if a.ndim == 2 else a


@DEGRADATIONS.register("denoise")
def denoise(x, rng, cfg):
  noisy = x.astype(np.float64) + rng.normal(0.0, cfg.noise_std, x.shape)
  return {"input": np.clip(np.round(noisy), 0, 255).astype(np.uint8)}


def _down(factor):
  def degrade(x, rng, cfg):
    del rng, cfg
    h, w = x.shape[:2]
    if h % factor or w % factor:
      raise ValueError(f"sr{factor}: image size {h}x{w} is not a multiple of {factor} "
                       "(data.image_size).")
    return {"input": _arr(_pil(x).resize((w // factor, h // factor), Image.BICUBIC))}
  return degrade


DEGRADATIONS["sr2"] = _down(2)
DEGRADATIONS["sr4"] = _down(4)


@DEGRADATIONS.register("deblur")
def deblur(x, rng, cfg):
  del rng
  return {"input": _arr(_pil(x).filter(ImageFilter.GaussianBlur(cfg.blur_sigma)))}


@DEGRADATIONS.register("colorize")
def colorize(x, rng, cfg):
  del rng, cfg
  if x.shape[-1] != 3:
    raise ValueError("data.task=colorize needs colour targets (data.channels=3).")
  return {"input": _arr(_pil(x).convert("L"))}


def hole_mask(h, w, rng, kind: str = "boxes") -> np.ndarray:
  """uint8 (h, w, 1), 1 = hole: 1-3 random boxes (10-40% of each side) or 1-4
  free-form strokes (thick random polylines)."""
  img = Image.new("L", (w, h), 0)
  draw = ImageDraw.Draw(img)
  if kind == "boxes":
    for _ in range(rng.integers(1, 4)):
      bh, bw = (int(rng.uniform(0.1, 0.4) * s) + 1 for s in (h, w))
      y, x = rng.integers(0, h - bh + 1), rng.integers(0, w - bw + 1)
      draw.rectangle([x, y, x + bw - 1, y + bh - 1], fill=1)
  elif kind == "strokes":
    for _ in range(rng.integers(1, 5)):
      pts = [(float(rng.uniform(0, w)), float(rng.uniform(0, h))) for _ in range(rng.integers(2, 6))]
      draw.line(pts, fill=1, width=max(1, int(rng.uniform(0.04, 0.12) * min(h, w))))
  else:
    raise ValueError(f"Unknown data.mask {kind!r}; use boxes or strokes.")
  return np.asarray(img, np.uint8)[..., None]


@DEGRADATIONS.register("inpaint")
def inpaint(x, rng, cfg):
  mask = hole_mask(x.shape[0], x.shape[1], rng, cfg.mask)
  return {"input": np.where(mask == 1, np.uint8(128), x), "mask": mask}


def degrade(task: str, x, rng, cfg) -> dict:
  return DEGRADATIONS[task](x, rng, cfg)


class PairedTask:
  """A source's examples as (input, image) pairs: `image` is the clean target,
  `input` its degradation (and `mask` for inpainting); labels pass through."""

  def __init__(self, source, cfg):
    self.source, self.cfg, self.task = source, cfg, cfg.task
    self.class_names = source.class_names
    target = source.fields["image"]
    probe = degrade(self.task, np.zeros(target.shape, np.uint8), np.random.default_rng(0), cfg)
    self.fields = dict(source.fields)
    self.fields["input"] = fields_lib.Field("image", probe["input"].shape)
    if "mask" in probe:
      self.fields["mask"] = fields_lib.Field("mask", probe["mask"].shape)

  def __len__(self):
    return len(self.source)

  def get(self, indices):
    indices = np.asarray(indices)
    batch = self.source.get(indices)
    outs = [degrade(self.task, x, np.random.default_rng([TASK_SEED, int(i)]), self.cfg)
            for x, i in zip(batch["image"], indices)]
    for key in outs[0]:
      batch[key] = np.stack([o[key] for o in outs])
    return batch
