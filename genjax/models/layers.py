"""Shared building blocks for genjax models.

Convolutions are written against `jax.lax` with PyTorch-style integer padding so
that every model has one place where the convolution is computed. Two
implementations sit behind the same parameters (`impl`):

- "xla": `lax.conv_general_dilated` / `lax.conv_transpose`. Best on GPU/TPU.
- "gemm": im2col + one matrix multiply (conv), and for transposed convs either
  a sub-pixel (phase) decomposition into four GEMMs (k=4, s=2, p=1) or a GEMM
  followed by col2im. On XLA:CPU the gradients of strided and transposed
  convolutions run at a few GFLOP/s; these forms differentiate into GEMMs and
  run several times faster with identical results (see tests/test_models.py).
- "auto" (default): "gemm" on CPU, "xla" elsewhere.
"""
from typing import Any, Callable

import flax.linen as nn
import jax
import jax.numpy as jnp

Dtype = Any
_DN = ("NHWC", "HWIO", "NHWC")
default_kernel_init = nn.initializers.normal(0.02)  # DCGAN initialisation
IMPLS = ("auto", "gemm", "xla")


def resolve_impl(impl: str) -> str:
  if impl not in IMPLS:
    raise ValueError(f"Unknown conv impl {impl!r}; choose one of {IMPLS} "
                     "(model field conv_impl).")
  if impl == "auto":
    return "gemm" if jax.default_backend() == "cpu" else "xla"
  return impl


def im2col(x, k: int, stride: int, padding: int):
  """(N, H, W, C) -> (N, Ho, Wo, k*k*C) patches ordered (kh, kw, c) like HWIO."""
  _, h, w, _ = x.shape
  ho, wo = (h + 2 * padding - k) // stride + 1, (w + 2 * padding - k) // stride + 1
  xp = jnp.pad(x, ((0, 0), (padding, padding), (padding, padding), (0, 0)))
  return jnp.concatenate(
      [xp[:, a:a + stride * (ho - 1) + 1:stride, b:b + stride * (wo - 1) + 1:stride]
       for a in range(k) for b in range(k)], axis=-1)


def conv2d(x, kernel, stride: int, padding: int, impl: str = "auto"):
  """Cross-correlation, NHWC x HWIO, symmetric zero padding."""
  if resolve_impl(impl) == "xla":
    return jax.lax.conv_general_dilated(x, kernel, (stride, stride),
                                        ((padding, padding),) * 2, dimension_numbers=_DN)
  k, _, cin, cout = kernel.shape
  cols = im2col(x, k, stride, padding)
  return jnp.einsum("nhwk,ko->nhwo", cols, kernel.reshape(k * k * cin, cout))


def _col2im(cols, stride: int, padding: int):
  """(N, H, W, k, k, C) -> (N, Ho, Wo, C): scatter-add each tap to
  (i * stride - padding + a, j * stride - padding + b)."""
  n, h, w, k, _, c = cols.shape
  size_h, size_w = (h - 1) * stride + k, (w - 1) * stride + k
  out = 0.0
  for a in range(k):
    for b in range(k):
      out = out + jax.lax.pad(cols[:, :, :, a, b], jnp.zeros((), cols.dtype), (
          (0, 0, 0), (a, size_h - a - (h - 1) * stride - 1, stride - 1),
          (b, size_w - b - (w - 1) * stride - 1, stride - 1), (0, 0, 0)))
  return out[:, padding:size_h - padding, padding:size_w - padding]


# Sub-pixel form of ConvT(k=4, s=2, p=1): output row 2m + r takes input rows
# m + offset - 1 with kernel row `tap`, for (offset, tap) in _PHASE_TAPS[r].
_PHASE_TAPS = {0: ((1, 1), (0, 3)), 1: ((2, 0), (1, 2))}


def _conv_transpose_phases(x, kernel):
  n, h, w, cin = x.shape
  cout = kernel.shape[-1]
  xp = jnp.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
  rows = []
  for r in (0, 1):
    phases = []
    for c in (0, 1):
      taps = [(oy, ox, kernel[ay, ax]) for oy, ay in _PHASE_TAPS[r]
              for ox, ax in _PHASE_TAPS[c]]
      cols = jnp.concatenate([xp[:, oy:oy + h, ox:ox + w] for oy, ox, _ in taps], -1)
      weights = jnp.concatenate([kw for _, _, kw in taps], 0)  # (4 cin, cout)
      phases.append(jnp.einsum("nhwk,ko->nhwo", cols, weights))
    rows.append(jnp.stack(phases, axis=3))  # (n, h, w, 2 [c], cout)
  return jnp.stack(rows, axis=2).reshape(n, 2 * h, 2 * w, cout)  # (n, h, 2 [r], w, 2, co)


def conv_transpose2d(x, kernel, stride: int, padding: int, impl: str = "auto"):
  """Transposed convolution with PyTorch semantics (see ConvTranspose2D)."""
  k, _, cin, cout = kernel.shape
  if resolve_impl(impl) == "xla":
    q = k - 1 - padding
    # lax.conv_transpose correlates with the kernel as given: flip it to scatter.
    return jax.lax.conv_transpose(x, kernel[::-1, ::-1], (stride, stride), ((q, q),) * 2,
                                  dimension_numbers=_DN)
  if (k, stride, padding) == (4, 2, 1) and cout >= 16:
    return _conv_transpose_phases(x, kernel)
  n, h, w, _ = x.shape
  cols = jnp.einsum("nhwc,cf->nhwf", x, kernel.transpose(2, 0, 1, 3).reshape(cin, -1))
  return _col2im(cols.reshape(n, h, w, k, k, cout), stride, padding)


class Conv2D(nn.Module):
  """2-D convolution, NHWC, kernel HWIO, symmetric integer padding."""
  features: int
  kernel_size: int = 4
  stride: int = 2
  padding: int = 1
  use_bias: bool = True
  dtype: Dtype = jnp.float32
  kernel_init: Callable = default_kernel_init
  impl: str = "auto"
  op = staticmethod(conv2d)  # not a field: subclasses swap the operation

  @nn.compact
  def __call__(self, x):
    k = self.kernel_size
    kernel = self.param("kernel", self.kernel_init,
                        (k, k, x.shape[-1], self.features), jnp.float32)
    x, kernel = x.astype(self.dtype), kernel.astype(self.dtype)
    y = self.op(x, kernel, self.stride, self.padding, self.impl)
    if self.use_bias:
      y = y + self.param("bias", nn.initializers.zeros, (self.features,),
                         jnp.float32).astype(self.dtype)
    return y


class ConvTranspose2D(Conv2D):
  """Transposed convolution with PyTorch semantics.

  Each input pixel scatters `x[i, j] @ kernel[a, b]` to output position
  (i * stride - padding + a, j * stride - padding + b); the kernel HWIO equals
  PyTorch's ConvTranspose2d weight (in, out, kh, kw) transposed to (kh, kw, in, out).
  Output size is (H - 1) * stride - 2 * padding + kernel_size, so the default
  (k=4, s=2, p=1) doubles the spatial size.
  """
  op = staticmethod(conv_transpose2d)


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
