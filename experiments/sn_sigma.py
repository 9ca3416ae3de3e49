"""How closely spectral norm's sigma (the power-iteration estimate D divides
each weight by, kept in the train state) tracks the weight's largest singular
value as an SNGAN trains, when a D update sees the real and the fake batch in
one D call (gan.d_batches=joint: one power iteration per D update, the default
for a D without batch norm) or in two (separate: two iterations).

  python -m experiments.sn_sigma --steps 200 --workdir runs/sn_sigma

The SNGAN ResNets of configs/cgan.py:cifar10 (hinge loss, 5 D updates per G
update, projection D), narrowed to --width and trained on the embedded digits
at 32 px with batch 32, one run per mode from the same seed. Prints, per mode,
the relative error |sigma - s_max| / s_max over D's spectrally normalised
weights (median and max; s_max by SVD of the weight as SN reshapes it) and the
mean D and G losses over the last quarter of the steps.
"""
import json
import os

import jax
import numpy as np
from absl import app, flags

from genjax import cli, config_lib, launch, run

FLAGS = flags.FLAGS


def config(mode: str, steps: int, width: int):
  cfg = config_lib.load("configs/cgan.py:cifar10")
  cfg.data.update(source="mnist5k", image_size=32, channels=1)
  cfg.generator.update(out_channels=1, widths=(width,) * 3)
  cfg.discriminator.widths = (width,) * 4
  cfg.gan.d_batches = mode
  cfg.train.update(batch_size=32, num_steps=steps, log_every=1, sample_every=steps,
                   checkpoint_every=steps, progress=False)
  cfg.evals.heldout.every = 0
  return cfg


def sigma_errors(d) -> np.ndarray:
  """|sigma - s_max| / s_max of every spectrally normalised weight of D."""
  errors = []
  for path, sigma in jax.tree_util.tree_leaves_with_path(d.batch_stats):
    *scope, name = [getattr(k, "key", k) for k in path]
    if not name.endswith("/sigma"):
      continue
    layer, param = name.split("/")[:2]
    w = d.params
    for key in scope[:-1] + [layer, param]:  # scope[-1]: the SpectralNorm wrapper
      w = w[key]
    w = np.asarray(w)
    s_max = np.linalg.svd(w.reshape(-1, w.shape[-1]), compute_uv=False)[0]
    errors.append(abs(float(sigma) - s_max) / s_max)
  return np.array(errors)


def main(_):
  launch.setup()
  for mode in ("joint", "separate"):
    workdir = os.path.join(FLAGS.workdir, mode)
    state = run.train_and_evaluate(config(mode, FLAGS.steps, FLAGS.width), workdir)
    err = sigma_errors(state.d)
    rows = [json.loads(line) for line in open(os.path.join(workdir, "metrics.jsonl"))]
    last = [r for r in rows if "train/d_loss" in r][-max(1, FLAGS.steps // 4):]
    print(json.dumps({
        "mode": mode, "steps": FLAGS.steps, "weights": len(err),
        "sigma_rel_error_median": float(np.median(err)), "sigma_rel_error_max": float(err.max()),
        "d_loss": float(np.mean([r["train/d_loss"] for r in last])),
        "g_loss": float(np.mean([r["train/g_loss"] for r in last]))}))


if __name__ == "__main__":
  flags.DEFINE_integer("steps", 200, "G updates per run.")
  flags.DEFINE_integer("width", 32, "Width of every G and D block.")
  flags.DEFINE_string("workdir", "runs/sn_sigma", "Where the two runs go (MODE/ below).")
  launch.define_device_flags()
  app.run(cli.clear_errors(main), flags_parser=cli.parse_flags)
