"""Screening 2x super-resolution recipes for unseen photos (one seed each,
1,500 steps). Against the former default (before: L1, horizontal flips,
constant Adam 1e-3, U-Net widths 32/64/128 on 2x2 pixel blocks, 5,000 steps):
the 8 flips and rotations with a cosine decay (sched), and that with the
capacity moved to the finest level (shallow: widths 48/96, about the same
FLOPs per patch). Chosen on the held-out photos (chelsea, coffee); the
external photos are recorded, not tuned on. Result
(experiments/studies/results/sr2_screen): at 1,500 steps the former default
already scored within 0.11 dB of its 5,000-step self (32.82 against 32.93
held out), the schedule and rotations changed nothing (+0.005), and the
shallow net gained +0.13 held out and +0.09 external: the recipe was short of
capacity where the pixels are, not of steps. The default
(configs/restore.py:sr2) became a shallow net wider still (widths 64/128,
about 1.8x the FLOPs per step) trained 2,000 steps.

  python -m experiments.study --study experiments/studies/sr2_screen.py
"""
from experiments.studies import common
from genjax.studies import Study

BEFORE = {"model.widths": (32, 64, 128), "data.augment": "flip", "optim.schedule": "constant",
          "optim.warmup_steps": 0}
SCHED = {"data.augment": "dihedral", "optim.schedule": "cosine", "optim.warmup_steps": 100}


def get_study():
  return Study(
      base="configs/restore.py:sr2",
      cells={"before": BEFORE, "sched": {**BEFORE, **SCHED},
             "shallow": {**BEFORE, **SCHED, "model.widths": (48, 96)}},
      seeds=(0,),
      baseline="before",
      overrides=common.restore_length(1500),
      metrics=common.restore_metrics("bicubic"), curves=common.RESTORE_CURVES)
