"""Sample-quality metrics with provenance.

  # a run's checkpoint(s) against its dataset's held-out split
  python -m genjax.evaluate --workdir runs/dcgan --extractor classifier:runs/clf_mnist \
      [--checkpoint latest|all|STEP] [--num_samples 5000] [--reference_split test]
  # any two image sets: .npz (`images`), image folder, or tfds:NAME:SPLIT
  python -m genjax.evaluate --samples a.npz --reference b_folder/ \
      --extractor classifier:runs/clf_mnist [--out result.json]
  # classification accuracy score of labelled samples (images + labels .npz)
  python -m genjax.evaluate --cas labelled.npz --cas_data mnist --cas_workdir runs/cas

Reports FID (Fréchet distance of extractor features), KID (unbiased, mean/std
over subsets), Inception-style score (IS, from the extractor's class
probabilities), precision/recall and density/coverage (k-NN, k=5), with the
checkpoint step, config hash, extractor id and weights hash, reference id,
sample count, seed, genjax version and wall time. Results of --workdir runs go
to workdir/eval/quality_<step>.json and a line of metrics.jsonl.
"""
import hashlib
import json
import os
import time

import ml_collections
import numpy as np
from absl import app, flags, logging

import genjax
from genjax import config_lib, data, images, metrics
from genjax.data import sources
from genjax.logging import MetricWriter
from genjax.metrics.extractors import build_extractor

FLAGS = flags.FLAGS


def define_flags():
  """Flags of this entry point (defined only when run as a program, so the
  library functions here can be imported beside other entry points)."""
  flags.DEFINE_string("workdir", None, "Run directory to evaluate.")
  flags.DEFINE_string("checkpoint", "latest", "latest, all, or a step number.")
  flags.DEFINE_integer("num_samples", 5000, "Generated samples per checkpoint.")
  flags.DEFINE_string("reference_split", None, "Reference split (default: data.eval_split).")
  flags.DEFINE_string("samples", None, "Two-set mode: samples (.npz, folder or tfds:NAME:SPLIT).")
  flags.DEFINE_string("reference", None, "Two-set mode: reference set, same forms.")
  flags.DEFINE_string("extractor", None, "Feature extractor, e.g. classifier:runs/clf_mnist.")
  flags.DEFINE_string("out", None, "Two-set mode: write the result JSON here.")
  flags.DEFINE_integer("seed", 0, "Sampling / subset seed.")
  flags.DEFINE_integer("kid_subsets", 100, "KID subsets.")
  flags.DEFINE_integer("kid_subset_size", 1000, "KID subset size.")
  flags.DEFINE_integer("max_features", 10000, "Features kept for KID and PR/DC.")
  flags.DEFINE_bool("memorization", True, "Workdir mode: nearest training image of each "
                    "kept sample vs of held-out images (pixel and feature space).")
  flags.DEFINE_float("near_copy_quantile", 0.01, "Held-out distance quantile defining a "
                     "near copy.")
  flags.DEFINE_string("cas", None, "CAS mode: labelled samples (.npz with images, labels).")
  flags.DEFINE_string("cas_data", "mnist", "CAS: dataset variant of the real data "
                      f"({', '.join(config_lib.DATASETS)}).")
  flags.DEFINE_string("cas_workdir", "runs/cas", "CAS: where the two classifiers train.")
  flags.DEFINE_integer("cas_steps", 1500, "CAS: classifier training steps (both).")
  flags.DEFINE_integer("iwae_k", 1000, "Workdir mode, VAE runs: importance samples for the "
                       "held-out IWAE bound (0 = ELBO only).")
  flags.DEFINE_bool("paired", False, "Two-set mode: the sets are aligned pairs (e.g. "
                    "outputs and targets); add per-image and mean PSNR, SSIM, L1.")
  flags.DEFINE_alias("num-samples", "num_samples")


