"""Run as a subprocess by test_multidevice.py: trains a smoke config on a mesh
of 8 fake CPU devices and on 1 device, and prints a JSON comparison. The
8-device run's workdir is kept at argv[2] (the test resumes it on 1 device)."""
import os
import sys

os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "")
                           + " --xla_force_host_platform_device_count=8")
import json  # noqa: E402
import tempfile  # noqa: E402

import jax  # noqa: E402
import numpy as np  # noqa: E402
from absl import logging  # noqa: E402

from genjax import methods, parallel, run  # noqa: E402
from tests.conftest import load_config  # noqa: E402


def main(name, keep_workdir):
  logging.set_verbosity(logging.ERROR)
  traces = []
  for cls in (methods.GAN, methods.VAE):
    original = cls.train_step

    def counted(self, state, batch, _original=original):
      traces.append(1)  # runs only while jax traces the step
      return _original(self, state, batch)
    cls.train_step = counted

  results, counts = {}, {}
  for n in (8, 1):
    cfg = load_config(name, "smoke")
    cfg.train.update(num_steps=3, batch_size=16, checkpoint_every=3)
    del traces[:]
    mesh = parallel.make_mesh(jax.devices()[:n])
    with tempfile.TemporaryDirectory() as workdir:
      state = run.train_and_evaluate(cfg, keep_workdir if n == 8 else workdir, mesh=mesh)
    counts[n] = len(traces)
    results[n] = state
    leaf = jax.tree.leaves(state)[0]
    assert len(leaf.sharding.device_set) == n, leaf.sharding
  diffs = []  # per leaf: max |a - b| relative to the leaf's scale
  for a, b in zip(jax.tree.leaves(results[8]), jax.tree.leaves(results[1])):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    diffs.append(float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-6)))
  print(json.dumps({"devices": jax.device_count(), "traces": counts,
                    "max_rel_diff": max(diffs),
                    "num_leaves": len(diffs)}))


if __name__ == "__main__":
  main(*sys.argv[1:3])
