"""Orbax checkpoints of the whole train state plus JSON metadata.

Orbax writes each step to a temporary directory and renames it when complete,
so a crash mid-save never touches the latest good checkpoint.
"""
import os
import queue
import shutil
import logging as pylogging
import sys
import threading

import jax
import jax.numpy as jnp
import numpy as np
import orbax.checkpoint as ocp
from absl import logging
from jax._src import distributed  # its client, as orbax's own barriers reach it

from genjax import errors


def _finite_leaves(tree):
  return [jnp.all(jnp.isfinite(x)) for x in jax.tree.leaves(tree)
          if jnp.issubdtype(jnp.result_type(x), jnp.inexact)]


_finite_leaves_jit = jax.jit(_finite_leaves)


def all_finite(tree) -> jax.Array:
  """A bool scalar: no NaN or Inf in any floating-point leaf of `tree` (jit-able)."""
  return jnp.all(jnp.stack([jnp.bool_(True)] + _finite_leaves(tree)))


def first_nonfinite_leaf(state):
  """The path of the first floating-point leaf of `state` holding a NaN or
  Inf (params, optimizer state, EMA, batch statistics), or None. Checked on
  the host where every leaf is in this process's CPU memory (no program to
  compile per state structure), else in one jitted program."""
  leaves = [(jax.tree_util.keystr(p), x) for p, x in jax.tree_util.tree_leaves_with_path(state)
            if jnp.issubdtype(x.dtype, jnp.inexact)]
  if all(_on_host(x) for _, x in leaves):
    ok = [bool(np.isfinite(np.asarray(x)).all()) for _, x in leaves]
  else:
    ok = jax.device_get(_finite_leaves_jit([x for _, x in leaves]))  # the leaves named above
  return next((path for (path, _), fine in zip(leaves, ok) if not fine), None)


def _on_host(x) -> bool:
  """A numpy array, or a jax.Array all of whose shards are in this process's
  CPU memory (np.asarray then reads it without a copy for one device)."""
  if not isinstance(x, jax.Array):
    return True
  return x.is_fully_addressable and all(d.platform == "cpu" for d in x.devices())


# Errors genjax reports in one line itself, which orbax / tensorstore also
# raise from their threads and log: the reads of an abandoned (damaged)
# checkpoint after orbax gave up on it, and the writes of a save that found
# the disk full.
_ALREADY_REPORTED = ("Encountered error while reading array index", "Event loop is closed",
                     "OUT_OF_RANGE", "No space left on device")


def _names_any(error, markers=_ALREADY_REPORTED) -> bool:
  return any(s in f"{error}" for s in markers)


def _quiet(previous, drop):
  """`previous` (a hook) wrapped to skip the calls `drop` selects; once."""
  if getattr(previous, "genjax_quiet", False):
    return previous
  def hook(*args):
    if not drop(*args):
      previous(*args)
  hook.genjax_quiet = True
  return hook


# What a collective reports when a peer process died (Gloo on CPU, the
# coordination service elsewhere). An async save's barrier hits it in its own
# thread as the train loop does: the loop reports the peer in one line, so the
# save thread's logged traceback is dropped (log records only: an uncaught
# exception still shows).
_PEER_GONE = ("Connection reset by peer", "Connection closed by peer", "Gloo AllGather failed",
              "stopped sending heartbeats", "tasks are unhealthy")


def _keep_record(record) -> bool:
  text = f"{record.getMessage()} {record.exc_info and record.exc_info[1]}"
  return not _names_any(text, _ALREADY_REPORTED + _PEER_GONE)


def quiet_abandoned_reads():
  """Drops the late errors of a failed restore's other array reads and of a
  save that filled the disk (hundreds of lines otherwise; genjax reports each
  in one line), wherever they surface: unraisable, thread and
  uncaught-exception hooks, and the absl / asyncio loggers; and the logged
  errors of a save whose barrier lost a dead peer (the train loop reports the
  peer). Every other error still shows. Idempotent; the entry points call it."""
  sys.unraisablehook = _quiet(sys.unraisablehook, lambda u: _names_any(u.exc_value))
  sys.excepthook = _quiet(sys.excepthook, lambda kind, value, tb: _names_any(value))
  threading.excepthook = _quiet(threading.excepthook, lambda a: _names_any(a.exc_value))
  for logger in (logging.get_absl_logger(), pylogging.getLogger("asyncio")):
    if _keep_record not in logger.filters:
      logger.addFilter(_keep_record)


TMP_MARK = ".orbax-checkpoint-tmp"  # in the name of a save still in progress


def _barrier_or_lost_peer(*, key: str, timeout_ms: int):
  """orbax's barrier among the processes (the coordination service's, by
  key), which also ends when a peer process has died. The service of a
  recoverable run (genjax's: parallel.initialize_multihost) leaves a dead
  process's barriers waiting until they time out (20 minutes for a save's),
  so each process also joins a round of the service's liveness check. A round
  returns once every live process has joined one, or once the service has
  marked the missing ones dead (--heartbeat_timeout); a round that all joined
  means they are all here and the barrier passes; if it has not passed a
  second later, a new round starts."""
  client = distributed.global_state.client
  everyone = list(range(jax.process_count()))
  outcome = queue.SimpleQueue()

  def start(kind, call):
    def run():
      try:
        outcome.put((kind, call(), None))
      except Exception as e:  # the waiting thread raises it
        outcome.put((kind, None, e))
    threading.Thread(target=run, name=f"genjax-{kind}", daemon=True).start()

  start("barrier", lambda: client.wait_at_barrier(key, timeout_ms))
  start("liveness", lambda: client.get_live_nodes(everyone))
  in_round = True
  while True:
    try:
      kind, value, error = outcome.get(timeout=None if in_round else 1.0)
    except queue.Empty:
      start("liveness", lambda: client.get_live_nodes(everyone))
      in_round = True
      continue
    if kind == "barrier":
      if error is not None:
        raise error
      return
    in_round = False
    lost = sorted(set(everyone) - set(value or ()))
    if error is not None or lost:
      who = f"process {', '.join(map(str, lost))}" if lost else "the coordinator (process 0)"
      raise errors.PeerError(f"{who} stopped sending heartbeats while this process waited at "
                             f"the checkpoint barrier {key!r}")


