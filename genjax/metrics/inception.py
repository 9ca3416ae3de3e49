"""The FID Inception-v3 network (the 2015-12-05 TensorFlow graph used by the
original FID code and pytorch-fid) in Flax, and its weights loader.

No weights ship with genjax and none can be downloaded at run time. To use
real FID weights, convert pytorch-fid's file once, on a machine with torch:

  pip install torch
  # pt_inception-2015-12-05-6726825d.pth is pytorch-fid's FID_WEIGHTS_URL file
  python -m genjax.metrics.inception --convert pt_inception-2015-12-05-6726825d.pth \
      --out fid_inception.npz

and pass `--extractor inception_v3:fid_inception.npz` to genjax.evaluate. The
.npz holds one array per parameter, keyed by the pytorch-fid names
("Mixed_5b.branch1x1.conv.weight", ...), so the conversion is a renaming that
`load_weights` reverses; numbers are then comparable with pytorch-fid's.
"""
import functools
import sys
from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from genjax import errors


class BasicConv(nn.Module):
  """conv (no bias) -> BatchNorm(eps=1e-3, running stats) -> ReLU."""
  features: int
  kernel: Sequence[int] = (1, 1)
  stride: int = 1
  padding: Sequence[int] = (0, 0)

  @nn.compact
  def __call__(self, x):
    (ph, pw) = self.padding
    x = nn.Conv(self.features, tuple(self.kernel), (self.stride,) * 2,
                padding=((ph, ph), (pw, pw)), use_bias=False, name="conv")(x)
    x = nn.BatchNorm(use_running_average=True, epsilon=1e-3, name="bn")(x)
    return nn.relu(x)


def avg_pool_exclude_pad(x):
  """3x3 stride-1 average pool, padding 1, not counting padded zeros."""
  ones = jnp.ones(x.shape[:3] + (1,), x.dtype)
  total = nn.pool(x, 0.0, jax.lax.add, (3, 3), (1, 1), ((1, 1), (1, 1)))
  count = nn.pool(ones, 0.0, jax.lax.add, (3, 3), (1, 1), ((1, 1), (1, 1)))
  return total / count


def max_pool(x, stride=2, pad=0):
  return nn.max_pool(x, (3, 3), (stride, stride), ((pad, pad), (pad, pad)))


class InceptionA(nn.Module):
  pool_features: int

  @nn.compact
  def __call__(self, x):
    b1 = BasicConv(64, name="branch1x1")(x)
    b5 = BasicConv(48, name="branch5x5_1")(x)
    b5 = BasicConv(64, (5, 5), padding=(2, 2), name="branch5x5_2")(b5)
    b3 = BasicConv(64, name="branch3x3dbl_1")(x)
    b3 = BasicConv(96, (3, 3), padding=(1, 1), name="branch3x3dbl_2")(b3)
    b3 = BasicConv(96, (3, 3), padding=(1, 1), name="branch3x3dbl_3")(b3)
    bp = BasicConv(self.pool_features, name="branch_pool")(avg_pool_exclude_pad(x))
    return jnp.concatenate([b1, b5, b3, bp], -1)


class InceptionB(nn.Module):
  @nn.compact
  def __call__(self, x):
    b3 = BasicConv(384, (3, 3), stride=2, name="branch3x3")(x)
    bd = BasicConv(64, name="branch3x3dbl_1")(x)
    bd = BasicConv(96, (3, 3), padding=(1, 1), name="branch3x3dbl_2")(bd)
    bd = BasicConv(96, (3, 3), stride=2, name="branch3x3dbl_3")(bd)
    return jnp.concatenate([b3, bd, max_pool(x)], -1)


