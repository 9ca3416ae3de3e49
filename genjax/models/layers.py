"""Shared building blocks for genjax models.

Convolutions are written against `jax.lax` so that every model has one place
where the convolution is computed. Layers take kernel size, stride and padding
explicitly, as `nn.Conv` does: padding is "SAME", "VALID", or an integer (the
same zero padding on every side, PyTorch style). Two implementations sit behind
the same parameters (`impl`, model field `conv_impl`):

- "xla": `lax.conv_general_dilated` / `lax.conv_transpose` and their autodiff.
- "fast": written for XLA:CPU, where the gradients of strided convolutions and both
  passes of transposed convolutions run far below the machine's matmul rate while
  a plain stride-1 convolution and a GEMM run near it. A stride-2 conv with an
  even kernel and symmetric padding keeps lax's forward pass and gets a custom
  VJP: the input gradient is a stride-1 conv on the space-to-depth grid (2x2
  pixel blocks folded into channels), the weight gradient either one stride-1
  conv of the space-to-depth input with the output gradient ("conv") or GEMMs
  over the space-to-depth taps ("gemm"); field `weight_grad`, "auto" = "conv" on
  CPU, "gemm" elsewhere. The stride-2 transposed conv is that input gradient (it
  is the adjoint of the conv), and its VJP is the conv's forward pass and weight
  gradient. The two VJPs call each other's custom-VJP forms, so a second
  derivative (a WGAN-GP or R1 penalty differentiates D's input gradient) stays
  on these forms instead of XLA's autodiff of them. Other shapes use im2col + GEMM (conv) or GEMM + col2im (transposed
  conv); asymmetric padding ("SAME" on some sizes) uses "xla". All are equal to
  "xla" in float64, forward and gradients (tests/test_models.py).
- "auto" (default): "fast" on CPU and GPU, "xla" elsewhere (TPU, not measured).

Which form is faster where is measured by `python -m experiments.benchmark
--conv_impl fast,xla` (README, Performance), not asserted here.
"""
import functools
from typing import Any, Callable

import flax.linen as nn
import jax
import jax.numpy as jnp

from genjax import errors

Dtype = Any
_DN = ("NHWC", "HWIO", "NHWC")
default_kernel_init = nn.initializers.normal(0.02)  # DCGAN initialisation
IMPLS = ("auto", "fast", "xla")
WEIGHT_GRADS = ("auto", "conv", "gemm")
FAST_BACKENDS = ("cpu", "gpu")  # where "auto" means "fast"
Padding = Any  # "SAME" | "VALID" | int


def resolve_weight_grad(weight_grad: str) -> str:
  if weight_grad not in WEIGHT_GRADS:
    raise errors.InputError(f"Unknown weight_grad {weight_grad!r}; choose one of {WEIGHT_GRADS}.")
  if weight_grad == "auto":
    return "conv" if jax.default_backend() == "cpu" else "gemm"
  return weight_grad


def conv_padding(padding: Padding, k: int, stride: int, hw) -> tuple:
  """((top, bottom), (left, right)) zero padding of a convolution."""
  if isinstance(padding, str):
    if padding not in ("SAME", "VALID"):
      raise errors.InputError(f"Unknown padding {padding!r}; use 'SAME', 'VALID' or an int.")
    return tuple(tuple(p) for p in jax.lax.padtype_to_pads(hw, (k, k), (stride, stride),
                                                             padding))
  return ((int(padding),) * 2,) * 2


def transpose_padding(padding: Padding, k: int, stride: int) -> int:
  """PyTorch-style padding p of a transposed conv: "SAME" makes the output
  stride x the input ((k - stride) / 2), "VALID" is 0."""
  if padding == "VALID":
    return 0
  if padding == "SAME":
    if (k - stride) % 2:
      raise errors.InputError(f"padding='SAME' needs an even kernel_size - stride for a "
                       f"transposed conv (got kernel_size {k}, stride {stride}); give an int.")
    return (k - stride) // 2
  if isinstance(padding, str):
    raise errors.InputError(f"Unknown padding {padding!r}; use 'SAME', 'VALID' or an int.")
  return int(padding)


