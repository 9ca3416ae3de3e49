"""Deterministic batching: the global batch at step s is a pure function of
(seed, s), so a resumed run sees exactly the data it would have seen, with
any number of worker processes.

Epoch e visits the source in the order `permutation(seed, e)`; global batch s
holds positions [s*B, (s+1)*B) of the concatenated epochs. Process p of P reads
only rows [p*B/P, (p+1)*B/P) of it. Batches are built (files decoded, derived
tasks applied) in a background thread or, with `workers` > 0, in that many
worker processes (grain's multiprocessing prefetch over a dataset of steps),
each building whole batches; the order and the contents stay the same.
"""
import concurrent.futures
import functools
import gc
import os

import numpy as np

from genjax import errors

MAX_WORKERS = 16


def default_workers(source, accelerator: bool = False) -> int:
  """data.workers = -1: worker processes (the CPU count, at most MAX_WORKERS)
  for sources that decode files, and when training runs on an accelerator
  also for sources that compute their examples (derived tasks: the denoiser's
  non-local means builds about 80 patches/s in one process against thousands
  trained on a GPU); none for in-memory copies, where a worker only slows a
  batch down, or for computed examples when training takes the CPU's cores."""
  wanted = source.decodes or (accelerator and source.computes)
  return min(os.cpu_count() or 1, MAX_WORKERS) if wanted else 0


def _grain():
  """grain, with absl's flags marked parsed: grain reads its options through
  absl, which a library caller (a notebook, a test) may not have parsed."""
  from absl import flags
  import grain
  if not flags.FLAGS.is_parsed():
    flags.FLAGS.mark_as_parsed()
  return grain


def map_in_workers(fn, items, workers: int, buffer: int = 2):
  """fn(item) for each item, in order, computed in `workers` processes (grain)
  or in this one (workers = 0). fn and the items are pickled to the workers."""
  if workers <= 0:
    yield from map(fn, items)
    return
  grain = _grain()
  ds = (grain.MapDataset.range(items.start, items.stop, items.step) if isinstance(items, range)
        else grain.MapDataset.source(list(items)))
  ds = ds.map(fn).to_iter_dataset().mp_prefetch(
      grain.MultiprocessingOptions(num_workers=workers, per_worker_buffer_size=buffer))
  it = iter(ds)
  try:
    for item in it:  # copied out of grain's shared memory, which is then freed at once
      yield _copied(item)
  finally:
    it.close()
    del it
    gc.collect()  # frees the shared memory of batches still in flight (else it leaks)


def _copied(item):
  if isinstance(item, dict):
    return {k: _copied(v) for k, v in item.items()}
  if isinstance(item, (tuple, list)):
    return type(item)(_copied(v) for v in item)
  return np.array(item) if isinstance(item, np.ndarray) else item


class _BatchAt:
  """A picklable `step -> this process's batch of that step`, for the workers."""

  def __init__(self, pipeline):
    self.pipeline = pipeline

  def __call__(self, step):
    return self.pipeline.batch(int(step))


class Pipeline:
  """Batches from a random-access source for a given step."""

  def __init__(self, source, global_batch: int, seed: int,
               process_index: int = 0, process_count: int = 1, workers: int = 0,
               accelerator: bool = False):
    if global_batch % process_count:
      raise errors.InputError(f"Global batch {global_batch} is not divisible by the "
                              f"{process_count} processes (config key train.batch_size).")
    self.source, self.global_batch, self.seed = source, global_batch, seed
    self.local = global_batch // process_count
    self.offset = process_index * self.local
    self.workers = default_workers(source, accelerator) if workers < 0 else workers

  @functools.lru_cache(maxsize=2)
  def _permutation(self, epoch: int):
    return np.random.default_rng([self.seed, epoch]).permutation(len(self.source))

  def indices(self, step: int) -> np.ndarray:
    """Source indices of this process's rows of global batch `step`."""
    n = len(self.source)
    pos = step * self.global_batch + self.offset + np.arange(self.local, dtype=np.int64)
    epochs, offsets = np.divmod(pos, n)
    out = np.empty_like(pos)
    for e in np.unique(epochs):
      m = epochs == e
      out[m] = self._permutation(int(e))[offsets[m]]
    return out

  def batch(self, step: int):
    return self.source.get(self.indices(step))

  def iterate(self, start_step: int, prefetch: int = 2):
    """Yields (step, local batch) from start_step on, built ahead of use."""
    if self.workers:
      steps = range(start_step, start_step + (1 << 40))
      for step, batch in zip(steps, map_in_workers(_BatchAt(self), steps, self.workers,
                                                   prefetch)):
        yield step, batch
      return
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
      pending = [pool.submit(self.batch, start_step + i) for i in range(prefetch)]
      step = start_step
      while True:
        batch = pending.pop(0).result()
        pending.append(pool.submit(self.batch, step + prefetch))
        yield step, batch
        step += 1


def eval_batches(source, global_batch: int, process_index: int = 0,
                 process_count: int = 1):
  """Every item of `source` once, in order, in fixed-size batches.

  The last batch is padded by repeating item 0; `valid` is 1 for real rows.
  Yields this process's rows of each global batch.
  """
  local = global_batch // process_count
  n = len(source)
  for start in range(0, n, global_batch):
    pos = start + process_index * local + np.arange(local)
    valid = pos < n
    batch = source.get(np.where(valid, pos, 0))
    batch["valid"] = valid.astype(np.float32)
    yield batch
