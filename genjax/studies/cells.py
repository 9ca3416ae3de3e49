"""One cell x seed of a study, run wherever an executor puts it (a local worker
process, a Ray task, a SLURM array element): train the workdir (resuming it
if it has checkpoints), make sure the final evaluations are in its
metrics.jsonl, and record the outcome in workdir/study_cell.json."""
import contextlib
import dataclasses
import json
import os
import sys
import time
import traceback
from typing import Optional, Tuple

import ml_collections

from genjax import evaluators, launch, preemption, run, workdir as workdir_lib
from genjax.logging import MetricWriter

CELL_FILE = "study_cell.json"  # status, final metrics, wall time, machine
LOG_FILE = "log.txt"           # the cell's stdout and stderr


@dataclasses.dataclass(frozen=True, eq=False)  # compared and hashed by identity
class Task:
  """What a worker needs to run one cell x seed (picklable, no open handles)."""
  cell: str                    # cell name; "" for a run the study needs first
  seed: Optional[int]
  workdir: str                 # absolute
  config: dict                 # the full config, ConfigDict.to_dict()
  cwd: str                     # the study's working directory (relative paths in configs)
  metrics: Tuple[str, ...] = ()  # metrics.jsonl keys needed at the last step
  origin: dict = None          # the config file and overrides, for the run's history

  @property
  def label(self) -> str:
    return f"{self.cell}/seed{self.seed}" if self.cell else os.path.basename(self.workdir)


def read_result(workdir: str) -> dict:
  path = os.path.join(workdir, CELL_FILE)
  if not os.path.exists(path):
    return {}
  with open(path) as f:
    return json.load(f)


def is_done(task: Task) -> bool:
  r = read_result(task.workdir)
  return r.get("status") == "done" and r.get("config_hash") == _hash(task)


def _hash(task: Task) -> str:
  return workdir_lib.config_hash(ml_collections.ConfigDict(task.config))


def read_metrics(workdir: str):
  """The rows of workdir/metrics.jsonl (a cut last line, from a crash, is skipped)."""
  path = os.path.join(workdir, "metrics.jsonl")
  rows = []
  if os.path.exists(path):
    with open(path) as f:
      for line in f:
        with contextlib.suppress(ValueError):
          rows.append(json.loads(line))
  return rows


def final_values(rows, keys, step: int) -> dict:
  """{key: value} of the row at `step` holding each key (missing keys left out)."""
  out = {}
  for row in rows:
    if row.get("step") == step:
      out.update({k: row[k] for k in keys if k in row})
  return out


def _evaluate_final(config, workdir: str, step: int):
  """Runs the config's evaluators on the final checkpoint (a run stopped
  between its last save and its last evaluation) and logs their rows."""
  r, state, meta = workdir_lib.restore_workdir(workdir)
  assert meta["step"] == step, (meta["step"], step)
  writer = MetricWriter(workdir, tensorboard=False)
  try:
    for evaluate in evaluators.from_config(config, r, workdir, writer):
      evaluate(state, step)
  finally:
    writer.close()


@contextlib.contextmanager
def _output_to(path: str):
  """The process's stdout and stderr (Python's and the C libraries') appended
  to `path` while running a cell."""
  sys.stdout.flush()
  sys.stderr.flush()
  saved = os.dup(1), os.dup(2)
  with open(path, "a") as log:
    os.dup2(log.fileno(), 1)
    os.dup2(log.fileno(), 2)
    try:
      yield
    finally:
      sys.stdout.flush()
      sys.stderr.flush()
      os.dup2(saved[0], 1)
      os.dup2(saved[1], 2)
      os.close(saved[0])
      os.close(saved[1])


def run_task(task: Task) -> dict:
  """Trains (or resumes) the task's workdir and returns its result, also
  written to workdir/study_cell.json: status done | preempted | failed, the
  final metrics, wall time over all attempts, the machine."""
  os.chdir(task.cwd)
  os.makedirs(task.workdir, exist_ok=True)
  config = ml_collections.ConfigDict(task.config)
  before = read_result(task.workdir)
  t0 = time.time()
  result = {"cell": task.cell, "seed": task.seed, "config_hash": _hash(task),
            "steps": int(config.train.num_steps)}
  with _output_to(os.path.join(task.workdir, LOG_FILE)):
    print(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} {task.label}", flush=True)
    try:
      run.train_and_evaluate(config, task.workdir, origin=task.origin)
      if task.metrics:
        steps = result["steps"]
        if len(final_values(read_metrics(task.workdir), task.metrics, steps)) < len(task.metrics):
          _evaluate_final(config, task.workdir, steps)
        values = final_values(read_metrics(task.workdir), task.metrics, steps)
        missing = sorted(set(task.metrics) - set(values))
        if missing:  # e.g. conditional accuracy of an unconditional cell
          print(f"Not measured for this cell: {', '.join(missing)} (no evaluator of its "
                "config writes them).", flush=True)
          result["missing"] = missing
        result["metrics"] = values
      result["status"] = "done"
    except preemption.Preempted as e:
      result.update(status="preempted", error=str(e))
    except Exception as e:  # recorded for the summary; the traceback goes to the log
      traceback.print_exc()
      result.update(status="failed", error=f"{type(e).__name__}: {e}")
  result["elapsed_s"] = before.get("elapsed_s", 0.0) + time.time() - t0
  result["attempts"] = before.get("attempts", 0) + 1
  result["machine"] = launch.machine()
  path = os.path.join(task.workdir, CELL_FILE)
  with open(path + ".tmp", "w") as f:
    json.dump(result, f, indent=2)
  os.replace(path + ".tmp", path)
  return result
