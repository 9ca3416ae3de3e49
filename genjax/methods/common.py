"""Pieces every method shares: the per-network state, optimizers, EMA."""
from typing import Any

import flax
import jax
import jax.numpy as jnp
import optax


@flax.struct.dataclass
class Net:
  """One trainable network: parameters, BatchNorm statistics, optimizer state."""
  params: Any
  batch_stats: Any
  opt_state: Any


def make_optimizer(cfg) -> optax.GradientTransformation:
  """Adam / AdamW from an optim config (lr, b1, b2, weight_decay, grad_clip)."""
  if cfg.name == "adam":
    tx = optax.adam(cfg.lr, b1=cfg.b1, b2=cfg.b2)
  elif cfg.name == "adamw":
    tx = optax.adamw(cfg.lr, b1=cfg.b1, b2=cfg.b2, weight_decay=cfg.weight_decay)
  else:
    raise ValueError(f"Unknown optimizer {cfg.name!r} (config key optim.name); "
                     "use adam or adamw.")
  if cfg.get("grad_clip", 0.0):
    tx = optax.chain(optax.clip_by_global_norm(cfg.grad_clip), tx)
  return tx


def init_net(module, tx, rng, *args, **kwargs) -> Net:
  variables = module.init(rng, *args, **kwargs)
  params = variables["params"]
  return Net(params=params, batch_stats=variables.get("batch_stats", {}),
             opt_state=tx.init(params))


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
