"""Screening denoising recipes that generalise to unseen photos (one seed
each, 2,500 steps: half the former default's length). Against the former
default (configs/restore.py:denoise before this study: L1, horizontal flips,
constant Adam 1e-3, 64 px patches x 16): L2 (the loss PSNR measures) with the
8 flips and rotations and a cosine decay; and that recipe on 128 px patches
x 4 (the same pixels per step, 4x the area: flat regions and low-frequency
noise seen whole) magnified by 0.5-2x (data.zoom: smoother and busier content
than the photos hold; the former default lost most to non-local means on the
smooth photos). Chosen on the held-out photos (chelsea, coffee); the external
photos are recorded, not tuned on.

  python -m experiments.study --study experiments/studies/restore_screen.py 
"""
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
          "recipe_p128_zoom": {**RECIPE, "data.image_size": 128, "train.batch_size": 4,
                               "data.zoom": (0.5, 2.0)},
      },
      seeds=(0,),
      baseline="before",
      overrides={"train.num_steps": 2500, "evals.paired.every": 2500,
                 "evals.external.every": 2500, "evals.heldout.every": 2500},
      metrics={"paired/psnr": "higher", "paired_external/psnr": "higher",
               "paired/ssim": "higher", "paired_external/ssim": "higher"},
      curves=("train/loss", "train/psnr"))
