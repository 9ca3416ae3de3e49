"""Stopping a run cleanly: SIGTERM (a scheduler's preemption notice) or
Ctrl-C finish the current step, save a checkpoint and exit with status 75 so
the job can be requeued. In a multi-process run every process stops at the
same step: JAX's preemption service spreads a SIGTERM reaching any process
to all of them and agrees on the step (multihost_utils.
reached_preemption_sync_point); a Ctrl-C is turned into that SIGTERM."""
import os
import signal

import jax
from jax.experimental import multihost_utils

# Exit status of a run stopped by SIGTERM or SIGINT after saving (EX_TEMPFAIL:
# "try again"), so a scheduler can tell it from a finished run (0) and requeue it.
PREEMPTED_EXIT_CODE = 75


class Preempted(Exception):
  """Raised by the loop once a preempted run has saved its checkpoint."""

  def __init__(self, step: int, signal_name: str, directory: str):
    super().__init__(f"Preempted by {signal_name}: saved step {step} to {directory}; "
                     "rerun the same command to resume.")
    self.step = step


class Preemption:
  """One process: SIGTERM and SIGINT (Ctrl-C) set `requested`, which the loop
  checks after each step (`should_stop`). A second Ctrl-C stops at once
  (KeyboardInterrupt); checkpoints are written to a temporary folder and
  renamed when complete, so the latest good one survives."""
  SIGNALS = (signal.SIGTERM, signal.SIGINT)

  def __init__(self):
    self.requested = None  # the signal's name once one arrived
    self._old = {}

  def __enter__(self):
    self._old = {s: signal.signal(s, self._handle) for s in self.SIGNALS}
    return self

  def _handle(self, signum, frame):
    if self.requested and signum == signal.SIGINT:
      signal.signal(signal.SIGINT, signal.default_int_handler)
      raise KeyboardInterrupt
    self.requested = signal.Signals(signum).name

  def should_stop(self, step: int) -> bool:
    del step
    return self.requested is not None

  def __exit__(self, *exc):
    for s, old in self._old.items():
      signal.signal(s, old)


class AgreedPreemption(Preemption):
  """Several processes: SIGTERM is left to JAX's preemption service, which
  notifies every process and picks the step all of them stop at; SIGINT
  (Ctrl-C) on any process is sent on as a SIGTERM to itself. should_stop
  must be called at every step by every process."""
  SIGNALS = (signal.SIGINT,)

  def _handle(self, signum, frame):
    if self.requested:
      signal.signal(signal.SIGINT, signal.default_int_handler)
      raise KeyboardInterrupt
    self.requested = "SIGINT"
    os.kill(os.getpid(), signal.SIGTERM)  # to JAX's notifier: all processes hear of it

  def should_stop(self, step: int) -> bool:
    if multihost_utils.reached_preemption_sync_point(step):
      self.requested = self.requested or "a preemption notice (SIGTERM or SIGINT) to a process"
      return True
    return False


def for_this_run() -> Preemption:
  """The preemption handling for this process's run."""
  return AgreedPreemption() if jax.process_count() > 1 else Preemption()
