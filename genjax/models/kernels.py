"""Convolution kernels behind the standard layers (models/layers.py), one
place where every model's convolutions are computed. Padding is "SAME",
"VALID" or an integer (the same zero padding on every side, PyTorch style).
Each takes a compute `dtype`: operands are cast to it and contractions
accumulate in float32 (None: the operands' own type, e.g. float64 in tests).

- "xla": `lax.conv_general_dilated` / `lax.conv_transpose` and their autodiff.
- "fast": written for XLA:CPU, where the gradients of strided convolutions and
  both passes of transposed convolutions run far below the machine's matmul
  rate while a plain stride-1 convolution and a GEMM run near it. Stride-1
  convolutions are lax's, forward and gradients (with XLA's own kernels,
  train.cpu_conv_kernels="eigen", the restore U-Net's step took 0.60x the
  time of im2col + GEMM and compiled in 6.6 s instead of 10.4: autodiff of
  im2col's k*k slices is k*k pads), the gradients written as convolutions in
  XLA:CPU's canonical form (NHWC x HWIO). XLA brings the entry computation's
  convolutions into that form itself, but not those in a loop body (a GAN's
  D updates in a lax.scan), where a weight gradient left as autodiff writes
  it ran through XLA's naive loop emitter, 30x slower. A stride-2
  conv with an even kernel and symmetric padding keeps lax's forward pass and
  gets a custom VJP: the input gradient is a stride-1 conv on the
  space-to-depth grid (2x2 pixel blocks folded into channels), the weight
  gradient either one stride-1 conv of the space-to-depth input with the
  output gradient ("conv") or GEMMs over the space-to-depth taps ("gemm");
  `weight_grad` "auto" = "conv" on CPU, "gemm" elsewhere. The stride-2
  transposed conv is that input gradient (it is the adjoint of the conv), and
  its VJP is the conv's forward pass and weight gradient. The two VJPs call
  each other's custom-VJP forms, so a second derivative (a WGAN-GP or R1
  penalty differentiates D's input gradient) stays on these forms. Other
  strided shapes use im2col + GEMM (conv) or GEMM + col2im (transposed conv);
  asymmetric padding ("SAME" on some sizes) uses "xla".
- "gemm": strided convolutions as GEMMs, where a CPU's bfloat16 matrix units
  run GEMMs several times faster than its convolution kernels. A stride-2
  conv's forward pass is one GEMM of the space-to-depth input with every tap's
  weights side by side, then the taps' outputs shifted and summed (no im2col
  copy of the input); its adjoint and weight gradient are GEMMs over
  im2col / space-to-depth taps; other strided shapes im2col + GEMM and their
  autodiff. Stride-1 convolutions stay lax's, as in "fast": in bfloat16 their
  im2col form took 1.8x the step time of the restore U-Net.
- "auto": on CPU "fast" in float32, and in bfloat16 "gemm" where the CPU has
  bfloat16 dot-product instructions (cpu_has_bfloat16) and "fast" where it
  has not (there bfloat16 GEMMs are emulated: "gemm" took 1.7-1.8x the step
  time of "fast" on dcgan64 / dcgan28 on an AVX2 AMD EPYC); "fast" on GPU,
  "xla" elsewhere (TPU, not measured).

All are equal to "xla" in float64, forward and gradients (tests/test_models.py).
Which form is faster where is measured by `python -m experiments.benchmark
--conv_impl fast,gemm,xla --precision float32,bfloat16` (README, Performance).
"""
import functools
from typing import Any

import jax
import jax.numpy as jnp

from genjax import errors

_DN = ("NHWC", "HWIO", "NHWC")
IMPLS = ("auto", "fast", "gemm", "xla")
WEIGHT_GRADS = ("auto", "conv", "gemm")
FAST_BACKENDS = ("cpu", "gpu")  # where "auto" means "fast" (in float32)
Padding = Any  # "SAME" | "VALID" | int