class InceptionC(nn.Module):
  c7: int

  @nn.compact
  def __call__(self, x):
    c7 = self.c7
    b1 = BasicConv(192, name="branch1x1")(x)
    b7 = BasicConv(c7, name="branch7x7_1")(x)
    b7 = BasicConv(c7, (1, 7), padding=(0, 3), name="branch7x7_2")(b7)
    b7 = BasicConv(192, (7, 1), padding=(3, 0), name="branch7x7_3")(b7)
    bd = BasicConv(c7, name="branch7x7dbl_1")(x)
    bd = BasicConv(c7, (7, 1), padding=(3, 0), name="branch7x7dbl_2")(bd)
    bd = BasicConv(c7, (1, 7), padding=(0, 3), name="branch7x7dbl_3")(bd)
    bd = BasicConv(c7, (7, 1), padding=(3, 0), name="branch7x7dbl_4")(bd)
    bd = BasicConv(192, (1, 7), padding=(0, 3), name="branch7x7dbl_5")(bd)
    bp = BasicConv(192, name="branch_pool")(avg_pool_exclude_pad(x))
    return jnp.concatenate([b1, b7, bd, bp], -1)


class InceptionD(nn.Module):
  @nn.compact
  def __call__(self, x):
    b3 = BasicConv(192, name="branch3x3_1")(x)
    b3 = BasicConv(320, (3, 3), stride=2, name="branch3x3_2")(b3)
    b7 = BasicConv(192, name="branch7x7x3_1")(x)
    b7 = BasicConv(192, (1, 7), padding=(0, 3), name="branch7x7x3_2")(b7)
    b7 = BasicConv(192, (7, 1), padding=(3, 0), name="branch7x7x3_3")(b7)
    b7 = BasicConv(192, (3, 3), stride=2, name="branch7x7x3_4")(b7)
    return jnp.concatenate([b3, b7, max_pool(x)], -1)


class InceptionE(nn.Module):
  """FID variants: Mixed_7b pools by average (excluding padding), Mixed_7c by max."""
  pool: str = "avg"

  @nn.compact
  def __call__(self, x):
    b1 = BasicConv(320, name="branch1x1")(x)
    b3 = BasicConv(384, name="branch3x3_1")(x)
    b3 = jnp.concatenate([
        BasicConv(384, (1, 3), padding=(0, 1), name="branch3x3_2a")(b3),
        BasicConv(384, (3, 1), padding=(1, 0), name="branch3x3_2b")(b3)], -1)
    bd = BasicConv(448, name="branch3x3dbl_1")(x)
    bd = BasicConv(384, (3, 3), padding=(1, 1), name="branch3x3dbl_2")(bd)
    bd = jnp.concatenate([
        BasicConv(384, (1, 3), padding=(0, 1), name="branch3x3dbl_3a")(bd),
        BasicConv(384, (3, 1), padding=(1, 0), name="branch3x3dbl_3b")(bd)], -1)
    pooled = avg_pool_exclude_pad(x) if self.pool == "avg" else max_pool(x, 1, 1)
    bp = BasicConv(192, name="branch_pool")(pooled)
    return jnp.concatenate([b1, b3, bd, bp], -1)


class FIDInceptionV3(nn.Module):
  """Images in [-1, 1] (any size, 1 or 3 channels) -> (2048-d pool features,
  1008 logits). Inputs are bilinearly resized to 299x299 first."""

  @nn.compact
  def __call__(self, x):
    if x.shape[-1] == 1:
      x = jnp.repeat(x, 3, axis=-1)
    x = jax.image.resize(x, (x.shape[0], 299, 299, 3), "bilinear", antialias=False)
    x = BasicConv(32, (3, 3), stride=2, name="Conv2d_1a_3x3")(x)
    x = BasicConv(32, (3, 3), name="Conv2d_2a_3x3")(x)
    x = BasicConv(64, (3, 3), padding=(1, 1), name="Conv2d_2b_3x3")(x)
    x = max_pool(x)
    x = BasicConv(80, name="Conv2d_3b_1x1")(x)
    x = BasicConv(192, (3, 3), name="Conv2d_4a_3x3")(x)
    x = max_pool(x)
    x = InceptionA(32, name="Mixed_5b")(x)
    x = InceptionA(64, name="Mixed_5c")(x)
    x = InceptionA(64, name="Mixed_5d")(x)
    x = InceptionB(name="Mixed_6a")(x)
    for name, c7 in (("Mixed_6b", 128), ("Mixed_6c", 160), ("Mixed_6d", 160),
                     ("Mixed_6e", 192)):
      x = InceptionC(c7, name=name)(x)
    x = InceptionD(name="Mixed_7a")(x)
    x = InceptionE("avg", name="Mixed_7b")(x)
    x = InceptionE("max", name="Mixed_7c")(x)
    features = jnp.mean(x, axis=(1, 2))
    return features, nn.Dense(1008, name="fc")(features)