class Checkpointer:
  """Saves/restores `state` (any pytree) and `meta` (a JSON dict) by step."""

  def __init__(self, directory: str, max_to_keep: int = 3, async_save: bool = False,
               clean_tmp: bool = False):
    """clean_tmp (the training run, which holds the workdir lock): first remove
    the temporary folders of saves that never completed, with a one-line note."""
    self.directory = os.path.abspath(directory)
    if clean_tmp and jax.process_index() == 0 and os.path.isdir(self.directory):
      stale = sorted(n for n in os.listdir(self.directory) if TMP_MARK in n)
      for name in stale:
        shutil.rmtree(os.path.join(self.directory, name), ignore_errors=True)
      if stale:
        print(f"Removed {len(stale)} incomplete checkpoint folder(s) of an interrupted save "
              f"from {self.directory}: {', '.join(stale)}", flush=True)
    self.manager = ocp.CheckpointManager(
        self.directory,
        options=ocp.CheckpointManagerOptions(
            max_to_keep=max_to_keep, create=True,
            enable_async_checkpointing=async_save,
            async_options=(ocp.AsyncOptions(barrier_sync_fn=_barrier_or_lost_peer)
                           if jax.process_count() > 1 else None)))

  def latest_step(self):
    return self.manager.latest_step()

  def all_steps(self):
    return list(self.manager.all_steps())

  def save(self, step: int, state, meta: dict):
    """Saves a finite state; a state with a NaN or Inf anywhere is never
    written (FloatingPointError naming the leaf and the latest good step)."""
    bad = first_nonfinite_leaf(state)
    if bad is not None:
      raise errors.DivergedError(
          f"The train state at step {step} is not finite (first bad leaf: state{bad}); it "
          f"was not saved. The latest good checkpoint (step {self.latest_step() or 0}) "
          "is untouched; lower the learning rate (config optim*.lr) or check the data, "
          "then train again from it in a new --workdir or after fixing the cause.")
    try:
      self.manager.save(step, args=ocp.args.Composite(
          state=ocp.args.StandardSave(state), meta=ocp.args.JsonSave(meta)), force=True)
    except Exception as e:  # orbax / tensorstore raise several types for a full disk
      if not errors.disk_full(e):
        raise
      partial = sorted(n for n in os.listdir(self.directory) if n.startswith(f"{step}.")
                       and TMP_MARK in n)
      for name in partial:  # give the space of the cut save back
        shutil.rmtree(os.path.join(self.directory, name), ignore_errors=True)
      raise errors.StorageError(
          f"The disk holding {self.directory} is full (No space left on device) while saving "
          f"step {step}; the partial save was removed and the latest checkpoint (step "
          f"{self.latest_step() or 0}) is intact. Free space on that disk (or move the "
          "workdir to a larger one) and rerun to resume.") from None

  def restore(self, abstract_state, step=None):
    """Restores into the structure/shardings of `abstract_state` (e.g. from
    jax.eval_shape plus shardings). Returns (state, meta). Without `step`, the
    latest checkpoint that loads: one that fails is reported in one line and
    moved aside to <directory>_corrupt/ (not deleted), and the one before is
    tried."""
    steps = sorted(self.all_steps(), reverse=True)
    if not steps:
      raise errors.MissingError(f"No checkpoint in {self.directory}.")
    if step is not None and step not in steps:
      raise errors.MissingError(f"No checkpoint of step {step} in {self.directory}; it has "
                              f"steps {', '.join(map(str, sorted(steps)))}.")
    abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, abstract_state)
    for s in ([step] if step is not None else steps):
      verbosity = logging.get_verbosity()
      logging.set_verbosity(logging.FATAL)  # a failure is reported below, in one line
      try:
        out = self.manager.restore(s, args=ocp.args.Composite(
            state=ocp.args.StandardRestore(abstract), meta=ocp.args.JsonRestore()))
        return out.state, dict(out.meta)
      except Exception as e:  # orbax / tensorstore raise many types for a damaged file
        reason = f"{type(e).__name__}: {str(e).splitlines()[0][:200] if str(e) else ''}"
        if step is not None:
          raise errors.InputError(f"Checkpoint {s} in {self.directory} cannot be read ({reason}).") from None
        aside = self._move_aside(s)
        print(f"Checkpoint {s} cannot be read ({reason}); moved it to {aside} and falling "
              "back to the one before.", flush=True)
      finally:
        logging.set_verbosity(verbosity)
    raise errors.MissingError(f"No readable checkpoint in {self.directory} (damaged ones were "
                            f"moved to {self.directory}_corrupt/).")

  def _move_aside(self, step: int) -> str:
    dest = os.path.join(self.directory + "_corrupt", str(step))
    if os.path.exists(dest):
      dest += f".{len(os.listdir(os.path.dirname(dest)))}"
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    shutil.move(os.path.join(self.directory, str(step)), dest)
    self.manager.reload()
    return dest

  def wait(self):
    self.manager.wait_until_finished()

  def close(self):
    self.manager.close()

  def __enter__(self):
    return self

  def __exit__(self, *exc):
    self.wait()
    self.close()
