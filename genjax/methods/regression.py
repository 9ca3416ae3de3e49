"""Image-to-image regression y = f(x; theta): a CNN trained on patches (regions)
of paired examples (`input` -> `image`, optional hole `mask`) and applied to
whole images of any size (restoration: denoising, super-resolution, deblurring,
colourisation, inpainting).

The network predicts a residual on a base image: the input resized to the
target's size (bicubic) and given the target's channels (regression.residual,
the default for restoration), or the output itself (residual=False:
translations whose output looks unlike the input, such as edges -> photo; no
tanh, whose saturation stalls an L1-driven generator, outputs are clipped
when translating); for
inpainting the known pixels are kept and only the hole is predicted; for
harmonisation (a `region` field) only the region changes, its pixels seen.
Level maps (a denoiser's `noise` std, data.noise_map) are extra input
channels, so one model serves a range of noise levels (FFDNet). With a
`prefilter` field (data.prefilter=nl_means for denoising, biharmonic for
inpainting) the base is that classical restorer's output and the net, seeing
the degraded input too, learns its correction: training starts at the
filter's quality.

Super-resolution runs can also adapt to each image at test time (adapt_step,
driven by workdir.Run.adapt): the parameters are fine-tuned on pairs cut from
the low-resolution input itself and downsampled again (ZSSR's internal
learning, here starting from the trained model rather than from scratch).
"""
import jax
import jax.numpy as jnp
import optax

from genjax import errors, metrics, models
from genjax.methods import common

LOSSES = ("l1", "l2")


RegressionState = common.NetState  # EMA params are used for evaluation and translation


FILLS = ("grey", "pushpull")
ADAPT_TX = optax.scale_by_adam()  # test-time adaptation: Adam, its rate given per step


@jax.jit  # one program per size where called eagerly (an evaluation's baseline)
def pushpull_fill(x, known):
  """Holes filled smoothly from the known pixels (push-pull, Gortler et al.
  1996): known colours and weights are summed over 2x2 blocks level by level
  (weights clipped to 1), then each level's colour is completed from the
  bilinearly upsampled coarser one where its weight is below 1. x: (n, h, w, c),
  known: (n, h, w, 1) with 1 = known; any sizes."""
  colours, weights = [x * known], [known]
  while max(colours[-1].shape[1:3]) > 1:
    c, w = colours[-1], weights[-1]
    pool = lambda a: jax.lax.reduce_window(a, 0.0, jax.lax.add, (1, 2, 2, 1), (1, 2, 2, 1),
                                           "SAME")
    c, w = pool(c), pool(w)
    clipped = jnp.minimum(w, 1.0)
    colours.append(c * clipped / jnp.maximum(w, 1e-8))
    weights.append(clipped)
  fill = colours[-1] / jnp.maximum(weights[-1], 1e-8)
  for c, w in zip(colours[-2::-1], weights[-2::-1]):
    up = jax.image.resize(fill, c.shape[:3] + fill.shape[3:], "linear")
    fill = c + (1.0 - w) * up
  return fill


def base_image(inputs, out_shape, fill: str = "grey"):
  """The input at the target's spatial size and channel count, in [-1, 1];
  pixels under a hole (inputs["mask"] = 1) are ignored, whatever they hold,
  and set to grey (0) or, with fill="pushpull", a smooth fill from the rest."""
  x = inputs["input"]
  n, h, w, c = out_shape
  if x.shape[1:3] != (h, w):
    x = jax.image.resize(x, (x.shape[0], h, w, x.shape[3]), "cubic")
  if x.shape[-1] != c:
    x = jnp.broadcast_to(x[..., :1], x.shape[:3] + (c,))
  if "mask" in inputs:
    known = 1.0 - inputs["mask"]
    x = pushpull_fill(x, known) if fill == "pushpull" else x * known
  return x


