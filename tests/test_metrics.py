"""Metrics against references and their defining properties."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg
from skimage.metrics import structural_similarity

from genjax import metrics


def features(n, d=16, shift=0.0, seed=0):
  """n draws of one correlated Gaussian (fixed mixing), shifted by `shift`."""
  mix = np.random.default_rng(100).normal(size=(d, d)) / np.sqrt(d)
  return np.random.default_rng(seed).normal(size=(n, d)) @ mix + shift


def scipy_frechet(mu1, c1, mu2, c2):
  covmean = scipy.linalg.sqrtm(c1 @ c2).real
  return float(np.sum((mu1 - mu2) ** 2) + np.trace(c1 + c2 - 2 * covmean))


def test_frechet_distance_matches_scipy_sqrtm_reference():
  a, b = features(500, seed=1), features(400, shift=0.3, seed=2)
  args = (a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))
  np.testing.assert_allclose(metrics.frechet_distance(*args), scipy_frechet(*args), rtol=1e-6)


def test_frechet_distance_of_a_set_with_itself_is_zero_and_grows_with_noise():
  a = features(2000, seed=3)
  s = metrics.GaussianStats(16).update(a)
  assert abs(metrics.frechet_distance(s.mean, s.cov, s.mean, s.cov)) < 1e-8
  rng = np.random.default_rng(4)
  dists = []
  for sigma in (0.1, 0.5, 1.0):
    n = metrics.GaussianStats(16).update(a + sigma * rng.normal(size=a.shape))
    dists.append(metrics.frechet_distance(s.mean, s.cov, n.mean, n.cov))
  assert 0 < dists[0] < dists[1] < dists[2]


def test_streaming_statistics_equal_batch_statistics(tmp_path):
  a = features(1001, seed=5)
  s = metrics.GaussianStats(16)
  for i in range(0, len(a), 97):
    s.update(a[i:i + 97])
  assert s.count == 1001
  np.testing.assert_allclose(s.mean, a.mean(0), rtol=1e-10, atol=1e-12)
  np.testing.assert_allclose(s.cov, np.cov(a, rowvar=False), rtol=1e-9, atol=1e-12)
  s.save(str(tmp_path / "stats.npz"), dataset="toy")
  loaded = metrics.GaussianStats.load(str(tmp_path / "stats.npz"))
  np.testing.assert_allclose(loaded.cov, s.cov)


def test_kid_is_near_zero_for_one_distribution_and_positive_for_two():
  real, same = features(1000, seed=6), features(1000, seed=7)
  mean, std = metrics.kernel_inception_distance(real, same, num_subsets=20, subset_size=500)
  assert abs(mean) < 3 * std + 1e-3
  shifted, _ = metrics.kernel_inception_distance(real, features(1000, shift=0.5, seed=8),
                                                 num_subsets=20, subset_size=500)
  assert shifted > 10 * max(abs(mean), std)


def test_inception_score_of_uniform_and_confident_predictions():
  assert metrics.inception_score(np.full((100, 10), 0.1), splits=5)[0] == pytest.approx(1.0)
  confident = np.eye(10)[np.arange(1000) % 10]  # each class equally often, certain
  assert metrics.inception_score(confident, splits=5)[0] == pytest.approx(10.0, rel=0.05)
  # a class-sorted set scores like a shuffled one
  sorted_probs = np.eye(10)[np.sort(np.arange(1000) % 10)]
  assert metrics.inception_score(sorted_probs, splits=10)[0] == pytest.approx(10.0, rel=0.05)


def test_precision_recall_density_coverage_identical_and_disjoint_sets():
  a = features(300, seed=9)
  same = metrics.precision_recall_density_coverage(a, a, k=5)
  assert same["precision"] == same["recall"] == same["coverage"] == 1.0
  assert same["density"] >= 1.0
  far = metrics.precision_recall_density_coverage(a, a + 100.0, k=5)
  assert far["precision"] == far["recall"] == far["coverage"] == far["density"] == 0.0


def test_psnr_and_l1_known_values():
  a = np.zeros((2, 8, 8, 3), np.float32)
  b = a + 0.1
  np.testing.assert_allclose(metrics.psnr(a, b), 10 * np.log10(4 / 0.01), rtol=1e-5)
  np.testing.assert_allclose(metrics.l1(a, b), 0.1, rtol=1e-6)
  # identical images (a flat patch, the kept pixels of an inpainted one): capped, not inf
  np.testing.assert_array_equal(metrics.psnr(a, a), metrics.MAX_PSNR)
  # the same functions on JAX arrays under jit (a train step's summaries)
  jitted = jax.jit(lambda x, y: (metrics.psnr(x, y), metrics.l1(x, y)))
  np.testing.assert_allclose(jitted(jnp.asarray(a), jnp.asarray(b)),
                             (metrics.psnr(a, b), metrics.l1(a, b)), rtol=1e-5)
  np.testing.assert_array_equal(jitted(jnp.asarray(a), jnp.asarray(a))[0], metrics.MAX_PSNR)


def test_ssim_matches_scikit_image():
  rng = np.random.default_rng(10)
  a = rng.uniform(-1, 1, size=(2, 32, 32, 3)).astype(np.float32)
  b = np.clip(a + 0.2 * rng.normal(size=a.shape), -1, 1).astype(np.float32)
  ours = np.asarray(metrics.ssim(a, b))
  ref = [structural_similarity(x, y, data_range=2.0, channel_axis=-1, gaussian_weights=True,
                               sigma=1.5, use_sample_covariance=False) for x, y in zip(a, b)]
  np.testing.assert_allclose(ours, ref, rtol=1e-4)
  np.testing.assert_allclose(metrics.ssim(a, a), 1.0, rtol=1e-6)


def test_memorization_flags_copies_of_training_images():
  rng = np.random.default_rng(11)
  train = rng.integers(0, 255, (200, 8, 8, 1), np.uint8)
  heldout = rng.integers(0, 255, (100, 8, 8, 1), np.uint8)
  fresh = rng.integers(0, 255, (100, 8, 8, 1), np.uint8)
  copies = train[:100].copy()
  copies[:, 0, 0, 0] ^= 1  # near-identical copies
  fresh_result = metrics.memorization(fresh, train, heldout, quantile=0.05)
  copy_result = metrics.memorization(copies, train, heldout, quantile=0.05)
  assert copy_result["pixel"]["near_copy_fraction"] == 1.0
  assert fresh_result["pixel"]["near_copy_fraction"] < 0.2
  assert copy_result["closest_pairs"][0][1] == copy_result["closest_pairs"][0][0]
  grid = metrics.closest_pairs_grid(copies, train, copy_result["closest_pairs"])
  assert grid.ndim == 3 and grid.dtype == np.uint8


def test_nearest_neighbour_matches_brute_force():
  rng = np.random.default_rng(12)
  q, k = rng.normal(size=(50, 7)), rng.normal(size=(80, 7))
  d, i = metrics.nearest(q, k, block=16)
  full = np.linalg.norm(q[:, None] - k[None], axis=-1)
  np.testing.assert_array_equal(i, full.argmin(1))
  np.testing.assert_allclose(d, full.min(1), rtol=1e-4, atol=1e-4)
