"""Run as two subprocesses by test_multihost.py: one process of a 2-process
jax.distributed run on CPU. Trains a smoke config and saves the params."""
import sys

import jax  # noqa: E402


def main(name, process_id, port, workdir, out):
  jax.distributed.initialize(coordinator_address=f"127.0.0.1:{port}", num_processes=2,
                             process_id=int(process_id))
  import numpy as np
  from absl import logging

  from genjax import run
  from tests.conftest import load_config
  logging.set_verbosity(logging.ERROR)
  assert jax.process_count() == 2 and jax.device_count() == 2
  cfg = load_config(name, "smoke")
  cfg.train.update(num_steps=3, batch_size=8, checkpoint_every=3)
  state = run.train_and_evaluate(cfg, workdir)
  leaves = [np.asarray(x) for x in jax.tree.leaves(state)]
  if jax.process_index() == 0:
    np.savez(out, *leaves)
  print("ok", jax.process_index())


if __name__ == "__main__":
  main(*sys.argv[1:])