class Regression(common.Method):
  """L1 or L2 regression of `image` from `input` (config.regression.loss)."""
  summary_keys = ("loss", "psnr")

  def __init__(self, config, info):
    super().__init__(config, info)
    if "input" not in info.fields:
      raise errors.InputError("Method 'regression' needs paired examples: set data.task (denoise, "
                       "sr2, sr4, deblur, colorize, inpaint) or a paired source.")
    self.masks = tuple(k for k in ("mask", "region") if k in info.fields)
    self.maps = tuple(k for k, f in info.fields.items() if f.kind == "level")  # noise std
    self.prefiltered = "prefilter" in info.fields  # a classical restorer's output
    self.needs = ("input", "image") + self.masks + self.maps + ("prefilter",) * self.prefiltered
    self.out_shape = info.fields["image"].shape
    self.scale = self.out_shape[0] // info.fields["input"].shape[0]  # sr: 2 or 4
    self.model = models.build(config.model, out_channels=self.out_shape[-1])
    if config.regression.loss not in LOSSES:
      raise errors.InputError(f"Unknown regression.loss {config.regression.loss!r}; use l1 or l2.")
    self.fill = config.regression.get("fill", "grey")
    if self.fill not in FILLS:
      raise errors.InputError(f"Unknown regression.fill {self.fill!r}; use {' or '.join(FILLS)}.")
    self.tx = self.optimizer("optim")

  @property
  def multiple(self) -> int:
    """Network input sides must be multiples of this (translate pads to it)."""
    return self.model.multiple

  def init_state(self, rng, batch) -> RegressionState:
    return common.init_net_state(self.model, self.tx, rng, self._net_input(batch))

  def _net_input(self, inputs):
    """[base, (the input when the base is a prefilter), masks, level maps]."""
    if self.prefiltered:  # the degraded input beside it, its holes ignored as in base_image
      base, extra = inputs["prefilter"], [base_image(inputs, inputs["input"].shape)]
    else:
      n, h, w, _ = inputs["input"].shape
      base = base_image(inputs, (n, h * self.scale, w * self.scale, self.out_shape[-1]),
                        self.fill)
      extra = []
    return jnp.concatenate([base] + extra + [inputs[k] for k in self.masks + self.maps], -1)

  def _predict(self, params, inputs):
    """The output image (scale x the input's size) for normalised inputs."""
    x = self._net_input(inputs)
    base = x[..., :self.out_shape[-1]]
    y = self.model.apply({"params": params}, x)
    out = base + y if self.config.regression.get("residual", True) else y
    for k in self.masks:  # keep the pixels outside the hole / region
      out = base + inputs[k] * (out - base)
    return out

  def _loss(self, out, target):
    err = out - target
    per = jnp.abs(err) if self.config.regression.loss == "l1" else jnp.square(err)
    return jnp.mean(per, axis=(1, 2, 3))

  def train_step(self, state: RegressionState, batch):
    def loss_fn(params):
      out = self._predict(params, batch)
      return jnp.mean(self._loss(out, batch["image"])), out

    (loss, out), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.net.params)
    net = common.apply_grads(state.net, self.tx, grads, state.net.batch_stats)
    ema = common.ema_update(state.ema_params, net.params, self.config.regression.ema_decay,
                            state.step)
    summary = {"loss": loss, "psnr": jnp.mean(metrics.psnr(jnp.clip(out, -1, 1), batch["image"])),
               "grad_norm": common.global_norm(grads)}
    return state.replace(step=state.step + 1, net=net, ema_params=ema), summary

  def adapt_step(self, params, opt_state, batch, lr):
    """One step of test-time adaptation from `params` (the EMA parameters):
    Adam (ADAPT_TX, state opt_state) at rate lr on the run's loss for a
    normalised batch of pairs cut from the image itself (tasks.internal_pairs).
    Returns (params, opt_state)."""
    loss_fn = lambda p: jnp.mean(self._loss(self._predict(p, batch), batch["image"]))
    grads = jax.grad(loss_fn)(params)
    updates, opt_state = ADAPT_TX.update(grads, opt_state, params)
    params = jax.tree.map(lambda p, u: p - lr * u.astype(p.dtype), params, updates)
    return params, opt_state

  def translate(self, state: RegressionState, inputs, direction: str = "AtoB"):
    """Outputs in [-1, 1], `scale` x the size of the normalised `inputs` (input,
    and mask if any) of any size whose sides are multiples of `multiple`."""
    del direction  # one-way: Run.translate accepts only AtoB
    return jnp.clip(self._predict(state.ema_params, inputs), -1.0, 1.0)

  def eval_step(self, state: RegressionState, batch, rng):
    del rng
    out = self.translate(state, batch)
    m = batch["valid"]
    return {"psnr_sum": jnp.sum(m * metrics.psnr(out, batch["image"])),
            "l1_sum": jnp.sum(m * metrics.l1(out, batch["image"])),
            "count": jnp.sum(m)}

  def finalize_eval(self, sums, image_shape):
    del image_shape
    n = sums["count"]
    return {"psnr": sums["psnr_sum"] / n, "l1": sums["l1_sum"] / n, "count": int(n)}

  def preview(self, state: RegressionState, batch, rng):
    """Rows: input (at the output's size), output, target; up to 8 examples."""
    del rng
    b = {k: v[:8] for k, v in batch.items() if k in self.needs}
    base = base_image(b, b["image"].shape, self.fill)
    return jnp.stack([base, self.translate(state, b), b["image"]])
