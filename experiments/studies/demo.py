"""The recipe of `make demo`, chosen with three seeds among the best of
demo_screen.py (one seed each): the demo as it was (configs/cgan.py:demo
before: 3,000 steps x 64, Adam 2e-4 constant, EMA 0.99) against twice the
steps, the screen's clear gain, with the constant rate or a slower EMA
(0.999). `make demo` must stay within 5 minutes on a 2-core machine, which
6,000 steps do (about 3.5 minutes there alone).

  python -m experiments.study --study experiments/studies/demo.py
"""
from experiments.studies import common
from genjax.studies import Study


def get_study():
  return Study(
      base="configs/cgan.py:demo",
      cells={
          "before": {"train.num_steps": 3000},
          "steps6k": {"train.num_steps": 6000},
          "steps6k_ema999": {"train.num_steps": 6000, "gan.ema_decay": 0.999},
      },
      seeds=(0, 1, 2),
      baseline="before",
      overrides=common.quality(every=1000),
      metrics=common.SAMPLE_METRICS,
      curves=("quality/fid", "quality/conditional_accuracy"),
      needs=common.NEEDS)
