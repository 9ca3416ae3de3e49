"""Draw and steer samples from a trained run (the workdir holds its config).

  python -m genjax.sample --workdir runs/dcgan --num 1000 --out samples.npz \
      [--grid grid.png] [--step 5000] [--seed 0]
  # conditional runs: class-balanced by default (label i mod K); pick classes
  # by index or by name (folder sub-folders), and draw one grid row per class
  python -m genjax.sample --workdir runs/cgan --num 1000 --out s.npz \
      [--labels 3,7 | --labels monet,vangogh] [--class_grid grid.png]
  # steering (GANs and VAEs): OUT.png, and OUT.gif / OUT.webp / OUT.mp4 for paths
  python -m genjax.sample --workdir runs/demo --interpolate 12 --out interp \
      [--path_seeds 0,1,2,3] [--lerp] [--labels 3,7] [--formats gif,webp,mp4]
  python -m genjax.sample --workdir runs/demo --morph 1:7 --out morph     # class to class
  python -m genjax.sample --workdir runs/demo --truncation 0,0.5,0.7,1 --out trunc
  python -m genjax.sample --workdir runs/vae --traverse 8 --out traverse  # dims by KL
  python -m genjax.sample --workdir runs/vae --attribute 1:7 --strength -1,0,1,2 --out attr
  python -m genjax.sample --workdir runs/dcgan --attribute 1:7 --classifier runs/clf_mnist \
      --out attr                        # a GAN: its samples labelled by a classifier

Writes `images` (uint8 NHWC) to the .npz, and `labels` (int32) for a
conditional run, with provenance (checkpoint step, config hash, seed, class
names, "generated image") stored beside them, in every PNG's text chunks, the
GIF comment, the WebP EXIF and the MP4 comment; --sidecar also writes it to
FILE.json. The same flags give the same images, bit for bit.
"""
import json
import os

import jax
import numpy as np
from absl import app, flags, logging

from genjax import cli, control, errors, images, launch, workdir as workdir_lib
from genjax.evaluators.extractors import build_extractor

FLAGS = flags.FLAGS


def define_flags():
  """Flags of this entry point (defined only when run as a program, so the
  library functions here can be imported beside other entry points)."""
  flags.DEFINE_string("workdir", None, "Run directory made by genjax.train.")
  flags.DEFINE_integer("num", 1000, "Number of samples.", lower_bound=1)
  flags.DEFINE_string("out", None, "Output .npz path; with a steering flag, the stem of its "
                      "outputs (OUT.png, OUT.gif, ...).")
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
  # Steering.
  flags.DEFINE_integer("interpolate", 0, "Frames per segment of a path through the latents "
                       "of --path_seeds (slerp; --lerp for linear); one row per class of "
                       "--labels for conditional runs.")
  flags.DEFINE_list("path_seeds", None, "Seeds whose latents the path visits (default: "
                    "--seed .. --seed+3).")
  flags.DEFINE_bool("lerp", False, "--interpolate linearly instead of spherically.")
  flags.DEFINE_string("morph", None, "Conditional runs: classes A:B[:C...] to morph through "
                      "at fixed latents (one row per --path_seeds), --interpolate frames "
                      "per segment (default 16).")
  flags.DEFINE_list("truncation", None, "Truncation values psi (latents pulled towards the "
                    "mean; 1 = off): a grid with the same latents in each row, one column "
                    "per value.")
  flags.DEFINE_integer("traverse", 0, "Rows of a traversal: a VAE's latent dimensions by KL, "
                       "a GAN's principal directions (GANSpace), each from -3 to 3 std.")
  flags.DEFINE_string("attribute", None, "A:B: add strength x (mean latent of B - mean "
                      "latent of A) to latents of A; classes (name or index) or image "
                      "folders, encoded by a VAE, or classes of --classifier for a GAN.")
  flags.DEFINE_list("strength", ["-1", "0", "1", "2"], "--attribute strengths (columns).")
  flags.DEFINE_string("classifier", None, "--attribute on a GAN: a configs/classifier.py "
                      "run's workdir that labels generated samples.")
  flags.DEFINE_integer("rows", 8, "Rows of --truncation and --attribute grids.")
  flags.DEFINE_list("formats", ["gif", "webp"], f"Animations of --interpolate / --morph: "
                    f"{', '.join(images.ANIMATIONS)} (mp4: pip install genjax[video]).")
  flags.DEFINE_float("fps", 10.0, "Frames per second of animations.")
  flags.DEFINE_bool("sidecar", False, "Also write each output's provenance to FILE.json.")
  launch.define_device_flags()
  flags.mark_flags_as_required(["workdir", "out"])


