"""Sample-quality metrics with provenance.

  # a run's checkpoint(s) against its dataset's held-out split
  python -m genjax.evaluate --workdir runs/dcgan --extractor classifier:runs/clf_mnist \
      [--checkpoint latest|all|STEP] [--num_samples 5000] [--reference_split test]
  # an image-to-image run: PSNR / SSIM / L1 on whole held-out images vs baselines
  # (restoration photos: --reference_split external for three never-seen ones)
  python -m genjax.evaluate --workdir runs/denoise [--reference_split external] \
      [--self_ensemble] [--back_project N] [--adapt N]
  # any two image sets: .npz (`images`), image folder, or tfds:NAME:SPLIT
  python -m genjax.evaluate --samples a.npz --reference b_folder/ \
      --extractor classifier:runs/clf_mnist [--out result.json]
  # classification accuracy score of labelled samples (images + labels .npz)
  python -m genjax.evaluate --cas labelled.npz --cas_data mnist --cas_workdir runs/cas
  # the same samples as extra training data for a small real set, over seeds
  python -m genjax.evaluate --cas labelled.npz --augment --per_class 20 \
      --augment_counts 0,1000,10000 --seeds 0,1,2

Reports FID (Fréchet distance of extractor features), KID (unbiased, mean/std
over subsets), Inception-style score (IS, from the extractor's class
probabilities), precision/recall and density/coverage (k-NN, k=5), with the
checkpoint step, config hash, extractor id and weights hash, reference id,
sample count, seed, genjax version and wall time. Results of --workdir runs go
to workdir/eval/quality_<step>.json and a line of metrics.jsonl. The measuring
code lives in genjax/evaluators/ (the same evaluators run inside training).
"""
import json
from typing import Optional

from absl import app, flags, logging

from genjax import cli, config_lib, errors, launch, run, workdir as workdir_lib
from genjax.evaluators import cas, heldout, paired, quality
from genjax.logging import MetricWriter

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
  flags.DEFINE_bool("augment", False, "CAS mode: instead score the samples as extra "
                    "training data for --per_class real examples per class.")
  flags.DEFINE_integer("per_class", 20, "--augment: real training examples per class.")
  flags.DEFINE_list("augment_counts", ["0", "1000", "10000"], "--augment: numbers of "
                    "generated samples added (0 = the small real set alone).")
  flags.DEFINE_list("seeds", ["0", "1", "2"], "--augment: classifier seeds.")
  flags.DEFINE_integer("iwae_k", 1000, "Workdir mode, VAE runs: importance samples for the "
                       "held-out IWAE bound (0 = ELBO only), reported under 'heldout'.")
  flags.DEFINE_float("truncation", 1.0, "Workdir mode, generators with latents: draw samples "
                     "with the truncation trick (latents pulled towards the mean; 1 = off), to "
                     "measure its effect on FID and precision / recall.")
  cli.define_inference_flags("Workdir mode, ", "eval/paired_{tag}_<step>.json")
  flags.DEFINE_bool("paired", False, "Two-set mode: the sets are aligned pairs (e.g. "
                    "outputs and targets); add per-image and mean PSNR, SSIM, L1.")
  flags.DEFINE_string("classifier", "", "Image-to-image runs on labelled data: a classifier "
                      "run's workdir; report how many outputs keep their image's class.")
  flags.DEFINE_alias("num-samples", "num_samples")
  launch.define_device_flags()


