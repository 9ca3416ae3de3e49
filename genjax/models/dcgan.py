"""DCGAN generator and discriminator (Radford et al., 2016) for any 4 * 2^k or
7 * 2^k image size (28, 32, 64, ...), unconditional or conditioned on a class.

Conditioning (`cond`, with `num_classes` from the data source):
- Generator: "concat" (a learned label embedding concatenated to z, as in
  Mirza & Osindero 2014) or "cbn" (conditional BatchNorm: per-class gain and
  bias, Dumoulin et al. 2017 / de Vries et al. 2017).
- Discriminator: "concat" (one-hot label maps concatenated to the image),
  "projection" (Miyato & Koyama 2018: <embed(c), h> added to the logit) or
  "acgan" (Odena et al. 2017: an auxiliary class head; the discriminator then
  returns (logits, class_logits)).
"""
from typing import Sequence

import flax.linen as nn
import jax.numpy as jnp

from genjax.models.layers import (D_CONDS, Conv2D, ConditionalBatchNorm, ConvTranspose2D,
                                  Dense, Embed, ProjectionHead, check_cond,
                                  default_kernel_init, label_maps, norm_layer)

G_CONDS = ("none", "concat", "cbn")


class Generator(nn.Module):
  """z -> Dense(start^2 * widths[0]) -> [ConvT4 s2 widths[i]] -> ConvT4 s2 out, tanh.

  Output size is start_size * 2 ** len(widths). The first Dense on z equals the
  paper's 4x4 valid transposed convolution on a 1x1 input.
  """
  widths: Sequence[int] = (128, 64)
  start_size: int = 7
  out_channels: int = 1
  norm: str = "batch"
  cond: str = "none"      # none | concat | cbn
  num_classes: int = 0
  embed_dim: int = 32     # cond=concat: label embedding size

  @nn.compact
  def __call__(self, z, labels=None, train: bool = True):
    check_cond(self.cond, G_CONDS, self.num_classes, "generator")
    s, w0 = self.start_size, self.widths[0]
    bias = self.norm == "none"
    if self.cond == "concat":
      z = jnp.concatenate([z, Embed(self.num_classes, self.embed_dim)(labels)], -1)

    def norm(x):
      if self.cond == "cbn":
        return ConditionalBatchNorm(self.num_classes)(x, labels, train)
      return norm_layer(self.norm, train)(x)

    x = Dense(s * s * w0, use_bias=bias,
                 kernel_init=default_kernel_init)(z)
    x = x.reshape(z.shape[0], s, s, w0)
    x = nn.relu(norm(x))
    for w in self.widths[1:]:
      x = ConvTranspose2D(w, 4, 2, 1, use_bias=bias)(x)
      x = nn.relu(norm(x))
    x = ConvTranspose2D(self.out_channels, 4, 2, 1)(x)
    return jnp.tanh(x.astype(jnp.float32))


class Discriminator(nn.Module):
  """x -> Conv4 s2 widths[0] LReLU -> [Conv4 s2 widths[i] norm LReLU] -> Dense 1.

  The final Dense on the flattened map equals the paper's 4x4 valid convolution
  when the last map is 4x4. Returns one logit per image, shape [B] (and class
  logits [B, K] with cond="acgan").
  """
  widths: Sequence[int] = (64, 128)
  norm: str = "batch"
  cond: str = "none"      # none | concat | projection | acgan
  num_classes: int = 0

  @nn.compact
  def __call__(self, x, labels=None, train: bool = True):
    check_cond(self.cond, D_CONDS, self.num_classes, "discriminator")
    conv = lambda w, **kw: Conv2D(w, 4, 2, 1, **kw)
    if self.cond == "concat":
      x = label_maps(x, labels, self.num_classes)
    x = nn.leaky_relu(conv(self.widths[0])(x), 0.2)
    for w in self.widths[1:]:
      x = conv(w, use_bias=self.norm == "none")(x)
      x = nn.leaky_relu(norm_layer(self.norm, train)(x), 0.2)
    h = x.reshape(x.shape[0], -1)
    if self.cond == "projection":
      return ProjectionHead(self.num_classes)(h, labels, train)
    logits = Dense(1, kernel_init=default_kernel_init)(h)[:, 0]
    logits = logits.astype(jnp.float32)
    if self.cond == "acgan":
      return logits, Dense(self.num_classes)(h).astype(jnp.float32)
    return logits