def resolve_impl(impl: str) -> str:
  if impl not in IMPLS:
    raise errors.InputError(f"Unknown conv impl {impl!r}; choose one of {IMPLS} "
                     "(model field conv_impl).")
  if impl == "auto":
    return "fast" if jax.default_backend() in FAST_BACKENDS else "xla"
  return impl


def _lax_conv(x, kernel, stride: int, padding):
  """padding: an int (all sides) or ((top, bottom), (left, right))."""
  pads = ((padding, padding),) * 2 if isinstance(padding, int) else padding
  return jax.lax.conv_general_dilated(x, kernel, (stride, stride), pads,
                                      dimension_numbers=_DN)


def im2col(x, k: int, stride: int, padding: int):
  """(N, H, W, C) -> (N, Ho, Wo, k*k*C) patches ordered (kh, kw, c) like HWIO."""
  _, h, w, _ = x.shape
  ho, wo = (h + 2 * padding - k) // stride + 1, (w + 2 * padding - k) // stride + 1
  xp = jnp.pad(x, ((0, 0), (padding, padding), (padding, padding), (0, 0)))
  return jnp.concatenate(
      [xp[:, a:a + stride * (ho - 1) + 1:stride, b:b + stride * (wo - 1) + 1:stride]
       for a in range(k) for b in range(k)], axis=-1)


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


# Stride-2 convolutions on the space-to-depth grid. With xs[I, q] = xpad[2I + q]
# (q in {0, 1}, per spatial dim), y[i] = sum_a xpad[2i + a] W[a] becomes
# y[i] = sum_A xs[i + A] Ws[A] with Ws[A] = W[2A + q] stacked over q: a stride-1
# conv with a (k/2)x(k/2) kernel on 4x the channels.

def _space_to_depth(x, padding: int):
  """Zero-pads by `padding`, then folds 2x2 pixel blocks into channels (qy, qx, c)."""
  n, h, w, c = x.shape
  xp = jnp.pad(x, ((0, 0), (padding, padding), (padding, padding), (0, 0)))
  hs, ws = (h + 2 * padding) // 2, (w + 2 * padding) // 2
  return xp.reshape(n, hs, 2, ws, 2, c).transpose(0, 1, 3, 2, 4, 5).reshape(n, hs, ws, 4 * c)


def _space_to_depth_kernel(kernel):
  """(k, k, ci, co) -> (k/2, k/2, 4 ci, co) matching _space_to_depth's channels."""
  k, _, ci, co = kernel.shape
  h = k // 2
  return kernel.reshape(h, 2, h, 2, ci, co).transpose(0, 2, 1, 3, 4, 5).reshape(h, h, 4 * ci, co)


def _s2d_applies(shape, k: int, stride: int, padding: int) -> bool:
  return stride == 2 and k % 2 == 0 and (shape[1] + 2 * padding) % 2 == 0 and (
      shape[2] + 2 * padding) % 2 == 0


def _conv_s2_adjoint(dy, kernel, in_shape, padding: int):
  """The transpose of x -> conv(x, kernel, stride 2) applied to dy: a full
  stride-1 conv of dy with the flipped s2d kernel, then depth-to-space and crop."""
  n, h, w, ci = in_shape
  half = kernel.shape[0] // 2
  wt = _space_to_depth_kernel(kernel)[::-1, ::-1].transpose(0, 1, 3, 2)
  dxs = _lax_conv(dy, wt, 1, half - 1)  # (n, (h + 2p) / 2, (w + 2p) / 2, 4 ci)
  hs, ws = dxs.shape[1:3]
  dxp = dxs.reshape(n, hs, ws, 2, 2, ci).transpose(0, 1, 3, 2, 4, 5).reshape(n, 2 * hs, 2 * ws, ci)
  return dxp[:, padding:padding + h, padding:padding + w]


