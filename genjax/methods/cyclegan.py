"""CycleGAN (Zhu et al. 2017): unpaired translation between domain A (the
`input` field) and domain B (`image`, not aligned with `input`) by two
generators G_ab, G_ba and two PatchGAN discriminators D_a, D_b; least-squares
GAN loss, cycle consistency and identity losses, and an image history buffer
per domain (Shrivastava et al. 2017) that lives in the train state, so it is
checkpointed and a resumed run continues exactly."""
import flax
import jax
import jax.numpy as jnp

from genjax import errors, models
from genjax.methods import common, gan

DIRECTIONS = ("AtoB", "BtoA")


@flax.struct.dataclass
class CycleGANState:
  step: jax.Array
  rng: jax.Array
  g: common.Net        # params {"ab": G_ab, "ba": G_ba}, one optimizer
  d: common.Net        # params {"a": D_a, "b": D_b}, one optimizer
  ema_params: dict     # EMA of g.params: evaluation and translation
  pool: dict           # {"a": (pool_size, H, W, C) fakes of A, "b": ... of B}
  pool_count: dict     # {"a": int32, "b": int32} images stored so far (<= pool_size)


def pool_query(pool, count, images, rng):
  """The image buffer: while not full, each new fake is stored and used; once
  full, with probability 1/2 a random stored fake is used instead of the new
  one, which takes its place. Returns (images for D, pool, count)."""
  size = pool.shape[0]

  def one(carry, xs):
    pool, count = carry
    img, key = xs
    k_swap, k_index = jax.random.split(key)
    full = count >= size
    swap = full & (jax.random.uniform(k_swap) < 0.5)
    index = jnp.where(full, jax.random.randint(k_index, (), 0, size), count)
    out = jnp.where(swap, pool[index], img)
    pool = pool.at[index].set(jnp.where(full & ~swap, pool[index], img))
    return (pool, count + (~full).astype(count.dtype)), out

  keys = jax.random.split(rng, images.shape[0])
  (pool, count), out = jax.lax.scan(one, (pool, count), (images, keys))
  return out, pool, count


