"""Convolutional VAE trained on the ELBO (beta-VAE via vae.beta).

  python -m genjax.train --config configs/vae.py:mnist --workdir runs/vae_mnist
  python -m genjax.train --config configs/vae.py:cifar10 --workdir runs/vae_cifar10
  python -m genjax.train --config configs/vae.py:mnist --workdir runs/bvae \
      --config.vae.beta=4

Variants: mnist (embedded 5k real digits, binarised, Bernoulli decoder),
cifar10 / celeba64 / folder (Gaussian decoder, 8-bit discrete bound),
smoke (tiny, tests). Held-out nats/image and bits/dim go to metrics.jsonl.
"""
from genjax import config_lib


def get_config(arg: str = "mnist"):
  return config_lib.vae(arg)
