"""Whether 2x super-resolution's gap on unseen photos is one of training
length: the default sr2 recipe (configs/restore.py:sr2, the deep two-level
U-Net, 2,000 steps: 33.10 dB held out, 30.64 external, README) trained three
times as long, 6,000 steps, with its cosine decay stretched to match; one
seed. The earlier, shallower recipe gained 0.11 dB from 1,500 to 5,000 steps
(experiments/studies/sr2_screen.py). Result
(experiments/studies/results/sr2_steps, 43.1 min): 33.24 dB held out (+0.14
over 2,000 steps, +1.77 over bicubic's 31.47) and 30.68 external (+0.04,
against bicubic's 28.65): length is not the gap either; the default stays at
2,000 steps.

  python -m experiments.study --study experiments/studies/sr2_steps.py \\
      --publish experiments/studies/results/sr2_steps
"""
from experiments.studies import common
from genjax.studies import Study


def get_study():
  return Study(
      base="configs/restore.py:sr2",
      cells={"steps6000": {}},
      seeds=(0,),
      baseline="steps6000",
      overrides=common.restore_length(6000),
      metrics=common.restore_metrics("bicubic"), curves=common.RESTORE_CURVES)
