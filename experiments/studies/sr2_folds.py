"""The default 2x super-resolution recipe (configs/restore.py:sr2) with the
held-out photos rotated, as experiments/studies/restore_folds.py does for the
denoiser: the same four folds of two photos kept out of training (a stereo
pair together), one seed, 1,500 steps each (75% of the default's length; at
1,500 steps the default fold scored 0.05 dB below its full run). Each fold's
held-out photos, and the three external photos that no fold trains on, are
scored against bicubic: whether the gain over bicubic measured on chelsea and
coffee holds for whichever photos are held out.

  python -m experiments.study --study experiments/studies/sr2_folds.py \
      --publish experiments/studies/results/sr2_folds
"""
from experiments.studies import restore_folds


def get_study():
  return restore_folds.fold_study("configs/restore.py:sr2", "bicubic")
