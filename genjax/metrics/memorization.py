"""Memorisation check: how close are samples to their nearest training image,
compared with how close unseen real images are to theirs?

For each sample and each held-out real image, the nearest training image (L2
in pixel space, and in feature space when features are given). The near-copy
threshold is the `quantile` of held-out distances, so held-out data has a
near-copy fraction of `quantile` by construction; a generator that copies
training images scores far above it.
"""
import jax
import jax.numpy as jnp
import numpy as np

from genjax import images as image_lib


@jax.jit
def _nearest_block(q, keys, key_sq):
  d = jnp.sum(q * q, 1)[:, None] + key_sq[None] - 2 * q @ keys.T
  return jnp.maximum(jnp.min(d, 1), 0.0), jnp.argmin(d, 1)


def nearest(queries, keys, block: int = 512):
  """(L2 distance, index) of each query's nearest key (rows of 2-D arrays)."""
  keys = jnp.asarray(keys, jnp.float32)
  key_sq = jnp.sum(keys * keys, 1)
  dists, idx = [], []
  for i in range(0, len(queries), block):
    d, j = _nearest_block(jnp.asarray(queries[i:i + block], jnp.float32), keys, key_sq)
    dists.append(np.sqrt(np.asarray(d)))
    idx.append(np.asarray(j))
  return np.concatenate(dists), np.concatenate(idx)


def _flat(uint8_images):
  x = np.asarray(uint8_images, np.float32) / 127.5 - 1.0
  return x.reshape(len(x), -1)


def _space(samples, train, heldout, quantile):
  d_s, idx = nearest(samples, train)
  d_h, _ = nearest(heldout, train)
  threshold = float(np.quantile(d_h, quantile))
  return {"near_copy_fraction": float(np.mean(d_s <= threshold)),
          "heldout_near_copy_fraction": float(np.mean(d_h <= threshold)),
          "threshold": threshold, "median_sample_distance": float(np.median(d_s)),
          "median_heldout_distance": float(np.median(d_h))}, d_s, idx


def memorization(samples, train, heldout, quantile: float = 0.01, features=None) -> dict:
  """samples/train/heldout: uint8 NHWC. features: optional (samples, train,
  heldout) feature arrays. Returns per-space statistics and, under
  "closest_pairs", indices (sample, train) of the 16 closest pixel pairs."""
  out, d_s, idx = _space(_flat(samples), _flat(train), _flat(heldout), quantile)
  result = {"pixel": out, "quantile": quantile}
  if features is not None:
    result["feature"] = _space(*features, quantile)[0]
  order = np.argsort(d_s)[:16]
  result["closest_pairs"] = [[int(i), int(idx[i])] for i in order]
  return result


def closest_pairs_grid(samples, train, pairs) -> np.ndarray:
  """Grid with each sample beside its nearest training image (uint8 HWC)."""
  tiles = [im for i, j in pairs for im in (samples[i], train[j])]
  return image_lib.grid(np.stack(tiles), ncol=8)
