"""The ResNet image-to-image generator of CycleGAN (Zhu et al. 2017, after
Johnson et al. 2016): c7s1-w0, stride-2 convs up to the last width, residual
blocks, stride-2 transposed convs back, c7s1-out, tanh. Reflection padding and
instance norm; fully convolutional (sides must be multiples of `multiple`)."""
from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from genjax.models import compute
from genjax.models.layers import Conv2D, ConvTranspose2D, norm_layer, norm_name


def _reflect(x, p: int):
  return jnp.pad(x, ((0, 0), (p, p), (p, p), (0, 0)), mode="reflect")


def _residual(x, norm: str, bias: bool, train: bool):
  """x + norm(conv(relu(norm(conv(x))))), 3x3 convs with reflection padding;
  its layers are made in the calling module, in this order."""
  kw = dict(kernel_init=nn.initializers.normal(0.02), use_bias=bias)
  w, normed = x.shape[-1], lambda h: norm_layer(norm, train)(h)
  h = nn.relu(normed(Conv2D(w, 3, 1, "VALID", **kw)(_reflect(x, 1))))
  return x + normed(Conv2D(w, 3, 1, "VALID", **kw)(_reflect(h, 1)))


class _Residual(nn.Module):
  """One residual block as a module of its own: the body of the blocks' loop."""
  norm: str
  bias: bool

  @nn.compact
  def __call__(self, x):
    return _residual(x, self.norm, self.bias, train=True)


class ResnetTranslator(nn.Module):
  """widths (64, 128, 256) and blocks 9 is CycleGAN's 256 px generator (6 blocks
  for 128 px); out_channels is the target domain's channel count.

  The residual blocks run as one lax.scan when applied (XLA compiles one block
  instead of `blocks`: cyclegan128's step 3,297 -> 2,259 fusions), over their
  parameters stacked from where the unrolled blocks keep them, so parameters,
  initial values and checkpoints are those of the unrolled network
  (loop=False; also with batch norm, whose statistics the loop does not
  carry)."""
  widths: Sequence[int] = (64, 128, 256)
  blocks: int = 9
  out_channels: int = 3
  norm: str = "instance"
  loop: bool = True

  @property
  def multiple(self) -> int:
    return 2 ** (len(self.widths) - 1)

  @nn.compact
  def __call__(self, x, train: bool = True):
    kw = dict(kernel_init=nn.initializers.normal(0.02))
    norm = lambda h: norm_layer(self.norm, train)(h)
    bias = self.norm == "none"
    x = nn.relu(norm(Conv2D(self.widths[0], 7, 1, "VALID", use_bias=bias, **kw)(_reflect(x, 3))))
    for w in self.widths[1:]:
      x = nn.relu(norm(Conv2D(w, 3, 2, 1, use_bias=bias, **kw)(x)))
    if self.loop and self.norm != "batch" and not self.is_initializing():
      x = self._blocks_as_loop(x, bias)
    else:
      for _ in range(self.blocks):
        x = _residual(x, self.norm, bias, train)
    # The layers after the blocks are named as if the blocks were made here
    # (the loop makes them in a module of its own).
    after = len(self.widths) + 2 * self.blocks  # convs and norms made before
    for k, w in enumerate(self.widths[-2::-1]):
      up = ConvTranspose2D(w, 4, 2, 1, use_bias=bias, **kw)(x)
      x = nn.relu(norm_layer(self.norm, train, name=norm_name(self.norm, after + k))(up))
    x = Conv2D(self.out_channels, 7, 1, "VALID", name=f"Conv2D_{after}", **kw)(_reflect(x, 3))
    return jnp.tanh(x.astype(jnp.float32))

  def _blocks_as_loop(self, x, bias: bool):
    """The residual blocks as a lax.scan of _Residual. The unrolled blocks'
    layers are named in creation order, after the stem's and the downsampling
    convs' (and norms'): block i's are the (d + 2i)-th and (d + 2i + 1)-th of
    each kind, d = len(widths)."""
    params, d = self.variables["params"], len(self.widths)
    names = [lambda k: f"Conv2D_{k}"] + ([] if self.norm == "none" else
                                         [lambda k: norm_name(self.norm, k)])

    def block(i):
      return {name(j): params[name(d + 2 * i + j)] for name in names for j in (0, 1)}
    stacked = jax.tree.map(lambda *a: jnp.stack(a), *[block(i) for i in range(self.blocks)])
    module = _Residual(self.norm, bias, parent=None)  # applied as a function
    step = lambda h, p: (module.apply({"params": p}, h), None)
    return compute.loop(step, x, stacked)[0]
