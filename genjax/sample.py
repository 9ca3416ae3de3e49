"""Draw samples from a trained run (the workdir holds its config).

  python -m genjax.sample --workdir runs/dcgan --num 1000 --out samples.npz \
      [--grid grid.png] [--step 5000] [--seed 0]

Writes `images` (uint8 NHWC) to the .npz, with provenance (checkpoint step,
config hash, seed) stored beside them and in the grid PNG.
"""
import json
import os

import numpy as np
from absl import app, flags, logging

from genjax import images, run

FLAGS = flags.FLAGS


def define_flags():
  """Flags of this entry point (defined only when run as a program, so the
  library functions here can be imported beside other entry points)."""
  flags.DEFINE_string("workdir", None, "Run directory made by genjax.train.")
  flags.DEFINE_integer("num", 1000, "Number of samples.")
  flags.DEFINE_string("out", None, "Output .npz path.")
  flags.DEFINE_string("grid", None, "Optional PNG grid of the first --grid_size samples.")
  flags.DEFINE_integer("grid_size", 64, "Samples in the grid.")
  flags.DEFINE_integer("step", None, "Checkpoint step (default: latest).")
  flags.DEFINE_integer("seed", 0, "Sampling seed.")
  flags.DEFINE_integer("batch_size", 500, "Samples per device call.")
  flags.mark_flags_as_required(["workdir", "out"])


def sample_workdir(workdir, num, out, grid=None, grid_size=64, step=None, seed=0,
                   batch_size=500):
  """Samples `num` images from a workdir's checkpoint into `out` (.npz)."""
  r, state, meta = run.restore_workdir(workdir, step)
  imgs = images.to_uint8(r.sample(state, num, seed, batch_size))
  prov = r.provenance(meta["step"], seed=seed, num=num, workdir=os.path.abspath(workdir))
  os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
  np.savez_compressed(out, images=imgs, provenance=json.dumps(prov))
  if grid:
    images.save_png(grid, images.grid(imgs[:grid_size]), prov)
  return imgs, prov


def main(argv):
  del argv
  if not FLAGS["verbosity"].present:
    logging.set_verbosity(logging.WARNING)
  imgs, prov = sample_workdir(FLAGS.workdir, FLAGS.num, FLAGS.out, FLAGS.grid,
                              FLAGS.grid_size, FLAGS.step, FLAGS.seed, FLAGS.batch_size)
  print(f"Wrote {len(imgs)} samples from step {prov['step']} to {FLAGS.out}"
        + (f" and a grid to {FLAGS.grid}" if FLAGS.grid else ""))


if __name__ == "__main__":
  define_flags()
  app.run(main)