def to_torch_names(variables) -> dict:
  """Flax variables -> {pytorch-fid name: numpy array in torch layout}."""
  out = {}
  for path, value in jax.tree_util.tree_flatten_with_path(variables)[0]:
    keys = [p.key for p in path]
    collection, mod, leaf = keys[0], ".".join(keys[1:-1]), keys[-1]
    v = np.asarray(value)
    if leaf == "kernel":
      v = v.transpose(3, 2, 0, 1) if v.ndim == 4 else v.T
      out[f"{mod}.weight"] = v
    elif collection == "params":
      out[f"{mod}.{'weight' if leaf == 'scale' else 'bias'}"] = v
    else:
      out[f"{mod}.running_{leaf}"] = v
  return out


def from_torch_names(arrays, template) -> dict:
  """Inverse of to_torch_names, shaped like `template` (e.g. jax.eval_shape of init)."""
  expected = to_torch_names(jax.tree.map(lambda s: np.zeros(s.shape, s.dtype), template))
  missing = sorted(set(expected) - set(arrays))
  if missing:
    raise errors.InputError(f"Inception weights lack {len(missing)} arrays, e.g. {missing[:3]}; "
                     "convert pytorch-fid's FID weights (see genjax/metrics/inception.py).")

  def pick(path, leaf):
    keys = [p.key for p in path]
    collection, mod, name = keys[0], ".".join(keys[1:-1]), keys[-1]
    if name == "kernel":
      v = np.asarray(arrays[f"{mod}.weight"])
      v = v.transpose(2, 3, 1, 0) if v.ndim == 4 else v.T
    elif collection == "params":
      v = np.asarray(arrays[f"{mod}.{'weight' if name == 'scale' else 'bias'}"])
    else:
      v = np.asarray(arrays[f"{mod}.running_{name}"])
    if v.shape != leaf.shape:
      raise errors.InputError(f"Inception weight {mod}.{name} has shape {v.shape}, expected "
                       f"{leaf.shape}.")
    return jnp.asarray(v, jnp.float32)
  return jax.tree_util.tree_map_with_path(pick, template)


@functools.lru_cache(maxsize=1)
def abstract_variables():
  return jax.eval_shape(FIDInceptionV3().init, jax.random.PRNGKey(0),
                        jnp.zeros((1, 299, 299, 3)))


def load_weights(path: str) -> dict:
  """Flax variables from an .npz of pytorch-fid-named arrays."""
  with np.load(path) as f:
    return from_torch_names(dict(f), abstract_variables())


def convert(pth_path: str, out_path: str):
  """pytorch-fid .pth -> .npz (needs torch)."""
  import torch  # optional dependency, only for the one-off conversion
  state = torch.load(pth_path, map_location="cpu")
  arrays = {k: v.numpy() for k, v in state.items() if not k.endswith("num_batches_tracked")}
  from_torch_names(arrays, abstract_variables())  # validates names and shapes
  np.savez(out_path, **arrays)


if __name__ == "__main__":
  args = sys.argv[1:]
  if len(args) != 4 or args[0] != "--convert" or args[2] != "--out":
    sys.exit("usage: python -m genjax.metrics.inception --convert FILE.pth --out FILE.npz")
  convert(args[1], args[3])
  print(f"Wrote {args[3]}")
