"""Metric writers (JSONL + TensorBoard) and a progress bar with images/s and ETA."""
import json
import os
import sys
import time

import jax
import numpy as np

from genjax import errors


def read_rows(path: str) -> list:
  """The rows of a metrics.jsonl. A last line cut short (the run stopped in
  the middle of writing it: power loss, a full disk) is dropped with a note,
  like the other rows written after the checkpoint a run resumes from; a bad
  line elsewhere is an error naming the file and line."""
  with open(path) as f:
    lines = [l for l in f if l.strip()]
  rows = []
  for i, line in enumerate(lines):
    try:
      row = json.loads(line)
      if not isinstance(row, dict) or "step" not in row:
        raise ValueError("not a row with a step")
      rows.append(row)
    except ValueError as e:
      if i == len(lines) - 1:
        print(f"Dropped the last line of {path}, cut short when the run stopped.", flush=True)
        break
      raise errors.InputError(f"{path} line {i + 1} is not a metrics row ({e}); fix or delete "
                              "that line, then rerun.") from None
  return rows


def summary_writer(logdir: str, **kwargs):
  """tensorboardX's SummaryWriter(logdir, **kwargs). tensorboardX imports
  PyTorch when it is installed, only to accept torch tensors (2.3 s of every
  process's start here); genjax writes numbers, so the first import keeps
  PyTorch out (unless something imported it already)."""
  if "tensorboardX" not in sys.modules and "torch" not in sys.modules:
    sys.modules["torch"] = None  # `import torch` raises ImportError meanwhile
    try:
      import tensorboardX  # noqa: F401
    finally:
      del sys.modules["torch"]
  from tensorboardX import SummaryWriter
  return SummaryWriter(logdir, **kwargs)


class MetricWriter:
  """Appends one JSON object per call to workdir/metrics.jsonl and mirrors
  scalars to TensorBoard. Only process 0 writes. A run resumed from step
  `resume_step` first drops the rows written after it (by the interrupted
  run, which will write them again), in both, so each step appears once."""

  def __init__(self, workdir: str, tensorboard: bool = True, resume_step=None):
    self.active = jax.process_index() == 0
    self.path = os.path.join(workdir, "metrics.jsonl")
    self.tb = None
    if self.active and resume_step is not None and os.path.exists(self.path):
      kept = [json.dumps(r) + "\n" for r in read_rows(self.path) if r["step"] <= resume_step]
      with open(self.path + ".tmp", "w") as f:
        f.writelines(kept)
      os.replace(self.path + ".tmp", self.path)
    if self.active and tensorboard:
      purge = None if resume_step is None else resume_step + 1
      self.tb = summary_writer(os.path.join(workdir, "tensorboard"), purge_step=purge)

  def write(self, step: int, metrics: dict, prefix: str = ""):
    if not self.active:
      return
    row = {"step": int(step), "time": time.time()}
    for k, v in metrics.items():
      key = prefix + k
      row[key] = v.item() if isinstance(v, np.generic) or hasattr(v, "item") else v
      if self.tb is not None and isinstance(row[key], (int, float)):
        self.tb.add_scalar(key, row[key], step)
    try:
      with open(self.path, "a") as f:
        f.write(json.dumps(row) + "\n")
    except OSError as e:
      if not errors.disk_full(e):
        raise
      raise errors.StorageError(
          f"The disk holding {self.path} is full (No space left on device) at step {step}; "
          "the checkpoints saved so far are intact. Free space on that disk (or move the "
          "workdir to a larger one) and rerun to resume.") from None

  def close(self):
    if self.tb is not None:
      self.tb.close()


class Progress:
  """A tqdm bar counted in images, so its rate is images/s and its ETA real."""

  def __init__(self, start_step: int, num_steps: int, images_per_step: int,
               enabled: bool = True):
    from tqdm import tqdm
    tty = sys.stderr.isatty()
    self.images_per_step = images_per_step
    self.bar = tqdm(total=num_steps * images_per_step,
                    initial=start_step * images_per_step, unit="img",
                    unit_scale=True, dynamic_ncols=True, mininterval=0.5 if tty else 30,
                    disable=not enabled or jax.process_index() != 0)

  def update(self, steps: int = 1, **postfix):
    self.bar.update(steps * self.images_per_step)
    if postfix:
      self.bar.set_postfix({k: f"{v:.4g}" for k, v in postfix.items()}, refresh=False)

  def close(self):
    self.bar.close()
