"""Conditional VAE: encoder and decoder both see the class label; held-out
ELBO / IWAE are -log p(x | c), conditional on the label.

  python -m genjax.train --config configs/cvae.py:mnist --workdir runs/cvae
  python -m genjax.sample --workdir runs/cvae --num 100 --out s.npz --class_grid g.png

Variants: as configs/vae.py (mnist, cifar10, folder, smoke), conditioned; mnist
with beta 3 and an EMA of the weights (see below).
"""
from genjax import config_lib


def get_config(arg: str = "mnist"):
  config = config_lib.vae(arg)
  config.model.cond = "concat"
  config.model.cond_layers = "input"  # input: one-hot beside z | all: label maps at every layer
  if arg == "mnist":
    # experiments/studies/cvae.py (3 seeds): with beta 1 the label is also encoded in z and
    # samples follow it 67% of the time; beta 3 with an EMA of the weights: 95%, with the
    # held-out IWAE bound unchanged (82.8 vs 83.2 nats; the ELBO 2.7 nats looser).
    config.vae.update(beta=3.0, ema_decay=0.999)
  return config
