"""Pieces every method shares: the interface, the per-network state,
optimizers, EMA."""
import abc
import math
from typing import Any, Tuple

import flax
import jax
import jax.numpy as jnp
import optax

from genjax import errors
from genjax.latents import truncate


class Method(abc.ABC):
  """The contract between a method and what runs it. The train loop, the
  evaluators, the entry points and the benchmark read these attributes and
  call these functions, and nothing else; a method sets what applies to it.

  Data and training:
    needs: names of the example fields train_step reads (data.fields).
    images_per_step: examples consumed per train step (global); the batch
      size unless the method reads more (a GAN's n_critic slices).
    summary_keys: metrics shown on the progress bar.
    optimizer(section): the optimizer of a config section (optim, optim_g, ...).
    init_state(rng, batch) -> state; batch is a normalised dummy batch.
    train_step(state, batch) -> (state, metrics): pure, jitted once.
    eval_step(state, batch, rng) -> sums over batch["valid"] rows, and
      finalize_eval(sums, image_shape) -> metrics: held-out metrics, or None.
  Generators:
    num_classes: > 0 when generation is conditioned on a class label.
    generate(state, rng, n, labels=None, truncation=1.0) -> n images in [-1, 1].
    latent_dim, sample_latents(rng, n), generate_from(state, latents,
      labels): generators with a latent space (LatentGenerator), which
      sample.py steers (interpolation, truncation, traversal, attributes);
      labels may be class indices [n] or class weights [n, num_classes].
    encode(state, images, labels) -> (mean, logvar) of q(z | x) (VAEs).
    latent_activations(state, latents, labels) -> [n, F] activations of the
      generator's first layer (GANSpace directions for GANs).
  Image-to-image:
    translate(state, inputs, direction="AtoB") -> images in [-1, 1] for
      normalised inputs (the needed fields other than the target `image`);
      scale (output / input size), multiple (input sides must divide by it),
      directions (AtoB, and BtoA for two-way translators).
    adapt_step(params, opt_state, batch, lr) -> (params, opt_state):
      one step of test-time adaptation to an image (super-resolution).
  Classifiers:
    features(state, images) -> (features, class probabilities).
  Every run:
    preview(state, batch, rng) -> (rows, cols, H, W, C) images in [-1, 1] for
      the loop's grids (batch: fixed training examples), or None.
  A predict function a method lacks is None.
  """
  needs: Tuple[str, ...] = ("image",)
  images_per_step: int = 0
  summary_keys: Tuple[str, ...] = ("loss",)
  num_classes: int = 0
  latent_dim: int = 0
  scale: int = 1
  multiple: int = 1
  directions: Tuple[str, ...] = ("AtoB",)
  eval_step = None
  finalize_eval = None
  generate = None
  generate_from = None
  encode = None
  latent_activations = None
  translate = None
  adapt_step = None
  features = None
  preview = None

  def __init__(self, config, info):
    self.config, self.info = config, info
    self.images_per_step = config.train.batch_size

  def optimizer(self, section: str, updates_per_step: int = 1) -> optax.GradientTransformation:
    """The optimizer of config section `section` over the run's train steps."""
    return make_optimizer(self.config[section], self.config.train.num_steps, updates_per_step)

  @abc.abstractmethod
  def init_state(self, rng, batch):
    """The initial train state for a normalised dummy batch."""

  @abc.abstractmethod
  def train_step(self, state, batch):
    """(new state, metrics) for a normalised batch; pure."""


class LatentGenerator(Method):
  """A generator of images from Gaussian latents z ~ N(0, I) [n, latent_dim]
  (and a class, when conditional): subclasses set latent_dim and define
  generate_from; generate, truncation and the steering in sample.py follow."""

  def sample_latents(self, rng, n: int):
    """n draws from the prior N(0, I)."""
    return jax.random.normal(rng, (n, self.latent_dim))

  def mean_latent(self):
    """The prior's mean, the centre of the truncation trick."""
    return jnp.zeros((self.latent_dim,))

  def generate(self, state, rng, n: int, labels=None, truncation=1.0):
    """n images; latents pulled towards the mean by `truncation` (1 = the
    prior, 0 = the mean latent); a conditional generator draws class
    labels[i] (default i mod num_classes, class-balanced)."""
    z = truncate(self.sample_latents(rng, n), truncation, self.mean_latent())
    return self.generate_from(state, z, class_labels(labels, n, self.num_classes))

  @abc.abstractmethod
  def generate_from(self, state, latents, labels=None):
    """Images in [-1, 1] from latents [n, latent_dim] (and labels)."""

  def preview(self, state, batch, rng):
    gen = lambda k, n, labels=None: self.generate(state, k, n, labels)
    return preview_grid(gen, rng, batch["image"].shape[0], self.num_classes)


def class_labels(labels, n: int, num_classes: int):
  """The labels a generator conditions on: None when unconditional, else the
  given ones or, by default, i mod num_classes (class-balanced)."""
  if not num_classes:
    return None
  return jnp.arange(n) % num_classes if labels is None else labels


