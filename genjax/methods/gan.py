"""GAN training: non-saturating, hinge, least-squares and Wasserstein losses,
gradient penalty (WGAN-GP), R1 penalty, n_critic D steps per G step, EMA of G.
A D step applies D once to the real and the fake batch together unless D has
batch norm (gan.d_batches)."""
from typing import Callable, NamedTuple

import flax
import jax
import jax.numpy as jnp
import optax

from genjax import errors, models
from genjax.methods import common
from genjax.models import compute
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
D_BATCHES = ("auto", "joint", "separate")  # gan.d_batches


def has_batch_norm(batch_stats) -> bool:
  """Whether a network's statistics include batch norm's (a `mean` and a `var`;
  spectral norm keeps its `u` and `sigma` there too)."""
  paths = jax.tree_util.tree_flatten_with_path(batch_stats)[0]
  return any(getattr(path[-1], "key", None) == "mean" for path, _ in paths)


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


class GAN(common.LatentGenerator):
  """GAN, unconditional or class-conditional; `config.generator` /
  `config.discriminator` name the models and their `cond` options (labels and
  the class count come from the data source). With discriminator.cond="acgan"
  the auxiliary classifier's cross-entropy (weight gan.acgan_weight) is added
  to D's loss on real and fake images and to G's on fake ones (Odena et al. 2017)."""
  summary_keys = ("d_loss", "g_loss")  # shown on the progress bar

  def __init__(self, config, info):
    super().__init__(config, info)
    c = config.gan
    self.z_dim, self.n_critic = c.z_dim, c.n_critic
    self.latent_dim = c.z_dim
    self.loss = LOSSES[c.loss]
    self.d_batches = c.get("d_batches", "auto")
    if self.d_batches not in D_BATCHES:
      raise errors.InputError(f"Unknown gan.d_batches {self.d_batches!r}; use "
                              f"{', '.join(D_BATCHES)}.")
    g_cond = config.generator.get("cond", "none")
    d_cond = config.discriminator.get("cond", "none")
    if (g_cond == "none") != (d_cond == "none"):
      raise errors.InputError(f"generator.cond={g_cond!r} but discriminator.cond={d_cond!r}: "
                       "condition both networks or neither.")
    self.num_classes = info.num_classes if g_cond != "none" else 0
    self.acgan = d_cond == "acgan"
    if g_cond != "none":
      self.needs = ("image", "label")
    k = {"num_classes": self.num_classes} if self.num_classes else {}
    self.G = models.build(config.generator, **k)
    self.D = models.build(config.discriminator, **k)
    self.tx_g = self.optimizer("optim_g")
    self.tx_d = self.optimizer("optim_d", self.n_critic)
    self.images_per_step = config.train.batch_size * self.n_critic
    # Run in the loop of D updates and after it: traced once.
    self._d_update = compute.traced_once(self._d_step)

  def init_state(self, rng, batch) -> GANState:
    rng, kg, kd = jax.random.split(rng, 3)
    n = batch["image"].shape[0]
    z, labels = jnp.zeros((n, self.z_dim)), jnp.zeros((n,), jnp.int32)
    g = common.init_net(self.G, self.tx_g, kg, z, labels, train=False)
    d = common.init_net(self.D, self.tx_d, kd, batch["image"], labels, train=False)
    return GANState(step=jnp.zeros((), jnp.int32), rng=rng, g=g, d=d,
                    ema_params=g.params)

  def _d_apply(self, params, batch_stats, x, labels):
    """D in train mode; returns (logits, class logits or None, updated batch_stats)."""
    out, mut = self.D.apply(common.variables(params, batch_stats), x, labels, train=True,
                            mutable=["batch_stats"])
    logits, class_logits = out if self.acgan else (out, None)
    return logits, class_logits, mut.get("batch_stats", batch_stats)

  def _class_loss(self, class_logits, labels):
    return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(class_logits, labels))

  def _generate(self, params, batch_stats, z, labels, train=True):
    """G; returns (images, batch_stats updated when training)."""
    v = common.variables(params, batch_stats)
    if not train:
      return self.G.apply(v, z, labels, train=False), batch_stats
    images, mut = self.G.apply(v, z, labels, train=True, mutable=["batch_stats"])
    return images, mut.get("batch_stats", batch_stats)

  def joint_d(self, batch_stats) -> bool:
    """Whether a D update applies D once to the real and the fake batch together
    (gan.d_batches; auto: unless D's statistics `batch_stats` hold batch norm's)."""
    return self.d_batches == "joint" or (self.d_batches == "auto"
                                         and not has_batch_norm(batch_stats))

  def _d_real_fake(self, params, batch_stats, real, real_labels, fake, fake_labels):
    """D on the real and the fake batch: ((real logits, real class logits),
    (fake ...), batch_stats), in one call on both (gan.d_batches) or two."""
    if not self.joint_d(batch_stats):
      real_logits, real_cls, bs = self._d_apply(params, batch_stats, real, real_labels)
      fake_logits, fake_cls, bs = self._d_apply(params, bs, fake, fake_labels)
      return (real_logits, real_cls), (fake_logits, fake_cls), bs
    labels = None if real_labels is None else jnp.concatenate([real_labels, fake_labels])
    logits, cls, bs = self._d_apply(params, batch_stats, jnp.concatenate([real, fake]),
                                    labels)
    n = real.shape[0]
    halves = lambda a: (a, a) if a is None else (a[:n], a[n:])
    (real_logits, fake_logits), (real_cls, fake_cls) = halves(logits), halves(cls)
    return (real_logits, real_cls), (fake_logits, fake_cls), bs

  def _d_step(self, state, real, real_labels, fake, fake_labels, rng):
    """One D update on a real batch and a (constant) fake batch."""
    c = self.config.gan
    d = state.d

    def loss_fn(params):
      (real_logits, real_cls), (fake_logits, fake_cls), bs = self._d_real_fake(
          params, d.batch_stats, real, real_labels, fake, fake_labels)
      loss = self.loss.d(real_logits, fake_logits)
      aux = {"d_real": jnp.mean(real_logits), "d_fake": jnp.mean(fake_logits),
             "d_adv": loss}
      if self.acgan:
        aux["d_class"] = 0.5 * (self._class_loss(real_cls, real_labels)
                                + self._class_loss(fake_cls, fake_labels))
        aux["d_class_acc"] = jnp.mean(jnp.argmax(real_cls, -1) == real_labels)
        loss = loss + c.acgan_weight * aux["d_class"]
      d_fn = lambda x: self._d_apply(params, bs, x, real_labels)[0]
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
    """n_critic D updates, each on its own slice of the batch and fresh z (and
    uniformly drawn fake labels), then one G update through the updated D on
    the last D step's fake batch (as in the reference DCGAN implementation: G
    runs forward once per step). Gradient penalties use the real labels."""
    x = batch["image"]
    b = x.shape[0] // self.n_critic
    split = lambda a: a.reshape((b, self.n_critic) + a.shape[1:]).swapaxes(0, 1)
    reals = split(x)
    real_labels = split(batch["label"]) if self.num_classes else None
    keys = jax.random.split(jax.random.fold_in(state.rng, state.step), self.n_critic)
    g = state.g

    def fake_batch(key):
      k_z, k_penalty, k_y = jax.random.split(key, 3)
      z = jax.random.normal(k_z, (b, self.z_dim))
      y = jax.random.randint(k_y, (b,), 0, self.num_classes) if self.num_classes else None
      return z, y, k_penalty

    def d_update(d, inputs):
      real, real_label, key = inputs
      z, y, k_penalty = fake_batch(key)
      fake, _ = self._generate(g.params, g.batch_stats, z, y)
      new, _ = self._d_update(state.replace(d=d), real, real_label,
                              jax.lax.stop_gradient(fake), y, k_penalty)
      return new.d, None

    # The first n_critic - 1 D updates as one loop: XLA compiles the D update and
    # G's forward pass once for all of them (sngan32's step: 2,669 fusions
    # unrolled, 1,600 as a loop).
    if self.n_critic > 1:
      head = None if real_labels is None else real_labels[:-1]
      d, _ = compute.loop(d_update, state.d, (reals[:-1], head, keys[:-1]))
      state = state.replace(d=d)
    # The last keeps G's VJP for the G update.
    z, y, k_penalty = fake_batch(keys[-1])
    fake, g_vjp, g_batch_stats = jax.vjp(
        lambda p: self._generate(p, g.batch_stats, z, y), g.params, has_aux=True)
    state, metrics = self._d_update(state, reals[-1],
                                    None if real_labels is None else real_labels[-1],
                                    jax.lax.stop_gradient(fake), y, k_penalty)

    d = state.d

    def g_loss_fn(f):
      logits, cls, _ = self._d_apply(d.params, d.batch_stats, f, y)
      loss = self.loss.g(logits)
      return (loss + self.config.gan.acgan_weight * self._class_loss(cls, y)
              if self.acgan else loss)

    g_loss, fake_grad = jax.value_and_grad(g_loss_fn)(fake)
    (grads,) = g_vjp(fake_grad)
    g = common.apply_grads(g, self.tx_g, grads, g_batch_stats)
    ema = common.ema_update(state.ema_params, g.params, self.config.gan.ema_decay,
                            state.step)
    metrics.update(g_loss=g_loss, g_grad_norm=common.global_norm(grads))
    return state.replace(step=state.step + 1, g=g, ema_params=ema), metrics

  def generate_from(self, state: GANState, latents, labels=None):
    """Images from the EMA generator for latents z [n, z_dim] (and labels)."""
    return self._generate(state.ema_params, state.g.batch_stats, latents, labels,
                          train=False)[0]

  def latent_activations(self, state: GANState, latents, labels=None):
    """The output of the generator's first layer (its Dense on z), flattened:
    where GANSpace (Harkonen et al. 2020) finds its principal directions."""
    _, captured = self.G.apply(
        common.variables(state.ema_params, state.g.batch_stats), latents, labels,
        train=False, mutable=["intermediates"],
        capture_intermediates=lambda module, method: module.name == "Dense_0")
    out = captured["intermediates"]["Dense_0"]["__call__"][0]
    return out.reshape(out.shape[0], -1)
