"""Paired reconstruction: whole held-out images, degraded as in training
(data.task, fixed seed), translated by the run (tile by tile when large) and
compared with their originals by PSNR, SSIM and L1 (inside the holes for
inpainting), beside baselines that need no training: the degraded input
itself (bicubic upsampling for super-resolution, the grey image for
colourisation), non-local means (denoising), mean fill, push-pull and
biharmonic inpainting, colour transfer (harmonisation). Inpainting and harmonisation are
scored inside the hole / pasted region."""
import dataclasses
import os
import time

import jax.numpy as jnp
import ml_collections
import numpy as np
from PIL import Image

from genjax import data, errors, images, metrics, workdir as workdir_lib
from genjax.data import tasks
from genjax.methods.regression import pushpull_fill
from genjax.evaluators.extractors import build_extractor
from genjax.evaluators import common
from genjax.evaluators.common import Evaluator

EVAL_SEED = 7


def image_metrics(out, target, mask=None) -> dict:
  """PSNR (dB), SSIM and L1 of one uint8 HWC pair, in [-1, 1] units; with a
  mask (HW1, 1 = hole) PSNR and L1 count the hole's pixels only."""
  a, b = (np.asarray(x, np.float64)[None] / 127.5 - 1.0 for x in (out, target))
  result = {"ssim": float(metrics.ssim(a, b)[0])}
  if mask is None:
    result.update(psnr=float(metrics.psnr(a, b)[0]), l1=float(metrics.l1(a, b)[0]))
  else:
    m = np.asarray(mask[None], np.float64)
    n = np.sum(m) * a.shape[-1]
    result.update(psnr=float(metrics.psnr_from_mse(np.sum(m * (a - b) ** 2) / n)),
                  l1=float(np.sum(m * np.abs(a - b)) / n))
  return result


def baselines(task: str, pair: dict, target_shape, cfg) -> dict:
  """name -> uint8 output of each training-free baseline for one image."""
  x = pair["input"]
  h, w, c = target_shape
  img = Image.fromarray(x[..., 0] if x.shape[-1] == 1 else x)
  if img.size != (w, h):
    img = img.resize((w, h), Image.BICUBIC)
  base = np.asarray(img.convert("RGB" if c == 3 else "L"), np.uint8).reshape(h, w, c)
  out = {"bicubic" if task.startswith("sr") else "input": base}
  if task == "denoise":
    # a denoiser's prefilter is this baseline already (tasks.nl_means at noise_std)
    out["nl_means"] = (pair["prefilter"] if "prefilter" in pair
                       else tasks.nl_means(base, cfg.noise_std))
  if task == "harmonize":  # Reinhard-style colour transfer: region statistics -> the rest's
    region = pair["region"][..., 0] == 1
    v = base.astype(np.float64)
    inside, outside = v[region], v[~region]
    v[region] = ((inside - inside.mean(0)) / (inside.std(0) + 1e-6) * outside.std(0)
                 + outside.mean(0))
    out["color_transfer"] = np.clip(np.round(v), 0, 255).astype(np.uint8)
  if task == "inpaint":
    hole = pair["mask"][..., 0] == 1
    fill = base.copy()
    fill[hole] = np.round(base[~hole].mean(0)).astype(np.uint8)
    pp = pushpull_fill(jnp.asarray(base[None] / 127.5 - 1.0, jnp.float32),
                       jnp.asarray(~hole[None, ..., None], jnp.float32))[0]
    out = {"mean_fill": fill,
           "pushpull": np.clip(np.round((np.asarray(pp) + 1.0) * 127.5), 0, 255).astype(np.uint8),
           # an inpainter's prefilter is this baseline already (tasks.biharmonic)
           "biharmonic": (pair["prefilter"] if "prefilter" in pair
                          else tasks.biharmonic(base, pair["mask"]))}
  return out


