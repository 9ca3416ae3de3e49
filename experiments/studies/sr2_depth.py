"""Screening depth for 2x super-resolution on unseen photos (one seed each,
1,500 steps), after experiments/studies/sr2_screen.py found the recipe short
of capacity at the finest level. Against the default of the time (cell
"default", configs/restore.py:sr2 then:
a two-level U-Net of widths 64/128 on 2x2 pixel blocks, two 3x3 convolutions
per block): four convolutions per block (deep, about 1.65x the FLOPs per
step), and four per block at widths 48/96 (deep_thin, about the default's
FLOPs: depth for width). Chosen on the held-out photos (chelsea, coffee); the
external photos are recorded, not tuned on. Result
(experiments/studies/results/sr2_depth): held out 32.89 (default), 33.10
(deep, +0.21) and 33.04 (deep_thin, +0.15) dB against bicubic's 31.47;
external 30.59 / 30.61 / 30.62 (+0.02 / +0.03) against 28.65. Depth gained
on the held-out photos and about nothing on the external ones; the default
sr2 became deep (configs/restore.py:sr2, model.depth=4). One seed: a
screen, not a test.

  python -m experiments.study --study experiments/studies/sr2_depth.py \
      --publish experiments/studies/results/sr2_depth
"""
from experiments.studies import common
from genjax.studies import Study


def get_study():
  return Study(
      base="configs/restore.py:sr2",
      cells={"default": {"model.depth": 2}, "deep": {"model.depth": 4},
             "deep_thin": {"model.depth": 4, "model.widths": (48, 96)}},
      seeds=(0,),
      baseline="default",
      overrides=common.restore_length(1500),
      metrics=common.restore_metrics("bicubic"), curves=common.RESTORE_CURVES)
