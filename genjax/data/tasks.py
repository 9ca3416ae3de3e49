"""Derived paired tasks: (degraded input, clean target) made on the fly from
any image source, so restoration and translation are measurable offline.

data.task: denoise (Gaussian noise, data.noise_std on 0..255, or stds drawn
from [data.noise_std_min, data.noise_std_max]; with data.noise_map a `noise`
field, the std map, the model's second input as in FFDNet; with
data.prefilter=nl_means a `prefilter` field, the non-local means of the noisy
image), sr2 / sr4 (bicubic down-sampling by 2 / 4: the input is smaller),
deblur (Gaussian blur, data.blur_sigma), colorize (grey input, colour
target), inpaint (holes: data.mask = boxes | strokes; a `mask` field, 1 =
hole, and the input's pixels under the hole set to grey; with
data.prefilter=biharmonic a `prefilter` field, the holes filled by biharmonic
inpainting), harmonize (composition: a region, data.mask = boxes | strokes,
given another colour cast, as when pasted from another photo; a `region`
field, 1 = the pasted region, whose pixels stay in the input), edges (the
image's outlines, white on black: edges -> image translation such as
edges2digits), thin2thick (the image -> its strokes dilated: a known mapping
for unpaired translation, data.unpaired). The degradation of example
i is seeded by i alone, so the batch at step s stays a pure function of
(seed, s).
"""
import functools
import os

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from genjax import errors
from genjax.data import fields as fields_lib, photos
from genjax.data.source import Source
from genjax.data.unpaired import Unpaired
from genjax.registry import Registry

TASK_SEED = 1
DEGRADATIONS = Registry("derived task", "data.task")


def _pil(x):
  return Image.fromarray(x[..., 0] if x.shape[-1] == 1 else x)


def _arr(img):
  a = np.asarray(img, np.uint8)
  return a[..., None] if a.ndim == 2 else a


def noise_std(rng, cfg) -> float:
  """data.noise_std, or with data.noise_std_max > 0 a whole number drawn
  uniformly from [data.noise_std_min, data.noise_std_max] (one per example)."""
  lo, hi = cfg.get("noise_std_min", 0.0), cfg.get("noise_std_max", 0.0)
  if hi <= 0:
    return cfg.noise_std
  if not 0 <= lo <= hi <= 255:
    raise errors.InputError(f"data.noise_std_min={lo} / noise_std_max={hi}: need "
                            "0 <= min <= max <= 255.")
  return float(rng.integers(round(lo), round(hi) + 1))


def noise_map(shape, std: float) -> np.ndarray:
  """The noise-level input of a denoiser (data.noise_map): uint8 (h, w, 1) std."""
  if not 0 <= std <= 255:
    raise errors.InputError(f"Noise std {std} is outside 0..255 (on the 0..255 scale).")
  return np.full(tuple(shape[:2]) + (1,), round(std), np.uint8)


def nl_means(noisy, std: float) -> np.ndarray:
  """scikit-image's non-local means of a uint8 HWC image with Gaussian noise
  of `std` (0..255): h = 0.8 std, 5x5 patches, 13x13 search window (the fast
  mode). The denoising baseline, and a denoiser's prefilter (data.prefilter).
  The last few results are kept: evaluations of the same photos (plain and x8,
  a card's splits) degrade them identically, and whole photos take seconds."""
  noisy = np.ascontiguousarray(noisy, np.uint8)
  return _nl_means(noisy.tobytes(), noisy.shape, float(std)).copy()


@functools.lru_cache(maxsize=8)
def _nl_means(pixels: bytes, shape, std: float) -> np.ndarray:
  from skimage import restoration  # scikit-image: only this filter needs it
  noisy = np.frombuffer(pixels, np.uint8).reshape(shape)
  f = restoration.denoise_nl_means(noisy / 255.0, h=0.8 * std / 255.0, sigma=std / 255.0,
                                   patch_size=5, patch_distance=6, fast_mode=True,
                                   channel_axis=-1)
  return np.clip(np.round(f * 255), 0, 255).astype(np.uint8).reshape(shape)


@DEGRADATIONS.register("denoise")
def denoise(x, rng, cfg):
  std = noise_std(rng, cfg)
  noisy = x.astype(np.float64) + rng.normal(0.0, std, x.shape)
  out = {"input": np.clip(np.round(noisy), 0, 255).astype(np.uint8)}
  if cfg.get("noise_map"):
    out["noise"] = noise_map(x.shape, std)
  out.update(prefilter(cfg.get("prefilter", ""), out, std, task="denoise"))
  return out


