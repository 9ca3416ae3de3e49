"""Convolutional VAE trained on the ELBO (beta-VAE via vae.beta).

  python -m genjax.train --config configs/vae.py:mnist --workdir runs/vae_mnist
  python -m genjax.train --config configs/vae.py:cifar10 --workdir runs/vae_cifar10
  python -m genjax.train --config configs/vae.py:mnist --workdir runs/bvae \
      --config.vae.beta=4

Variants: mnist (embedded 5k real digits, binarised, Bernoulli decoder),
cifar10 / celeba64 / folder (Gaussian decoder, 8-bit discrete bound),
smoke (tiny, tests). Held-out nats/image and bits/dim go to metrics.jsonl.
"""
import ml_collections

from genjax import config_lib

WIDTHS = {8: (32,), 28: (32, 64), 32: (32, 64, 128), 64: (32, 64, 128, 256)}


def get_config(arg: str = "mnist"):
  dataset = "mnist" if arg == "smoke" else arg
  config = ml_collections.ConfigDict()
  config.method = "vae"
  config.seed = 0
  config.data = config_lib.data_config(dataset)
  gray = config.data.channels == 1
  config.model = dict(name="conv_vae", widths=WIDTHS[config.data.image_size],
                      latent_dim=16 if gray else 128,
                      image_size=config.data.image_size,
                      out_channels=config.data.channels,
                      decoder="bernoulli" if gray else "gaussian")
  config.vae = dict(
      beta=1.0,           # weight of the KL term (beta-VAE); likelihoods use beta=1
      binarize=True,      # Bernoulli decoder: threshold pixels at 0.5
      ema_decay=0.0,      # EMA of weights used for eval and sampling (0 = off)
      iwae_k=100,         # importance samples for the held-out IWAE bound (0 = off)
  )
  config.optim = config_lib.adam(1e-3, 0.9)
  config.train = config_lib.train_config(batch_size=128, num_steps=20_000)
  config.eval = config_lib.eval_config()
  config.evals = config_lib.evals_config()
  if dataset == "mnist":
    config.train.update(num_steps=3000, log_every=100, sample_every=1000,
                        checkpoint_every=1000, eval_every=1000)
  if arg == "smoke":
    config.model.widths = (8, 16)
    config.model.latent_dim = 4
    config.vae.iwae_k = 8
    config_lib.smoke(config)
  return config