def resolve_labels(spec, class_names):
  """Class indices from indices or names (None: every class)."""
  names = list(class_names or [])
  if not names:
    raise errors.InputError("This run is unconditional: --labels and --class_grid need a run "
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
      raise errors.InputError(f"Unknown class {s!r} (--labels): use an index 0..{len(names) - 1} "
                       f"or a name: {', '.join(names)}.")
  return out


def _writes() -> bool:
  return jax.process_index() == 0  # every process of a multi-process run samples; one writes


def _write(path: str, image, provenance: dict, sidecar: bool):
  if _writes():
    images.save_png(path, image, provenance)
  if sidecar:
    _sidecar(path, provenance)


def _sidecar(path: str, provenance: dict):
  if _writes():
    with open(path + ".json", "w") as f:
      json.dump(provenance, f, indent=2, sort_keys=True)


def sample_workdir(workdir, num, out, grid=None, grid_size=64, step=None, seed=0,
                   batch_size=500, labels=None, class_grid=None, grid_cols=10, sidecar=False):
  """Samples `num` images from a workdir's checkpoint into `out` (.npz);
  returns (images, labels or None, provenance)."""
  r, state, meta = workdir_lib.restore_workdir(workdir, step)
  conditional = r.method.num_classes > 0
  names = r.info.class_names if conditional else None
  classes = resolve_labels(labels, names) if conditional or labels or class_grid else None
  y = None if classes is None else np.asarray(classes, np.int32)[np.arange(num) % len(classes)]
  imgs = images.to_uint8(r.generate(state, num, seed, y, batch_size=batch_size))
  prov = r.provenance(meta["step"], seed=seed, num=num, workdir=os.path.abspath(workdir),
                      content=images.GENERATED)
  if names:
    prov["class_names"] = list(names)
  out = out if out.endswith(".npz") else out + ".npz"
  arrays = {"images": imgs} if y is None else {"images": imgs, "labels": y}
  if _writes():
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    np.savez_compressed(out, provenance=json.dumps(prov), **arrays)
  if sidecar:
    _sidecar(out, prov)
  if grid:
    _write(grid, images.grid(imgs[:grid_size]), prov, sidecar)
  if class_grid:
    rows = np.repeat(np.asarray(classes, np.int32), grid_cols)
    g = images.to_uint8(r.generate(state, len(rows), seed + 1, rows, batch_size=batch_size))
    _write(class_grid, images.grid(g, grid_cols),
           dict(prov, rows=[names[c] for c in classes], num=len(rows)), sidecar)
  return imgs, y, dict(prov, out=out)


def _grid_image(grid):
  """[rows, cols, H, W, C] floats -> one uint8 image, a row per grid row."""
  rows, cols = grid.shape[:2]
  return images.grid(images.to_uint8(grid.reshape((rows * cols,) + grid.shape[2:])), cols)


def steer(workdir, out, step=None, seed=0, labels=None, interpolate=0, path_seeds=None,
          lerp=False, morph=None, truncation=None, traverse=0, attribute=None,
          strength=(-1, 0, 1, 2), classifier=None, rows=8, formats=("gif", "webp"), fps=10.0,
          sidecar=False):
  """The steering modes of genjax.sample (one per call): writes OUT.png (a
  grid, or the frames side by side) and, for paths, animations OUT.<format>.
  Returns {path: provenance}."""
  modes = [m for m, on in (("interpolate", interpolate and not morph), ("morph", morph),
                           ("truncation", truncation), ("traverse", traverse),
                           ("attribute", attribute)) if on]
  if len(modes) != 1:
    raise errors.InputError(f"Give one steering mode at a time (got {', '.join(modes) or 'none'}).")
  r, state, meta = workdir_lib.restore_workdir(workdir, step)
  classes = resolve_labels(labels, r.info.class_names) if labels else None
  seeds = [int(s) for s in path_seeds] if path_seeds else [seed + i for i in range(4)]
  prov = r.provenance(meta["step"], seed=seed, workdir=os.path.abspath(workdir),
                      content=images.GENERATED, mode=modes[0])
  written, frames = {}, None
  if modes[0] == "interpolate":
    frames = control.interpolate(r, state, seeds, interpolate, not lerp, classes)
    prov.update(path_seeds=seeds, frames_per_segment=interpolate,
                interpolation="lerp" if lerp else "slerp")
  elif modes[0] == "morph":
    path = resolve_labels(morph.split(":"), r.info.class_names) if r.method.num_classes else []
    frames = control.morph(r, state, path, interpolate or 16, seeds)
    prov.update(path_seeds=seeds, morph=[r.info.class_names[c] for c in path],
                frames_per_segment=interpolate or 16)
  elif modes[0] == "truncation":
    psis = [float(p) for p in truncation]
    grid = control.truncation_grid(r, state, psis, rows, seed, classes)
    prov.update(truncation=psis, columns="truncation psi", rows=rows)
  elif modes[0] == "traverse":
    grid, described = control.traverse(r, state, traverse, seed,
                                       label=classes[0] if classes else None)
    prov.update(rows=described, columns=[float(v) for v in control.TRAVERSE_VALUES])
  else:
    a, _, b = attribute.partition(":")
    classify = None
    if classifier:
      extractor = build_extractor(f"classifier:{classifier}")
      classify = lambda x: extractor(x)[1]
    grid, vector = control.attribute(r, state, a, b, [float(s) for s in strength], rows, seed,
                                     classify)
    prov.update(attribute=[a, b], strength=[float(s) for s in strength],
                vector_norm=float(np.linalg.norm(vector)), classifier=classifier or "")
  stem = out[:-4] if out.endswith(".png") else out
  if frames is not None:  # [T, rows, ...]: the PNG shows the frames left to right
    strip = np.swapaxes(frames, 0, 1)
    written[stem + ".png"] = dict(prov, layout="rows: paths, columns: frames")
    _write(stem + ".png", _grid_image(strip), written[stem + ".png"], sidecar)
    movie = [images.grid(images.to_uint8(f), len(f)) for f in frames]  # the rows side by side
    for fmt in formats:
      path = f"{stem}.{fmt}"
      if _writes():
        images.save_animation(path, movie, prov, fps)
      written[path] = prov
      if sidecar:
        _sidecar(path, prov)
  else:
    written[stem + ".png"] = prov
    _write(stem + ".png", _grid_image(grid), prov, sidecar)
  return written


def main(argv):
  del argv
  launch.setup()  # before any JAX op: CPU split, multi-process run
  if not FLAGS["verbosity"].present:
    logging.set_verbosity(logging.WARNING)
  if any((FLAGS.interpolate, FLAGS.morph, FLAGS.truncation, FLAGS.traverse, FLAGS.attribute)):
    written = steer(FLAGS.workdir, FLAGS.out, FLAGS.step, FLAGS.seed, FLAGS.labels,
                    FLAGS.interpolate, FLAGS.path_seeds, FLAGS.lerp, FLAGS.morph,
                    FLAGS.truncation, FLAGS.traverse, FLAGS.attribute, FLAGS.strength,
                    FLAGS.classifier, FLAGS.rows, FLAGS.formats, FLAGS.fps, FLAGS.sidecar)
    print(f"Wrote {', '.join(written)}")
    return
  imgs, _, prov = sample_workdir(FLAGS.workdir, FLAGS.num, FLAGS.out, FLAGS.grid,
                                 FLAGS.grid_size, FLAGS.step, FLAGS.seed, FLAGS.batch_size,
                                 FLAGS.labels, FLAGS.class_grid, FLAGS.grid_cols, FLAGS.sidecar)
  extras = [p for p in (FLAGS.grid, FLAGS.class_grid) if p]
  print(f"Wrote {len(imgs)} samples from step {prov['step']} to {prov['out']}"
        + (f" and {', '.join(extras)}" if extras else ""))


if __name__ == "__main__":
  define_flags()
  app.run(cli.clear_errors(main), flags_parser=cli.parse_flags)
