"""Sample quality: FID (Fréchet distance of extractor features), KID (unbiased,
mean/std over subsets), Inception-style score, precision/recall and
density/coverage (k-NN, k=5), and the memorisation check, of a run's generated
images against its dataset (QualityEvaluator) or of any two image sets
(evaluate_sets). Every result carries its provenance."""
import hashlib
import json
import os
import time

import numpy as np

import genjax
from genjax import data, errors, images, metrics
from genjax.evaluators import common
from genjax.evaluators.common import Evaluator
from genjax.evaluators.extractors import build_extractor


class FeatureSet:
  """Streaming Gaussian statistics plus the first `keep` features, and the
  class probabilities (and labels, for labelled sets) of all."""

  def __init__(self, keep: int):
    self.keep, self.stats, self.kept, self.probs, self.labels = keep, None, [], [], []

  def add(self, feats, probs, labels=None):
    if self.stats is None:
      self.stats = metrics.GaussianStats(feats.shape[1])
    self.stats.update(feats)
    room = self.keep - sum(len(k) for k in self.kept)
    if room > 0:
      self.kept.append(feats[:room])
    self.probs.append(probs)
    if labels is not None:
      self.labels.append(np.asarray(labels))
    return self

  @property
  def features(self):
    return np.concatenate(self.kept)

  @property
  def all_labels(self):
    return np.concatenate(self.labels) if self.labels else None

  @classmethod
  def of(cls, extractor, uint8_images, keep, batch=1000):
    fs = cls(keep)
    for i in range(0, len(uint8_images), batch):
      fs.add(*extractor(uint8_images[i:i + batch]))
    return fs


def compare(samples: FeatureSet, reference: FeatureSet, seed=0, kid_subsets=100,
            kid_subset_size=1000) -> dict:
  s, r = samples.stats, reference.stats
  kid_mean, kid_std = metrics.kernel_inception_distance(
      reference.features, samples.features, kid_subsets, kid_subset_size, seed)
  is_mean, is_std = metrics.inception_score(np.concatenate(samples.probs))
  out = {"fid": metrics.frechet_distance(s.mean, s.cov, r.mean, r.cov),
         "kid": kid_mean, "kid_std": kid_std, "is": is_mean, "is_std": is_std,
         "num_samples": s.count, "num_reference": r.count}
  out.update(metrics.precision_recall_density_coverage(reference.features, samples.features))
  return out


def conditional_metrics(samples: FeatureSet, reference: FeatureSet, class_names) -> dict:
  """For samples generated with known labels: conditional accuracy (share the
  extractor's classifier assigns to their conditioning label, when it has the
  same classes) and per-class FID against the reference images of that class."""
  labels, k = samples.all_labels, len(class_names)
  probs = np.concatenate(samples.probs)
  out = {}
  if probs.shape[1] == k:
    out["conditional_accuracy"] = float(np.mean(np.argmax(probs, 1) == labels))
  ref_labels = reference.all_labels
  if ref_labels is None:
    return out
  feats, ref = samples.features, reference.features
  labels, ref_labels = labels[:len(feats)], ref_labels[:len(ref)]
  per_class = {}
  for c, name in enumerate(class_names):
    a, b = feats[labels == c], ref[ref_labels == c]
    if len(a) < 2 or len(b) < 2:
      continue
    sa, sb = (metrics.GaussianStats(feats.shape[1]).update(f) for f in (a, b))
    per_class[name] = {"fid": metrics.frechet_distance(sa.mean, sa.cov, sb.mean, sb.cov),
                       "num_samples": len(a), "num_reference": len(b)}
    if probs.shape[1] == k:
      per_class[name]["accuracy"] = float(np.mean(
          np.argmax(probs[:len(feats)][labels == c], 1) == c))
  out["per_class"] = per_class
  out["mean_class_fid"] = float(np.mean([v["fid"] for v in per_class.values()]))
  return out


def reference_features(extractor, cfg, split, keep, cache_dir):
  """Features of a dataset split, cached by (dataset, split, extractor weights)."""
  key = json.dumps([cfg.source, cfg.name, cfg.path, split, cfg.image_size, cfg.channels,
                    extractor.id, extractor.weights_hash], sort_keys=True)
  ref_id = f"{cfg.source}:{cfg.name or cfg.path}:{split}:" + hashlib.sha256(
      key.encode()).hexdigest()[:12]
  path = os.path.join(cache_dir, f"reference_{ref_id.rsplit(':', 1)[1]}.npz")
  if os.path.exists(path):
    fs = FeatureSet(keep)
    fs.stats = metrics.GaussianStats.load(path)
    with np.load(path) as f:
      fs.kept, fs.probs = [f["features"]], [f["probs"]]
      fs.labels = [f["labels"]] if "labels" in f else []
    return fs, ref_id
  source = data.build_source(cfg, split)
  fs = FeatureSet(keep)
  for batch in data.eval_batches(source, 1000):
    n = int(batch["valid"].sum())
    labels = batch["label"][:n] if "label" in batch else None
    fs.add(*[a[:n] for a in extractor(batch["image"])], labels)
  if common.writes():
    os.makedirs(cache_dir, exist_ok=True)
    extra = {} if fs.all_labels is None else {"labels": fs.all_labels}
    fs.stats.save(path, features=fs.features, probs=np.concatenate(fs.probs),
                  reference_id=ref_id, extractor=extractor.id,
                  weights_hash=extractor.weights_hash, **extra)
  return fs, ref_id


