"""Paired image metrics, per image: PSNR, SSIM (Wang et al. 2004) and L1.

Images are float in [-1, 1] (genjax convention), NHWC; data range is 2.
"""
import jax
import jax.numpy as jnp
import numpy as np

from genjax import errors


MAX_PSNR = 100.0  # dB: an exact reproduction (MSE 0) scores this, not inf


def psnr_from_mse(mse, data_range: float = 2.0):
  """10 log10(range^2 / MSE), capped at MAX_PSNR so identical images (a flat
  patch, the known pixels of an inpainted one) do not make means infinite."""
  return jnp.minimum(10.0 * jnp.log10(data_range ** 2 / jnp.maximum(mse, 1e-30)), MAX_PSNR)


def psnr(a, b, data_range: float = 2.0):
  return psnr_from_mse(jnp.mean(jnp.square(a - b), axis=(1, 2, 3)), data_range)


def l1(a, b):
  return jnp.mean(jnp.abs(a - b), axis=(1, 2, 3))


def _gaussian_window(size: int, sigma: float):
  x = jnp.arange(size, dtype=jnp.float32) - (size - 1) / 2
  g = jnp.exp(-0.5 * (x / sigma) ** 2)
  return g / jnp.sum(g)


def _filter(x, window):
  """Separable 'valid' Gaussian filter of each channel of NHWC x."""
  c = x.shape[-1]
  k = window.shape[0]
  kh = jnp.tile(window.reshape(k, 1, 1, 1), (1, 1, 1, c))
  kw = jnp.tile(window.reshape(1, k, 1, 1), (1, 1, 1, c))
  dn = ("NHWC", "HWIO", "NHWC")
  x = jax.lax.conv_general_dilated(x, kh, (1, 1), "VALID", dimension_numbers=dn,
                                   feature_group_count=c)
  return jax.lax.conv_general_dilated(x, kw, (1, 1), "VALID", dimension_numbers=dn,
                                      feature_group_count=c)


def ssim(a, b, data_range: float = 2.0, window: int = 11, sigma: float = 1.5,
         k1: float = 0.01, k2: float = 0.03):
  """Mean SSIM per image with a Gaussian window (the reference settings of
  Wang et al.; skimage's gaussian_weights=True, use_sample_covariance=False)."""
  w = _gaussian_window(window, sigma)
  c1, c2 = (k1 * data_range) ** 2, (k2 * data_range) ** 2
  mu_a, mu_b = _filter(a, w), _filter(b, w)
  var_a = _filter(a * a, w) - mu_a ** 2
  var_b = _filter(b * b, w) - mu_b ** 2
  cov = _filter(a * b, w) - mu_a * mu_b
  s = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / (
      (mu_a ** 2 + mu_b ** 2 + c1) * (var_a + var_b + c2))
  return jnp.mean(s, axis=(1, 2, 3))


def paired_metrics(a_uint8, b_uint8) -> dict:
  """Per-image and mean PSNR (dB), SSIM and L1 of aligned uint8 image pairs."""
  if a_uint8.shape != b_uint8.shape:
    raise errors.InputError(f"Paired sets differ in shape: {a_uint8.shape} vs {b_uint8.shape}.")
  a, b = (jnp.asarray(x, jnp.float32) / 127.5 - 1.0 for x in (a_uint8, b_uint8))
  per = {"psnr": np.asarray(psnr(a, b)), "ssim": np.asarray(ssim(a, b)),
         "l1": np.asarray(l1(a, b))}
  out = {k: float(np.mean(v)) for k, v in per.items()}
  out["per_image"] = {k: v.tolist() for k, v in per.items()}
  return out
