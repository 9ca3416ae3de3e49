"""Run as a subprocess by test_multidevice.py: trains a smoke config 3 steps on
a mesh of 8 fake CPU devices and 5 steps on 1 device, and prints a JSON
comparison of the two at step 3. Both workdirs are kept, at argv[2] and
argv[3] (the test resumes the 8-device run on 1 device and compares it with
the 1-device run's step 5)."""
import os
import sys

os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "")
                           + " --xla_force_host_platform_device_count=8")
import json  # noqa: E402

import jax  # noqa: E402
import numpy as np  # noqa: E402
from absl import logging  # noqa: E402

from genjax import methods, parallel, run  # noqa: E402
from genjax import workdir as workdir_lib  # noqa: E402
from tests.conftest import load_config  # noqa: E402


def main(name, eight_workdir, one_workdir):
  logging.set_verbosity(logging.ERROR)
  traces = []
  for cls in (methods.GAN, methods.VAE):
    original = cls.train_step

    def counted(self, state, batch, _original=original):
      traces.append(1)  # runs only while jax traces the step
      return _original(self, state, batch)
    cls.train_step = counted

  results, counts = {}, {}
  for n, steps, workdir in ((8, 3, eight_workdir), (1, 5, one_workdir)):
    cfg = load_config(name, "smoke")
    cfg.train.update(num_steps=steps, batch_size=16, checkpoint_every=3)
    del traces[:]
    mesh = parallel.make_mesh(jax.devices()[:n])
    state = run.train_and_evaluate(cfg, workdir, mesh=mesh)
    counts[n] = len(traces)
    leaf = jax.tree.leaves(state)[0]
    assert len(leaf.sharding.device_set) == n, leaf.sharding
    results[n] = state if steps == 3 else workdir_lib.restore_workdir(workdir, 3, mesh)[1]
  diffs = []  # per leaf: max |a - b| relative to the leaf's scale
  for a, b in zip(jax.tree.leaves(results[8]), jax.tree.leaves(results[1])):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    diffs.append(float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-6)))
  print(json.dumps({"devices": jax.device_count(), "traces": counts,
                    "max_rel_diff": max(diffs),
                    "num_leaves": len(diffs)}))


if __name__ == "__main__":
  main(*sys.argv[1:4])
