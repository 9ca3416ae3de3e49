"""k-NN manifold metrics: precision/recall (Kynkäänniemi et al. 2019) and
density/coverage (Naeem et al. 2020), from feature vectors."""
import jax
import jax.numpy as jnp
import numpy as np


@jax.jit
def _sq_dists(a, b):
  return jnp.maximum(jnp.sum(a * a, 1)[:, None] + jnp.sum(b * b, 1)[None] - 2 * a @ b.T, 0.0)


def _blocked(a, b, fn, block=2048):
  """fn(squared distances of a-block to all of b) for each block of a, stacked."""
  return np.concatenate([np.asarray(fn(_sq_dists(a[i:i + block], b)))
                         for i in range(0, len(a), block)])


def _kth_radius(x, k):
  """Squared distance of each point to its k-th nearest other point."""
  return _blocked(x, x, lambda d: jnp.sort(d, axis=1)[:, k])  # column 0 is the point itself


def precision_recall_density_coverage(real, fake, k: int = 5) -> dict:
  real = jnp.asarray(real, jnp.float32)
  fake = jnp.asarray(fake, jnp.float32)
  r_real, r_fake = jnp.asarray(_kth_radius(real, k)), jnp.asarray(_kth_radius(fake, k))
  # fake j is inside real ball i when d(fake_j, real_i) <= r_real_i (d: fakes x reals)
  balls = _blocked(fake, real, lambda d: jnp.sum(d <= r_real[None, :], 1))
  precision = (balls > 0).mean()
  density = balls.sum() / (k * len(fake))
  # one reals x fakes pass: is real i inside some fake ball, and its nearest fake
  covered, nearest_fake = _blocked(real, fake, lambda d: jnp.stack(
      [jnp.any(d <= r_fake[None, :], 1).astype(d.dtype), jnp.min(d, 1)], 1)).T
  recall = (covered > 0).mean()
  coverage = (nearest_fake <= np.asarray(r_real)).mean()
  return {"precision": float(precision), "recall": float(recall),
          "density": float(density), "coverage": float(coverage), "k": k}
