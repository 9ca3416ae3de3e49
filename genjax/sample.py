"""Draw samples from a trained run (the workdir holds its config).

  python -m genjax.sample --workdir runs/dcgan --num 1000 --out samples.npz \
      [--grid grid.png] [--step 5000] [--seed 0]
  # conditional runs: class-balanced by default (label i mod K); pick classes
  # by index or by name (folder sub-folders), and draw one grid row per class
  python -m genjax.sample --workdir runs/cgan --num 1000 --out s.npz \
      [--labels 3,7 | --labels monet,vangogh] [--class_grid grid.png]

Writes `images` (uint8 NHWC) to the .npz, and `labels` (int32) for a
conditional run, with provenance (checkpoint step, config hash, seed, class
names) stored beside them and in the PNGs.
"""
import json
import os

import numpy as np
from absl import app, flags, logging

from genjax import cli, images, workdir as workdir_lib

FLAGS = flags.FLAGS


def define_flags():
  """Flags of this entry point (defined only when run as a program, so the
  library functions here can be imported beside other entry points)."""
  flags.DEFINE_string("workdir", None, "Run directory made by genjax.train.")
  flags.DEFINE_integer("num", 1000, "Number of samples.", lower_bound=1)
  flags.DEFINE_string("out", None, "Output .npz path.")
  flags.DEFINE_string("grid", None, "Optional PNG grid of the first --grid_size samples.")
  flags.DEFINE_integer("grid_size", 64, "Samples in the grid.")
  flags.DEFINE_list("labels", None, "Conditional runs: classes to sample, by index or name "
                    "(comma-separated); samples cycle through them. Default: all classes.")
  flags.DEFINE_string("class_grid", None, "Conditional runs: PNG with one row per class "
                      "(of --labels, or all), --grid_cols samples each.")
  flags.DEFINE_integer("grid_cols", 10, "Samples per row of --class_grid.")
  flags.DEFINE_integer("step", None, "Checkpoint step (default: latest).")
  flags.DEFINE_integer("seed", 0, "Sampling seed.")
  flags.DEFINE_integer("batch_size", 500, "Samples per device call.")
  flags.mark_flags_as_required(["workdir", "out"])


def resolve_labels(spec, class_names):
  """Class indices from indices or names (None: every class)."""
  names = list(class_names or [])
  if not names:
    raise ValueError("This run is unconditional: --labels and --class_grid need a run "
                     "trained with conditioning (e.g. configs/cgan.py).")
  if not spec:
    return list(range(len(names)))
  out = []
  for s in spec:
    s = str(s).strip()
    if s in names:
      out.append(names.index(s))
    elif s.lstrip("-").isdigit() and 0 <= int(s) < len(names):
      out.append(int(s))
    else:
      raise ValueError(f"Unknown class {s!r} (--labels): use an index 0..{len(names) - 1} "
                       f"or a name: {', '.join(names)}.")
  return out


def sample_workdir(workdir, num, out, grid=None, grid_size=64, step=None, seed=0,
                   batch_size=500, labels=None, class_grid=None, grid_cols=10):
  """Samples `num` images from a workdir's checkpoint into `out` (.npz);
  returns (images, labels or None, provenance)."""
  r, state, meta = workdir_lib.restore_workdir(workdir, step)
  conditional = getattr(r.method, "num_classes", 0) > 0
  names = r.info.class_names if conditional else None
  classes = resolve_labels(labels, names) if conditional or labels or class_grid else None
  y = None if classes is None else np.asarray(classes, np.int32)[np.arange(num) % len(classes)]
  imgs = images.to_uint8(r.generate(state, num, seed, y, batch_size=batch_size))
  prov = r.provenance(meta["step"], seed=seed, num=num, workdir=os.path.abspath(workdir))
  if names:
    prov["class_names"] = list(names)
  out = out if out.endswith(".npz") else out + ".npz"
  os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
  arrays = {"images": imgs} if y is None else {"images": imgs, "labels": y}
  np.savez_compressed(out, provenance=json.dumps(prov), **arrays)
  if grid:
    images.save_png(grid, images.grid(imgs[:grid_size]), prov)
  if class_grid:
    rows = np.repeat(np.asarray(classes, np.int32), grid_cols)
    g = images.to_uint8(r.generate(state, len(rows), seed + 1, rows, batch_size=batch_size))
    images.save_png(class_grid, images.grid(g, grid_cols),
                    dict(prov, rows=[names[c] for c in classes], num=len(rows)))
  return imgs, y, dict(prov, out=out)


def main(argv):
  del argv
  if not FLAGS["verbosity"].present:
    logging.set_verbosity(logging.WARNING)
  imgs, _, prov = sample_workdir(FLAGS.workdir, FLAGS.num, FLAGS.out, FLAGS.grid,
                                 FLAGS.grid_size, FLAGS.step, FLAGS.seed, FLAGS.batch_size,
                                 FLAGS.labels, FLAGS.class_grid, FLAGS.grid_cols)
  extras = [p for p in (FLAGS.grid, FLAGS.class_grid) if p]
  print(f"Wrote {len(imgs)} samples from step {prov['step']} to {prov['out']}"
        + (f" and {', '.join(extras)}" if extras else ""))


if __name__ == "__main__":
  define_flags()
  app.run(cli.clear_errors(main), flags_parser=cli.parse_flags)