def preview_grid(generate, rng, n: int, num_classes: int = 0):
  """About n images of generate(rng, count, labels) as (rows, cols, ...): a
  square grid, or with classes one row per class (cols = ceil(n / classes))."""
  if num_classes:
    rows, cols = num_classes, max(1, math.ceil(n / num_classes))
    images = generate(rng, rows * cols, jnp.repeat(jnp.arange(rows), cols))
  else:
    cols = max(1, math.ceil(math.sqrt(n)))
    rows = math.ceil(n / cols)
    images = generate(rng, rows * cols)
  return images.reshape((rows, cols) + images.shape[1:])


@flax.struct.dataclass
class Net:
  """One trainable network: parameters, BatchNorm statistics, optimizer state."""
  params: Any
  batch_stats: Any
  opt_state: Any


SCHEDULES = ("constant", "linear", "cosine")


def learning_rate(cfg, num_steps: int, updates_per_step: int = 1):
  """optim.lr, or a schedule over the run's train steps: `constant`, `linear`
  (constant until optim.decay_start x num_steps, then linear to zero at the
  last step: pix2pix / CycleGAN) or `cosine` (to optim.final_lr x lr), each
  after optim.warmup_steps of linear warm-up from zero. The optimizer's
  update count (in its state, so a resumed run continues the schedule
  exactly) is divided by `updates_per_step` (a GAN's n_critic D updates)."""
  schedule, lr = cfg.get("schedule", "constant"), cfg.lr
  warmup = int(cfg.get("warmup_steps", 0))
  if schedule not in SCHEDULES:
    raise errors.InputError(f"Unknown learning-rate schedule {schedule!r} (config key "
                     f"optim*.schedule); use {', '.join(SCHEDULES)}.")
  if schedule == "constant" and not warmup:
    return lr
  if schedule == "cosine":
    fn = optax.warmup_cosine_decay_schedule(
        0.0, lr, warmup, max(num_steps, warmup + 1), end_value=lr * cfg.get("final_lr", 0.0))
  else:
    rest = []
    if schedule == "linear":
      start = max(warmup, int(round(cfg.get("decay_start", 0.5) * num_steps)))
      rest = [(start, optax.linear_schedule(lr, 0.0, max(1, num_steps - start)))]
    parts = [(0, optax.linear_schedule(0.0, lr, warmup))] if warmup else []
    parts += [(warmup, optax.constant_schedule(lr))] + rest
    fn = optax.join_schedules([f for _, f in parts], [b for b, _ in parts[1:]])
  if updates_per_step == 1:
    return fn
  return lambda count: fn(count // updates_per_step)


def make_optimizer(cfg, num_steps: int, updates_per_step: int = 1) -> optax.GradientTransformation:
  """Adam / AdamW from an optim config (lr and its schedule over `num_steps`
  train steps, b1, b2, weight_decay, grad_clip)."""
  lr = learning_rate(cfg, num_steps, updates_per_step)
  if cfg.name == "adam":
    tx = optax.adam(lr, b1=cfg.b1, b2=cfg.b2)
  elif cfg.name == "adamw":
    tx = optax.adamw(lr, b1=cfg.b1, b2=cfg.b2, weight_decay=cfg.weight_decay)
  else:
    raise errors.InputError(f"Unknown optimizer {cfg.name!r} (config key optim.name); "
                     "use adam or adamw.")
  if cfg.get("grad_clip", 0.0):
    tx = optax.chain(optax.clip_by_global_norm(cfg.grad_clip), tx)
  return tx


def init_net(module, tx, rng, *args, **kwargs) -> Net:
  variables = module.init(rng, *args, **kwargs)
  params = variables["params"]
  return Net(params=params, batch_stats=variables.get("batch_stats", {}),
             opt_state=tx.init(params))


@flax.struct.dataclass
class NetState:
  """The state of a one-network method (VAE, classifier, regression)."""
  step: jax.Array
  rng: jax.Array
  net: Net
  ema_params: Any  # exponential moving average of net.params, used to evaluate and predict


def init_net_state(module, tx, rng, *args, **kwargs) -> NetState:
  """NetState with fresh parameters (module.init(k, *args)) and EMA = params."""
  rng, k_init = jax.random.split(rng)
  net = init_net(module, tx, k_init, *args, **kwargs)
  return NetState(step=jnp.zeros((), jnp.int32), rng=rng, net=net, ema_params=net.params)


def variables(params, batch_stats):
  return {"params": params, "batch_stats": batch_stats}


def apply_grads(net: Net, tx, grads, batch_stats) -> Net:
  updates, opt_state = tx.update(grads, net.opt_state, net.params)
  return Net(params=optax.apply_updates(net.params, updates),
             batch_stats=batch_stats, opt_state=opt_state)


def ema_update(ema, params, decay: float, step):
  """EMA with warm-up: the decay used is min(decay, (1 + step) / (10 + step)),
  so early averages are not dominated by the random initialisation."""
  d = jnp.minimum(decay, (1.0 + step) / (10.0 + step))
  return jax.tree.map(lambda e, p: d * e + (1.0 - d) * p, ema, params)


def global_norm(tree):
  return jnp.sqrt(sum(jnp.sum(jnp.square(x)) for x in jax.tree.leaves(tree)))