class PairedEvaluator(Evaluator):
  """config.evals.paired: every, split ("" = data.eval_split; photos also have
  "external"), max_images (0 = all), tile, overlap, classifier (a classifier
  run's workdir, or ""), self_ensemble (x8 test-time averaging): how the
  images are translated, workdir.Inference (genjax.evaluate's flags add
  back-projection and test-time adaptation). Writes workdir/eval/paired_<step>.json
  (paired_<split>[_x8][_bpN][_adaptN]_<step>.json for another split or
  option): the mean and spread across images and each image's metrics, for
  the run and each baseline; and metric rows `paired/*` (the method's and each
  baseline's mean metrics; `paired_<variant>/*` for the variants). With a
  classifier and a labelled source it also reports, for the outputs, the
  inputs and the targets (the bound): `accuracy`, the
  share the classifier assigns to their image's label, and `fid`, the Fréchet
  distance of its features to the targets' (target-domain realism)."""
  applies = staticmethod(lambda method: method.translate is not None)

  @classmethod
  def from_config(cls, cfg, run, workdir, writer, how=None):
    """From config.evals.paired, whose tile, overlap and self_ensemble make
    its Inference; `how` (genjax.evaluate's flags) replaces all but the tiling."""
    if not cls.applies(run.method):
      return None
    cfg = dict(cfg)
    tiling = {k: cfg.pop(k) for k in ("tile", "overlap") if k in cfg}
    own = workdir_lib.Inference(self_ensemble=cfg.pop("self_ensemble", False), **tiling)
    return cls(run, workdir, writer, how=own if how is None else dataclasses.replace(how, **tiling),
               **cfg)

  def __init__(self, run, workdir, writer=None, every=0, split="", max_images=0, classifier="",
               how: workdir_lib.Inference = workdir_lib.Inference()):
    cfg = run.config.data
    self.run, self.workdir, self.writer, self.every = run, workdir, writer, every
    self.task, self.how = cfg.task, how
    cfg = ml_collections.ConfigDict(cfg.to_dict())
    cfg.noise_std_max = 0.0  # denoisers trained on a range are scored at data.noise_std
    self.split = split or cfg.eval_split
    clean_cfg = ml_collections.ConfigDict(cfg.to_dict())
    clean_cfg.task = ""
    source = data.build_source(clean_cfg, self.split)
    if not source.aligned:
      raise errors.InputError(
          f"data.source={cfg.source!r} holds unpaired domains: there are no aligned targets to "
          "score translations against. Translate the test images (genjax.translate) and "
          "compare them with the target domain: genjax.evaluate --samples OUT_DIR "
          "--reference testB_DIR --extractor ...")
    self.labels, inputs = None, None
    self.names = list(getattr(source, "names", []))[:max_images or None]
    targets = source.whole_images()
    if targets is None:
      examples = source.get(np.arange(len(source)))
      targets = list(examples["image"])
      self.labels = examples.get("label")
      inputs = examples.get("input")  # a paired source (paired_folder): its own inputs
    self.classifier = None
    if classifier:
      if self.labels is None:
        raise errors.InputError("evals.paired.classifier needs a labelled data source.")
      self.classifier = build_extractor(f"classifier:{classifier}")
      self.labels = self.labels[:max_images or None]
    s = run.method.scale  # super-resolution targets: whole multiples of the factor
    self.targets = [t[:t.shape[0] // s * s, :t.shape[1] // s * s]
                    for t in targets[:max_images or None]]
    if inputs is not None:
      self.pairs = [{"input": x} for x in inputs[:len(self.targets)]]
    else:
      self.pairs = [tasks.degrade(self.task, t, np.random.default_rng([EVAL_SEED, k]), cfg)
                    for k, t in enumerate(self.targets)]
    # A task with its own target (thin2thick: the true mapping) is scored against it.
    self.targets = [p.pop("image", t) for p, t in zip(self.pairs, self.targets)]
    self.baselines = None

  def _baselines(self):
    """Per-baseline metrics of each image (computed once per evaluator), and
    the first FIGURE_IMAGES images' baseline outputs for the figure."""
    if self.baselines is None:
      self.baselines, self.figure_baselines = {}, []
      for k, (pair, target) in enumerate(zip(self.pairs, self.targets)):
        outs = baselines(self.task, pair, target.shape, self.run.config.data)
        for name, out in outs.items():
          self.baselines.setdefault(name, []).append(image_metrics(out, target, inside(pair)))
        if k < FIGURE_IMAGES:
          self.figure_baselines.append(outs)
    return self.baselines

  def _figure(self, outputs, step: int):
    """eval/paired_<step>.png: per held-out image (rows), crops of the input,
    each baseline, genjax's output and the target (columns)."""
    rows, columns = [], []
    for outs, out, target in zip(self.figure_baselines, outputs, self.targets):
      named = dict(outs, genjax=out, target=target)
      columns = list(named)
      rows += [center_crop(v, FIGURE_CROP) for v in named.values()]
    h, w = min(r.shape[0] for r in rows), min(r.shape[1] for r in rows)
    tiles = np.stack([r[:h, :w] for r in rows])
    common.save_png(self._path(step, "png"),
                    images.grid(tiles, len(columns)),
                    self.run.provenance(step, columns=columns, split=self.split,
                                        crop=FIGURE_CROP))

  @property
  def how(self) -> workdir_lib.Inference:
    """How the images are translated (its options name the files)."""
    return self._how

  @how.setter
  def how(self, how: workdir_lib.Inference):
    if how.back_project == self.run.config.data.get("back_project", 0):  # the run's own
      how = dataclasses.replace(how, back_project=None)
    self._how = how

  def __call__(self, state, step: int) -> dict:
    t0 = time.time()
    rows, outputs = [], []
    for pair, target in zip(self.pairs, self.targets):
      outputs.append(images.to_uint8(self.run.translate(state, pair, self.how)))
      rows.append(image_metrics(outputs[-1], target, inside(pair)))
    per_baseline = self._baselines()
    result = {"task": self.task, "split": self.split, "method": _mean(rows),
              "method_std": _std(rows),
              "baselines": {b: _mean(r) for b, r in per_baseline.items()},
              "baselines_std": {b: _std(r) for b, r in per_baseline.items()},
              "per_image": rows, "baselines_per_image": per_baseline,
              "images": self.names, "num_images": len(rows)}
    if self.classifier is not None:
      inputs = [np.asarray(Image.fromarray(p["input"][..., 0] if p["input"].shape[-1] == 1
                                           else p["input"]).resize(t.shape[1::-1])
                           ).reshape(t.shape) for p, t in zip(self.pairs, self.targets)]
      result["classifier"] = self._judge({"method": outputs, "input": inputs,
                                          "target": self.targets})
      result["method"].update(class_accuracy=result["classifier"]["method"]["accuracy"],
                              fid=result["classifier"]["method"]["fid"])
    result["provenance"] = self.run.provenance(
        step, split=self.split, eval_seed=EVAL_SEED, tile=self.how.tile,
        overlap=self.how.overlap, self_ensemble=self.how.self_ensemble,
        back_project=self.how.back_project, adapt=self.how.adapt,
        in_hole=inside(self.pairs[0]) is not None,
        wall_time_s=time.time() - t0)
    common.write_json(self._path(step, "json"), result)
    self._figure(outputs, step)
    if self.writer:
      row = dict(result["method"])
      row.update({f"{b}_{k}": v for b, m in result["baselines"].items() for k, v in m.items()})
      self.writer.write(step, row, prefix=f"paired_{self._variant}/" if self._variant
                        else "paired/")
    return result


  @property
  def _variant(self) -> str:
    """"" for the run's own evaluation, else what differs (split, x8,
    back-projection, test-time adaptation)."""
    parts = [self.split] if self.split != self.run.config.data.eval_split else []
    return "_".join(parts + self.how.tags())

  def _path(self, step: int, ext: str) -> str:
    """eval/paired_<step>.<ext>, or paired_<variant>_<step> for a variant."""
    name = f"paired_{self._variant}_{step:06d}" if self._variant else f"paired_{step:06d}"
    return os.path.join(self.workdir, "eval", f"{name}.{ext}")

  def _judge(self, sets: dict) -> dict:
    """Per image set: the classifier's accuracy against the images' labels and
    the Fréchet distance of its features to the targets' (classifier FID)."""
    out, feats = {}, {}
    for name, imgs in sets.items():
      feats[name], probs = self.classifier(np.stack(imgs))
      out[name] = {"accuracy": float(np.mean(np.argmax(probs, 1) == self.labels))}
    stats = lambda f: (np.mean(f, 0), np.cov(np.asarray(f, np.float64), rowvar=False))
    ref = stats(feats["target"])
    for name in sets:
      out[name]["fid"] = max(0.0, metrics.frechet_distance(*stats(feats[name]), *ref))
    return out


FIGURE_IMAGES, FIGURE_CROP = 4, 160  # eval/paired_<step>.png: images (rows), crop side


def center_crop(image, side: int):
  h, w = image.shape[:2]
  y, x = max(0, (h - side) // 2), max(0, (w - side) // 2)
  return image[y:y + side, x:x + side]


def inside(pair):
  """The pixels a task's metrics count: the hole or pasted region, or None (all)."""
  return pair.get("mask", pair.get("region"))


def _mean(rows):
  return {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}


def _std(rows):
  """The spread across images (sample std; 0 for one image)."""
  return {k: float(np.std([r[k] for r in rows], ddof=1)) if len(rows) > 1 else 0.0
          for k in rows[0]}
