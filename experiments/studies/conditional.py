"""Conditioning a GAN on the class, at the demo's size: label embedding beside
z with label maps beside the image (concat, the default), conditional
BatchNorm with a projection discriminator, an auxiliary classifier (ACGAN),
and the unconditional DCGAN, each trained 3,000 steps x 64 from 3 seeds and
scored by genjax's MNIST classifier on 5,000 class-balanced samples.

  python -m experiments.study --study experiments/studies/conditional.py
"""
from experiments.studies import common
from genjax.studies import Cell, Study


def get_study():
  return Study(
      base="configs/cgan.py:demo",
      cells={
          "concat": {},
          "projection": {"generator.cond": "cbn", "discriminator.cond": "projection"},
          "acgan": {"discriminator.cond": "acgan"},
          "unconditional": Cell(config="configs/dcgan.py:demo"),
      },
      seeds=(0, 1, 2),
      baseline="concat",
      overrides={**common.quality(every=1000), "train.num_steps": 3000},  # the demo's size when run
      metrics=common.SAMPLE_METRICS,
      curves=("quality/fid", "quality/conditional_accuracy", "train/d_loss", "train/g_loss"),
      needs=common.NEEDS)
