"""Convolutional VAE with a Bernoulli (logits) or Gaussian (mean) decoder."""
from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from genjax import errors
from genjax.models.layers import (Conv2D, ConvTranspose2D, Dense, check_cond, label_maps,
                                  label_vectors)


class ConvVAE(nn.Module):
  """enc: [Conv4 s2 w ReLU] -> Dense 2*latent; dec: Dense -> [ConvT4 s2 ReLU] -> ConvT4 s2.

  `__call__` returns (decoder output, posterior mean, posterior log-variance).
  The decoder output is Bernoulli logits or the Gaussian mean; for a Gaussian
  decoder a per-channel log standard deviation is the parameter `log_scale`.
  cond="concat" makes it a conditional VAE: the encoder sees one-hot label maps
  beside the image, the decoder the one-hot label beside z, and with
  cond_layers="all" also as label maps beside every decoder layer's input (a
  path for the label that z cannot crowd out).
  """
  widths: Sequence[int] = (32, 64)
  latent_dim: int = 16
  image_size: int = 28
  out_channels: int = 1
  decoder: str = "bernoulli"
  cond: str = "none"       # none | concat
  num_classes: int = 0
  cond_layers: str = "input"  # cond=concat: the label enters the decoder at its input | all

  def setup(self):
    check_cond(self.cond, ("none", "concat"), self.num_classes, "model")
    if self.cond_layers not in ("input", "all"):
      raise errors.InputError(f"Unknown model.cond_layers {self.cond_layers!r}; use input or all.")
    kw = dict(kernel_size=4, stride=2, padding=1, kernel_init=nn.initializers.lecun_normal())
    self.enc_convs = [Conv2D(w, **kw) for w in self.widths]
    self.enc_out = Dense(2 * self.latent_dim)
    self.start = self.image_size // 2 ** len(self.widths)
    if self.start * 2 ** len(self.widths) != self.image_size:
      raise errors.InputError(f"image_size {self.image_size} is not divisible by "
                       f"2^{len(self.widths)} (len(widths)).")
    self.dec_in = Dense(self.start * self.start * self.widths[-1])
    rev = list(self.widths[::-1][1:]) + [self.out_channels]
    self.dec_convs = [ConvTranspose2D(w, **kw) for w in rev]
    if self.decoder == "gaussian":
      self.log_scale = self.param("log_scale", nn.initializers.zeros,
                                  (self.out_channels,))

  def encode(self, x, labels=None):
    if self.cond == "concat":
      x = label_maps(x, labels, self.num_classes)
    for conv in self.enc_convs:
      x = nn.relu(conv(x))
    h = self.enc_out(x.reshape(x.shape[0], -1)).astype(jnp.float32)
    mean, logvar = jnp.split(h, 2, axis=-1)
    return mean, logvar

  def decode(self, z, labels=None):
    if self.cond == "concat":
      z = jnp.concatenate([z, label_vectors(labels, self.num_classes, z.dtype)], -1)
    x = nn.relu(self.dec_in(z))
    x = x.reshape(z.shape[0], self.start, self.start, self.widths[-1])
    every = self.cond == "concat" and self.cond_layers == "all"
    for i, conv in enumerate(self.dec_convs):
      x = conv(label_maps(x, labels, self.num_classes) if every else x)
      if i < len(self.dec_convs) - 1:
        x = nn.relu(x)
    return x.astype(jnp.float32)

  def __call__(self, x, rng, labels=None):
    mean, logvar = self.encode(x, labels)
    z = mean + jnp.exp(0.5 * logvar) * jax.random.normal(rng, mean.shape)
    return self.decode(z, labels), mean, logvar
