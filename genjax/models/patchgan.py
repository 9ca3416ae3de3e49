"""PatchGAN discriminator (Isola et al. 2017, pix2pix; also CycleGAN's): a
fully convolutional net whose output is one logit per overlapping patch, so
it judges local texture and structure and applies to any image size."""
from typing import Sequence

import flax.linen as nn
import jax.numpy as jnp

from genjax.models.layers import Conv2D, norm_layer


class PatchDiscriminator(nn.Module):
  """4x4 convs with LeakyReLU(0.2): stride 2 for all widths but the last, which
  has stride 1, then a stride-1 conv to one channel (no norm on the first
  layer). widths (64, 128, 256, 512) is the 70x70 PatchGAN; (64, 128, 256)
  sees 34x34 patches (small images such as 28 px digits)."""
  widths: Sequence[int] = (64, 128, 256, 512)
  norm: str = "instance"

  @nn.compact
  def __call__(self, x, train: bool = True):
    kw = dict(kernel_init=nn.initializers.normal(0.02))
    for i, w in enumerate(self.widths):
      stride = 2 if i < len(self.widths) - 1 else 1
      x = Conv2D(w, 4, stride, 1, use_bias=i == 0 or self.norm == "none", **kw)(x)
      if i:
        x = norm_layer(self.norm, train)(x)
      x = nn.leaky_relu(x, 0.2)
    return Conv2D(1, 4, 1, 1, **kw)(x).astype(jnp.float32)
