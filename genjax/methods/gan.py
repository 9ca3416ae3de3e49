"""GAN training: non-saturating, hinge, least-squares and Wasserstein losses,
gradient penalty (WGAN-GP), R1 penalty, n_critic D steps per G step, EMA of G."""
from typing import Callable, NamedTuple

import flax
import jax
import jax.numpy as jnp

from genjax import models
from genjax.methods import common
from genjax.registry import Registry

class Loss(NamedTuple):
  """d(real_logits, fake_logits) and g(fake_logits), each a scalar mean."""
  d: Callable
  g: Callable


LOSSES = Registry("GAN loss", "gan.loss")
LOSSES["ns"] = Loss(  # non-saturating (Goodfellow et al. 2014)
    d=lambda r, f: jnp.mean(jax.nn.softplus(-r)) + jnp.mean(jax.nn.softplus(f)),
    g=lambda f: jnp.mean(jax.nn.softplus(-f)))
LOSSES["hinge"] = Loss(
    d=lambda r, f: jnp.mean(jax.nn.relu(1.0 - r)) + jnp.mean(jax.nn.relu(1.0 + f)),
    g=lambda f: -jnp.mean(f))
LOSSES["lsgan"] = Loss(  # least squares (Mao et al. 2017), a=0, b=c=1
    d=lambda r, f: 0.5 * jnp.mean(jnp.square(r - 1.0)) + 0.5 * jnp.mean(jnp.square(f)),
    g=lambda f: 0.5 * jnp.mean(jnp.square(f - 1.0)))
LOSSES["wgan"] = Loss(  # Wasserstein critic; add gan.gp_weight=10 for WGAN-GP
    d=lambda r, f: jnp.mean(f) - jnp.mean(r),
    g=lambda f: -jnp.mean(f))


def gradient_penalty(d_fn, real, fake, rng):
  """WGAN-GP: E[(||grad D(x_hat)|| - 1)^2] at random interpolates x_hat."""
  eps = jax.random.uniform(rng, (real.shape[0], 1, 1, 1))
  x_hat = eps * real + (1.0 - eps) * fake
  grads = jax.grad(lambda x: jnp.sum(d_fn(x)))(x_hat)
  norms = jnp.sqrt(jnp.sum(jnp.square(grads), axis=(1, 2, 3)) + 1e-12)
  return jnp.mean(jnp.square(norms - 1.0))


def r1_penalty(d_fn, real):
  """R1 (Mescheder et al. 2018): E[||grad D(x_real)||^2]."""
  grads = jax.grad(lambda x: jnp.sum(d_fn(x)))(real)
  return jnp.mean(jnp.sum(jnp.square(grads), axis=(1, 2, 3)))


@flax.struct.dataclass
class GANState:
  step: jax.Array
  rng: jax.Array
  g: common.Net
  d: common.Net
  ema_params: dict  # exponential moving average of g.params, used for sampling


