"""Crops of flat and textured regions of the external photos (never trained
on), restored by a model beside the training-free baselines, for looking at
what PSNR averages away (blotches in flat regions, lost texture).

  python -m experiments.restore_crops --model denoise --out docs/denoise_crops.png
  python -m experiments.restore_crops --workdir runs/denoise --out crops.png [--self_ensemble]
  python -m experiments.restore_crops --model sr2 --out crops.png --adapt 500  # sr: adapted

Columns: the degraded input, each baseline (non-local means, bicubic, biharmonic:
as the task has), genjax, the clean photo; rows: the crops in CROPS. Each crop's
PSNR is printed per column. The degradation is the paired evaluator's (fixed
seed), so the crops are parts of the images scored in eval/paired_external_*.json;
for inpainting and harmonisation PSNR counts the hole or region, as there.
"""
import tempfile

import numpy as np
from absl import app, flags

from genjax import cli, images, launch, workdir as workdir_lib, zoo
from genjax.data import photos
from genjax.evaluators import paired

FLAGS = flags.FLAGS
# (photo, top, left, side, what): regions of photos.EXTERNAL, in target pixels.
CROPS = (("grace_hopper", 40, 380, 128, "flat: backdrop"),
         ("grace_hopper", 150, 190, 128, "texture: face"),
         ("china", 0, 380, 128, "flat: sky"),
         ("china", 290, 440, 128, "texture: trees"))


def crops(run, state, how: workdir_lib.Inference = workdir_lib.Inference()):
  """(rows of uint8 crops, column names, per-crop PSNR by column), the photos
  translated as `how` says (workdir.Inference)."""
  ev = paired.PairedEvaluator(run, tempfile.mkdtemp(), split="external")
  index = {name: k for k, name in enumerate(photos.EXTERNAL)}
  rows, psnrs, columns, restored = [], [], [], {}
  for name, top, left, side, _ in CROPS:
    k = index[name]
    pair, target = ev.pairs[k], ev.targets[k]
    outs = paired.baselines(ev.task, pair, target.shape, run.config.data)
    if name not in restored:  # each photo once (adaptation is per photo)
      restored[name] = images.to_uint8(run.translate(state, pair, how))
    outs["genjax"] = restored[name]
    outs["target"] = target
    columns = list(outs)
    cut = lambda x: x[top:top + side, left:left + side]
    rows += [cut(v) for v in outs.values()]
    hole = paired.inside(pair)  # inpainting / harmonisation: the hole or region's pixels
    hole = None if hole is None else cut(hole)
    psnrs.append({c: (paired.image_metrics(cut(v), cut(target), hole)["psnr"]
                      if hole is None or hole.any() else float("nan"))  # none in this crop
                  for c, v in outs.items() if c != "target"})
  return rows, columns, psnrs


def main(argv):
  del argv
  launch.setup()
  if bool(FLAGS.model) == bool(FLAGS.workdir):
    raise ValueError("Give --model (a released restorer or model folder) or --workdir.")
  run, state = (zoo.load(FLAGS.model)[:2] if FLAGS.model
                else workdir_lib.restore_workdir(FLAGS.workdir)[:2])
  rows, columns, psnrs = crops(run, state, workdir_lib.Inference(**cli.inference_flags()))
  images.save_png(FLAGS.out, images.grid(np.stack(rows), len(columns)),
                  run.provenance(int(state.step), columns=columns,
                                 crops=[c[:4] for c in CROPS], model=FLAGS.model or FLAGS.workdir))
  print(f"{FLAGS.out}: columns {', '.join(columns)}")
  for (name, *_, what), p in zip(CROPS, psnrs):
    print(f"  {name} {what}: " + ", ".join(f"{c} {v:.2f}" for c, v in p.items()))


if __name__ == "__main__":
  flags.DEFINE_string("model", None, "A released restorer (genjax.zoo) or a model folder.")
  flags.DEFINE_string("workdir", None, "Or a restoration run's workdir.")
  flags.DEFINE_string("out", None, "The figure (PNG).")
  cli.define_inference_flags()
  launch.define_device_flags()
  flags.mark_flags_as_required(["out"])
  app.run(cli.clear_errors(main), flags_parser=cli.parse_flags)