def _conv_s2_weight_grad(x, dy, kernel_shape, padding: int, weight_grad: str):
  """dW of conv(x, W, stride 2) for output cotangent dy, on the s2d grid: s2d tap
  (A, B) of the kernel is xs[A:A+ho, B:B+wo]^T dy."""
  k, _, ci, co = kernel_shape
  half, (_, ho, wo, _) = k // 2, dy.shape
  xs = _space_to_depth(x, padding)
  if weight_grad == "conv":
    # All taps as one stride-1 convolution with the batch as the contracted
    # feature dimension (lax's own weight-gradient form, without the dilation).
    dws = jax.lax.conv_general_dilated(xs, dy, (1, 1), "VALID",
                                       dimension_numbers=("CHWN", "IHWO", "NHWC"))
    dws = dws.transpose(3, 1, 2, 0)  # (4 ci, A, B, co) -> (co, A, B, 4 ci)
  else:
    taps = [xs[:, a:a + ho, b:b + wo] for a in range(half) for b in range(half)]
    # XLA copies one operand of a contraction over rows into transposed form.
    if ci < 16:
      # Narrow taps: transpose them (a barrier keeps the copy a plain transpose)
      # rather than dy, which XLA would transpose fused with its producer.
      cols = jnp.concatenate(taps, -1).reshape(-1, half * half * 4 * ci)
      dws = (jax.lax.optimization_barrier(cols.T) @ dy.reshape(-1, co)).T
    else:
      # dy^T @ tap: dy, transposed once, is shared by all taps.
      dws = jnp.concatenate([jnp.einsum("nhwo,nhwk->ok", dy, t) for t in taps], -1)
  dws = dws.reshape(co, half, half, 2, 2, ci)  # (o, A, B, qy, qx, c)
  return dws.transpose(1, 3, 2, 4, 5, 0).reshape(k, k, ci, co)


@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3))
def _conv_s2(x, kernel, padding, weight_grad):
  return _lax_conv(x, kernel, 2, padding)


def _conv_s2_fwd(x, kernel, padding, weight_grad):
  return _conv_s2(x, kernel, padding, weight_grad), (x, kernel)


def _conv_s2_bwd(padding, weight_grad, res, dy):
  x, kernel = res
  # The input gradient is the transposed conv, with its own fast VJP: a
  # gradient penalty (WGAN-GP, R1) differentiates it again.
  return (_conv_transpose_s2(dy, kernel.transpose(0, 1, 3, 2), padding, weight_grad),
          _conv_s2_weight_grad(x, dy, kernel.shape, padding, weight_grad))


_conv_s2.defvjp(_conv_s2_fwd, _conv_s2_bwd)


@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3))
def _conv_transpose_s2(x, kernel, padding, weight_grad):
  # The adjoint of the stride-2 conv whose kernel swaps in and out channels.
  n, h, w, _ = x.shape
  k = kernel.shape[0]
  out_shape = (n, 2 * (h - 1) - 2 * padding + k, 2 * (w - 1) - 2 * padding + k, kernel.shape[3])
  return _conv_s2_adjoint(x, kernel.transpose(0, 1, 3, 2), out_shape, padding)


def _conv_transpose_s2_fwd(x, kernel, padding, weight_grad):
  return _conv_transpose_s2(x, kernel, padding, weight_grad), (x, kernel)


def _conv_transpose_s2_bwd(padding, weight_grad, res, g):
  x, kernel = res
  wc = kernel.transpose(0, 1, 3, 2)
  dwc = _conv_s2_weight_grad(g, x, wc.shape, padding, weight_grad)
  return _conv_s2(g, wc, padding, weight_grad), dwc.transpose(0, 1, 3, 2)


