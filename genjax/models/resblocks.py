"""A plain residual network for restoration at one resolution (EDSR, Lim et
al. 2017, without batch norm): a head convolution, `blocks` residual blocks
of two 3x3 convolutions, a convolution closing the body with a skip around it,
and a zero-initialised tail, so an untrained net outputs 0 (a residual on the
base image starts at identity). Fully convolutional; no down-sampling, so its
receptive field grows with depth alone (2 * blocks + 3 convolutions).

patch > 1 folds each patch x patch block of pixels into channels first and
unfolds the output at the end (pixel (un)shuffle, as the U-Net does): for
super-resolution by `patch`, the body then runs on the low-resolution grid."""
import flax.linen as nn

from genjax import errors
from genjax.models.layers import Conv2D, depth_to_space, space_to_depth


class ResidualRestorer(nn.Module):
  """width channels throughout; res_scale multiplies each block's residual
  (EDSR's 0.1 for wide, deep nets; 1 otherwise)."""
  width: int = 64
  blocks: int = 8
  patch: int = 2
  res_scale: float = 1.0
  out_channels: int = 3

  @property
  def multiple(self) -> int:
    """Input sides must be multiples of this."""
    return self.patch

  @nn.compact
  def __call__(self, x):
    if self.blocks < 0 or self.width < 1 or self.patch < 1:
      raise errors.InputError(f"model: blocks={self.blocks}, width={self.width}, "
                              f"patch={self.patch}; give blocks >= 0, width >= 1, patch >= 1.")
    kw = dict(kernel_init=nn.initializers.he_normal())
    x = space_to_depth(x, self.patch) if self.patch > 1 else x
    head = Conv2D(self.width, 3, **kw)(x)
    h = head
    for _ in range(self.blocks):
      r = Conv2D(self.width, 3, **kw)(nn.relu(Conv2D(self.width, 3, **kw)(h)))
      h = h + self.res_scale * r
    h = Conv2D(self.width, 3, **kw)(h) + head
    y = Conv2D(self.out_channels * self.patch ** 2, 3, kernel_init=nn.initializers.zeros)(h)
    return depth_to_space(y, self.patch) if self.patch > 1 else y
