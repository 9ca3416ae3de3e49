"""A small convolutional classifier, used for in-domain feature extraction
(classifier-FID/KID/PR), classification accuracy scores and conditioning."""
from typing import Sequence

import flax.linen as nn
import jax.numpy as jnp

from genjax.models.layers import Conv2D, Dense


class ConvClassifier(nn.Module):
  """[Conv3 s1 w ReLU, Conv3 s2 w ReLU] per width -> flatten -> Dense feature_dim
  ReLU (the features) -> Dense num_classes. Returns (logits, features)."""
  widths: Sequence[int] = (32, 64)
  feature_dim: int = 128
  num_classes: int = 10

  @nn.compact
  def __call__(self, x, train: bool = False):
    kw = dict(kernel_size=3, padding=1, kernel_init=nn.initializers.lecun_normal())
    for w in self.widths:
      x = nn.relu(Conv2D(w, stride=1, **kw)(x))
      x = nn.relu(Conv2D(w, stride=2, **kw)(x))
    x = x.reshape(x.shape[0], -1)
    features = nn.relu(Dense(self.feature_dim)(x))
    logits = Dense(self.num_classes)(features)
    return logits.astype(jnp.float32), features.astype(jnp.float32)