def biharmonic(damaged, mask) -> np.ndarray:
  """scikit-image's biharmonic inpainting of a uint8 HWC image's holes (mask
  (h, w, 1), 1 = hole). The inpainting baseline, and an inpainter's prefilter."""
  from skimage import restoration  # scikit-image: only this filter needs it
  hole = mask[..., 0] == 1
  if not hole.any():
    return damaged.copy()
  f = restoration.inpaint_biharmonic(damaged / 255.0, hole, channel_axis=-1)
  return np.clip(np.round(f * 255), 0, 255).astype(np.uint8).reshape(damaged.shape)


# data.prefilter -> (the task it serves, its output from the task's inputs):
# the model then learns a correction of that classical output, seeing the input too.
PREFILTERS = {"nl_means": ("denoise", lambda inputs, std: nl_means(inputs["input"], std)),
              "biharmonic": ("inpaint", lambda inputs, std: biharmonic(inputs["input"],
                                                                       inputs["mask"]))}


def check_prefilter(kind: str, task: str):
  if kind and (kind not in PREFILTERS or PREFILTERS[kind][0] != task):
    fits = ", ".join(f"{k} (data.task={t})" for k, (t, _) in PREFILTERS.items())
    raise errors.InputError(f"data.prefilter={kind!r} does not apply to data.task={task!r}; "
                            f"use \"\" (none) or one of {fits}.")


def prefilter(kind: str, inputs: dict, std: float, task: str) -> dict:
  """{"prefilter": a classical restorer's output} for data.prefilter=kind from
  a task's inputs (`std`: the noise std of a denoiser's input), or {}."""
  check_prefilter(kind, task)
  return {"prefilter": PREFILTERS[kind][1](inputs, std)} if kind else {}