def provenance(extractor, **extra):
  return dict(extractor=extractor.id, extractor_weights_hash=extractor.weights_hash,
              genjax_version=genjax.__version__, **extra)


class QualityEvaluator(Evaluator):
  """Sample quality of a generator run against its dataset, at any state.

  config.evals.quality: every, extractor, num_samples, reference_split ("" =
  data.eval_split), memorization, seed. Builds the extractor and the reference
  features once; `__call__(state, step)` generates, scores, writes
  workdir/eval/quality_<step>.json and a `quality/*` row through `writer`.
  """
  applies = staticmethod(lambda method: method.generate is not None)

  def __init__(self, run, workdir, writer=None, extractor="", num_samples=5000,
               reference_split="", seed=0, memorization=True, keep=10000,
               kid_subsets=100, kid_subset_size=1000, near_copy_quantile=0.01, every=0,
               truncation=1.0):
    if not extractor:
      raise errors.InputError("The quality evaluator needs a feature extractor: give e.g. "
                       "--config.evals.quality.extractor=classifier:DIR (or --extractor).")
    self.run, self.workdir, self.writer, self.every = run, workdir, writer, every
    self.truncation = truncation  # latents pulled towards the mean (1 = the prior)
    self.seed, self.keep, self.num_samples = seed, keep, num_samples
    self.memorization, self.quantile = memorization, near_copy_quantile
    self.kid = (kid_subsets, kid_subset_size)
    self.extractor = build_extractor(extractor)
    self.cfg = run.config.data
    self.split = reference_split or self.cfg.eval_split
    self.reference, self.ref_id = reference_features(
        self.extractor, self.cfg, self.split, keep, os.path.join(workdir, "eval"))
    self._memo_data = None

  def memorization_data(self):
    """(train, held-out) images and their features, loaded once per evaluator."""
    if self._memo_data is None:
      train = data.split_images(self.cfg, self.cfg.split)
      heldout = data.split_images(self.cfg, self.split)
      self._memo_data = (train, heldout, self.extractor(train)[0], self.extractor(heldout)[0])
    return self._memo_data

  def __call__(self, state, step: int, extra: dict = None) -> dict:
    """Scores `state`; `extra` entries are added to the result before it is written."""
    t0, r = time.time(), self.run
    k = r.method.num_classes  # conditional: class-balanced labels
    samples, kept_images = FeatureSet(self.keep), []
    for i in range(0, self.num_samples, 1000):
      n = min(1000, self.num_samples - i)
      labels = (i + np.arange(n)) % k if k else None
      imgs = images.to_uint8(r.generate(state, n, self.seed + i, labels, batch_size=n,
                                        truncation=self.truncation))
      samples.add(*self.extractor(imgs), labels)
      kept_images.append(imgs[:max(0, self.keep - i)])
    result = compare(samples, self.reference, self.seed, *self.kid)
    if k:
      result.update(conditional_metrics(samples, self.reference, r.info.class_names))
    if self.memorization:
      kept_images = np.concatenate(kept_images)
      train, heldout, train_feats, heldout_feats = self.memorization_data()
      result["memorization"] = mem = metrics.memorization(
          kept_images, train, heldout, self.quantile,
          (samples.features, train_feats, heldout_feats))
      common.save_png(os.path.join(self.workdir, "eval", f"closest_pairs_{step:06d}.png"),
                      metrics.closest_pairs_grid(kept_images, train, mem["closest_pairs"]),
                      r.provenance(step, what="sample | nearest training image"))
      result["near_copy_fraction"] = mem["pixel"]["near_copy_fraction"]
    result.update(extra or {})
    result["provenance"] = provenance(
        self.extractor, checkpoint_step=int(step), config_hash=r.hash,
        reference=self.ref_id, reference_split=self.split, num_samples=self.num_samples,
        seed=self.seed, truncation=self.truncation, wall_time_s=time.time() - t0)
    name = "quality" if self.truncation == 1 else f"quality_psi{self.truncation:g}"
    common.write_json(os.path.join(self.workdir, "eval", f"{name}_{step:06d}.json"), result)
    if self.writer:
      self.writer.write(step, {k: v for k, v in result.items()
                               if isinstance(v, (int, float))}, prefix=f"{name}/")
    return result


def evaluate_sets(samples_spec, reference_spec, extractor_spec, seed=0, keep=10000,
                  kid_subsets=100, kid_subset_size=1000, paired=False):
  """Quality of one image set against another; with `paired`, also PSNR / SSIM
  / L1 of aligned pairs."""
  t0 = time.time()
  extractor = build_extractor(extractor_spec)
  load = lambda s: data.load_image_set(s, extractor.image_size, extractor.channels)
  sample_images, reference_images = load(samples_spec), load(reference_spec)
  samples = FeatureSet.of(extractor, sample_images, keep)
  reference = FeatureSet.of(extractor, reference_images, keep)
  result = compare(samples, reference, seed, kid_subsets, kid_subset_size)
  if paired:
    result["paired"] = metrics.paired_metrics(sample_images, reference_images)
  result["provenance"] = provenance(extractor, samples=samples_spec,
                                    reference=reference_spec, seed=seed,
                                    wall_time_s=time.time() - t0)
  return result