def load_image_set(spec: str, image_size: int, channels: int):
  """uint8 NHWC images from an .npz, an image folder or tfds:NAME:SPLIT."""
  if spec.endswith(".npz"):
    return sources.read_npz(spec)[0]
  cfg = config_lib.data_config("folder")
  cfg.update(image_size=image_size, channels=channels, crop="resize")
  if spec.startswith("tfds:"):
    _, name, split = spec.split(":", 2)
    cfg.update(source="tfds", name=name)
  elif os.path.isdir(spec):
    cfg.path, split = spec, "all"
  else:
    raise ValueError(f"Cannot read image set {spec!r}: give an .npz with 'images', an "
                     "image folder, or tfds:NAME:SPLIT.")
  return split_images(cfg, split)


class FeatureSet:
  """Streaming Gaussian statistics plus the first `keep` features and probs."""

  def __init__(self, keep: int):
    self.keep, self.stats, self.kept, self.probs = keep, None, [], []

  def add(self, feats, probs):
    if self.stats is None:
      self.stats = metrics.GaussianStats(feats.shape[1])
    self.stats.update(feats)
    room = self.keep - sum(len(k) for k in self.kept)
    if room > 0:
      self.kept.append(feats[:room])
    self.probs.append(probs)
    return self

  @property
  def features(self):
    return np.concatenate(self.kept)

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
    return fs, ref_id
  source = data.build_source(cfg, split)
  fs = FeatureSet(keep)
  for batch in data.eval_batches(source, 1000):
    n = int(batch["mask"].sum())
    fs.add(*[a[:n] for a in extractor(batch["image"])])
  os.makedirs(cache_dir, exist_ok=True)
  fs.stats.save(path, features=fs.features, probs=np.concatenate(fs.probs),
                reference_id=ref_id, extractor=extractor.id,
                weights_hash=extractor.weights_hash)
  return fs, ref_id


def provenance(extractor, **extra):
  return dict(extractor=extractor.id, extractor_weights_hash=extractor.weights_hash,
              genjax_version=genjax.__version__, **extra)


def split_images(cfg, split):
  source = data.build_source(cfg, split)
  return source.get(np.arange(len(source)))["image"]


class QualityEvaluator:
  """Sample quality of a generator run against its dataset, at any state.

  Builds the extractor and the reference features once; `__call__(run, state,
  step)` samples, scores, writes workdir/eval/quality_<step>.json and a
  `quality/*` line of metrics.jsonl. Used by genjax.evaluate and, on the
  config.evals.quality schedule, inside training.
  """

  def __init__(self, workdir, cfg, extractor_spec, num_samples=5000, reference_split=None,
               seed=0, keep=10000, kid_subsets=100, kid_subset_size=1000,
               memorization=True, near_copy_quantile=0.01):
    self.workdir, self.cfg, self.seed, self.keep = workdir, cfg, seed, keep
    self.num_samples, self.memorization = num_samples, memorization
    self.kid, self.quantile = (kid_subsets, kid_subset_size), near_copy_quantile
    self.extractor = build_extractor(extractor_spec)
    self.split = reference_split or cfg.data.eval_split
    self.reference, self.ref_id = reference_features(
        self.extractor, cfg.data, self.split, keep, os.path.join(workdir, "eval"))
    self.writer = MetricWriter(workdir, tensorboard=False)
    self._memo_data = None

  def memorization_data(self):
    """(train, held-out) images and their features, loaded once per evaluator."""
    if self._memo_data is None:
      train = split_images(self.cfg.data, self.cfg.data.split)
      heldout = split_images(self.cfg.data, self.split)
      self._memo_data = (train, heldout, self.extractor(train)[0], self.extractor(heldout)[0])
    return self._memo_data

  def __call__(self, r, state, step: int, extra: dict = None) -> dict:
    """Scores `state`; `extra` entries are added to the result before it is written."""
    t0 = time.time()
    samples, kept_images = FeatureSet(self.keep), []
    for i in range(0, self.num_samples, 1000):
      n = min(1000, self.num_samples - i)
      imgs = images.to_uint8(r.sample(state, n, self.seed + i, batch_size=n))
      samples.add(*self.extractor(imgs))
      kept_images.append(imgs[:max(0, self.keep - i)])
    result = compare(samples, self.reference, self.seed, *self.kid)
    if self.memorization:
      kept_images = np.concatenate(kept_images)
      train, heldout, train_feats, heldout_feats = self.memorization_data()
      result["memorization"] = mem = metrics.memorization(
          kept_images, train, heldout, self.quantile,
          (samples.features, train_feats, heldout_feats))
      images.save_png(os.path.join(self.workdir, "eval", f"closest_pairs_{step:06d}.png"),
                      metrics.closest_pairs_grid(kept_images, train, mem["closest_pairs"]),
                      r.provenance(step, what="sample | nearest training image"))
      result["near_copy_fraction"] = mem["pixel"]["near_copy_fraction"]
    result.update(extra or {})
    result["provenance"] = provenance(
        self.extractor, checkpoint_step=int(step), config_hash=r.hash,
        reference=self.ref_id, reference_split=self.split, num_samples=self.num_samples,
        seed=self.seed, wall_time_s=time.time() - t0)
    with open(os.path.join(self.workdir, "eval", f"quality_{step:06d}.json"), "w") as f:
      json.dump(result, f, indent=2)
    self.writer.write(step, {k: v for k, v in result.items()
                             if isinstance(v, (int, float))}, prefix="quality/")
    return result

  def close(self):
    self.writer.close()