def evaluate_workdir(workdir, extractor=None, checkpoint="latest", iwae_k=1000, classifier="",
                     how: Optional[workdir_lib.Inference] = None, **options):
  """Evaluates checkpoint(s) (latest, all or a step) of a run: an image-to-image
  run's held-out reconstructions against baselines (translated as `how` says,
  workdir.Inference; its tiling: the run's evals.paired); a generator's sample
  quality (needs `extractor`) and the method's held-out metrics where it has
  them (a VAE's ELBO and IWAE bound with iwae_k importance samples)."""
  r, ckpt = workdir_lib.open_run(workdir)
  with ckpt:
    steps = ckpt.all_steps() if checkpoint == "all" else [
        ckpt.latest_step() if checkpoint == "latest" else int(checkpoint)]
    writer = MetricWriter(workdir, tensorboard=False)
    if r.method.translate is not None:
      cfg = dict(r.config.get("evals", {}).get("paired", {}))
      cfg.pop("every", None)
      if classifier:
        cfg["classifier"] = classifier
      if options.get("reference_split"):
        cfg["split"] = options["reference_split"]
      evaluator = paired.PairedEvaluator.from_config(cfg, r, workdir, writer, how)
      return [evaluator(r.restore(ckpt, s)[0], s) for s in steps]
    if how is not None and how.changed():
      raise errors.InputError(f"--{how.changed()[0]} applies to image-to-image runs only.")
    evaluator = quality.QualityEvaluator(r, workdir, writer, extractor, **options)
    held = None
    if r.method.eval_step is not None:
      held = heldout.HeldoutEvaluator(
          heldout.with_overrides(r, {"vae.iwae_k": iwae_k}), writer,
          split=evaluator.split, batch_size=100,  # iwae_k decoder passes per image
          prefix="heldout/")
    results = []
    for step in steps:
      state, meta = r.restore(ckpt, step)
      extra = {"heldout": held(state, meta["step"])} if held else {}
      results.append(evaluator(state, meta["step"], extra))
    writer.close()
  return results


def main(argv):
  del argv
  launch.setup()  # before any JAX op: CPU split, multi-process run
  if not FLAGS["verbosity"].present:
    logging.set_verbosity(logging.WARNING)
  if FLAGS.samples and not FLAGS.extractor:
    raise errors.InputError("--extractor is required (e.g. classifier:runs/clf_mnist).")
  kw = dict(seed=FLAGS.seed, keep=FLAGS.max_features, kid_subsets=FLAGS.kid_subsets,
            kid_subset_size=FLAGS.kid_subset_size)
  if FLAGS.cas and FLAGS.augment:
    res = cas.augmentation_gain(
        FLAGS.cas, config_lib.data_config(FLAGS.cas_data), FLAGS.cas_workdir,
        run.train_and_evaluate, FLAGS.per_class, [int(c) for c in FLAGS.augment_counts],
        [int(s) for s in FLAGS.seeds], FLAGS.cas_steps)
    print(json.dumps(res))
  elif FLAGS.cas:
    res = cas.classification_accuracy_score(
        FLAGS.cas, config_lib.data_config(FLAGS.cas_data), FLAGS.cas_workdir,
        run.train_and_evaluate, FLAGS.cas_steps, seed=FLAGS.seed)
    print(json.dumps(res))
  elif FLAGS.workdir:
    for res in evaluate_workdir(FLAGS.workdir, FLAGS.extractor, FLAGS.checkpoint,
                                num_samples=FLAGS.num_samples,
                                reference_split=FLAGS.reference_split, **kw,
                                memorization=FLAGS.memorization,
                                near_copy_quantile=FLAGS.near_copy_quantile,
                                iwae_k=FLAGS.iwae_k, classifier=FLAGS.classifier,
                                truncation=FLAGS.truncation,
                                how=workdir_lib.Inference(**cli.inference_flags())):
      print(json.dumps(res))
  elif FLAGS.samples and FLAGS.reference:
    res = quality.evaluate_sets(FLAGS.samples, FLAGS.reference, FLAGS.extractor, **kw,
                                paired=FLAGS.paired)
    if FLAGS.out:
      with open(FLAGS.out, "w") as f:
        json.dump(res, f, indent=2)
    print(json.dumps(res))
  else:
    raise errors.InputError("Give --workdir, --samples and --reference, or --cas.")


if __name__ == "__main__":
  define_flags()
  app.run(cli.clear_errors(main), flags_parser=cli.parse_flags)
