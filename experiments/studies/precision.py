"""Mixed precision against float32 on sample quality: the demo's conditional
GAN (configs/cgan.py:demo, 3,000 steps x 64) trained in float32 and with
train.precision=bfloat16 (bfloat16 operands, float32 accumulation,
parameters, optimizer state and losses) from 2 seeds, scored on 5,000
class-balanced samples by genjax's MNIST classifier. The VAE's twin is
precision_vae.py.

  python -m experiments.study --study experiments/studies/precision.py
"""
from experiments.studies import common
from genjax.studies import Study

BF16 = {"train.precision": "bfloat16"}


def get_study():
  return Study(base="configs/cgan.py:demo", cells={"float32": {}, "bfloat16": BF16},
               seeds=(0, 1), baseline="float32",
               overrides={**common.quality(every=1000), "train.num_steps": 3000},
               metrics=common.SAMPLE_METRICS, curves=("quality/fid",), needs=common.NEEDS)
