"""Paired image metrics, per image: PSNR, SSIM (Wang et al. 2004) and L1.

Images are float in [-1, 1] (genjax convention), NHWC; data range is 2.
Evaluation computes them in NumPy (float64, SSIM's Gaussian filter from
scipy.ndimage: whole photos of any size, nothing to compile per shape); PSNR
and L1 of JAX arrays stay in JAX, so a train step's summaries use the same
functions under jit.
"""
import jax
import jax.numpy as jnp
import numpy as np

from genjax import errors


MAX_PSNR = 100.0  # dB: an exact reproduction (MSE 0) scores this, not inf


def _xp(x):
  """jax.numpy for JAX arrays (and tracers), else NumPy."""
  return jnp if isinstance(x, jax.Array) else np


def psnr_from_mse(mse, data_range: float = 2.0):
  """10 log10(range^2 / MSE), capped at MAX_PSNR so identical images (a flat
  patch, the known pixels of an inpainted one) do not make means infinite."""
  xp = _xp(mse)
  return xp.minimum(10.0 * xp.log10(data_range ** 2 / xp.maximum(mse, 1e-30)), MAX_PSNR)


def psnr(a, b, data_range: float = 2.0):
  xp = _xp(a)
  return psnr_from_mse(xp.mean(xp.square(a - b), axis=(1, 2, 3)), data_range)


def l1(a, b):
  xp = _xp(a)
  return xp.mean(xp.abs(a - b), axis=(1, 2, 3))


def ssim(a, b, data_range: float = 2.0, window: int = 11, sigma: float = 1.5,
         k1: float = 0.01, k2: float = 0.03):
  """Mean SSIM per image (NumPy, float64) with a Gaussian window, over the
  positions where it fits whole (the reference settings of Wang et al.;
  skimage's gaussian_weights=True, use_sample_covariance=False)."""
  from scipy import ndimage  # here: importing it costs every process 0.2 s at start-up
  a, b = (np.asarray(x, np.float64) for x in (a, b))
  x = np.arange(window) - (window - 1) / 2
  g = np.exp(-0.5 * (x / sigma) ** 2)
  g /= g.sum()
  r = window // 2

  def filt(v):  # separable, then cropped to the 'valid' positions
    v = ndimage.correlate1d(ndimage.correlate1d(v, g, axis=1, mode="constant"), g, axis=2,
                            mode="constant")
    return v[:, r:v.shape[1] - r, r:v.shape[2] - r]

  c1, c2 = (k1 * data_range) ** 2, (k2 * data_range) ** 2
  mu_a, mu_b = filt(a), filt(b)
  var_a = filt(a * a) - mu_a ** 2
  var_b = filt(b * b) - mu_b ** 2
  cov = filt(a * b) - mu_a * mu_b
  s = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / (
      (mu_a ** 2 + mu_b ** 2 + c1) * (var_a + var_b + c2))
  return s.mean(axis=(1, 2, 3))


def paired_metrics(a_uint8, b_uint8) -> dict:
  """Per-image and mean PSNR (dB), SSIM and L1 of aligned uint8 image pairs."""
  if a_uint8.shape != b_uint8.shape:
    raise errors.InputError(f"Paired sets differ in shape: {a_uint8.shape} vs {b_uint8.shape}.")
  a, b = (np.asarray(x, np.float64) / 127.5 - 1.0 for x in (a_uint8, b_uint8))
  per = {"psnr": np.asarray(psnr(a, b)), "ssim": np.asarray(ssim(a, b)),
         "l1": np.asarray(l1(a, b))}
  out = {k: float(np.mean(v)) for k, v in per.items()}
  out["per_image"] = {k: v.tolist() for k, v in per.items()}
  return out