_conv_transpose_s2.defvjp(_conv_transpose_s2_fwd, _conv_transpose_s2_bwd)


def conv2d(x, kernel, stride: int, padding: Padding, impl: str = "auto",
           weight_grad: str = "auto"):
  """Cross-correlation, NHWC x HWIO; padding "SAME", "VALID" or an int."""
  impl, weight_grad = resolve_impl(impl), resolve_weight_grad(weight_grad)
  k, _, cin, cout = kernel.shape
  pads = conv_padding(padding, k, stride, x.shape[1:3])
  (p, p2), p_w = pads
  if impl == "xla" or p != p2 or p_w != (p, p):
    return _lax_conv(x, kernel, stride, pads)
  if _s2d_applies(x.shape, k, stride, p):
    return _conv_s2(x, kernel, p, weight_grad)
  cols = im2col(x, k, stride, p)
  return jnp.einsum("nhwk,ko->nhwo", cols, kernel.reshape(k * k * cin, cout))


def conv_transpose2d(x, kernel, stride: int, padding: Padding, impl: str = "auto",
                     weight_grad: str = "auto"):
  """Transposed convolution with PyTorch semantics (see ConvTranspose2D)."""
  k, _, cin, cout = kernel.shape
  impl, weight_grad = resolve_impl(impl), resolve_weight_grad(weight_grad)
  padding = transpose_padding(padding, k, stride)
  if impl == "xla":
    q = k - 1 - padding
    # lax.conv_transpose correlates with the kernel as given: flip it to scatter.
    return jax.lax.conv_transpose(x, kernel[::-1, ::-1], (stride, stride), ((q, q),) * 2,
                                  dimension_numbers=_DN)
  if stride == 2 and k % 2 == 0:
    return _conv_transpose_s2(x, kernel, padding, weight_grad)
  n, h, w, _ = x.shape
  cols = jnp.einsum("nhwc,cf->nhwf", x, kernel.transpose(2, 0, 1, 3).reshape(cin, -1))
  return _col2im(cols.reshape(n, h, w, k, k, cout), stride, padding)


class Conv2D(nn.Module):
  """2-D convolution, NHWC, kernel HWIO; padding "SAME", "VALID" or an int."""
  features: int
  kernel_size: int
  stride: int = 1
  padding: Padding = "SAME"
  use_bias: bool = True
  dtype: Dtype = jnp.float32
  kernel_init: Callable = default_kernel_init
  impl: str = "auto"
  weight_grad: str = "auto"  # fast stride-2 weight gradient: auto | conv | gemm
  op = staticmethod(conv2d)  # not a field: subclasses swap the operation

  @nn.compact
  def __call__(self, x):
    k = self.kernel_size
    kernel = self.param("kernel", self.kernel_init,
                        (k, k, x.shape[-1], self.features), jnp.float32)
    x, kernel = x.astype(self.dtype), kernel.astype(self.dtype)
    y = self.op(x, kernel, self.stride, self.padding, self.impl, self.weight_grad)
    if self.use_bias:
      y = y + self.param("bias", nn.initializers.zeros, (self.features,),
                         jnp.float32).astype(self.dtype)
    return y


class ConvTranspose2D(Conv2D):
  """Transposed convolution with PyTorch semantics.

  Each input pixel scatters `x[i, j] @ kernel[a, b]` to output position
  (i * stride - padding + a, j * stride - padding + b); the kernel HWIO equals
  PyTorch's ConvTranspose2d weight (in, out, kh, kw) transposed to (kh, kw, in, out).
  Output size is (H - 1) * stride - 2 * padding + kernel_size; padding "SAME"
  makes it H * stride (k=4, s=2: p=1), "VALID" is p=0.
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
  raise errors.InputError(f"Unknown norm {kind!r}; choose batch, instance, layer or none.")


D_CONDS = ("none", "concat", "projection", "acgan")  # discriminator conditioning


def check_cond(cond: str, choices, num_classes: int, what: str):
  """A model's conditioning option is known and has labels to condition on."""
  if cond not in choices:
    raise errors.InputError(f"Unknown {what} cond {cond!r} (config key {what}.cond); use one of "
                     f"{', '.join(choices)}.")
  if cond != "none" and num_classes < 2:
    raise errors.InputError(f"{what}.cond={cond!r} needs a labelled data source with at least "
                     f"2 classes (got {num_classes}).")


