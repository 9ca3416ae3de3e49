"""VAE training: ELBO with a Bernoulli or Gaussian decoder, beta weighting of
the analytic KL, and held-out likelihood bounds in nats/image and bits/dim.

Likelihood conventions (stated in every result):
- bernoulli: pixels binarised at 0.5 when vae.binarize (the usual "binarised
  MNIST"), otherwise the [0, 1] intensity is the cross-entropy target;
- gaussian: 8-bit data with uniform dequantisation, so the reported bound is on
  the discrete likelihood: nats = -ELBO_continuous - D log(bin width).
"""
import math

import jax
import jax.numpy as jnp

from genjax import errors, models
from genjax.methods import common

BIN_WIDTH = 2.0 / 255.0  # one uint8 step in [-1, 1] units


VAEState = common.NetState  # EMA params are used for evaluation and sampling


def gaussian_kl_dims(mean, logvar):
  """KL(N(mean, exp(logvar)) || N(0, I)) per example and latent dimension."""
  return 0.5 * (jnp.exp(logvar) + jnp.square(mean) - 1.0 - logvar)


def gaussian_kl(mean, logvar):
  """KL(N(mean, exp(logvar)) || N(0, I)) per example, summed over dims."""
  return jnp.sum(gaussian_kl_dims(mean, logvar), axis=-1)


def kl_loss(kl_dims, free_bits: float = 0.0):
  """The KL term of the training loss from per-example, per-dimension KLs
  [B, D]: their batch mean summed over dimensions, where with free bits
  (Kingma et al. 2016) each dimension's batch-mean KL counts at least
  `free_bits` nats (so the loss does not push it below that)."""
  per_dim = jnp.mean(kl_dims, 0)
  return jnp.sum(jnp.maximum(free_bits, per_dim) if free_bits else per_dim)


def bernoulli_nll(logits, target):
  """-log Bernoulli(target | sigmoid(logits)) per example, summed over pixels."""
  per_pixel = jax.nn.softplus(logits) - target * logits
  return jnp.sum(per_pixel.reshape(per_pixel.shape[0], -1), axis=-1)


def gaussian_nll(mean, log_scale, x):
  """-log N(x | mean, exp(log_scale)^2) per example, summed over pixels."""
  z = (x - mean) * jnp.exp(-log_scale)
  per_pixel = 0.5 * jnp.square(z) + log_scale + 0.5 * math.log(2 * math.pi)
  return jnp.sum(per_pixel.reshape(per_pixel.shape[0], -1), axis=-1)