def _down(factor):
  def degrade(x, rng, cfg):
    del rng, cfg
    h, w = x.shape[:2]
    if h % factor or w % factor:
      raise errors.InputError(f"sr{factor}: image size {h}x{w} is not a multiple of {factor} "
                       "(data.image_size).")
    return {"input": _arr(_pil(x).resize((w // factor, h // factor), Image.BICUBIC))}
  return degrade


SR_FACTORS = {"sr2": 2, "sr4": 4}
DEGRADATIONS.update({task: _down(factor) for task, factor in SR_FACTORS.items()})


def _resize(a, hw):
  """Float HWC resized to hw = (h, w) by PIL's bicubic filter channel by
  channel (antialiased when shrinking, as the sr tasks' degradation)."""
  return np.stack([np.asarray(Image.fromarray(np.ascontiguousarray(a[..., c], np.float32), "F")
                              .resize(hw[::-1], Image.BICUBIC)) for c in range(a.shape[-1])], -1)


def back_project(y, x, task: str, iterations: int):
  """Iterative back-projection (Irani & Peleg 1991) of a super-resolved image:
  `iterations` times, y += bicubic upsampling of (x - the sr task's
  degradation of y), which pulls y towards the images whose downsampling is
  the low-resolution input x. y: float HWC in [-1, 1], factor x x's size; x:
  uint8 HWC. Returns float HWC in [-1, 1] (clipped)."""
  f = SR_FACTORS[task]
  lo, hw = x.astype(np.float32) / 127.5 - 1.0, y.shape[:2]
  if hw != (f * lo.shape[0], f * lo.shape[1]):
    raise ValueError(f"back_project: output {hw} is not {f}x the input {lo.shape[:2]}.")
  y = np.asarray(y, np.float32)
  for _ in range(iterations):
    y = y + _resize(lo - _resize(y, lo.shape[:2]), hw)
  return np.clip(y, -1.0, 1.0)


def internal_pairs(x, task: str, rng, num: int, side: int, cfg) -> dict:
  """Training pairs made from a low-resolution image x (uint8 HWC) alone, for
  test-time adaptation (the internal learning of ZSSR, Shocher et al. 2018):
  `num` random crops of `side` pixels of x in one of the 8 flips and
  rotations each, as targets (`image`), and their degradation by the sr task
  (`input`, `side` / factor pixels). Uint8 NHWC arrays."""
  if task not in SR_FACTORS:
    raise errors.InputError(f"Test-time adaptation applies to super-resolution runs (data.task "
                            f"sr2 or sr4), not {task or 'this run'!r}; leave --adapt out.")
  h, w = x.shape[:2]
  if min(h, w) < side:
    raise errors.InputError(f"Test-time adaptation: the {w}x{h} input is smaller than its "
                            f"{side} px crops; super-resolve it without --adapt.")
  crops = []
  for _ in range(num):
    y0, x0 = rng.integers(0, h - side + 1), rng.integers(0, w - side + 1)
    crops.append(np.ascontiguousarray(photos.augment(x[y0:y0 + side, x0:x0 + side], rng,
                                                     "dihedral")))
  return {"input": np.stack([degrade(task, c, rng, cfg)["input"] for c in crops]),
          "image": np.stack(crops)}


@DEGRADATIONS.register("deblur")
def deblur(x, rng, cfg):
  del rng
  return {"input": _arr(_pil(x).filter(ImageFilter.GaussianBlur(cfg.blur_sigma)))}


@DEGRADATIONS.register("colorize")
def colorize(x, rng, cfg):
  del rng, cfg
  if x.shape[-1] != 3:
    raise errors.InputError("data.task=colorize needs colour targets (data.channels=3).")
  return {"input": _arr(_pil(x).convert("L"))}


@DEGRADATIONS.register("edges")
def edges(x, rng, cfg):
  """Binary outlines: the grey image's morphological gradient (3x3 max - min)
  above a quarter of the range."""
  del rng, cfg
  grey = _pil(x).convert("L")
  grad = np.asarray(grey.filter(ImageFilter.MaxFilter(3)), np.int16) - np.asarray(
      grey.filter(ImageFilter.MinFilter(3)), np.int16)
  return {"input": np.where(grad > 64, np.uint8(255), np.uint8(0))[..., None]}


@DEGRADATIONS.register("thin2thick")
def thin2thick(x, rng, cfg):
  """Domain A: the image; domain B: its strokes dilated (3x3 max filter). A
  task whose true mapping is known; trained unpaired (data.unpaired)."""
  del rng, cfg
  return {"input": x, "image": _arr(_pil(x).filter(ImageFilter.MaxFilter(3)))}


@functools.lru_cache(maxsize=4)
def _mask_files(path: str):
  names = sorted(n for n in os.listdir(path) if not n.startswith(".")
                 and n.lower().endswith((".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")))
  if not names:
    raise errors.MissingError(f"No mask images in {path!r} (config key data.mask_path).")
  return [os.path.join(path, n) for n in names]


def _folder_mask(h, w, rng, path: str) -> np.ndarray:
  """A random mask file (white = hole), randomly flipped, resized to (h, w)."""
  if not path or not os.path.isdir(path):
    raise errors.MissingError(f"data.mask=folder needs data.mask_path, a folder of mask images "
                            f"(white = hole); got {path!r}.")
  files = _mask_files(path)
  with Image.open(files[rng.integers(len(files))]) as m:
    m = m.convert("L").resize((w, h), Image.NEAREST)
  a = np.asarray(m) > 127
  if rng.integers(2):
    a = a[:, ::-1]
  if rng.integers(2):
    a = a[::-1]
  return np.ascontiguousarray(a, np.uint8)[..., None]


def hole_mask(h, w, rng, kind: str = "boxes", path: str = "", scale: int = 0) -> np.ndarray:
  """uint8 (h, w, 1), 1 = hole: per scale x scale window of the image (the
  training patch side, data.image_size; 0 = the whole image), 1-3 random boxes
  (10-40% of the window's side each) or 1-4 free-form strokes (thick random
  polylines within a window); or a file of the mask folder `path` (kind
  "folder"). So a whole held-out image gets holes of the sizes and density
  the model was trained on, not holes scaled to the image."""
  if kind == "folder":
    return _folder_mask(h, w, rng, path)
  sh, sw = (min(s, scale or s) for s in (h, w))
  windows = max(1, round(h * w / (sh * sw)))
  img = Image.new("L", (w, h), 0)
  draw = ImageDraw.Draw(img)
  if kind == "boxes":
    for _ in range(rng.integers(1, 4) * windows):
      bh, bw = int(rng.uniform(0.1, 0.4) * sh) + 1, int(rng.uniform(0.1, 0.4) * sw) + 1
      y, x = rng.integers(0, h - bh + 1), rng.integers(0, w - bw + 1)
      draw.rectangle([x, y, x + bw - 1, y + bh - 1], fill=1)
  elif kind == "strokes":
    for _ in range(rng.integers(1, 5) * windows):
      y0, x0 = rng.integers(0, h - sh + 1), rng.integers(0, w - sw + 1)
      pts = [(x0 + float(rng.uniform(0, sw)), y0 + float(rng.uniform(0, sh)))
             for _ in range(rng.integers(2, 6))]
      draw.line(pts, fill=1, width=max(1, int(rng.uniform(0.04, 0.12) * min(sh, sw))))
  else:
    raise errors.InputError(f"Unknown data.mask {kind!r}; use boxes, strokes or folder.")
  return np.asarray(img, np.uint8)[..., None]


def _mask(x, rng, cfg):
  return hole_mask(x.shape[0], x.shape[1], rng, cfg.mask, cfg.get("mask_path", ""),
                   cfg.image_size)


@DEGRADATIONS.register("inpaint")
def inpaint(x, rng, cfg):
  mask = _mask(x, rng, cfg)
  out = {"input": np.where(mask == 1, np.uint8(128), x), "mask": mask}
  out.update(prefilter(cfg.get("prefilter", ""), out, 0.0, task="inpaint"))
  return out


@DEGRADATIONS.register("harmonize")
def harmonize(x, rng, cfg):
  """The region's colours changed as a pasted part's would be: per channel
  gain 0.6-1.4 and offset -40..40 (0..255), then gamma 0.7-1.4."""
  region = _mask(x, rng, cfg)
  c = x.shape[-1]
  v = x.astype(np.float64) * rng.uniform(0.6, 1.4, c) + rng.uniform(-40, 40, c)
  v = 255.0 * (np.clip(v, 0, 255) / 255.0) ** rng.uniform(0.7, 1.4)
  pasted = np.clip(np.round(v), 0, 255).astype(np.uint8)
  return {"input": np.where(region == 1, pasted, x), "region": region}


def degrade(task: str, x, rng, cfg) -> dict:
  return DEGRADATIONS[task](x, rng, cfg)


class PairedTask(Source):
  """A source's examples as (input, image) pairs: `image` is the clean target
  (or the task's own target, e.g. thin2thick's dilated image), `input` its
  degradation (and `mask` for inpainting); labels pass through. The
  degradation runs in get(), so in the pipeline's workers when there are."""

  def __init__(self, source: Source, cfg):
    self.source, self.cfg, self.task = source, cfg, cfg.task
    self.class_names, self.counts = source.class_names, source.counts
    self.decodes, self.computes = source.decodes, True
    check_prefilter(cfg.get("prefilter", ""), self.task)
    target = source.fields["image"]
    probe = degrade(self.task, np.zeros(target.shape, np.uint8), np.random.default_rng(0), cfg)
    self.fields = dict(source.fields)
    self.fields["input"] = fields_lib.Field("image", probe["input"].shape)
    if "image" in probe:  # the task's own target
      self.fields["image"] = fields_lib.Field("image", probe["image"].shape)
    for key in ("mask", "region"):
      if key in probe:
        self.fields[key] = fields_lib.Field("mask", probe[key].shape)
    if "noise" in probe:
      self.fields["noise"] = fields_lib.Field("level", probe["noise"].shape)
    if "prefilter" in probe:
      self.fields["prefilter"] = fields_lib.Field("image", probe["prefilter"].shape)

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


class TaskSide(Source):
  """One side of a derived task as a plain image source: the degraded inputs
  (side="input") or the targets (side="image": the task's own, or the clean
  image), for unpaired domains made from one source."""

  def __init__(self, source: Source, cfg, side: str):
    self.task = PairedTask(source, cfg)
    self.side, self.decodes, self.computes = side, source.decodes, True
    self.fields = {"image": self.task.fields[side]}

  def __len__(self):
    return len(self.task)

  def get(self, indices):
    return {"image": self.task.get(indices)[self.side]}


def derived(source: Source, cfg) -> Source:
  """The data.task of a source: aligned pairs, or with data.unpaired two
  domains whose targets come from other examples (a fixed permutation), so no
  aligned pair is ever seen; labels belong to one domain only and are dropped."""
  if not cfg.get("unpaired"):
    return PairedTask(source, cfg)
  return Unpaired(TaskSide(source, cfg, "input"), TaskSide(source, cfg, "image"),
                  seed=[TASK_SEED, len(source)])
