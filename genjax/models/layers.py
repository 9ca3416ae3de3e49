"""Shared building blocks for genjax models.

Convolutions are written against `jax.lax` with PyTorch-style integer padding so
that every model has one place where the convolution is computed; faster
formulations can be swapped in here behind the same parameters.
"""
from typing import Any, Callable

import flax.linen as nn
import jax
import jax.numpy as jnp

Dtype = Any
_DN = ("NHWC", "HWIO", "NHWC")
default_kernel_init = nn.initializers.normal(0.02)  # DCGAN initialisation


class Conv2D(nn.Module):
  """2-D convolution, NHWC, kernel HWIO, symmetric integer padding."""
  features: int
  kernel_size: int = 4
  stride: int = 2
  padding: int = 1
  use_bias: bool = True
  dtype: Dtype = jnp.float32
  kernel_init: Callable = default_kernel_init

  @nn.compact
  def __call__(self, x):
    k, p = self.kernel_size, self.padding
    kernel = self.param("kernel", self.kernel_init,
                        (k, k, x.shape[-1], self.features), jnp.float32)
    x, kernel = x.astype(self.dtype), kernel.astype(self.dtype)
    y = jax.lax.conv_general_dilated(
        x, kernel, (self.stride, self.stride), ((p, p), (p, p)),
        dimension_numbers=_DN)
    if self.use_bias:
      y = y + self.param("bias", nn.initializers.zeros, (self.features,),
                         jnp.float32).astype(self.dtype)
    return y


class ConvTranspose2D(nn.Module):
  """Transposed convolution with PyTorch semantics.

  Each input pixel scatters `x[i, j] @ kernel[a, b]` to output position
  (i * stride - padding + a, j * stride - padding + b); the kernel HWIO equals
  PyTorch's ConvTranspose2d weight (in, out, kh, kw) transposed to (kh, kw, in, out).
  Output size is (H - 1) * stride - 2 * padding + kernel_size, so the default
  (k=4, s=2, p=1) doubles the spatial size.
  """
  features: int
  kernel_size: int = 4
  stride: int = 2
  padding: int = 1
  use_bias: bool = True
  dtype: Dtype = jnp.float32
  kernel_init: Callable = default_kernel_init

  @nn.compact
  def __call__(self, x):
    k, q = self.kernel_size, self.kernel_size - 1 - self.padding
    kernel = self.param("kernel", self.kernel_init,
                        (k, k, x.shape[-1], self.features), jnp.float32)
    x, kernel = x.astype(self.dtype), kernel.astype(self.dtype)
    # lax.conv_transpose correlates with the kernel as given: flip it to scatter.
    y = jax.lax.conv_transpose(
        x, kernel[::-1, ::-1], (self.stride, self.stride), ((q, q), (q, q)),
        dimension_numbers=_DN)
    if self.use_bias:
      y = y + self.param("bias", nn.initializers.zeros, (self.features,),
                         jnp.float32).astype(self.dtype)
    return y


def norm_layer(kind: str, train: bool, dtype: Dtype = jnp.float32, name=None):
  """Returns a normalisation layer by name: batch, instance, layer or none."""
  if kind == "batch":
    return nn.BatchNorm(use_running_average=not train, momentum=0.9,
                        epsilon=1e-5, dtype=dtype, name=name)
  if kind == "instance":
    return nn.GroupNorm(num_groups=None, group_size=1, dtype=dtype, name=name)
  if kind == "layer":
    return nn.LayerNorm(dtype=dtype, name=name)
  if kind == "none":
    return lambda x: x
  raise ValueError(f"Unknown norm {kind!r}; choose batch, instance, layer or none.")