class CycleGAN(common.Method):
  """G loss = adv_weight * (gan.g(D_b(G_ab(a))) + gan.g(D_a(G_ba(b))))
  + cycle_weight * (|G_ba(G_ab(a)) - a| + |G_ab(G_ba(b)) - b|)
  + identity_weight * cycle_weight * (|G_ab(b) - b| + |G_ba(a) - a|);
  D loss = gan.d on real vs buffered fakes, per domain. With gan_loss lsgan
  (0.5 MSE per term) adv_weight 2 gives the paper's MSE terms; cycle_weight 10
  and identity_weight 0.5 are the paper's. translate(direction) applies G_ab
  (AtoB) or G_ba (BtoA) with EMA weights."""
  summary_keys = ("g_adv", "cycle", "d_loss")
  directions = DIRECTIONS
  scale = 1

  def __init__(self, config, info):
    super().__init__(config, info)
    if "input" not in info.fields:
      raise errors.InputError("Method 'cyclegan' needs two domains: data.task=thin2thick or an "
                       "unpaired source (data.source=unpaired_folder / unpaired_tfds).")
    self.needs = ("input", "image")
    self.c = config.cyclegan
    self.shape = {"a": info.fields["input"].shape, "b": info.fields["image"].shape}
    if self.shape["a"][:2] != self.shape["b"][:2]:
      raise errors.InputError(f"Domains A {self.shape['a']} and B {self.shape['b']} differ in size; "
                       "set one data.image_size for both.")
    for name in ("generator", "discriminator"):
      if config[name].get("norm") == "batch":
        raise errors.InputError(f"{name}.norm=batch: CycleGAN's networks use norms without running "
                         "statistics (instance, layer or none).")
    self.G = {"ab": models.build(config.generator, out_channels=self.shape["b"][-1]),
              "ba": models.build(config.generator, out_channels=self.shape["a"][-1])}
    self.D = models.build(config.discriminator)
    self.gan_loss = gan.LOSSES[self.c.gan_loss]
    self.tx_g = self.optimizer("optim_g")
    self.tx_d = self.optimizer("optim_d")

  @property
  def multiple(self) -> int:
    return self.G["ab"].multiple

  def init_state(self, rng, batch) -> CycleGANState:
    rng, *keys = jax.random.split(rng, 5)
    x = {"a": batch["input"], "b": batch["image"]}
    g_params = {k: self.G[k].init(key, x[k[0]], train=False)["params"]
                for k, key in zip(("ab", "ba"), keys[:2])}
    d_params = {k: self.D.init(key, x[k], train=False)["params"]
                for k, key in zip(("a", "b"), keys[2:])}
    net = lambda p, tx: common.Net(params=p, batch_stats={}, opt_state=tx.init(p))
    size = self.c.pool_size
    return CycleGANState(
        step=jnp.zeros((), jnp.int32), rng=rng, g=net(g_params, self.tx_g),
        d=net(d_params, self.tx_d), ema_params=g_params,
        pool={k: jnp.zeros((max(size, 1),) + self.shape[k], jnp.float32) for k in "ab"},
        pool_count={k: jnp.zeros((), jnp.int32) for k in "ab"})

  def _nets(self):
    """(g, d), each (params, key, x) -> the network `key` applied in train mode.
    Every network is a nested jit, which XLA inlines (the same program), so the
    step traces and lowers each one once however often it applies it; made
    anew for each trace of the step, so no trace made under another run's
    compute policy (models/compute.py) is reused."""
    apply = lambda module: jax.jit(lambda p, x: module.apply({"params": p}, x, train=True))
    g, d = {k: apply(m) for k, m in self.G.items()}, apply(self.D)
    return (lambda params, key, x: g[key](params[key], x)), (
        lambda params, key, x: d(params[key], x))

  def train_step(self, state: CycleGANState, batch):
    c = self.c
    g_net, d_net = self._nets()
    a, b = batch["input"], batch["image"]
    d_params = state.d.params

    def g_loss_fn(gp):
      fake_b, fake_a = g_net(gp, "ab", a), g_net(gp, "ba", b)
      adv = (self.gan_loss.g(d_net(d_params, "b", fake_b))
             + self.gan_loss.g(d_net(d_params, "a", fake_a)))
      cycle = (jnp.mean(jnp.abs(g_net(gp, "ba", fake_b) - a))
               + jnp.mean(jnp.abs(g_net(gp, "ab", fake_a) - b)))
      loss = c.adv_weight * adv + c.cycle_weight * cycle
      aux = {"g_adv": adv, "cycle": cycle}
      if c.identity_weight and self.shape["a"][-1] == self.shape["b"][-1]:
        aux["identity"] = (jnp.mean(jnp.abs(g_net(gp, "ab", b) - b))
                           + jnp.mean(jnp.abs(g_net(gp, "ba", a) - a)))
        loss = loss + c.identity_weight * c.cycle_weight * aux["identity"]
      return loss, (fake_a, fake_b, aux)

    (g_loss, (fake_a, fake_b, metrics)), g_grads = jax.value_and_grad(
        g_loss_fn, has_aux=True)(state.g.params)
    g = common.apply_grads(state.g, self.tx_g, g_grads, {})
    k_a, k_b = jax.random.split(jax.random.fold_in(state.rng, state.step))
    pool, count = dict(state.pool), dict(state.pool_count)
    fakes = {"a": jax.lax.stop_gradient(fake_a), "b": jax.lax.stop_gradient(fake_b)}
    if c.pool_size:
      for k, key in (("a", k_a), ("b", k_b)):
        fakes[k], pool[k], count[k] = pool_query(pool[k], count[k], fakes[k], key)

    def d_loss_fn(dp):
      losses = {k: self.gan_loss.d(d_net(dp, k, real), d_net(dp, k, fakes[k]))
                for k, real in (("a", a), ("b", b))}
      return losses["a"] + losses["b"], losses

    (d_loss, d_parts), d_grads = jax.value_and_grad(d_loss_fn, has_aux=True)(d_params)
    d = common.apply_grads(state.d, self.tx_d, d_grads, {})
    ema = common.ema_update(state.ema_params, g.params, c.ema_decay, state.step)
    metrics.update(g_loss=g_loss, d_loss=d_loss, d_a=d_parts["a"], d_b=d_parts["b"],
                   g_grad_norm=common.global_norm(g_grads))
    return state.replace(step=state.step + 1, g=g, d=d, ema_params=ema, pool=pool,
                         pool_count=count), metrics

  def translate(self, state: CycleGANState, inputs, direction: str = "AtoB"):
    """G_ab (AtoB) or G_ba (BtoA) with EMA weights on normalised inputs["input"]."""
    key = {"AtoB": "ab", "BtoA": "ba"}[direction]
    return self.G[key].apply({"params": state.ema_params[key]}, inputs["input"], train=False)

  def preview(self, state: CycleGANState, batch, rng):
    """Rows: A, G_ab(A), B, G_ba(B) (grey shown as RGB when the domains differ)."""
    del rng
    a, b = batch["input"][:8], batch["image"][:8]
    rows = [a, self.translate(state, {"input": a}), b, self.translate(state, {"input": b},
                                                                       "BtoA")]
    c = max(r.shape[-1] for r in rows)
    return jnp.stack([jnp.broadcast_to(r, r.shape[:3] + (c,)) for r in rows])
