"""The train loop: train_and_evaluate(config, workdir), and only the loop."""
import contextlib
import os
import time

import jax
import numpy as np

from genjax import checkpoint, data, evaluators, images, parallel, workdir as workdir_lib
from genjax.logging import MetricWriter, Progress


def itstime(step: int, every: int, total: int) -> bool:
  """True at multiples of `every` (0 = never) and at the last step."""
  return bool(every) and (step % every == 0 or step == total)


class TrainMetrics:
  """Train-step metrics kept on device until a log step; then averaged, checked
  for finiteness, written with images/s and shown on the progress bar."""

  def __init__(self, run, writer, progress, ckpt, start: int):
    self.run, self.writer, self.progress, self.ckpt = run, writer, progress, ckpt
    self.pending, self.last = [], (start, time.time())

  def append(self, metrics):
    self.pending.append(metrics)
    self.progress.update(1)

  def flush(self, step: int):
    if not self.pending:
      return
    host = jax.device_get(self.pending)
    metrics = {k: float(np.mean([m[k] for m in host])) for k in host[0]}
    for k, v in metrics.items():
      if not np.isfinite(v):
        raise FloatingPointError(
            f"Metric {k!r} is {v} at step {step}. The latest good checkpoint (step "
            f"{self.ckpt.latest_step() or 0}) is untouched; lower the learning rate "
            "(config optim*.lr) or check the data, then rerun to resume from it.")
    metrics["images_per_sec"] = ((step - self.last[0]) * self.run.method.images_per_step
                                 / (time.time() - self.last[1]))
    self.writer.write(step, metrics, prefix="train/")
    self.progress.update(0, **{k: metrics[k] for k in self.run.method.summary_keys})
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


def train_and_evaluate(config, workdir: str, mesh=None):
  """Trains config in workdir, resuming from its latest checkpoint. Returns
  the final state."""
  t = config.train
  if t.num_steps <= 0:
    raise ValueError(f"train.num_steps must be positive (got {t.num_steps}).")
  source = data.build_source(config.data, config.data.split)
  if hasattr(source, "counts") and source.class_names:  # image folders: what was found
    print("Images per class: " + ", ".join(
        f"{n} {c}" for n, c in zip(source.class_names, source.counts)), flush=True)
  run = workdir_lib.Run(config, data.describe(source), mesh)
  parallel.check_batch(run.method.images_per_step, run.mesh)
  pipeline = data.Pipeline(source, run.method.images_per_step, config.seed,
                           jax.process_index(), jax.process_count())
  preview_batch = source.get(np.arange(min(t.num_grid_samples, len(source))))
  with contextlib.ExitStack() as stack:
    stack.enter_context(workdir_lib.lock(workdir))
    workdir_lib.save(config, run.info, workdir)
    ckpt = stack.enter_context(checkpoint.Checkpointer(
        os.path.join(workdir, "checkpoints"), t.keep_checkpoints, t.async_checkpoints))
    start = ckpt.latest_step() or 0
    state = run.restore(ckpt)[0] if start else run.init_state()
    if start:
      start = int(state.step)  # the checkpoint that loaded (a damaged one is moved aside)
      print(f"Resumed {workdir} from step {start}.")
    writer = stack.enter_context(contextlib.closing(
        MetricWriter(workdir, t.tensorboard, resume_step=start)))
    progress = stack.enter_context(contextlib.closing(
        Progress(start, t.num_steps, run.method.images_per_step, t.progress)))
    log = TrainMetrics(run, writer, progress, ckpt, start)
    evals = evaluators.from_config(config, run, workdir, writer)
    preempt = stack.enter_context(checkpoint.Preemption())
    batches = stack.enter_context(contextlib.closing(pipeline.iterate(start)))
    train_step = run.compile_train_step()
    step = start
    for step, batch in batches:
      if step >= t.num_steps or preempt.requested:
        break
      state, metrics = train_step(state, parallel.global_batch(batch, run.mesh))
      log.append(metrics)
      step += 1
      if itstime(step, t.log_every, t.num_steps):
        log.flush(step)
      if itstime(step, t.checkpoint_every, t.num_steps):
        log.flush(step)
        save_checkpoint(ckpt, run, state, step)
      if itstime(step, t.sample_every, t.num_steps):
        save_preview(run, state, preview_batch, workdir, step)
      for evaluate in evals:
        if itstime(step, evaluate.every, t.num_steps):
          evaluate(state, step)
    if preempt.requested:
      if ckpt.latest_step() != step:
        log.flush(step)
        save_checkpoint(ckpt, run, state, step)
      ckpt.wait()
      raise checkpoint.Preempted(step, preempt.requested, ckpt.directory)
  return state
