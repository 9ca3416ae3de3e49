"""Latent-space arithmetic, pure numpy: interpolation paths (slerp, lerp),
principal directions of a generator's activations mapped back to its latents
(GANSpace), attribute vectors, and the order of a VAE's latent dimensions by
KL. genjax.control applies them to a run."""
import numpy as np

from genjax import errors


def lerp(a, b, t):
  """(1 - t) a + t b, row-wise for a, b [..., d] and t broadcasting against them."""
  return (1.0 - t) * a + t * b


def slerp(a, b, t, eps: float = 1e-7):
  """Spherical interpolation (Shoemake 1985) from a to b [..., d], t in [0, 1]:
  follows the great circle between their directions while the norm moves
  linearly from |a| to |b|, so Gaussian latents keep a typical norm (a lerp's
  midpoint of two independent draws has ~0.71 of it). Nearly parallel a and
  b fall back to lerp."""
  a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
  t = np.asarray(t, np.float64)
  na, nb = np.linalg.norm(a, axis=-1, keepdims=True), np.linalg.norm(b, axis=-1, keepdims=True)
  ua, ub = a / np.maximum(na, eps), b / np.maximum(nb, eps)
  cos = np.clip(np.sum(ua * ub, -1, keepdims=True), -1.0, 1.0)
  omega = np.arccos(cos)
  so = np.sin(omega)
  safe = so > eps
  wa = np.where(safe, np.sin((1.0 - t) * omega) / np.where(safe, so, 1.0), 1.0 - t)
  wb = np.where(safe, np.sin(t * omega) / np.where(safe, so, 1.0), t)
  direction = wa * ua + wb * ub
  direction /= np.maximum(np.linalg.norm(direction, axis=-1, keepdims=True), eps)
  return direction * lerp(na, nb, t)


def path(keypoints, frames: int, spherical: bool = True) -> np.ndarray:
  """Latents along a path through keypoints [m, ..., d]: `frames` per segment
  (from each keypoint up to the next), then the last keypoint; shape
  [(m - 1) * frames + 1, ..., d]."""
  keypoints = np.asarray(keypoints, np.float64)
  if len(keypoints) < 2 or frames < 1:
    raise errors.InputError(f"An interpolation needs at least 2 keypoints and 1 frame per segment "
                     f"(got {len(keypoints)} and {frames}).")
  step = slerp if spherical else lerp
  ts = np.arange(frames) / frames
  out = [step(a, b, t) for a, b in zip(keypoints[:-1], keypoints[1:]) for t in ts]
  return np.stack(out + [keypoints[-1]]).astype(np.float32)


def truncate(latents, psi, mean):
  """The truncation trick as a pull towards the mean latent (Karras et al.
  2019): mean + psi (z - mean); psi = 1 leaves z, psi = 0 gives the mean.
  numpy or jax arrays (jit-able)."""
  return mean + psi * (latents - mean)


def principal_directions(activations, latents, k: int):
  """GANSpace (Harkonen et al. 2020): PCA of a generator's activations [n, F]
  for latents [n, d], the top k components mapped back to latent space by
  least squares. Returns (directions [k, d], their norms [k], explained
  variance ratios [k]); moving z by t * directions[i] moves the activations'
  coordinate on component i by about t standard deviations."""
  y = np.asarray(activations, np.float64)
  z = np.asarray(latents, np.float64)
  y = y - y.mean(0)
  _, s, vt = np.linalg.svd(y, full_matrices=False)
  k = min(k, len(s))
  coords = y @ vt[:k].T                      # [n, k] PCA coordinates
  std = coords.std(0)
  a, *_ = np.linalg.lstsq(coords / std, z - z.mean(0), rcond=None)  # [k, d]: per 1 std
  ratio = s[:k] ** 2 / np.sum(s ** 2)
  return a.astype(np.float32), np.linalg.norm(a, axis=1), ratio


def attribute_vector(latents_a, latents_b) -> np.ndarray:
  """mean(latents_b) - mean(latents_a): adding it moves an A towards B."""
  a, b = np.asarray(latents_a, np.float64), np.asarray(latents_b, np.float64)
  if not len(a) or not len(b):
    raise errors.InputError(f"An attribute vector needs latents of both sets (got {len(a)} and "
                     f"{len(b)}).")
  return (b.mean(0) - a.mean(0)).astype(np.float32)


def kl_per_dim(mean, logvar) -> np.ndarray:
  """Mean over examples of KL(q(z_i | x) || N(0, 1)) per latent dimension:
  how much each dimension carries; uninformative ones sit near 0."""
  mean, logvar = np.asarray(mean, np.float64), np.asarray(logvar, np.float64)
  return np.mean(0.5 * (np.exp(logvar) + mean ** 2 - 1.0 - logvar), axis=0)
