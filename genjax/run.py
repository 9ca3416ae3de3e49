"""The train loop: train_and_evaluate(config, workdir), and only the loop."""
import contextlib
import os
import socket
import time

import jax
import numpy as np

from genjax import (checkpoint, config_lib, data, errors, evaluators, images, parallel,
                    preemption, report_html)
from genjax import workdir as workdir_lib
from genjax.models import kernels
from genjax.logging import MetricWriter, Progress


def itstime(step: int, every: int, total: int) -> bool:
  """True at multiples of `every` (0 = never) and at the last step."""
  return bool(every) and (step % every == 0 or step == total)


class TrainMetrics:
  """Train-step metrics kept on device until a log step; then averaged, checked
  for finiteness, written with images/s and shown on the progress bar.

  With train.nonfinite=skip, skipped steps (metrics["skipped"]) are left out
  of the averages and counted (train/skipped: skips since the last log step);
  train.max_skips_in_row skips in a row stop the run (FloatingPointError)."""

  def __init__(self, run, writer, progress, ckpt, start: int):
    self.run, self.writer, self.progress, self.ckpt = run, writer, progress, ckpt
    self.pending, self.last = [], (start, time.time())
    self.in_row, self.step = 0, start

  def _bad(self, what: str) -> errors.DivergedError:
    return errors.DivergedError(
        f"{what}. The latest good checkpoint (step {self.ckpt.latest_step() or 0}) is "
        "untouched; lower the learning rate (config optim*.lr, which a resumed run may "
        "change) or check the data, then rerun to resume from it.")

  def append(self, metrics):
    if "skipped" in metrics and self.pending:  # the previous step's flag: it is done by now
      self._count_skip(float(jax.device_get(self.pending[-1]["skipped"])), self.step)
    self.pending.append(metrics)
    self.step += 1
    self.progress.update(1)

  def _count_skip(self, skipped: float, step: int):
    self.in_row = self.in_row + 1 if skipped else 0
    limit = self.run.config.train.max_skips_in_row
    if self.in_row >= limit:
      raise self._bad(f"{self.in_row} train steps in a row up to step {step} had a NaN or "
                      f"Inf loss or state and were skipped (train.nonfinite=skip, "
                      f"train.max_skips_in_row={limit}); stopping")

  def flush(self, step: int):
    if not self.pending:
      return
    host = jax.device_get(self.pending)
    if "skipped" in host[-1]:
      self._count_skip(float(host[-1]["skipped"]), step)
    kept = [m for m in host if not m.get("skipped")]
    metrics = {k: float(np.mean([m[k] for m in kept])) for k in host[0] if k != "skipped"
               } if kept else {}
    for k, v in metrics.items():
      if not np.isfinite(v):
        raise self._bad(f"Metric {k!r} is {v} at step {step}")
    if "skipped" in host[0]:
      metrics["skipped"] = float(sum(m["skipped"] for m in host))
    metrics["images_per_sec"] = ((step - self.last[0]) * self.run.method.images_per_step
                                 / (time.time() - self.last[1]))
    self.writer.write(step, metrics, prefix="train/")
    self.progress.update(0, **{k: metrics[k] for k in self.run.method.summary_keys
                               if k in metrics})
    self.pending, self.last = [], (step, time.time())


def save_checkpoint(ckpt, run, state, step: int):
  ckpt.save(step, state, {"step": step, "data_step": step, "config_hash": run.hash})


def save_preview(run, state, batch, workdir: str, step: int):
  """workdir/samples/step_<step>.png: the method's preview grid."""
  grid = run.preview(state, batch, run.config.seed)
  if grid is not None and jax.process_index() == 0:
    rows, cols = grid.shape[:2]
    images.save_png(os.path.join(workdir, "samples", f"step_{step:06d}.png"),
                    images.grid(images.to_uint8(grid.reshape((-1,) + grid.shape[2:])), cols),
                    run.provenance(step, seed=run.config.seed, num=rows * cols))