def resolve_weight_grad(weight_grad: str) -> str:
  if weight_grad not in WEIGHT_GRADS:
    raise errors.InputError(f"Unknown weight_grad {weight_grad!r}; choose one of "
                            f"{WEIGHT_GRADS}.")
  if weight_grad == "auto":
    return "conv" if jax.default_backend() == "cpu" else "gemm"
  return weight_grad


# CPU flags (Linux /proc/cpuinfo) of bfloat16 dot-product instructions: x86's
# AVX512_BF16 and AMX-BF16, Arm's BF16.
BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16", "bf16")


@functools.cache
def cpu_has_bfloat16(cpuinfo: str = "/proc/cpuinfo") -> bool:
  """Whether this machine's CPU computes bfloat16 dot products natively (False
  where that cannot be read, e.g. off Linux)."""
  try:
    with open(cpuinfo) as f:
      words = {w for line in f if line.lower().startswith(("flags", "features"))
               for w in line.split(":", 1)[1].split()}
  except OSError:
    return False
  return any(flag in words for flag in BF16_CPU_FLAGS)


def native_bfloat16() -> bool:
  """Whether bfloat16 contractions run natively on the default backend (on a
  CPU only with the instructions; emulated otherwise, no faster than float32)."""
  return jax.default_backend() != "cpu" or cpu_has_bfloat16()


def resolve_impl(impl: str, dtype=None) -> str:
  if impl not in IMPLS:
    raise errors.InputError(f"Unknown conv impl {impl!r}; choose one of {IMPLS} "
                            "(config key train.conv_impl).")
  if impl != "auto":
    return impl
  backend = jax.default_backend()
  if (backend == "cpu" and dtype is not None and jnp.dtype(dtype) == jnp.bfloat16
      and native_bfloat16()):
    return "gemm"
  return "fast" if backend in FAST_BACKENDS else "xla"


def loop_ready(impl: str, dtype=None) -> bool:
  """Whether `impl`'s convolutions run on XLA's convolution kernels inside a
  loop body too: all but "xla" on CPU, whose autodiff gradients XLA:CPU leaves
  to its naive loop emitter there (see "fast")."""
  return jax.default_backend() != "cpu" or resolve_impl(impl, dtype) != "xla"


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
                              f"transposed conv (got kernel_size {k}, stride {stride}); give "
                              "an int.")
    return (k - stride) // 2
  if isinstance(padding, str):
    raise errors.InputError(f"Unknown padding {padding!r}; use 'SAME', 'VALID' or an int.")
  return int(padding)


def _cast(dtype, *xs):
  """Operands in the compute dtype. Casts come last, right before a
  contraction: XLA:CPU moves bfloat16 data (pads, slices, concatenations) as
  float32 with a convert on either side, so im2col and space-to-depth run on
  the float32 activations and only the GEMM's operands are bfloat16."""
  return xs if dtype is None else tuple(x.astype(dtype) for x in xs)


def _acc(dtype):
  """The accumulation type of a contraction on `dtype` operands."""
  return None if dtype is None else jnp.float32


def matmul(a, b, dtype=None):
  """a [..., K] @ b [K, N] with operands in `dtype` and float32 accumulation,
  forward and backward (autodiff of a mixed-precision dot would run its
  gradients in float32: the cotangent is float32)."""
  if dtype is None:
    return jnp.matmul(a, b)
  return _matmul(a, b, dtype)


@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def _matmul(a, b, dtype):
  return jnp.matmul(a.astype(dtype), b.astype(dtype), preferred_element_type=jnp.float32)


def _matmul_fwd(a, b, dtype):
  return _matmul(a, b, dtype), (a, b)


def _matmul_bwd(dtype, res, g):
  a, b = res
  g = g.astype(dtype)
  da = jnp.matmul(g, b.astype(dtype).T, preferred_element_type=jnp.float32)
  a2 = a.reshape(-1, a.shape[-1]).astype(dtype)
  db = jnp.matmul(a2.T, g.reshape(-1, g.shape[-1]), preferred_element_type=jnp.float32)
  return da.astype(a.dtype), db.astype(b.dtype)


