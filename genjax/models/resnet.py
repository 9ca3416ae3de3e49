"""ResNet generator and discriminator of SNGAN (Miyato et al. 2018) and its
projection discriminator variant (Miyato & Koyama 2018), for 32 and 64 px.

Generator: z -> Dense(4*4*widths[0]) -> [ResBlock up widths[i]] -> BN ReLU
Conv3 -> tanh; BatchNorm or conditional BatchNorm (cond="cbn").
Discriminator: [optimized first block, ResBlock down ...] -> ReLU -> global sum
pool -> spectrally normalised Dense 1, plus <embed(c), h> with
cond="projection" (or an auxiliary class head with cond="acgan"); every
weight spectrally normalised when spectral_norm (default).
"""
from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from genjax.models.layers import (D_CONDS, Conv2D, ConditionalBatchNorm, Dense,
                                  ProjectionHead, check_cond, label_maps, norm_layer, spectral)

_init = nn.initializers.xavier_uniform()


def _upsample(x):
  n, h, w, c = x.shape
  return jax.image.resize(x, (n, 2 * h, 2 * w, c), "nearest")


def _downsample(x):
  return nn.avg_pool(x, (2, 2), (2, 2))


class GBlock(nn.Module):
  """BN ReLU up Conv3 BN ReLU Conv3, shortcut up Conv1."""
  features: int
  num_classes: int = 0

  @nn.compact
  def __call__(self, x, labels, train: bool):
    def norm(h):
      if self.num_classes:
        return ConditionalBatchNorm(self.num_classes)(h, labels, train)
      return norm_layer("batch", train)(h)
    conv = lambda k: Conv2D(self.features, k, 1, "SAME", kernel_init=_init)
    h = conv(3)(_upsample(nn.relu(norm(x))))
    h = conv(3)(nn.relu(norm(h)))
    return h + conv(1)(_upsample(x))


class DBlock(nn.Module):
  """(ReLU) Conv3 ReLU Conv3 (down), shortcut Conv1 (down); the first block of
  the network (`first`) starts without ReLU and pools before its shortcut conv."""
  features: int
  down: bool = True
  first: bool = False
  spectral_norm: bool = True

  @nn.compact
  def __call__(self, x, train: bool):
    conv = lambda k: spectral(Conv2D(self.features, k, 1, "SAME", kernel_init=_init),
                              self.spectral_norm, train)
    h = x if self.first else nn.relu(x)
    h = conv(3)(nn.relu(conv(3)(h)))
    if self.down:
      h = _downsample(h)
    s = x
    if self.first:
      s = conv(1)(_downsample(s) if self.down else s)
    elif self.down or x.shape[-1] != self.features:
      s = conv(1)(s)
      s = _downsample(s) if self.down else s
    return h + s


class Generator(nn.Module):
  """SNGAN ResNet generator; output size start_size * 2 ** len(widths)."""
  widths: Sequence[int] = (256, 256, 256)
  start_size: int = 4
  out_channels: int = 3
  cond: str = "none"       # none | cbn
  num_classes: int = 0

  @nn.compact
  def __call__(self, z, labels=None, train: bool = True):
    check_cond(self.cond, ("none", "cbn"), self.num_classes, "generator")
    s = self.start_size
    k = self.num_classes if self.cond == "cbn" else 0
    x = Dense(s * s * self.widths[0], kernel_init=_init)(z)
    x = x.reshape(z.shape[0], s, s, self.widths[0])
    for w in self.widths:
      x = GBlock(w, k)(x, labels, train)
    x = nn.relu(norm_layer("batch", train)(x))
    x = Conv2D(self.out_channels, 3, 1, "SAME", kernel_init=_init)(x)
    return jnp.tanh(x.astype(jnp.float32))


class Discriminator(nn.Module):
  """SNGAN ResNet discriminator: one block per width, down-sampling in the
  first `num_down` blocks. Returns logits [B] (and class logits with acgan)."""
  widths: Sequence[int] = (128, 128, 128, 128)
  num_down: int = 2
  cond: str = "none"       # none | concat | projection | acgan
  num_classes: int = 0
  spectral_norm: bool = True

  @nn.compact
  def __call__(self, x, labels=None, train: bool = True):
    check_cond(self.cond, D_CONDS, self.num_classes, "discriminator")
    if self.cond == "concat":
      x = label_maps(x, labels, self.num_classes)
    for i, w in enumerate(self.widths):
      x = DBlock(w, down=i < self.num_down, first=i == 0,
                 spectral_norm=self.spectral_norm)(x, train)
    h = jnp.sum(nn.relu(x), axis=(1, 2))
    k = self.num_classes if self.cond == "projection" else 0
    logits = ProjectionHead(k, self.spectral_norm)(h, labels, train)
    if self.cond == "acgan":
      head = spectral(Dense(self.num_classes), self.spectral_norm, train)
      return logits, head(h).astype(jnp.float32)
    return logits
