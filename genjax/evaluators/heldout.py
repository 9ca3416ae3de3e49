"""The method's own held-out metrics over a whole split: a VAE's ELBO / IWAE
in nats and bits/dim, a classifier's accuracy (method.eval_step)."""
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from genjax import data, parallel, workdir as workdir_lib


def heldout_metrics(run, state, split: str, batch_size: int = 500, seed: int = 0,
                    eval_step=None) -> dict:
  """Sums run.method.eval_step over every example of `split` (padding rows
  masked out by batch["valid"]) and finalizes them."""
  method, cfg = run.method, run.config
  fields = run.info.fields
  eval_step = eval_step or run.jit(
      lambda s, b, r: method.eval_step(s, data.normalize(b, fields), r))
  source = data.build_source(cfg.data, split)
  batch_size = -(-batch_size // run.mesh.size) * run.mesh.size
  key, sums = jax.random.PRNGKey(seed), None
  for i, batch in enumerate(data.eval_batches(source, batch_size, jax.process_index(),
                                              jax.process_count())):
    out = eval_step(state, parallel.global_batch(batch, run.mesh), jax.random.fold_in(key, i))
    sums = out if sums is None else jax.tree.map(jnp.add, sums, out)
  image_shape = fields["image"].shape
  result = method.finalize_eval(jax.device_get(sums), image_shape)
  return {k: (float(v) if isinstance(v, (np.floating, np.ndarray)) else v)
          for k, v in result.items()}


class HeldoutEvaluator:
  """config.evals.heldout: every, split ("" = data.eval_split), batch_size, seed.
  Writes `eval/*` rows of metrics.jsonl (through `writer`, if given)."""

  def __init__(self, run, writer=None, every=0, split="", batch_size=500, seed=0,
               prefix="eval/"):
    self.run, self.writer, self.every, self.prefix = run, writer, every, prefix
    self.split = split or run.config.data.eval_split
    self.batch_size, self.seed = batch_size, seed
    m, fields = run.method, run.info.fields
    self._step = run.jit(lambda s, b, r: m.eval_step(s, data.normalize(b, fields), r))

  @classmethod
  def from_config(cls, cfg, run, workdir, writer):
    del workdir
    return None if run.method.eval_step is None else cls(run, writer, **cfg)

  def __call__(self, state, step: int) -> dict:
    result = heldout_metrics(self.run, state, self.split, self.batch_size, self.seed,
                             self._step)
    if self.writer:
      self.writer.write(step, result, prefix=self.prefix)
    return result


def with_overrides(run, overrides: dict):
  """A Run of the same method with config keys changed (e.g. vae.iwae_k for a
  tighter held-out bound than training reports); keys the config lacks are
  skipped."""
  flat = {k: v for k, v in overrides.items() if _has(run.config, k)}
  if not flat:
    return run
  cfg = ml_collections.ConfigDict(run.config.to_dict())
  cfg.update_from_flattened_dict(flat)
  return workdir_lib.Run(cfg, run.info, run.mesh)


def _has(cfg, dotted: str) -> bool:
  for part in dotted.split("."):
    if part not in cfg:
      return False
    cfg = cfg[part]
  return True