class GAN:
  """Unconditional GAN; `config.generator` / `config.discriminator` name models."""

  def __init__(self, config):
    self.config = config
    c = config.gan
    self.z_dim, self.n_critic = c.z_dim, c.n_critic
    self.loss = LOSSES[c.loss]
    self.G = models.build(config.generator)
    self.D = models.build(config.discriminator)
    self.tx_g = common.make_optimizer(config.optim_g)
    self.tx_d = common.make_optimizer(config.optim_d)
    self.images_per_step = config.train.batch_size * self.n_critic

  def init_state(self, rng, batch) -> GANState:
    rng, kg, kd = jax.random.split(rng, 3)
    z = jnp.zeros((batch["image"].shape[0], self.z_dim))
    g = common.init_net(self.G, self.tx_g, kg, z, train=False)
    d = common.init_net(self.D, self.tx_d, kd, batch["image"], train=False)
    return GANState(step=jnp.zeros((), jnp.int32), rng=rng, g=g, d=d,
                    ema_params=g.params)

  def _d_apply(self, params, batch_stats, x):
    """D in train mode; returns (logits, updated batch_stats)."""
    logits, mut = self.D.apply(common.variables(params, batch_stats), x, train=True,
                               mutable=["batch_stats"])
    return logits, mut.get("batch_stats", batch_stats)

  def _generate(self, params, batch_stats, z, train=True):
    """G; returns (images, batch_stats updated when training)."""
    if not train:
      return self.G.apply(common.variables(params, batch_stats), z, train=False), batch_stats
    images, mut = self.G.apply(common.variables(params, batch_stats), z, train=True,
                               mutable=["batch_stats"])
    return images, mut.get("batch_stats", batch_stats)

  def _d_step(self, state, real, fake, rng):
    """One D update on a real batch and a (constant) fake batch."""
    c = self.config.gan
    d = state.d

    def loss_fn(params):
      real_logits, bs = self._d_apply(params, d.batch_stats, real)
      fake_logits, bs = self._d_apply(params, bs, fake)
      loss = self.loss.d(real_logits, fake_logits)
      aux = {"d_real": jnp.mean(real_logits), "d_fake": jnp.mean(fake_logits),
             "d_adv": loss}
      d_fn = lambda x: self._d_apply(params, bs, x)[0]
      if c.gp_weight:
        aux["gp"] = gradient_penalty(d_fn, real, fake, rng)
        loss = loss + c.gp_weight * aux["gp"]
      if c.r1_weight:
        aux["r1"] = r1_penalty(d_fn, real)
        loss = loss + 0.5 * c.r1_weight * aux["r1"]
      return loss, (bs, aux)

    (loss, (bs, aux)), grads = jax.value_and_grad(loss_fn, has_aux=True)(d.params)
    aux.update(d_loss=loss, d_grad_norm=common.global_norm(grads))
    return state.replace(d=common.apply_grads(d, self.tx_d, grads, bs)), aux

  def train_step(self, state: GANState, batch):
    """n_critic D updates, each on its own slice of the batch and fresh z, then
    one G update through the updated D on the last D step's fake batch (as in
    the reference DCGAN implementation: G runs forward once per step)."""
    x = batch["image"]
    b = x.shape[0] // self.n_critic
    reals = x.reshape((b, self.n_critic) + x.shape[1:]).swapaxes(0, 1)
    keys = jax.random.split(jax.random.fold_in(state.rng, state.step), self.n_critic)
    g = state.g
    for i in range(self.n_critic):
      k_z, k_penalty = jax.random.split(keys[i])
      z = jax.random.normal(k_z, (b, self.z_dim))
      if i < self.n_critic - 1:
        fake, _ = self._generate(g.params, g.batch_stats, z)
      else:  # keep G's VJP for the G update
        fake, g_vjp, g_batch_stats = jax.vjp(
            lambda p: self._generate(p, g.batch_stats, z), g.params, has_aux=True)
      state, metrics = self._d_step(state, reals[i], jax.lax.stop_gradient(fake),
                                    k_penalty)

    d = state.d
    g_loss_fn = lambda f: self.loss.g(self._d_apply(d.params, d.batch_stats, f)[0])
    g_loss, fake_grad = jax.value_and_grad(g_loss_fn)(fake)
    (grads,) = g_vjp(fake_grad)
    g = common.apply_grads(g, self.tx_g, grads, g_batch_stats)
    ema = common.ema_update(state.ema_params, g.params, self.config.gan.ema_decay,
                            state.step)
    metrics.update(g_loss=g_loss, g_grad_norm=common.global_norm(grads))
    return state.replace(step=state.step + 1, g=g, ema_params=ema), metrics

  summary_keys = ("d_loss", "g_loss")  # shown on the progress bar
  eval_step = None  # sample quality is measured by genjax evaluators

  def sample(self, state: GANState, rng, n: int, use_ema: bool = True):
    z = jax.random.normal(rng, (n, self.z_dim))
    params = state.ema_params if use_ema else state.g.params
    return self._generate(params, state.g.batch_stats, z, train=False)[0]
