"""Screening recipes for `make demo` (one seed each): what to spend about
twice the current demo's compute on, so that `make demo` stays within 5
minutes on a 2-core machine. The conditional DCGAN-28 at half width
(configs/cgan.py:demo, 3,000 steps x 64, Adam 2e-4 constant, EMA 0.99) against
twice the steps, with a linear decay over the second half or a cosine
schedule, a slower EMA, twice the batch, and 1.5x the width. The best
cells go on to experiments/studies/demo.py with three seeds.

  python -m experiments.study --study experiments/studies/demo_screen.py
"""
from experiments.studies import common
from genjax.studies import Study

LINEAR = {"optim_g.schedule": "linear", "optim_d.schedule": "linear"}
COSINE = {"optim_g.schedule": "cosine", "optim_d.schedule": "cosine"}


def get_study():
  return Study(
      base="configs/cgan.py:demo",
      cells={
          "before": {},
          "steps6k": {"train.num_steps": 6000},
          "steps6k_linear": {"train.num_steps": 6000, **LINEAR},
          "steps6k_cosine": {"train.num_steps": 6000, **COSINE},
          "steps6k_ema999": {"train.num_steps": 6000, "gan.ema_decay": 0.999},
          "steps6k_linear_ema999": {"train.num_steps": 6000, "gan.ema_decay": 0.999, **LINEAR},
          "batch128": {"train.batch_size": 128},
          "width1.5": {"generator.widths": (96, 48), "discriminator.widths": (48, 96)},
      },
      seeds=(0,),
      baseline="before",
      overrides={**common.quality(every=1000), "train.num_steps": 3000},  # the demo's size when run
      metrics=common.SAMPLE_METRICS,
      curves=("quality/fid", "quality/conditional_accuracy"),
      needs=common.NEEDS)
