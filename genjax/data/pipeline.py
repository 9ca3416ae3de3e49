"""Deterministic batching: the global batch at step s is a pure function of
(seed, s), so a resumed run sees exactly the data it would have seen.

Epoch e visits the source in the order `permutation(seed, e)`; global batch s
holds positions [s*B, (s+1)*B) of the concatenated epochs. Process p of P reads
only rows [p*B/P, (p+1)*B/P) of it.
"""
import concurrent.futures
import functools

import numpy as np

from genjax import errors


class Pipeline:
  """Batches from a random-access source for a given step."""

  def __init__(self, source, global_batch: int, seed: int,
               process_index: int = 0, process_count: int = 1):
    if global_batch % process_count:
      raise errors.InputError(f"Global batch {global_batch} is not divisible by the "
                       f"{process_count} processes (config key train.batch_size).")
    self.source, self.global_batch, self.seed = source, global_batch, seed
    self.local = global_batch // process_count
    self.offset = process_index * self.local

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
    """Yields (step, local batch) from start_step on, reading ahead in a thread."""
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