def likelihood(r, state, split, iwae_k):
  """Held-out ELBO (and IWAE with iwae_k samples) of a VAE run's state."""
  from genjax import run
  cfg = ml_collections.ConfigDict(r.config.to_dict())
  cfg.vae.iwae_k = iwae_k
  cfg.eval.batch_size = min(cfg.eval.batch_size, 100)  # k decoder passes per image
  return run.evaluate(run.Run(cfg, r.mesh), state, split)


def evaluate_workdir(workdir, extractor_spec, checkpoint="latest", iwae_k=1000, **options):
  """Evaluates checkpoint(s) (latest, all or a step) of a generator run: sample
  quality, and for VAEs the held-out likelihood bounds."""
  from genjax import checkpoint as ckpt_lib, run
  evaluator = QualityEvaluator(workdir, run.load_config(workdir), extractor_spec, **options)
  ckpt = ckpt_lib.Checkpointer(os.path.join(workdir, "checkpoints"))
  steps = ckpt.all_steps() if checkpoint == "all" else [
      ckpt.latest_step() if checkpoint == "latest" else int(checkpoint)]
  ckpt.close()
  results = []
  for step in steps:
    r, state, meta = run.restore_workdir(workdir, step)
    extra = {}
    if r.config.method == "vae":
      extra["likelihood"] = lik = likelihood(r, state, evaluator.split, iwae_k)
      evaluator.writer.write(meta["step"], {k: v for k, v in lik.items()
                                            if isinstance(v, (int, float))},
                             prefix="likelihood/")
    results.append(evaluator(r, state, meta["step"], extra))
  evaluator.close()
  return results


def paired_metrics(a_uint8, b_uint8) -> dict:
  """Per-image and mean PSNR (dB), SSIM and L1 of aligned image pairs."""
  if a_uint8.shape != b_uint8.shape:
    raise ValueError(f"Paired sets differ in shape: {a_uint8.shape} vs {b_uint8.shape}.")
  to_float = lambda x: data.normalize({"image": x})["image"]
  a, b = to_float(a_uint8), to_float(b_uint8)
  per = {"psnr": np.asarray(metrics.psnr(a, b)), "ssim": np.asarray(metrics.ssim(a, b)),
         "l1": np.asarray(metrics.l1(a, b))}
  out = {k: float(np.mean(v)) for k, v in per.items()}
  out["per_image"] = {k: v.tolist() for k, v in per.items()}
  return out


