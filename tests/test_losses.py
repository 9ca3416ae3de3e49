"""Loss functions against values computed by hand."""
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from genjax import data
from genjax.methods import gan, vae

REAL = jnp.array([2.0, -1.0])
FAKE = jnp.array([0.5, -3.0])


def sp(x):  # softplus, by hand
  return math.log1p(math.exp(x))


def test_nonsaturating_loss_matches_hand_values():
  d = (sp(-2.0) + sp(1.0)) / 2 + (sp(0.5) + sp(-3.0)) / 2
  g = (sp(-0.5) + sp(3.0)) / 2
  np.testing.assert_allclose(gan.LOSSES["ns"].d(REAL, FAKE), d, rtol=1e-6)
  np.testing.assert_allclose(gan.LOSSES["ns"].g(FAKE), g, rtol=1e-6)


def test_hinge_loss_matches_hand_values():
  # real: relu(1-2)=0, relu(1+1)=2 -> 1;  fake: relu(1.5)=1.5, relu(-2)=0 -> 0.75
  np.testing.assert_allclose(gan.LOSSES["hinge"].d(REAL, FAKE), 1.75, rtol=1e-6)
  np.testing.assert_allclose(gan.LOSSES["hinge"].g(FAKE), 1.25, rtol=1e-6)


def test_least_squares_loss_matches_hand_values():
  # real: 0.5*mean((1)^2, (-2)^2) = 1.25; fake: 0.5*mean(0.25, 9) = 2.3125
  np.testing.assert_allclose(gan.LOSSES["lsgan"].d(REAL, FAKE), 1.25 + 2.3125, rtol=1e-6)
  # g: 0.5*mean((-0.5)^2, (-4)^2) = 0.5*8.125
  np.testing.assert_allclose(gan.LOSSES["lsgan"].g(FAKE), 4.0625, rtol=1e-6)


def test_wasserstein_loss_matches_hand_values():
  np.testing.assert_allclose(gan.LOSSES["wgan"].d(REAL, FAKE), -1.25 - 0.5, rtol=1e-6)
  np.testing.assert_allclose(gan.LOSSES["wgan"].g(FAKE), 1.25, rtol=1e-6)


def test_unknown_loss_names_the_config_key():
  with pytest.raises(ValueError, match="gan.loss.*hinge"):
    gan.LOSSES["nonsense"]


def test_gradient_penalties_of_a_linear_critic():
  # D(x) = <w, x> has gradient w everywhere: GP = (|w| - 1)^2, R1 = |w|^2.
  w = jnp.full((1, 2, 2, 1), 0.25)  # |w| = 0.5
  d_fn = lambda x: jnp.sum(x * w, axis=(1, 2, 3))
  real = jax.random.normal(jax.random.PRNGKey(0), (3, 2, 2, 1))
  fake = jax.random.normal(jax.random.PRNGKey(1), (3, 2, 2, 1))
  np.testing.assert_allclose(gan.gradient_penalty(d_fn, real, fake, jax.random.PRNGKey(2)),
                             0.25, rtol=1e-5)
  np.testing.assert_allclose(gan.r1_penalty(d_fn, real), 0.25, rtol=1e-5)


def test_gaussian_kl_matches_closed_form_by_hand():
  mean = jnp.array([[1.0, 0.0]])
  logvar = jnp.array([[0.0, math.log(4.0)]])
  # 0.5 * [(1 + 1 - 1 - 0) + (4 + 0 - 1 - ln 4)]
  expected = 0.5 * (1.0 + 3.0 - math.log(4.0))
  np.testing.assert_allclose(vae.gaussian_kl(mean, logvar), [expected], rtol=1e-6)


def test_free_bits_and_kl_warmup_by_hand():
  kl_dims = jnp.array([[0.2, 3.0], [0.4, 1.0]])  # [batch, latent dims]; dim means 0.3, 2.0
  np.testing.assert_allclose(vae.kl_loss(kl_dims), 2.3, rtol=1e-6)
  np.testing.assert_allclose(vae.kl_loss(kl_dims, free_bits=0.5), 0.5 + 2.0, rtol=1e-6)
  from tests.conftest import smoke
  cfg = smoke("cvae", {"vae.beta": 2.0, "vae.kl_warmup": 10})
  method = vae.VAE(cfg, data.DataInfo({"image": data.image(28, 1), "label": data.LABEL},
                                      [str(i) for i in range(10)]))
  np.testing.assert_allclose([method.kl_weight(s) for s in (0, 5, 10, 20)], [0, 1, 2, 2])


def test_bernoulli_nll_matches_log_probabilities():
  logits = jnp.array([[[[0.0]], [[2.0]]]])  # shape (1, 2, 1, 1)
  target = jnp.array([[[[1.0]], [[0.0]]]])
  p = 1 / (1 + math.exp(-2.0))
  expected = -math.log(0.5) - math.log(1 - p)
  np.testing.assert_allclose(vae.bernoulli_nll(logits, target), [expected], rtol=1e-6)


def test_gaussian_nll_matches_scipy():
  rng = np.random.default_rng(0)
  x = rng.normal(size=(2, 3, 3, 1)).astype(np.float32)
  mean = rng.normal(size=x.shape).astype(np.float32)
  log_scale = np.array([0.3], np.float32)
  expected = -stats.norm.logpdf(x, mean, math.exp(0.3)).reshape(2, -1).sum(-1)
  np.testing.assert_allclose(vae.gaussian_nll(mean, log_scale, x), expected, rtol=1e-5)


def test_iwae_bound_with_one_sample_is_the_elbo_and_tightens_with_more():
  from tests.conftest import load_config
  from genjax import data
  from genjax.methods import VAE
  cfg = load_config("vae", "smoke")
  m = VAE(cfg, data.DataInfo({"image": data.image(28, 1)}))
  x = jnp.asarray(np.random.default_rng(0).uniform(-1, 1, (4, 28, 28, 1)), jnp.float32)
  state = jax.jit(m.init_state)(jax.random.PRNGKey(0), {"image": x})
  rng = jax.random.PRNGKey(1)
  iwae = jax.jit(m.iwae_nats, static_argnums=3)
  one = iwae(state.ema_params, x, rng, 1)

  @jax.jit  # one program, not one per operation
  def single_sample_elbo(params, x, rng):
    """k=1 with the same noise is exactly -ELBO = rec + KL (single-sample estimate)."""
    k_u, k_z = jax.random.split(rng)
    eps = jax.random.split(k_z, 1)[0]
    mean, logvar = m.model.apply({"params": params}, x, method=m.model.encode)
    z = mean + jnp.exp(0.5 * logvar) * jax.random.normal(eps, mean.shape)
    out = m.model.apply({"params": params}, z, method=m.model.decode)
    rec = m._nll(params, x, out, k_u)
    return rec + (jnp.sum(-0.5 * ((z - mean) ** 2) / jnp.exp(logvar) - 0.5 * logvar, -1)
                  - jnp.sum(-0.5 * z ** 2, -1))

  np.testing.assert_allclose(one, single_sample_elbo(state.ema_params, x, rng), rtol=1e-5)
  many = iwae(state.ema_params, x, rng, 64)
  elbo = np.mean([iwae(state.ema_params, x, jax.random.PRNGKey(i), 1) for i in range(64)])
  assert float(jnp.mean(many)) < elbo
