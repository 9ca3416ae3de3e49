"""The ResNet image-to-image generator of CycleGAN (Zhu et al. 2017, after
Johnson et al. 2016): c7s1-w0, stride-2 convs up to the last width, residual
blocks, stride-2 transposed convs back, c7s1-out, tanh. Reflection padding and
instance norm; fully convolutional (sides must be multiples of `multiple`)."""
from typing import Sequence

import flax.linen as nn
import jax.numpy as jnp

from genjax.models.layers import Conv2D, ConvTranspose2D, norm_layer


def _reflect(x, p: int):
  return jnp.pad(x, ((0, 0), (p, p), (p, p), (0, 0)), mode="reflect")


class ResnetTranslator(nn.Module):
  """widths (64, 128, 256) and blocks 9 is CycleGAN's 256 px generator (6 blocks
  for 128 px); out_channels is the target domain's channel count."""
  widths: Sequence[int] = (64, 128, 256)
  blocks: int = 9
  out_channels: int = 3
  norm: str = "instance"

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
    w = self.widths[-1]
    for _ in range(self.blocks):
      h = nn.relu(norm(Conv2D(w, 3, 1, "VALID", use_bias=bias, **kw)(_reflect(x, 1))))
      x = x + norm(Conv2D(w, 3, 1, "VALID", use_bias=bias, **kw)(_reflect(h, 1)))
    for w in self.widths[-2::-1]:
      x = nn.relu(norm(ConvTranspose2D(w, 4, 2, 1, use_bias=bias, **kw)(x)))
    x = Conv2D(self.out_channels, 7, 1, "VALID", **kw)(_reflect(x, 3))
    return jnp.tanh(x.astype(jnp.float32))