_matmul.defvjp(_matmul_fwd, _matmul_bwd)


def _lax_conv(x, kernel, stride: int, padding, dtype=None):
  """padding: an int (all sides) or ((top, bottom), (left, right))."""
  pads = ((padding, padding),) * 2 if isinstance(padding, int) else padding
  x, kernel = _cast(dtype, x, kernel)
  return jax.lax.conv_general_dilated(x, kernel, (stride, stride), pads,
                                      dimension_numbers=_DN,
                                      preferred_element_type=_acc(dtype))


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


def _gemm_conv(x, kernel, stride: int, padding: int, dtype=None):
  """A conv as im2col + one GEMM (autodiff: GEMMs and pads)."""
  k, _, cin, cout = kernel.shape
  return matmul(im2col(x, k, stride, padding), kernel.reshape(k * k * cin, cout), dtype)


def _gemm_conv_transpose(x, kernel, stride: int, padding: int, dtype=None):
  """A transposed conv as one GEMM + col2im (autodiff: GEMMs and slices)."""
  k, _, cin, cout = kernel.shape
  n, h, w, _ = x.shape
  cols = matmul(x, kernel.transpose(2, 0, 1, 3).reshape(cin, -1), dtype)
  return _col2im(cols.reshape(n, h, w, k, k, cout), stride, padding)


# Stride-2 convolutions on the space-to-depth grid. With xs[I, q] = xpad[2I + q]
# (q in {0, 1}, per spatial dim), y[i] = sum_a xpad[2i + a] W[a] becomes
# y[i] = sum_A xs[i + A] Ws[A] with Ws[A] = W[2A + q] stacked over q: a stride-1
# conv with a (k/2)x(k/2) kernel on 4x the channels.

