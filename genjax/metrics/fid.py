"""Fréchet distance between Gaussians fitted to features (FID when the
features are Inception-v3 pool features), with streaming statistics so that
any number of samples is summarised in O(D^2) memory."""
import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from genjax import errors


@dataclasses.dataclass
class GaussianStats:
  """Running count, sum and sum of outer products of feature vectors (float64)."""
  dim: int
  count: int = 0
  total: np.ndarray = None
  outer: np.ndarray = None

  def __post_init__(self):
    if self.total is None:
      self.total = np.zeros(self.dim, np.float64)
      self.outer = np.zeros((self.dim, self.dim), np.float64)

  def update(self, features) -> "GaussianStats":
    f = np.asarray(features, np.float64).reshape(-1, self.dim)
    self.count += len(f)
    self.total += f.sum(0)
    self.outer += f.T @ f
    return self

  @property
  def mean(self) -> np.ndarray:
    return self.total / self.count

  @property
  def cov(self) -> np.ndarray:
    """Unbiased covariance (divides by count - 1), as numpy.cov."""
    if self.count < 2:
      raise errors.InputError("Covariance needs at least 2 feature vectors.")
    mu = self.mean
    return (self.outer - self.count * np.outer(mu, mu)) / (self.count - 1)

  def save(self, path: str, **provenance):
    np.savez(path, mean=self.mean, cov=self.cov, count=self.count, dim=self.dim,
             total=self.total, outer=self.outer, **provenance)

  @classmethod
  def load(cls, path: str) -> "GaussianStats":
    with np.load(path) as f:
      return cls(int(f["dim"]), int(f["count"]), f["total"], f["outer"])


@jax.jit
def _frechet(mu1, cov1, mu2, cov2):
  # tr sqrt(C1 C2) = sum sqrt(eig(S C2 S)) with S = C1^(1/2): both symmetric PSD,
  # so eigh is stable where a general matrix square root is not.
  w, v = jnp.linalg.eigh(cov1)
  s = (v * jnp.sqrt(jnp.clip(w, 0.0))) @ v.T
  m = s @ cov2 @ s
  tr_sqrt = jnp.sum(jnp.sqrt(jnp.clip(jnp.linalg.eigvalsh((m + m.T) / 2), 0.0)))
  diff = mu1 - mu2
  return diff @ diff + jnp.trace(cov1) + jnp.trace(cov2) - 2.0 * tr_sqrt


def frechet_distance(mu1, cov1, mu2, cov2) -> float:
  """||mu1 - mu2||^2 + tr(C1 + C2 - 2 (C1 C2)^(1/2)), computed in float64."""
  with jax.enable_x64(True):
    args = [jnp.asarray(np.asarray(a, np.float64)) for a in (mu1, cov1, mu2, cov2)]
    return float(_frechet(*args))