def train_and_evaluate(config, workdir: str, mesh=None, accept_data_change: bool = False,
                       origin: dict = None):
  """Trains config in workdir, resuming from its latest checkpoint. Returns
  the final state. A resumed run refuses changed data files (data.path)
  unless accept_data_change. `origin` (the config file and command-line
  overrides the config came from) is recorded in workdir/history.jsonl with
  each start and resume, and the run ends by writing workdir/report.html."""
  t = config.train
  config_lib.validate(config)
  source = data.build_source(config.data, config.data.split)
  if source.counts and source.class_names and source.decodes:  # image folders: what was found
    print("Images per class: " + ", ".join(
        f"{n} {c}" for n, c in zip(source.class_names, source.counts)), flush=True)
  run = workdir_lib.Run(config, data.describe(source), mesh)
  if run.policy.precision == "bfloat16" and not kernels.native_bfloat16():
    print("Note: train.precision=bfloat16 on a CPU without bfloat16 instructions "
          "(AVX512_BF16, AMX-BF16, Arm BF16): they are emulated, so it trains no faster than "
          "float32 here.", flush=True)
  parallel.check_batch(run.method.images_per_step, run.mesh)
  pipeline = data.Pipeline(source, run.method.images_per_step, config.seed,
                           jax.process_index(), jax.process_count(), config.data.workers,
                           accelerator=jax.default_backend() != "cpu")
  preview_batch = source.get(np.arange(min(t.num_grid_samples, len(source))))
  with contextlib.ExitStack() as stack:
    stack.enter_context(workdir_lib.lock(workdir))
    workdir_lib.check_data_files(config, workdir, accept_data_change)
    workdir_lib.save(config, run.info, workdir)
    ckpt = stack.enter_context(checkpoint.Checkpointer(
        os.path.join(workdir, "checkpoints"), t.keep_checkpoints, t.async_checkpoints,
        clean_tmp=True))
    start = ckpt.latest_step() or 0
    # The train step compiles while the state is initialised or restored.
    state, train_step = run.start(
        (lambda: run.restore(ckpt)[0]) if start else run.init_state, preview_batch)
    if start:
      start = int(state.step)  # the checkpoint that loaded (a damaged one is moved aside)
      print(f"Resumed {workdir} from step {start}.")
    workdir_lib.log_event(workdir, "resume" if start else "start", step=start,
                          num_steps=t.num_steps, config_hash=run.hash, origin=origin or {},
                          host=socket.gethostname(), devices=jax.device_count(),
                          processes=jax.process_count())
    writer = stack.enter_context(contextlib.closing(
        MetricWriter(workdir, t.tensorboard, resume_step=start)))
    progress = stack.enter_context(contextlib.closing(
        Progress(start, t.num_steps, run.method.images_per_step, t.progress)))
    log = TrainMetrics(run, writer, progress, ckpt, start)
    evals = evaluators.from_config(config, run, workdir, writer)
    preempt = stack.enter_context(preemption.for_this_run())
    batches = stack.enter_context(contextlib.closing(
        parallel.prefetch_to_device(pipeline.iterate(start), run.mesh)))
    step, t0, stopping = start, time.time(), False
    at = f"at step {start}"  # where the loop is, for a peer's failure
    try:
      for step, batch in batches:
        if step >= t.num_steps or stopping:
          break
        at = f"during step {step + 1}"
        state, metrics = train_step(state, batch)
        log.append(metrics)
        step += 1
        at = f"after step {step}"
        if itstime(step, t.log_every, t.num_steps):
          log.flush(step)
        if itstime(step, t.checkpoint_every, t.num_steps):
          log.flush(step)
          at = f"while saving step {step}"
          save_checkpoint(ckpt, run, state, step)
          at = f"after step {step}"
        if itstime(step, t.sample_every, t.num_steps):
          save_preview(run, state, preview_batch, workdir, step)
        for evaluate in evals:
          if itstime(step, evaluate.every, t.num_steps):
            evaluate(state, step)
        stopping = preempt.should_stop(step)  # every step: processes agree on the step
      if stopping and step < t.num_steps:
        if ckpt.latest_step() != step:
          log.flush(step)
          at = f"while saving step {step}"
          save_checkpoint(ckpt, run, state, step)
        ckpt.wait()
        raise preemption.Preempted(step, preempt.requested, ckpt.directory)
    except preemption.Preempted:
      workdir_lib.log_event(workdir, "preempted", step=step, signal=preempt.requested,
                            wall_s=time.time() - t0)
      raise
    except Exception as e:
      failed = parallel.failed_processes() if jax.process_count() > 1 else []
      workdir_lib.log_event(workdir, "failed", step=step, error=f"{type(e).__name__}: {e}"[:500],
                            failed_processes=failed, wall_s=time.time() - t0)
      if failed:
        reason = (str(e).strip().splitlines() or [type(e).__name__])[0][:200]
        raise errors.PeerError(
            f"Process {', '.join(map(str, failed))} of {jax.process_count()} stopped {at} "
            f"({reason}); this process stops too. Restart every process with "
            f"the same command to resume from the latest checkpoint (step "
            f"{ckpt.latest_step() or 0}).") from None
      raise
    workdir_lib.log_event(workdir, "end", step=step, wall_s=time.time() - t0)
  write_report(workdir)
  return state


def write_report(workdir: str):
  """workdir/report.html (process 0); a failure to draw it never fails the run."""
  if jax.process_index() != 0:
    return
  try:
    report_html.write(workdir)
  except Exception as e:  # the run itself finished and is saved
    print(f"Could not write {workdir}/report.html ({type(e).__name__}: {e}); "
          f"python -m genjax.report --workdir {workdir} retries.", flush=True)
