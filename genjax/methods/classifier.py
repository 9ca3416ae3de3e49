"""Supervised image classification (cross-entropy). Trained classifiers serve
as in-domain feature extractors (`classifier:<workdir>`) and CAS judges."""
import jax
import jax.numpy as jnp
import optax

from genjax import models
from genjax.methods import common


ClassifierState = common.NetState  # EMA params are used for evaluation and features


class Classifier(common.Method):
  needs = ("image", "label")
  summary_keys = ("loss", "accuracy")

  def __init__(self, config, info):
    super().__init__(config, info)
    self.model = models.build(config.model, num_classes=info.num_classes)
    self.tx = self.optimizer("optim")

  def init_state(self, rng, batch) -> ClassifierState:
    return common.init_net_state(self.model, self.tx, rng, batch["image"])

  def _loss(self, params, batch):
    logits, _ = self.model.apply({"params": params}, batch["image"])
    losses = optax.softmax_cross_entropy_with_integer_labels(logits, batch["label"])
    correct = (jnp.argmax(logits, -1) == batch["label"]).astype(jnp.float32)
    return losses, correct

  def train_step(self, state: ClassifierState, batch):
    def loss_fn(params):
      losses, correct = self._loss(params, batch)
      return jnp.mean(losses), correct

    (loss, correct), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.net.params)
    net = common.apply_grads(state.net, self.tx, grads, state.net.batch_stats)
    ema = common.ema_update(state.ema_params, net.params, self.config.classifier.ema_decay,
                            state.step)
    metrics = {"loss": loss, "accuracy": jnp.mean(correct),
               "grad_norm": common.global_norm(grads)}
    return state.replace(step=state.step + 1, net=net, ema_params=ema), metrics

  def eval_step(self, state: ClassifierState, batch, rng):
    del rng
    losses, correct = self._loss(state.ema_params, batch)
    m = batch["valid"]
    return {"loss_sum": jnp.sum(m * losses), "correct": jnp.sum(m * correct),
            "count": jnp.sum(m)}

  def finalize_eval(self, sums, image_shape):
    del image_shape
    n = sums["count"]
    return {"accuracy": sums["correct"] / n, "loss": sums["loss_sum"] / n, "count": int(n)}

  def features(self, state: ClassifierState, images):
    """(features, class probabilities) of float images in [-1, 1]."""
    logits, feats = self.model.apply({"params": state.ema_params}, images)
    return feats, jax.nn.softmax(logits)
