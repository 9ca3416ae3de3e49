"""The default denoiser (configs/restore.py:denoise) with the held-out photos
rotated: four folds of two photos each kept out of training (a stereo pair
together, so neither half is seen), one seed, 1,500 steps each (30% of the
default's length). Each fold's held-out photos, and the three external ones
that no fold trains on, are scored against non-local means: whether the
learned correction's gain holds for whichever photos are held out. Result
(experiments/studies/results/restore_folds): over the 8 held-out photos
+1.39 dB over non-local means on average (std 0.64; from +0.01 on the rocket,
whose sky and smoke non-local means already smooths well, to +2.01 on the
astronaut), and +1.04 to +1.28 dB on the external photos whichever fold
trained.

  python -m experiments.study --study experiments/studies/restore_folds.py
"""
from experiments.studies import common
from genjax.studies import Study

FOLDS = {"chelsea_coffee": "chelsea,coffee",  # the default held-out pair
         "astronaut_camera": "astronaut,camera",
         "motorcycles": "motorcycle_left,motorcycle_right",
         "rocket_coins": "rocket,coins"}


def fold_study(base: str, baseline: str) -> Study:
  """`base` trained once per fold (one seed, 1,500 steps) and scored against
  `baseline` (a restore_metrics name) on each fold's held-out photos and on
  the external ones."""
  return Study(
      base=base,
      cells={name: {"data.heldout": heldout} for name, heldout in FOLDS.items()},
      seeds=(0,),
      baseline="chelsea_coffee",
      overrides=common.restore_length(1500),
      metrics=common.restore_metrics(baseline), curves=common.RESTORE_CURVES)


def get_study():
  return fold_study("configs/restore.py:denoise", "nl_means")