def space_to_depth(x, p: int):
  """Folds each p x p pixel block into channels, ordered (qy, qx, c):
  (n, h, w, c) -> (n, h / p, w / p, p * p * c) (pixel unshuffle)."""
  n, h, w, c = x.shape
  return x.reshape(n, h // p, p, w // p, p, c).transpose(0, 1, 3, 2, 4, 5).reshape(
      n, h // p, w // p, p * p * c)


def depth_to_space(x, p: int):
  """The inverse of space_to_depth (pixel shuffle)."""
  n, h, w, c = x.shape
  return x.reshape(n, h, w, p, p, c // (p * p)).transpose(0, 1, 3, 2, 4, 5).reshape(
      n, h * p, w * p, c // (p * p))


def _space_to_depth(x, padding: int):
  """Zero-pads by `padding`, then folds 2x2 pixel blocks into channels (qy, qx, c)."""
  return space_to_depth(jnp.pad(x, ((0, 0), (padding, padding), (padding, padding), (0, 0))), 2)


def _space_to_depth_kernel(kernel):
  """(k, k, ci, co) -> (k/2, k/2, 4 ci, co) matching _space_to_depth's channels."""
  k, _, ci, co = kernel.shape
  h = k // 2
  return kernel.reshape(h, 2, h, 2, ci, co).transpose(0, 2, 1, 3, 4, 5).reshape(h, h, 4 * ci, co)


def _s2d_applies(shape, k: int, stride: int, padding: int) -> bool:
  return stride == 2 and k % 2 == 0 and (shape[1] + 2 * padding) % 2 == 0 and (
      shape[2] + 2 * padding) % 2 == 0


def _taps_conv(x, kernel, padding: int, dtype=None):
  """A stride-1 conv as one GEMM of the input with every tap's weights side
  by side, then the sum of each tap's output shifted into place (one fused
  pass over the GEMM's output). Its GEMM reads the input in place, where
  im2col first copies it k*k times: the cheaper form where the output has
  fewer channels per tap than the input (a stride-2 conv's forward pass on
  the space-to-depth grid, whose input holds 4x the channels)."""
  kh, kw, ci, co = kernel.shape
  n, h, w, _ = x.shape
  z = matmul(x, kernel.transpose(2, 0, 1, 3).reshape(ci, kh * kw * co), dtype)
  z = z.reshape(n, h, w, kh, kw, co)
  if padding:
    z = jnp.pad(z, ((0, 0), (padding, padding), (padding, padding), (0, 0), (0, 0), (0, 0)))
  ho, wo = z.shape[1] - kh + 1, z.shape[2] - kw + 1
  return sum(z[:, a:a + ho, b:b + wo, a, b] for a in range(kh) for b in range(kw))


def _s2d_conv(xs, ws, padding: int, contract: str, dtype=None):
  """A stride-1 conv on the space-to-depth grid (a small (k/2)^2 window):
  lax's convolution ("conv"), its im2col and one GEMM ("gemm"), or one GEMM
  and shifted sums ("taps", _taps_conv)."""
  if contract == "conv":
    return _lax_conv(xs, ws, 1, padding, dtype)
  if contract == "taps":
    return _taps_conv(xs, ws, padding, dtype)
  kh, kw, ci, co = ws.shape
  return matmul(im2col(xs, kh, 1, padding), ws.reshape(kh * kw * ci, co), dtype)


def _conv_s2_forward(x, kernel, padding: int, contract: str, dtype=None):
  """conv(x, kernel, stride 2): lax's ("conv"), or on the s2d grid as GEMMs
  ("gemm", "taps")."""
  if contract == "conv":
    return _lax_conv(x, kernel, 2, padding, dtype)
  return _s2d_conv(_space_to_depth(x, padding), _space_to_depth_kernel(kernel), 0, contract,
                   dtype)


def _conv_s2_adjoint(dy, kernel, in_shape, padding: int, contract: str = "conv", dtype=None):
  """The transpose of x -> conv(x, kernel, stride 2) applied to dy: a full
  stride-1 conv of dy with the flipped s2d kernel, then depth-to-space and crop."""
  _, h, w, _ = in_shape
  half = kernel.shape[0] // 2
  wt = _space_to_depth_kernel(kernel)[::-1, ::-1].transpose(0, 1, 3, 2)
  dxs = _s2d_conv(dy, wt, half - 1, contract, dtype)  # (n, (h + 2p) / 2, (w + 2p) / 2, 4 ci)
  return depth_to_space(dxs, 2)[:, padding:padding + h, padding:padding + w]


def _conv_s2_weight_grad(x, dy, kernel_shape, padding: int, weight_grad: str, dtype=None):
  """dW of conv(x, W, stride 2) for output cotangent dy, on the s2d grid: s2d tap
  (A, B) of the kernel is xs[A:A+ho, B:B+wo]^T dy."""
  k, _, ci, co = kernel_shape
  half, (_, ho, wo, _) = k // 2, dy.shape
  xs = _space_to_depth(x, padding)
  acc = _acc(dtype)
  if weight_grad == "conv":
    # All taps as one stride-1 convolution (lax's own weight-gradient form,
    # without the dilation).
    dws = _weight_grad_conv(xs, dy, 0, dtype).transpose(3, 1, 2, 0)  # (co, A, B, 4 ci)
  else:
    taps = [xs[:, a:a + ho, b:b + wo] for a in range(half) for b in range(half)]
    # XLA copies one operand of a contraction over rows into transposed form.
    if ci < 16:
      # Narrow taps: transpose them (a barrier keeps the copy a plain transpose)
      # rather than dy, which XLA would transpose fused with its producer.
      cols = jnp.concatenate(taps, -1).reshape(-1, half * half * 4 * ci)
      cols, dy = _cast(dtype, cols, dy)
      dws = jnp.matmul(jax.lax.optimization_barrier(cols.T), dy.reshape(-1, co),
                       preferred_element_type=acc).T
    else:
      # dy^T @ tap: dy, transposed once, is shared by all taps.
      (dy,) = _cast(dtype, dy)
      dws = jnp.concatenate([jnp.einsum("nhwo,nhwk->ok", dy, *_cast(dtype, t),
                                        preferred_element_type=acc) for t in taps], -1)
  dws = dws.reshape(co, half, half, 2, 2, ci)  # (o, A, B, qy, qx, c)
  return dws.transpose(1, 3, 2, 4, 5, 0).reshape(k, k, ci, co)


# Stride-1 convolutions: lax's forward pass, and a VJP written as two
# convolutions in XLA:CPU's canonical form (NHWC x HWIO -> NHWC). XLA brings
# the entry computation's convolutions into that form itself, but not those in
# a loop's body (a lax.scan of updates), which it would otherwise run through
# its naive loop-nest emitter, tens of times slower.

def _weight_grad_conv(x, dy, padding: int, dtype=None):
  """dW of a stride-1 conv of x (n, h, w, ci) with output cotangent dy
  (n, ho, wo, co), as (ci, k, k, co): one convolution contracting the batch as
  its feature dimension, (ci, h, w, n) x (ho, wo, n, co), in canonical form."""
  xt, dyt = _cast(dtype, x.transpose(3, 1, 2, 0), dy.transpose(1, 2, 0, 3))
  return jax.lax.conv_general_dilated(xt, dyt, (1, 1), ((padding, padding),) * 2,
                                      dimension_numbers=_DN, preferred_element_type=_acc(dtype))


@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3))
def _conv_s1(x, kernel, padding, dtype):
  return _lax_conv(x, kernel, 1, padding, dtype)