class VAE(common.LatentGenerator):
  """Conv VAE trained on the negative ELBO, -E[log p(x|z)] + beta KL. With
  model.cond="concat" a conditional VAE: encoder and decoder see the label, and
  every likelihood it reports is conditional, -log p(x | c)."""
  summary_keys = ("loss", "kl")  # shown on the progress bar

  def __init__(self, config, info):
    super().__init__(config, info)
    conditional = config.model.get("cond", "none") != "none"
    self.num_classes = info.num_classes if conditional else 0
    if conditional:
      self.needs = ("image", "label")
    self.model = models.build(config.model, **(
        {"num_classes": self.num_classes} if conditional else {}))
    self.decoder = self.model.decoder
    self.latent_dim = self.model.latent_dim
    if self.decoder not in ("bernoulli", "gaussian"):
      raise errors.InputError(f"Unknown decoder {self.decoder!r} (config key model.decoder); "
                       "use bernoulli or gaussian.")
    self.tx = self.optimizer("optim")

  def init_state(self, rng, batch) -> VAEState:
    rng, k_init, k_z = jax.random.split(rng, 3)
    x = jnp.zeros(batch["image"].shape, jnp.float32)
    labels = jnp.zeros(x.shape[:1], jnp.int32)
    net = common.init_net(self.model, self.tx, {"params": k_init}, x, k_z, labels)
    return VAEState(step=jnp.zeros((), jnp.int32), rng=rng, net=net,
                    ema_params=net.params)

  def _nll(self, params, x, out, k_u):
    """-log p(x | z) per image in nats on the discrete data, given decoder output."""
    if self.decoder == "bernoulli":
      target = (x > 0).astype(jnp.float32) if self.config.vae.binarize else (x + 1) / 2
      return bernoulli_nll(out, target)
    y = x + BIN_WIDTH * (jax.random.uniform(k_u, x.shape) - 0.5)
    return gaussian_nll(out, params["log_scale"], y) - x[0].size * math.log(BIN_WIDTH)

  def _labels(self, batch):
    return batch["label"] if self.num_classes else None

  def _terms(self, params, x, rng, labels=None, sum_kl=True):
    """Per-image (reconstruction NLL, KL) in nats on the discrete data; the KL
    per latent dimension [B, D] when not sum_kl."""
    k_z, k_u = jax.random.split(rng)
    out, mean, logvar = self.model.apply({"params": params}, x, k_z, labels)
    kl = (gaussian_kl if sum_kl else gaussian_kl_dims)(mean, logvar)
    return self._nll(params, x, out, k_u), kl

  def iwae_nats(self, params, x, rng, k: int, labels=None):
    """-log (1/k sum_i p(x, z_i) / q(z_i | x)), z_i ~ q(z | x): the importance
    weighted bound (Burda et al. 2016) per image; k=1 is the ELBO, and the
    bound tightens as k grows. Conditional on `labels` for a conditional VAE."""
    mean, logvar = self.model.apply({"params": params}, x, labels, method=self.model.encode)
    k_u, k_z = jax.random.split(rng)
    half_log_2pi = 0.5 * math.log(2 * math.pi)

    def log_weight(key):
      eps = jax.random.normal(key, mean.shape)
      z = mean + jnp.exp(0.5 * logvar) * eps
      out = self.model.apply({"params": params}, z, labels, method=self.model.decode)
      log_pz = jnp.sum(-0.5 * z ** 2 - half_log_2pi, -1)
      log_qz = jnp.sum(-0.5 * eps ** 2 - 0.5 * logvar - half_log_2pi, -1)
      return -self._nll(params, x, out, k_u) + log_pz - log_qz

    log_w = jax.lax.map(log_weight, jax.random.split(k_z, k))  # (k, batch)
    return -(jax.scipy.special.logsumexp(log_w, axis=0) - math.log(k))

  def kl_weight(self, step):
    """vae.beta, reached linearly over the first vae.kl_warmup steps."""
    c = self.config.vae
    warmup = c.get("kl_warmup", 0)
    return c.beta * (jnp.minimum(1.0, step / warmup) if warmup else 1.0)

  def train_step(self, state: VAEState, batch):
    rng = jax.random.fold_in(state.rng, state.step)
    beta = self.kl_weight(state.step)
    free_bits = self.config.vae.get("free_bits", 0.0)

    def loss_fn(params):
      rec, kl_dims = self._terms(params, batch["image"], rng, self._labels(batch), sum_kl=False)
      return (jnp.mean(rec) + beta * kl_loss(kl_dims, free_bits),
              (rec, jnp.sum(kl_dims, -1)))

    (loss, (rec, kl)), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.net.params)
    net = common.apply_grads(state.net, self.tx, grads, state.net.batch_stats)
    ema = common.ema_update(state.ema_params, net.params, self.config.vae.ema_decay,
                           state.step)
    nats = jnp.mean(rec + kl)
    metrics = {"loss": loss, "rec": jnp.mean(rec), "kl": jnp.mean(kl), "nats": nats,
               "kl_weight": beta,
               "bits_per_dim": nats / (batch["image"][0].size * math.log(2)),
               "grad_norm": common.global_norm(grads)}
    return state.replace(step=state.step + 1, net=net, ema_params=ema), metrics

  def eval_step(self, state: VAEState, batch, rng):
    """Sums over the real rows (batch["valid"]) of -ELBO and its parts."""
    k_elbo, k_iwae = jax.random.split(rng)
    rec, kl = self._terms(state.ema_params, batch["image"], k_elbo, self._labels(batch))
    m = batch["valid"]
    sums = {"nats_sum": jnp.sum(m * (rec + kl)), "rec_sum": jnp.sum(m * rec),
            "kl_sum": jnp.sum(m * kl), "count": jnp.sum(m)}
    if self.config.vae.iwae_k:
      sums["iwae_sum"] = jnp.sum(m * self.iwae_nats(state.ema_params, batch["image"], k_iwae,
                                                    self.config.vae.iwae_k,
                                                    self._labels(batch)))
    return sums

  def finalize_eval(self, sums, image_shape):
    n = sums["count"]
    to_bits = 1.0 / (math.prod(image_shape) * math.log(2))
    nats = sums["nats_sum"] / n
    out = {"nats": nats, "bits_per_dim": nats * to_bits,
           "rec": sums["rec_sum"] / n, "kl": sums["kl_sum"] / n, "count": int(n),
           "likelihood": (f"{self.decoder} decoder, "
                          + ("binarised pixels" if self.decoder == "bernoulli"
                             and self.config.vae.binarize else "8-bit discrete bound")
                          + (", conditional on the class label: -log p(x | c)"
                             if self.num_classes else ""))}
    if "iwae_sum" in sums:
      out.update(iwae_nats=sums["iwae_sum"] / n, iwae_bits_per_dim=sums["iwae_sum"] / n * to_bits,
                 iwae_k=self.config.vae.iwae_k)
    return out

  def generate_from(self, state: VAEState, latents, labels=None):
    """Decoded latents (Bernoulli means or clipped Gaussian means); a
    conditional VAE decodes class labels (indices, or class weights)."""
    out = self.model.apply({"params": state.ema_params}, latents, labels,
                           method=self.model.decode)
    if self.decoder == "bernoulli":
      return 2.0 * jax.nn.sigmoid(out) - 1.0
    return jnp.clip(out, -1.0, 1.0)

  def encode(self, state: VAEState, images, labels=None):
    """(mean, logvar) of the posterior q(z | x) (and the label) for normalised images."""
    return self.model.apply({"params": state.ema_params}, images, labels,
                            method=self.model.encode)
