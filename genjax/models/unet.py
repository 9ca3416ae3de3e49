"""U-Net (Ronneberger et al. 2015) for image-to-image regression and pix2pix
generators: fully convolutional, so it applies to any image whose sides are
multiples of 2 ** (len(widths) - 1)."""
from typing import Any, Sequence

import flax.linen as nn
import jax.numpy as jnp

from genjax.models.layers import Conv2D, ConvTranspose2D


class UNet(nn.Module):
  """[Conv3 ReLU Conv3 ReLU] per level with widths[i]; stride-2 Conv4 down,
  ConvT4 up with the skip concatenated; a final Conv3 to out_channels, zero
  initialised so an untrained net outputs 0 (a residual starts at identity)."""
  widths: Sequence[int] = (32, 64, 128)
  out_channels: int = 3
  conv_impl: str = "auto"
  dtype: Any = jnp.float32

  @property
  def multiple(self) -> int:
    """Input sides must be multiples of this."""
    return 2 ** (len(self.widths) - 1)

  @nn.compact
  def __call__(self, x):
    kw = dict(dtype=self.dtype, impl=self.conv_impl, kernel_init=nn.initializers.he_normal())
    block = lambda h, w: nn.relu(Conv2D(w, 3, **kw)(nn.relu(Conv2D(w, 3, **kw)(h))))
    skips = []
    for i, w in enumerate(self.widths):
      if i:
        x = nn.relu(Conv2D(w, 4, 2, 1, **kw)(x))
      x = block(x, w)
      skips.append(x)
    for w, skip in zip(self.widths[-2::-1], skips[-2::-1]):
      x = nn.relu(ConvTranspose2D(w, 4, 2, 1, **kw)(x))
      x = block(jnp.concatenate([x, skip], -1), w)
    x = Conv2D(self.out_channels, 3, dtype=self.dtype, impl=self.conv_impl,
               kernel_init=nn.initializers.zeros)(x)
    return x.astype(jnp.float32)