def _conv_s1_fwd(x, kernel, padding, dtype):
  return _conv_s1(x, kernel, padding, dtype), (x, kernel)


def _conv_s1_bwd(padding, dtype, res, dy):
  x, kernel = res
  # The input gradient correlates dy with the flipped kernel, in and out
  # channels swapped (its own VJP again: a gradient penalty differentiates it).
  dx = _conv_s1(dy, kernel[::-1, ::-1].transpose(0, 1, 3, 2), kernel.shape[0] - 1 - padding,
                dtype)
  dw = _weight_grad_conv(x, dy, padding, dtype).transpose(1, 2, 0, 3)
  return dx.astype(x.dtype), dw.astype(kernel.dtype)


_conv_s1.defvjp(_conv_s1_fwd, _conv_s1_bwd)


# `form` = (forward, adjoint, weight_grad): how the stride-2 conv, its adjoint
# (the transposed conv, the input gradient) and the weight gradient are
# computed, "conv" (lax's convolutions) or "gemm" each.

@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3, 4))
def _conv_s2(x, kernel, padding, form, dtype):
  return _conv_s2_forward(x, kernel, padding, form[0], dtype)


def _conv_s2_fwd(x, kernel, padding, form, dtype):
  return _conv_s2(x, kernel, padding, form, dtype), (x, kernel)


def _conv_s2_bwd(padding, form, dtype, res, dy):
  x, kernel = res
  # The input gradient is the transposed conv, with its own fast VJP: a
  # gradient penalty (WGAN-GP, R1) differentiates it again.
  dx = _conv_transpose_s2(dy, kernel.transpose(0, 1, 3, 2), padding, form, dtype)
  dw = _conv_s2_weight_grad(x, dy, kernel.shape, padding, form[2], dtype)
  return dx.astype(x.dtype), dw.astype(kernel.dtype)


_conv_s2.defvjp(_conv_s2_fwd, _conv_s2_bwd)


@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3, 4))
def _conv_transpose_s2(x, kernel, padding, form, dtype):
  # The adjoint of the stride-2 conv whose kernel swaps in and out channels.
  n, h, w, _ = x.shape
  k = kernel.shape[0]
  out_shape = (n, 2 * (h - 1) - 2 * padding + k, 2 * (w - 1) - 2 * padding + k, kernel.shape[3])
  return _conv_s2_adjoint(x, kernel.transpose(0, 1, 3, 2), out_shape, padding, form[1], dtype)


def _conv_transpose_s2_fwd(x, kernel, padding, form, dtype):
  return _conv_transpose_s2(x, kernel, padding, form, dtype), (x, kernel)


