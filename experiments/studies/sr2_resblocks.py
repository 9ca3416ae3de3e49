"""Screening the network for 2x super-resolution on unseen photos (one seed
each, 1,500 steps, as experiments/studies/sr2_depth.py): the default
(configs/restore.py:sr2, a two-level U-Net of widths 64/128 on 2x2 pixel
blocks, four 3x3 convolutions per block) against a plain residual network on
the same low-resolution grid (EDSR without batch norm, models/resblocks.py):
8 residual blocks of width 64 (19 convolutions, about 1.3x the default's
FLOPs per step), its receptive field grown by depth instead of by a coarser
level. Chosen on the held-out photos (chelsea, coffee); the external photos
are recorded, not tuned on. Result
(experiments/studies/results/sr2_resblocks): held out 33.05 (unet) and 32.90
(res8, -0.15) dB against bicubic's 31.47; external 30.64 and 30.35 (-0.29)
against 28.65; res8 took 1.2x the wall time. The U-Net's coarser level gains
more than depth at one resolution; the default stays. One seed: a screen,
not a test.

  python -m experiments.study --study experiments/studies/sr2_resblocks.py \\
      --publish experiments/studies/results/sr2_resblocks
"""
from experiments.studies import common
from genjax.studies import Study


def get_study():
  return Study(
      base="configs/restore.py:sr2",
      cells={"unet": {},
             "res8": {"model": {"name": "resblocks", "width": 64, "blocks": 8, "patch": 2}}},
      seeds=(0,),
      baseline="unet",
      overrides=common.restore_length(1500),
      metrics=common.restore_metrics("bicubic"), curves=common.RESTORE_CURVES)
