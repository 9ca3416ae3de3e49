"""Conditional VAE: encoder and decoder both see the class label; held-out
ELBO / IWAE are -log p(x | c), conditional on the label.

  python -m genjax.train --config configs/cvae.py:mnist --workdir runs/cvae
  python -m genjax.sample --workdir runs/cvae --num 100 --out s.npz --class_grid g.png

Variants: as configs/vae.py (mnist, cifar10, folder, smoke), conditioned.
"""
from genjax import config_lib


def get_config(arg: str = "mnist"):
  config = config_lib.vae(arg)
  config.model.cond = "concat"
  config.model.cond_layers = "input"  # input: one-hot beside z | all: label maps at every layer
  return config
