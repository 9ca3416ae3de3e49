"""pix2pix (Isola et al. 2017): paired image-to-image translation by the
regression method's generator (a U-Net on the input) trained with L1 plus a
conditional GAN loss from a PatchGAN that sees (input, output) pairs. Any
paired data (derived restoration tasks, edges -> digits, paired folders) works."""
import flax
import jax
import jax.numpy as jnp

from genjax import metrics, models
from genjax.methods import common, gan, regression


@flax.struct.dataclass
class Pix2PixState:
  step: jax.Array
  rng: jax.Array
  net: common.Net       # the generator
  ema_params: dict      # EMA of the generator's params: evaluation and translation
  d: common.Net         # the conditional PatchGAN


class Pix2Pix(regression.Regression):
  """G loss = gan.g(D(x, G(x))) + pix2pix.l1_weight * L1(G(x), y); D loss =
  pix2pix.d_weight * gan.d(D(x, y), D(x, G(x))), the conditioning x being the
  generator's input at the output's size (with the hole mask when inpainting).
  One D update on the step's fake batch, then one G update through the updated D."""
  summary_keys = ("loss", "psnr", "g_adv", "d_loss")

  def __init__(self, config, info):
    super().__init__(config, info)
    self.gan_loss = gan.LOSSES[config.pix2pix.gan_loss]
    self.D = models.build(config.discriminator)
    self.tx_d = self.optimizer("optim_d")

  def init_state(self, rng, batch) -> Pix2PixState:
    s = super().init_state(rng, batch)
    rng, k_d = jax.random.split(s.rng)
    pair = jnp.concatenate([self._net_input(batch), batch["image"]], -1)
    d = common.init_net(self.D, self.tx_d, k_d, pair, train=False)
    return Pix2PixState(step=s.step, rng=rng, net=s.net, ema_params=s.ema_params, d=d)

  def _d(self, params, batch_stats, cond, image):
    logits, mut = self.D.apply(common.variables(params, batch_stats),
                               jnp.concatenate([cond, image], -1), train=True,
                               mutable=["batch_stats"])
    return logits, mut.get("batch_stats", batch_stats)

  def train_step(self, state: Pix2PixState, batch):
    c = self.config.pix2pix
    cond, target = self._net_input(batch), batch["image"]
    out, g_vjp = jax.vjp(lambda p: self._predict(p, batch), state.net.params)
    fake = jax.lax.stop_gradient(out)

    def d_loss_fn(params):
      real_logits, bs = self._d(params, state.d.batch_stats, cond, target)
      fake_logits, bs = self._d(params, bs, cond, fake)
      aux = {"d_real": jnp.mean(real_logits), "d_fake": jnp.mean(fake_logits)}
      return c.d_weight * self.gan_loss.d(real_logits, fake_logits), (bs, aux)

    (d_loss, (d_bs, summary)), d_grads = jax.value_and_grad(d_loss_fn, has_aux=True)(
        state.d.params)
    d = common.apply_grads(state.d, self.tx_d, d_grads, d_bs)

    def g_loss_fn(o):
      adv = self.gan_loss.g(self._d(d.params, d.batch_stats, cond, o)[0])
      rec = jnp.mean(self._loss(o, target))
      return adv + c.l1_weight * rec, (adv, rec)

    (_, (adv, rec)), out_grad = jax.value_and_grad(g_loss_fn, has_aux=True)(out)
    (grads,) = g_vjp(out_grad)
    net = common.apply_grads(state.net, self.tx, grads, state.net.batch_stats)
    ema = common.ema_update(state.ema_params, net.params, self.config.regression.ema_decay,
                            state.step)
    summary.update(loss=rec, g_adv=adv, d_loss=d_loss, grad_norm=common.global_norm(grads),
                   psnr=jnp.mean(metrics.psnr(jnp.clip(out, -1, 1), target)))
    return state.replace(step=state.step + 1, net=net, ema_params=ema, d=d), summary
