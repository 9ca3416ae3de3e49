"""Smoke study (tests, and a seconds-long tour of the runner): the tiny VAE
with beta 1 against beta 0.5, two seeds each, compared on the held-out ELBO.

  python -m experiments.study --study experiments/studies/smoke.py
"""
from genjax.studies import Study


def get_study():
  return Study(
      base="configs/vae.py:smoke",
      cells={"beta=1": {}, "beta=0.5": {"vae.beta": 0.5}},
      seeds=(0, 1),
      overrides={"train.num_steps": 4, "evals.heldout.every": 4},
      metrics={"eval/nats": "lower", "eval/kl": "lower"},
      curves=("train/loss", "train/kl"))
