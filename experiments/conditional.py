"""Conditional GANs on the embedded MNIST digits: conditioning A/B and the
unconditional DCGAN at equal training time, scored with genjax's MNIST
classifier (conditional accuracy, classifier-FID, mean per-class FID).

  python -m genjax.train --config configs/classifier.py:mnist --workdir runs/clf_mnist
  python -m experiments.conditional --classifier runs/clf_mnist --out runs/study_cond

Each variant trains configs/cgan.py:mnist (or configs/dcgan.py:mnist) from
scratch for --num_steps steps, then draws --num_samples class-balanced samples.
Prints a markdown table and writes OUT/results.json.
"""
import json
import os
import time

from absl import app, flags, logging

from genjax import config_lib, run, workdir as workdir_lib
from genjax.evaluators import quality

FLAGS = flags.FLAGS
# name -> (config file, overrides)
VARIANTS = {
    "concat": ("cgan", {}),  # label embedding beside z, label maps beside the image (default)
    "projection": ("cgan", {"generator.cond": "cbn", "discriminator.cond": "projection"}),
    "acgan": ("cgan", {"generator.cond": "concat", "discriminator.cond": "acgan"}),
    "unconditional": ("dcgan", {}),
}


def define_flags():
  flags.DEFINE_string("classifier", "runs/clf_mnist", "Workdir of a configs/classifier.py:mnist run.")
  flags.DEFINE_string("out", "runs/study_cond", "Where the runs and results go.")
  flags.DEFINE_list("variants", list(VARIANTS), f"Any of {', '.join(VARIANTS)}.")
  flags.DEFINE_integer("num_steps", 0, "Train steps per variant (0: the config's).")
  flags.DEFINE_integer("num_samples", 10000, "Samples scored per variant.")


def study(variants, classifier, out, num_steps=0, num_samples=10000):
  results = {}
  for name in variants:
    config_name, overrides = VARIANTS[name]
    cfg = config_lib.load(f"configs/{config_name}.py:mnist")
    cfg.update_from_flattened_dict(overrides)
    if num_steps:
      cfg.train.num_steps = num_steps
    cfg.train.progress = False
    wd = os.path.join(out, name)
    t0 = time.time()
    run.train_and_evaluate(cfg, wd)
    train_s = time.time() - t0
    r, ckpt = workdir_lib.open_run(wd)
    with ckpt:
      state, meta = r.restore(ckpt)
    q = quality.QualityEvaluator(r, wd, extractor=f"classifier:{classifier}",
                                 num_samples=num_samples, memorization=False)
    res = q(state, meta["step"])
    results[name] = dict(train_s=train_s, steps=cfg.train.num_steps,
                         batch_size=cfg.train.batch_size, fid=res["fid"],
                         conditional_accuracy=res.get("conditional_accuracy"),
                         mean_class_fid=res.get("mean_class_fid"),
                         precision=res["precision"], recall=res["recall"])
    print(json.dumps({name: results[name]}), flush=True)
  os.makedirs(out, exist_ok=True)
  with open(os.path.join(out, "results.json"), "w") as f:
    json.dump(results, f, indent=2)
  return results


def table(results) -> str:
  lines = ["| variant | steps x batch | train time | conditional accuracy | FID | mean class FID "
           "| precision | recall |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
  fmt = lambda v, p=3: "-" if v is None else f"{v:.{p}f}"
  for name, r in results.items():
    lines.append(f"| {name} | {r['steps']} x {r['batch_size']} | {r['train_s'] / 60:.1f} min | "
                 f"{fmt(r['conditional_accuracy'])} | {fmt(r['fid'], 2)} | "
                 f"{fmt(r['mean_class_fid'], 2)} | {fmt(r['precision'])} | {fmt(r['recall'])} |")
  return "\n".join(lines)


def main(argv):
  del argv
  if not FLAGS["verbosity"].present:
    logging.set_verbosity(logging.WARNING)
  print(table(study(FLAGS.variants, FLAGS.classifier, FLAGS.out, FLAGS.num_steps,
                    FLAGS.num_samples)))


if __name__ == "__main__":
  define_flags()
  app.run(main)
