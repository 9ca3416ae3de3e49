"""VAE training: ELBO with a Bernoulli or Gaussian decoder, beta weighting of
the analytic KL, and held-out likelihood bounds in nats/image and bits/dim.

Likelihood conventions (stated in every result):
- bernoulli: pixels binarised at 0.5 when vae.binarize (the usual "binarised
  MNIST"), otherwise the [0, 1] intensity is the cross-entropy target;
- gaussian: 8-bit data with uniform dequantisation, so the reported bound is on
  the discrete likelihood: nats = -ELBO_continuous - D log(bin width).
"""
import math

import flax
import jax
import jax.numpy as jnp

from genjax import models
from genjax.methods import common

BIN_WIDTH = 2.0 / 255.0  # one uint8 step in [-1, 1] units


@flax.struct.dataclass
class VAEState:
  step: jax.Array
  rng: jax.Array
  net: common.Net
  ema_params: dict  # used for evaluation and sampling


def gaussian_kl(mean, logvar):
  """KL(N(mean, exp(logvar)) || N(0, I)) per example, summed over dims."""
  return 0.5 * jnp.sum(jnp.exp(logvar) + jnp.square(mean) - 1.0 - logvar, axis=-1)


def bernoulli_nll(logits, target):
  """-log Bernoulli(target | sigmoid(logits)) per example, summed over pixels."""
  per_pixel = jax.nn.softplus(logits) - target * logits
  return jnp.sum(per_pixel.reshape(per_pixel.shape[0], -1), axis=-1)


def gaussian_nll(mean, log_scale, x):
  """-log N(x | mean, exp(log_scale)^2) per example, summed over pixels."""
  z = (x - mean) * jnp.exp(-log_scale)
  per_pixel = 0.5 * jnp.square(z) + log_scale + 0.5 * math.log(2 * math.pi)
  return jnp.sum(per_pixel.reshape(per_pixel.shape[0], -1), axis=-1)


class VAE:
  """Conv VAE trained on the negative ELBO, -E[log p(x|z)] + beta KL."""
  summary_keys = ("loss", "kl")  # shown on the progress bar

  def __init__(self, config):
    self.config = config
    self.model = models.build(config.model)
    self.decoder = self.model.decoder
    if self.decoder not in ("bernoulli", "gaussian"):
      raise ValueError(f"Unknown decoder {self.decoder!r} (config key model.decoder); "
                       "use bernoulli or gaussian.")
    self.tx = common.make_optimizer(config.optim)
    self.images_per_step = config.train.batch_size

  def init_state(self, rng, batch) -> VAEState:
    rng, k_init, k_z = jax.random.split(rng, 3)
    x = jnp.zeros(batch["image"].shape, jnp.float32)
    net = common.init_net(self.model, self.tx, {"params": k_init}, x, k_z)
    return VAEState(step=jnp.zeros((), jnp.int32), rng=rng, net=net,
                    ema_params=net.params)

  def _terms(self, params, x, rng):
    """Per-image (reconstruction NLL, KL) in nats on the discrete data."""
    k_z, k_u = jax.random.split(rng)
    out, mean, logvar = self.model.apply({"params": params}, x, k_z)
    if self.decoder == "bernoulli":
      target = (x > 0).astype(jnp.float32) if self.config.vae.binarize else (x + 1) / 2
      rec = bernoulli_nll(out, target)
    else:
      y = x + BIN_WIDTH * (jax.random.uniform(k_u, x.shape) - 0.5)
      rec = gaussian_nll(out, params["log_scale"], y) - x[0].size * math.log(BIN_WIDTH)
    return rec, gaussian_kl(mean, logvar)

  def train_step(self, state: VAEState, batch):
    rng = jax.random.fold_in(state.rng, state.step)
    beta = self.config.vae.beta

    def loss_fn(params):
      rec, kl = self._terms(params, batch["image"], rng)
      return jnp.mean(rec + beta * kl), (rec, kl)

    (loss, (rec, kl)), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.net.params)
    net = common.apply_grads(state.net, self.tx, grads, state.net.batch_stats)
    ema = common.ema_update(state.ema_params, net.params, self.config.vae.ema_decay,
                           state.step)
    nats = jnp.mean(rec + kl)
    metrics = {"loss": loss, "rec": jnp.mean(rec), "kl": jnp.mean(kl), "nats": nats,
               "bits_per_dim": nats / (batch["image"][0].size * math.log(2)),
               "grad_norm": common.global_norm(grads)}
    return state.replace(step=state.step + 1, net=net, ema_params=ema), metrics

  def eval_step(self, state: VAEState, batch, rng):
    """Sums over the real rows (batch["mask"]) of -ELBO and its parts."""
    rec, kl = self._terms(state.ema_params, batch["image"], rng)
    m = batch["mask"]
    return {"nats_sum": jnp.sum(m * (rec + kl)), "rec_sum": jnp.sum(m * rec),
            "kl_sum": jnp.sum(m * kl), "count": jnp.sum(m)}

  def finalize_eval(self, sums, image_shape):
    n = sums["count"]
    nats = sums["nats_sum"] / n
    return {"nats": nats, "bits_per_dim": nats / (math.prod(image_shape) * math.log(2)),
            "rec": sums["rec_sum"] / n, "kl": sums["kl_sum"] / n, "count": int(n),
            "likelihood": (f"{self.decoder} decoder, "
                           + ("binarised pixels" if self.decoder == "bernoulli"
                              and self.config.vae.binarize else "8-bit discrete bound"))}

  def sample(self, state: VAEState, rng, n: int):
    z = jax.random.normal(rng, (n, self.model.latent_dim))
    out = self.model.apply({"params": state.ema_params}, z, method=self.model.decode)
    if self.decoder == "bernoulli":
      return 2.0 * jax.nn.sigmoid(out) - 1.0
    return jnp.clip(out, -1.0, 1.0)
