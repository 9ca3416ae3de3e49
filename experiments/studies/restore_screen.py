"""Screening denoising recipes that generalise to unseen photos (one seed
each, 2,500 steps: half the former default's length). Against the former
default (configs/restore.py:denoise before this study: L1, horizontal flips,
constant Adam 1e-3, 64 px patches x 16): L2 (the loss PSNR measures) with the
8 flips and rotations and a cosine decay. Chosen on the held-out photos
(chelsea, coffee); the external photos are recorded, not tuned on. A third
cell (that recipe on 128 px patches x 4, magnified 0.5-2x by data.zoom) was
stopped at step 580 of 2,500 for lack of machine time and is left out. The
result (the recipe lower on both sets at this one seed; not tested for
significance) kept L1, flips and a constant rate; what closed the gap to
non-local means was learning its correction (data.prefilter,
configs/restore.py:denoise), not a recipe knob.

  python -m experiments.study --study experiments/studies/restore_screen.py
"""
from experiments.studies import common
from genjax.studies import Study

RECIPE = {"regression.loss": "l2", "data.augment": "dihedral", "optim.schedule": "cosine",
          "optim.warmup_steps": 100}


def get_study():
  return Study(
      base="configs/restore.py:denoise",
      cells={
          "before": {"regression.loss": "l1", "data.augment": "flip",
                     "optim.schedule": "constant", "optim.warmup_steps": 0},
          "recipe": RECIPE,
      },
      seeds=(0,),
      baseline="before",
      # the denoiser as it was (the default now adds a noise map and a prefilter)
      overrides={"data.noise_std_max": 0.0, "data.noise_map": False, "data.prefilter": "",
                 **common.restore_length(2500)},
      metrics={"paired/psnr": "higher", "paired_external/psnr": "higher",
               "paired/ssim": "higher", "paired_external/ssim": "higher"},
      curves=common.RESTORE_CURVES)
