"""Runs a study: the runs it needs first, then every unfinished cell x seed on
an executor, with one progress line, then its summary. Resumable: finished
cells are skipped and unfinished ones resume from their last checkpoint."""
import json
import os
import signal
import socket
import sys
import time

import ml_collections

from genjax import config_lib, errors, preemption
from genjax.studies.cells import Task, is_done
from genjax.studies.executors import Executor
from genjax.studies.spec import Study
from genjax.studies.summary import STATE_FILE, cell_dir, summarize


def tasks(study: Study, root: str, cwd: str):
  """(the runs the study needs, the cell x seed tasks), with absolute workdirs."""
  needs = [Task("", None, os.path.abspath(wd), config_lib.load(spec).to_dict(), cwd,
                origin={"config": spec, "overrides": {}, "study": study.name})
           for wd, spec in study.needs.items()]
  cells = [Task(cell, seed, os.path.abspath(cell_dir(root, cell, seed)),
                study.config(cell, seed).to_dict(), cwd, tuple(study.metrics),
                origin=study.origin(cell, seed))
           for cell in study.cells for seed in study.seeds]
  return needs, cells


def _trained(task: Task) -> bool:
  """A needed run already trained to its last step (by the study or by hand)."""
  path = os.path.join(task.workdir, "config.json")
  ckpts = os.path.join(task.workdir, "checkpoints")
  if not (os.path.exists(path) and os.path.isdir(ckpts)):
    return False
  with open(path) as f:
    steps = ml_collections.ConfigDict(json.load(f)).train.num_steps
  return max((int(n) for n in os.listdir(ckpts) if n.isdigit()), default=-1) >= steps


class StudyProgress:
  """One line: cells done / running / left (and failed), and the ETA from this
  session's throughput. Rewritten in place on a terminal, a line per change
  otherwise."""

  def __init__(self, name: str, total: int, done: int, out=sys.stdout):
    self.name, self.total, self.done, self.out = name, total, done, out
    self.failed, self.finished_now, self.t0 = 0, 0, time.time()
    self.tty, self.last = out.isatty(), ""

  def show(self, running: int):
    left = self.total - self.done - self.failed - running
    eta = "-"
    if self.finished_now:
      seconds = (time.time() - self.t0) / self.finished_now * (left + running)
      eta = f"{seconds / 60:.0f} min" if seconds >= 60 else f"{seconds:.0f} s"
    line = (f"study {self.name}: {self.done}/{self.total} done, {running} running, {left} left"
            + (f", {self.failed} failed" if self.failed else "") + f"; ETA {eta}")
    if line != self.last:
      self.out.write(("\r" + line.ljust(len(self.last))) if self.tty else line + "\n")
      self.out.flush()
      self.last = line

  def finish(self, result: dict, running: int):
    self.finished_now += 1
    if result.get("status") == "done":
      self.done += 1
    elif result.get("status") == "failed":
      self.failed += 1
    self.show(running)

  def close(self):
    if self.tty and self.last:
      self.out.write("\n")


class _Interrupt:
  """SIGTERM / SIGINT stop the executor's tasks (they save); a second SIGINT
  stops at once."""

  def __init__(self, executor: Executor):
    self.executor, self.requested, self.old = executor, None, {}

  def __enter__(self):
    self.old = {s: signal.signal(s, self._handle) for s in (signal.SIGTERM, signal.SIGINT)}
    return self

  def _handle(self, signum, frame):
    if self.requested and signum == signal.SIGINT:
      raise KeyboardInterrupt
    self.requested = signal.Signals(signum).name
    self.executor.stop()

  def __exit__(self, *exc):
    for s, old in self.old.items():
      signal.signal(s, old)


class StudyInterrupted(preemption.Preempted):
  """Raised once an interrupted study's cells in flight have saved."""

  def __init__(self, done: int, total: int, signal_name: str, root: str):
    Exception.__init__(self, f"Interrupted by {signal_name}: {done}/{total} cells done, the "
                       f"others saved their last checkpoint under {root}; rerun the same "
                       "command to resume.")
    self.step = done


def _load_state(study: Study, root: str) -> dict:
  path = os.path.join(root, STATE_FILE)
  state = {}
  if os.path.exists(path):
    with open(path) as f:
      state = json.load(f)
  state.update(name=study.name, base=study.base, seeds=list(study.seeds),
               baseline=study.baseline, metrics=study.metrics,
               cells={c: {"config": v.config, "overrides": v.overrides}
                      for c, v in study.cells.items()})
  state.setdefault("sessions", [])
  return state


def _save_state(root: str, state: dict):
  path = os.path.join(root, STATE_FILE)
  with open(path + ".tmp", "w") as f:
    json.dump(state, f, indent=2, default=str)
  os.replace(path + ".tmp", path)


def _run(executor: Executor, todo, progress: StudyProgress, interrupt: _Interrupt) -> dict:
  results = {}
  for task, result in executor.run(todo):
    if task is None:
      progress.show(executor.in_flight)
      continue
    results[task] = result
    if task.cell:
      progress.finish(result, executor.in_flight)
    elif result.get("status") != "done" and not interrupt.requested:
      raise errors.StateError(f"The run {task.workdir} that the study needs did not finish "
                         f"({result.get('status')}: {result.get('error', '')}); see "
                         f"{task.workdir}/log.txt.")
  return results


def run_study(study: Study, root: str, executor: Executor, command: str = "",
              out=sys.stdout) -> dict:
  """Runs every unfinished cell x seed of `study` under `root` and writes the
  summary. Returns summary.json's content. Raises preemption.Preempted after
  a SIGTERM / SIGINT (the cells in flight saved their checkpoints)."""
  root = os.path.abspath(root)
  os.makedirs(root, exist_ok=True)
  state = _load_state(study, root)
  session = {"command": command, "start": time.strftime("%Y-%m-%d %H:%M:%S"),
             "host": socket.gethostname(), "executor": type(executor).__name__.lower()}
  state["sessions"].append(session)
  _save_state(root, state)
  t0 = time.time()
  needs, cells = tasks(study, root, os.getcwd())
  todo = [t for t in cells if not is_done(t)]
  progress = StudyProgress(study.name, len(cells), len(cells) - len(todo), out)
  try:
    with _Interrupt(executor) as interrupt:
      _run(executor, [t for t in needs if not _trained(t)], progress, interrupt)
      progress.show(0)
      if not interrupt.requested:
        _run(executor, todo, progress, interrupt)
  finally:
    progress.close()
    session.update(end=time.strftime("%Y-%m-%d %H:%M:%S"), wall_s=time.time() - t0)
    _save_state(root, state)
  summary = summarize(study, root)
  if interrupt.requested:
    raise StudyInterrupted(progress.done, len(cells), interrupt.requested, root)
  return summary
