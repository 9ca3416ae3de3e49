"""U-Net (Ronneberger et al. 2015) for image-to-image regression and pix2pix
generators: fully convolutional, so it applies to any image whose sides are
multiples of `multiple`."""
from typing import Sequence

import flax.linen as nn
import jax.numpy as jnp

from genjax import errors
from genjax.models.layers import Conv2D, ConvTranspose2D, depth_to_space, space_to_depth


class UNet(nn.Module):
  """`depth` x [Conv3 ReLU] per level with widths[i]; stride-2 Conv4 down,
  ConvT4 up with the skip concatenated; a final Conv3 to out_channels, zero
  initialised so an untrained net outputs 0 (a residual starts at identity).

  patch > 1 folds each patch x patch block of pixels into channels first and
  unfolds the output at the end (pixel (un)shuffle, as FFDNet does): the convs
  then run at 1/patch the resolution with more channels, which is several
  times cheaper per pixel, especially on CPUs, for the same receptive field.
  """
  widths: Sequence[int] = (32, 64, 128)
  patch: int = 1
  depth: int = 2  # 3x3 convolutions per block
  out_channels: int = 3

  @property
  def multiple(self) -> int:
    """Input sides must be multiples of this."""
    return self.patch * 2 ** (len(self.widths) - 1)

  @nn.compact
  def __call__(self, x):
    kw = dict(kernel_init=nn.initializers.he_normal())

    def block(h, w):
      # Made first, applied last (the names of the released models' parameters,
      # from when a block was relu(conv(relu(conv(h))))).
      convs = [Conv2D(w, 3, **kw) for _ in range(self.depth)]
      for conv in reversed(convs):
        h = nn.relu(conv(h))
      return h

    if self.depth < 1:
      raise errors.InputError(f"model.depth={self.depth}: a U-Net block needs at least one "
                              "convolution; give model.depth >= 1.")
    p = self.patch
    if p > 1:
      x = space_to_depth(x, p)
    skips = []
    for i, w in enumerate(self.widths):
      if i:
        x = nn.relu(Conv2D(w, 4, 2, 1, **kw)(x))
      x = block(x, w)
      skips.append(x)
    for w, skip in zip(self.widths[-2::-1], skips[-2::-1]):
      x = nn.relu(ConvTranspose2D(w, 4, 2, 1, **kw)(x))
      x = block(jnp.concatenate([x, skip], -1), w)
    x = Conv2D(self.out_channels * p * p, 3, kernel_init=nn.initializers.zeros)(x)
    return depth_to_space(x, p) if p > 1 else x
