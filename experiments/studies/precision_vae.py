"""Mixed precision against float32 on likelihood: the MNIST VAE
(configs/vae.py:mnist, 3,000 steps x 128) trained in float32 and with
train.precision=bfloat16 from 2 seeds; held-out -log p(x) by the ELBO and the
IWAE-100 bound (nats), computed in the run's precision with float32
likelihoods. Result (experiments/studies/results/precision_vae): ELBO 99.16
+- 0.18 (float32) against 99.33 +- 0.72 (bfloat16) nats, IWAE-100 87.97 +-
0.51 against 88.33 +- 1.30: no significant difference (Welch p 0.79 / 0.76).

  python -m experiments.study --study experiments/studies/precision_vae.py
"""
from experiments.studies.cvae_screen import LIKELIHOOD
from experiments.studies.precision import BF16
from genjax.studies import Study


def get_study():
  return Study(base="configs/vae.py:mnist", cells={"float32": {}, "bfloat16": BF16},
               seeds=(0, 1), baseline="float32", metrics=LIKELIHOOD,
               curves=("eval/nats", "train/nats"))
