"""DCGAN generator and discriminator (Radford et al., 2016) for any 4 * 2^k or
7 * 2^k image size (28, 32, 64, ...)."""
from typing import Any, Sequence

import flax.linen as nn
import jax.numpy as jnp

from genjax.models.layers import Conv2D, ConvTranspose2D, norm_layer, default_kernel_init


class Generator(nn.Module):
  """z -> Dense(start^2 * widths[0]) -> [ConvT4 s2 widths[i]] -> ConvT4 s2 out, tanh.

  Output size is start_size * 2 ** len(widths). The first Dense on z equals the
  paper's 4x4 valid transposed convolution on a 1x1 input.
  """
  widths: Sequence[int] = (128, 64)
  start_size: int = 7
  out_channels: int = 1
  norm: str = "batch"
  conv_impl: str = "auto"  # see models/layers.py
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, z, train: bool = True):
    s, w0 = self.start_size, self.widths[0]
    bias = self.norm == "none"
    x = nn.Dense(s * s * w0, use_bias=bias, dtype=self.dtype,
                 kernel_init=default_kernel_init)(z)
    x = x.reshape(z.shape[0], s, s, w0)
    x = nn.relu(norm_layer(self.norm, train, self.dtype)(x))
    for w in self.widths[1:]:
      x = ConvTranspose2D(w, 4, 2, 1, use_bias=bias, dtype=self.dtype, impl=self.conv_impl)(x)
      x = nn.relu(norm_layer(self.norm, train, self.dtype)(x))
    x = ConvTranspose2D(self.out_channels, 4, 2, 1, dtype=self.dtype, impl=self.conv_impl)(x)
    return jnp.tanh(x.astype(jnp.float32))


class Discriminator(nn.Module):
  """x -> Conv4 s2 widths[0] LReLU -> [Conv4 s2 widths[i] norm LReLU] -> Dense 1.

  The final Dense on the flattened map equals the paper's 4x4 valid convolution
  when the last map is 4x4. Returns one logit per image, shape [B].
  """
  widths: Sequence[int] = (64, 128)
  norm: str = "batch"
  conv_impl: str = "auto"  # see models/layers.py
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x, train: bool = True):
    conv = lambda w, **kw: Conv2D(w, 4, 2, 1, dtype=self.dtype, impl=self.conv_impl, **kw)
    x = nn.leaky_relu(conv(self.widths[0])(x), 0.2)
    for w in self.widths[1:]:
      x = conv(w, use_bias=self.norm == "none")(x)
      x = nn.leaky_relu(norm_layer(self.norm, train, self.dtype)(x), 0.2)
    x = x.reshape(x.shape[0], -1)
    x = nn.Dense(1, dtype=self.dtype, kernel_init=default_kernel_init)(x)
    return x[:, 0].astype(jnp.float32)