def evaluate_sets(samples_spec, reference_spec, extractor_spec, seed=0, keep=10000,
                  kid_subsets=100, kid_subset_size=1000, paired=False):
  t0 = time.time()
  extractor = build_extractor(extractor_spec)
  load = lambda s: load_image_set(s, extractor.image_size, extractor.channels)
  sample_images, reference_images = load(samples_spec), load(reference_spec)
  samples = FeatureSet.of(extractor, sample_images, keep)
  reference = FeatureSet.of(extractor, reference_images, keep)
  result = compare(samples, reference, seed, kid_subsets, kid_subset_size)
  if paired:
    result["paired"] = paired_metrics(sample_images, reference_images)
  result["provenance"] = provenance(extractor, samples=samples_spec,
                                    reference=reference_spec, seed=seed,
                                    wall_time_s=time.time() - t0)
  return result


def classification_accuracy_score(samples_npz, data_cfg, workdir, num_steps=1500,
                                  batch_size=128, seed=0, real_bound=True):
  """CAS (Ravuri & Vinyals 2019): accuracy on real held-out data of a classifier
  trained only on labelled samples, beside the same classifier trained on the
  real training split (the upper bound, skipped when not real_bound). Writes
  workdir/cas.json."""
  from genjax import run
  t0 = time.time()
  real_cfg = config_lib.classifier_config(data_cfg)
  real_cfg.train.update(num_steps=num_steps, batch_size=batch_size, progress=False,
                        eval_every=num_steps, checkpoint_every=num_steps)
  real_cfg.seed = seed
  synth_cfg = config_lib.classifier_config(data_cfg)
  synth_cfg.update_from_flattened_dict({"data.source": "npz", "data.path": samples_npz,
                                        "data.split": "all", "data.eval_split": "all"})
  synth_cfg.train.update(real_cfg.train.to_dict())
  synth_cfg.seed = seed
  results = {"real": None}
  judge = run.Run(real_cfg)  # evaluates on the real held-out split
  for name, cfg in (("cas", synth_cfg), ("real", real_cfg))[:2 if real_bound else 1]:
    state = run.train_and_evaluate(cfg, os.path.join(workdir, f"classifier_{name}"))
    results[name] = run.evaluate(judge, state, data_cfg.eval_split)["accuracy"]
  result = {"cas_accuracy": results["cas"], "real_accuracy": results["real"],
            "provenance": dict(samples=os.path.abspath(samples_npz),
                               dataset=f"{data_cfg.source}:{data_cfg.name}",
                               eval_split=data_cfg.eval_split, num_steps=num_steps,
                               seed=seed, genjax_version=genjax.__version__,
                               wall_time_s=time.time() - t0)}
  with open(os.path.join(workdir, "cas.json"), "w") as f:
    json.dump(result, f, indent=2)
  return result


def main(argv):
  del argv
  if not FLAGS["verbosity"].present:
    logging.set_verbosity(logging.WARNING)
  if not FLAGS.cas and not FLAGS.extractor:
    raise app.UsageError("--extractor is required (e.g. classifier:runs/clf_mnist).")
  kw = dict(seed=FLAGS.seed, keep=FLAGS.max_features, kid_subsets=FLAGS.kid_subsets,
            kid_subset_size=FLAGS.kid_subset_size)
  if FLAGS.cas:
    res = classification_accuracy_score(FLAGS.cas, config_lib.data_config(FLAGS.cas_data),
                                        FLAGS.cas_workdir, FLAGS.cas_steps, seed=FLAGS.seed)
    print(json.dumps(res))
  elif FLAGS.workdir:
    for res in evaluate_workdir(FLAGS.workdir, FLAGS.extractor, FLAGS.checkpoint,
                                num_samples=FLAGS.num_samples,
                                reference_split=FLAGS.reference_split, **kw,
                                memorization=FLAGS.memorization,
                                near_copy_quantile=FLAGS.near_copy_quantile,
                                iwae_k=FLAGS.iwae_k):
      print(json.dumps(res))
  elif FLAGS.samples and FLAGS.reference:
    res = evaluate_sets(FLAGS.samples, FLAGS.reference, FLAGS.extractor, **kw,
                        paired=FLAGS.paired)
    if FLAGS.out:
      with open(FLAGS.out, "w") as f:
        json.dump(res, f, indent=2)
    print(json.dumps(res))
  else:
    raise app.UsageError("Give --workdir, --samples and --reference, or --cas.")


if __name__ == "__main__":
  define_flags()
  app.run(main)
