"""Kernel Inception Distance (Bińkowski et al. 2018): the unbiased MMD^2 with
the cubic polynomial kernel k(x, y) = (x.y / d + 1)^3, averaged over subsets."""
import jax
import jax.numpy as jnp
import numpy as np

from genjax import errors


@jax.jit
def mmd2_unbiased(x, y):
  """Unbiased MMD^2 estimate between two equally sized feature sets."""
  d = x.shape[1]
  kxx = (x @ x.T / d + 1.0) ** 3
  kyy = (y @ y.T / d + 1.0) ** 3
  kxy = (x @ y.T / d + 1.0) ** 3
  m = x.shape[0]
  sum_xx = (jnp.sum(kxx) - jnp.trace(kxx)) / (m * (m - 1))
  sum_yy = (jnp.sum(kyy) - jnp.trace(kyy)) / (m * (m - 1))
  return sum_xx + sum_yy - 2.0 * jnp.mean(kxy)


def kernel_inception_distance(real, fake, num_subsets: int = 100,
                              subset_size: int = 1000, seed: int = 0):
  """(mean, std) of MMD^2 over random subsets (without replacement within one)."""
  real, fake = np.asarray(real, np.float64), np.asarray(fake, np.float64)
  m = min(subset_size, len(real), len(fake))
  if m < 2:
    raise errors.InputError("KID needs at least 2 samples in each set.")
  rng = np.random.default_rng(seed)
  with jax.enable_x64(True):
    values = [float(mmd2_unbiased(jnp.asarray(real[rng.choice(len(real), m, replace=False)]),
                                  jnp.asarray(fake[rng.choice(len(fake), m, replace=False)])))
              for _ in range(num_subsets)]
  return float(np.mean(values)), float(np.std(values))