def spectral(layer: nn.Module, enabled: bool, train: bool):
  """`layer` with spectral normalisation of its weights (Miyato et al. 2018) when
  enabled: one power iteration per call in training, u and sigma kept in the
  `batch_stats` collection (so they are checkpointed and resume exactly)."""
  if not enabled:
    return layer
  return lambda *a, **kw: nn.SpectralNorm(layer)(*a, update_stats=train, **kw)


class ConditionalBatchNorm(nn.Module):
  """BatchNorm without its own affine, then a per-class gain and bias
  (embedding rows, gain initialised to 1, bias to 0): y = g[c] * x_hat + b[c]."""
  num_classes: int
  momentum: float = 0.9
  epsilon: float = 1e-5
  dtype: Dtype = jnp.float32

  @nn.compact
  def __call__(self, x, labels, train: bool):
    x = nn.BatchNorm(use_running_average=not train, momentum=self.momentum,
                     epsilon=self.epsilon, use_scale=False, use_bias=False,
                     dtype=self.dtype)(x)
    c = x.shape[-1]
    gain = Embed(self.num_classes, c, embedding_init=nn.initializers.ones, name="gain")
    bias = Embed(self.num_classes, c, embedding_init=nn.initializers.zeros, name="bias")
    return x * gain(labels)[:, None, None, :].astype(x.dtype) + bias(labels)[
        :, None, None, :].astype(x.dtype)


def label_vectors(labels, num_classes: int, dtype=jnp.float32):
  """Class indices [B] as one-hot rows; class weights [B, K] (a mix of
  classes, e.g. a morph from one class to another) as given."""
  labels = jnp.asarray(labels)
  if jnp.issubdtype(labels.dtype, jnp.integer):
    return jax.nn.one_hot(labels, num_classes, dtype=dtype)
  return labels.astype(dtype)


class Embed(nn.Embed):
  """nn.Embed (same parameters) that also takes class weights [B, K]: their
  weighted mix of the embedding rows."""

  def __call__(self, inputs):
    if jnp.issubdtype(jnp.asarray(inputs).dtype, jnp.floating):
      return jnp.asarray(inputs, self.embedding.dtype) @ self.embedding
    return super().__call__(inputs)


def label_maps(x, labels, num_classes: int):
  """x with one-hot (or class-weight) label channels appended at every pixel."""
  onehot = label_vectors(labels, num_classes, x.dtype)
  maps = jnp.broadcast_to(onehot[:, None, None, :], x.shape[:3] + (num_classes,))
  return jnp.concatenate([x, maps], axis=-1)


class ProjectionHead(nn.Module):
  """Discriminator output of the projection discriminator (Miyato & Koyama
  2018): psi(h) + <embed(c), h> for features h [B, F]; without labels, psi(h)."""
  num_classes: int = 0
  spectral_norm: bool = False
  dtype: Dtype = jnp.float32

  @nn.compact
  def __call__(self, h, labels=None, train: bool = True):
    out = spectral(nn.Dense(1, dtype=self.dtype), self.spectral_norm, train)(h)[:, 0]
    if self.num_classes and labels is not None:
      embed = spectral(nn.Embed(self.num_classes, h.shape[-1], name="embed"),
                       self.spectral_norm, train)
      out = out + jnp.sum(embed(labels).astype(h.dtype) * h, axis=-1)
    return out.astype(jnp.float32)
