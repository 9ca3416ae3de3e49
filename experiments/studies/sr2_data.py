"""Screening the loss and the training content of 2x super-resolution on
unseen photos (one seed each, 1,500 steps), after experiments/studies/
sr2_depth.py made the default deep. Against the default (L1 on 64 px patches
of the 14 training photos at their own scale): L2, the loss PSNR measures
(l2), and patches of the photos shrunk by a log-uniform 0.5-1x (data.zoom;
zoom), which packs more edges and texture into each patch and shows the
model the same content at several scales, the classic augmentation for
super-resolution on a small set of photos. Chosen on the held-out photos
(chelsea, coffee); the external photos are recorded, not tuned on. One seed:
a screen, not a test. Result (experiments/studies/results/sr2_data): held out
33.05 (default), 32.96 (l2, -0.10) and 33.08 (zoom, +0.03) dB against
bicubic's 31.47; external 30.64 / 30.51 (-0.13) / 30.75 (+0.11) against
28.65. Neither closes the gap to +2.0 dB held out: L2 lost on both sets, and
the gains of scale augmentation are within one seed's spread (about 0.1 dB,
sr2_depth); the default keeps L1 on the photos at their own scale.

  python -m experiments.study --study experiments/studies/sr2_data.py \
      --publish experiments/studies/results/sr2_data
"""
from experiments.studies import common
from genjax.studies import Study


def get_study():
  return Study(
      base="configs/restore.py:sr2",
      cells={"default": {}, "l2": {"regression.loss": "l2"},
             "zoom": {"data.zoom": (0.5, 1.0)}},
      seeds=(0,),
      baseline="default",
      overrides=common.restore_length(1500),
      metrics=common.restore_metrics("bicubic"), curves=common.RESTORE_CURVES)
