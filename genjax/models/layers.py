"""Shared building blocks for genjax models: the standard layers every model
uses. They compute as the run's policy says (models/compute.py: the
convolution implementation and the precision, chosen once per run), so a
model knows nothing of either. Convolutions are computed in models/kernels.py;
layers take kernel size, stride and padding explicitly, as `nn.Conv` does:
padding is "SAME", "VALID", or an integer (the same zero padding on every
side, PyTorch style).

In bfloat16 (mixed precision) convolutions and dense layers take bfloat16
operands and return their float32 accumulation; parameters are float32;
normalisation layers compute their statistics in float32.
"""
from typing import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp

from genjax import errors
from genjax.models import compute, kernels
from genjax.models.kernels import Padding, depth_to_space, space_to_depth  # noqa: F401 (layers)

default_kernel_init = nn.initializers.normal(0.02)  # DCGAN initialisation


class Conv2D(nn.Module):
  """2-D convolution, NHWC, kernel HWIO; padding "SAME", "VALID" or an int."""
  features: int
  kernel_size: int
  stride: int = 1
  padding: Padding = "SAME"
  use_bias: bool = True
  kernel_init: Callable = default_kernel_init
  weight_grad: str = "auto"  # fast stride-2 weight gradient: auto | conv | gemm
  op = staticmethod(kernels.conv2d)  # not a field: subclasses swap the operation

  @nn.compact
  def __call__(self, x):
    k = self.kernel_size
    kernel = self.param("kernel", self.kernel_init,
                        (k, k, x.shape[-1], self.features), jnp.float32)
    policy = compute.current()
    y = self.op(x, kernel, self.stride, self.padding, policy.conv_impl, self.weight_grad,
                policy.operand_dtype)
    if self.use_bias:
      y = y + self.param("bias", nn.initializers.zeros, (self.features,), jnp.float32)
    return y


class ConvTranspose2D(Conv2D):
  """Transposed convolution with PyTorch semantics.

  Each input pixel scatters `x[i, j] @ kernel[a, b]` to output position
  (i * stride - padding + a, j * stride - padding + b); the kernel HWIO equals
  PyTorch's ConvTranspose2d weight (in, out, kh, kw) transposed to (kh, kw, in, out).
  Output size is (H - 1) * stride - 2 * padding + kernel_size; padding "SAME"
  makes it H * stride (k=4, s=2: p=1), "VALID" is p=0.
  """
  op = staticmethod(kernels.conv_transpose2d)


class Dense(nn.Module):
  """A dense layer on the last axis (nn.Dense's parameters and defaults) that
  computes in the policy's precision with float32 accumulation."""
  features: int
  use_bias: bool = True
  kernel_init: Callable = nn.initializers.lecun_normal()
  bias_init: Callable = nn.initializers.zeros

  @nn.compact
  def __call__(self, x):
    kernel = self.param("kernel", self.kernel_init, (x.shape[-1], self.features), jnp.float32)
    y = kernels.matmul(x, kernel, compute.current().operand_dtype)
    if self.use_bias:
      y = y + self.param("bias", self.bias_init, (self.features,), jnp.float32)
    return y


# Normalisation layers by name: the Flax class and its arguments (in training or not).
NORMS = {
    "batch": (nn.BatchNorm, lambda train: dict(use_running_average=not train, momentum=0.9,
                                               epsilon=1e-5)),
    "instance": (nn.GroupNorm, lambda train: dict(num_groups=None, group_size=1)),
    "layer": (nn.LayerNorm, lambda train: {}),
}


def _norm(kind: str):
  if kind not in NORMS:
    raise errors.InputError(f"Unknown norm {kind!r}; choose batch, instance, layer or none.")
  return NORMS[kind]


def norm_layer(kind: str, train: bool, name=None):
  """A normalisation layer by name: batch, instance, layer (NORMS) or none
  (statistics and output in float32)."""
  if kind == "none":
    return lambda x: x
  cls, arguments = _norm(kind)
  return cls(dtype=jnp.float32, name=name, **arguments(train))


def norm_name(kind: str, index: int):
  """The name Flax gives the index-th unnamed norm layer of `kind` in a module
  (None for kind none, which makes no layer)."""
  return None if kind == "none" else f"{_norm(kind)[0].__name__}_{index}"


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
  (embedding rows, gain initialised to 1, bias to 0): y = g[c] * x_hat + b[c].
  Statistics in float32."""
  num_classes: int
  momentum: float = 0.9
  epsilon: float = 1e-5

  @nn.compact
  def __call__(self, x, labels, train: bool):
    x = nn.BatchNorm(use_running_average=not train, momentum=self.momentum,
                     epsilon=self.epsilon, use_scale=False, use_bias=False,
                     dtype=jnp.float32)(x)
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

  @nn.compact
  def __call__(self, h, labels=None, train: bool = True):
    h = h.astype(jnp.float32)  # the logit and its projection term in float32
    out = spectral(nn.Dense(1), self.spectral_norm, train)(h)[:, 0]
    if self.num_classes and labels is not None:
      embed = spectral(nn.Embed(self.num_classes, h.shape[-1], name="embed"),
                       self.spectral_norm, train)
      out = out + jnp.sum(embed(labels).astype(h.dtype) * h, axis=-1)
    return out.astype(jnp.float32)
