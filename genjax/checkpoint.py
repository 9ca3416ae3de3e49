"""Orbax checkpoints of the whole train state plus JSON metadata, and the
preemption signal that asks for one.

Orbax writes each step to a temporary directory and renames it when complete,
so a crash mid-save never touches the latest good checkpoint.
"""
import os
import signal

import jax
import jax.numpy as jnp
import orbax.checkpoint as ocp


@jax.jit
def _finite_leaves(state):
  return [jnp.all(jnp.isfinite(x)) for x in jax.tree.leaves(state)
          if jnp.issubdtype(x.dtype, jnp.inexact)]


def first_nonfinite_leaf(state):
  """The path of the first floating-point leaf of `state` holding a NaN or
  Inf (params, optimizer state, EMA, batch statistics), or None."""
  paths = [jax.tree_util.keystr(p) for p, x in jax.tree_util.tree_leaves_with_path(state)
           if jnp.issubdtype(x.dtype, jnp.inexact)]
  for path, ok in zip(paths, jax.device_get(_finite_leaves(state))):
    if not ok:
      return path
  return None


class Checkpointer:
  """Saves/restores `state` (any pytree) and `meta` (a JSON dict) by step."""

  def __init__(self, directory: str, max_to_keep: int = 3, async_save: bool = False):
    self.directory = os.path.abspath(directory)
    self.manager = ocp.CheckpointManager(
        self.directory,
        options=ocp.CheckpointManagerOptions(
            max_to_keep=max_to_keep, create=True,
            enable_async_checkpointing=async_save))

  def latest_step(self):
    return self.manager.latest_step()

  def all_steps(self):
    return list(self.manager.all_steps())

  def save(self, step: int, state, meta: dict):
    """Saves a finite state; a state with a NaN or Inf anywhere is never
    written (FloatingPointError naming the leaf and the latest good step)."""
    bad = first_nonfinite_leaf(state)
    if bad is not None:
      raise FloatingPointError(
          f"The train state at step {step} is not finite (first bad leaf: state{bad}); it "
          f"was not saved. The latest good checkpoint (step {self.latest_step() or 0}) "
          "is untouched; lower the learning rate (config optim*.lr) or check the data, "
          "then train again from it in a new --workdir or after fixing the cause.")
    self.manager.save(step, args=ocp.args.Composite(
        state=ocp.args.StandardSave(state), meta=ocp.args.JsonSave(meta)), force=True)

  def restore(self, abstract_state, step=None):
    """Restores into the structure/shardings of `abstract_state` (e.g. from
    jax.eval_shape plus shardings). Returns (state, meta)."""
    step = self.latest_step() if step is None else step
    if step is None:
      raise FileNotFoundError(f"No checkpoint in {self.directory}.")
    abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, abstract_state)
    out = self.manager.restore(step, args=ocp.args.Composite(
        state=ocp.args.StandardRestore(abstract), meta=ocp.args.JsonRestore()))
    return out.state, dict(out.meta)

  def wait(self):
    self.manager.wait_until_finished()

  def close(self):
    self.manager.close()

  def __enter__(self):
    return self

  def __exit__(self, *exc):
    self.wait()
    self.close()


class Preemption:
  """Turns SIGTERM into a flag (`requested`) the loop checks after each step,
  so the step finishes and a checkpoint is saved before the process ends."""

  def __init__(self):
    self.requested = False
    self._old = None

  def __enter__(self):
    self._old = signal.signal(signal.SIGTERM, self._handle)
    return self

  def _handle(self, *_):
    self.requested = True

  def __exit__(self, *exc):
    signal.signal(signal.SIGTERM, self._old)