def _conv_transpose_s2_bwd(padding, form, dtype, res, g):
  x, kernel = res
  wc = kernel.transpose(0, 1, 3, 2)
  dwc = _conv_s2_weight_grad(g, x, wc.shape, padding, form[2], dtype)
  dx = _conv_s2(g, wc, padding, form, dtype)
  return dx.astype(x.dtype), dwc.transpose(0, 1, 3, 2).astype(kernel.dtype)


_conv_transpose_s2.defvjp(_conv_transpose_s2_fwd, _conv_transpose_s2_bwd)


# "gemm": narrower stride-2 convolutions keep lax's forms. In bfloat16 on this
# CPU the GEMM forms won on 64-512 channels (dcgan64 0.82x the step time of
# lax's forms) and lost on 32 (vae28 1.39x) with a threshold of 16; at 64 they
# tie on the small models (experiments.benchmark --conv_impl fast,gemm).
GEMM_MIN_CHANNELS = 64


def _form(impl: str, weight_grad: str, cin: int, cout: int):
  """(forward, adjoint, weight_grad) of the s2d forms of a stride-2 conv with
  `cin` input and `cout` output channels (for a transposed conv: the conv it
  is the adjoint of). "fast" keeps lax's convolutions (and weight_grad).
  "gemm" makes all three GEMMs, the forward pass one GEMM and shifted sums
  where its output is narrower than im2col's columns ("taps": a
  discriminator's or an encoder's widening layers), except for layers
  narrower than GEMM_MIN_CHANNELS (an image's 1 or 3 channels among them),
  whose GEMMs are too thin to beat lax's forms."""
  if impl == "fast" or cin < GEMM_MIN_CHANNELS:
    return ("conv", "conv", weight_grad)
  return ("taps" if cout <= 4 * cin else "gemm", "gemm", "gemm")


def conv2d(x, kernel, stride: int, padding: Padding, impl: str = "auto",
           weight_grad: str = "auto", dtype=None):
  """Cross-correlation, NHWC x HWIO; padding "SAME", "VALID" or an int;
  operands in `dtype` (None: as they are), accumulated in float32."""
  impl, weight_grad = resolve_impl(impl, dtype), resolve_weight_grad(weight_grad)
  k, _, cin, cout = kernel.shape
  pads = conv_padding(padding, k, stride, x.shape[1:3])
  (p, p2), p_w = pads
  if impl == "xla" or p != p2 or p_w != (p, p):
    return _lax_conv(x, kernel, stride, pads, dtype)
  if _s2d_applies(x.shape, k, stride, p):
    return _conv_s2(x, kernel, p, _form(impl, weight_grad, cin, cout), dtype)
  if stride == 1:  # lax's, in both precisions: im2col's k*k copies cost more
    return _conv_s1(x, kernel, p, dtype)
  return _gemm_conv(x, kernel, stride, p, dtype)


def conv_transpose2d(x, kernel, stride: int, padding: Padding, impl: str = "auto",
                     weight_grad: str = "auto", dtype=None):
  """Transposed convolution with PyTorch semantics (see layers.ConvTranspose2D)."""
  k, _, cin, cout = kernel.shape
  impl, weight_grad = resolve_impl(impl, dtype), resolve_weight_grad(weight_grad)
  padding = transpose_padding(padding, k, stride)
  if impl == "xla":
    q = k - 1 - padding
    # lax.conv_transpose correlates with the kernel as given: flip it to scatter.
    xc, kc = _cast(dtype, x, kernel[::-1, ::-1])
    return jax.lax.conv_transpose(xc, kc, (stride, stride), ((q, q),) * 2,
                                  dimension_numbers=_DN, preferred_element_type=_acc(dtype))
  if stride == 2 and k % 2 == 0:
    return _conv_transpose_s2(x, kernel, padding, _form(impl, weight_grad, cout, cin), dtype)
  return _gemm_conv_transpose(x, kernel, stride, padding, dtype)
