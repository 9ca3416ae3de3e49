"""GAN losses on the digits: non-saturating (the default), hinge,
least-squares and WGAN-GP, each in the demo's conditional DCGAN-28 (3,000
steps x 64, one D step per G step, Adam 2e-4 / 0.5, EMA 0.99) from 3 seeds,
scored by genjax's MNIST classifier on 5,000 class-balanced samples. The
gradient penalty needs a discriminator without batch statistics, so WGAN-GP
uses layer norm (so its row changes the norm as well as the loss). WGAN-GP's
usual 5 critic steps per G step would cost 5x the D compute; here every loss
gets the same budget.

  python -m experiments.study --study experiments/studies/losses.py
"""
from experiments.studies import common
from genjax.studies import Study


def get_study():
  return Study(
      base="configs/cgan.py:demo",
      cells={
          "ns": {},
          "hinge": {"gan.loss": "hinge"},
          "lsgan": {"gan.loss": "lsgan"},
          "wgan-gp": {"gan.loss": "wgan", "gan.gp_weight": 10.0,
                      "discriminator.norm": "layer"},
      },
      seeds=(0, 1, 2),
      baseline="ns",
      overrides={**common.quality(every=1000), "train.num_steps": 3000},  # the demo's size when run
      metrics=common.SAMPLE_METRICS,
      curves=("quality/fid", "quality/conditional_accuracy", "train/d_loss", "train/g_loss"),
      needs=common.NEEDS)
