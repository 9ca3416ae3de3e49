"""Run as a subprocess by test_multidevice.py: for each config named in argv[2:]
(smoke variants), trains 3 steps on a mesh of 8 fake CPU devices and 5 steps
on 1 device, resumes the 8-device run on 1 device to step 5 (asserting it ends where the
1-device run did), and prints one JSON line per config comparing the 8- and
1-device states at step 3. Workdirs go under argv[1]."""
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
from tests.conftest import assert_trees_close, load_config  # noqa: E402


def max_rel_diff(a, b) -> float:
  """Over the leaves: max |a - b| relative to the leaf's scale."""
  diffs = []
  for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    diffs.append(float(np.max(np.abs(x - y)) / max(np.max(np.abs(y)), 1e-6)))
  return max(diffs)


def check(name, root, traces):
  def config(steps):
    cfg = load_config(name, "smoke")
    cfg.train.update(num_steps=steps, batch_size=16, checkpoint_every=3,
                     sample_every=0)  # no previews: their programs are not what is checked
    return cfg

  states, counts, shardings = {}, {}, {}
  for n, steps in ((8, 3), (1, 5)):
    del traces[:]
    mesh = parallel.make_mesh(jax.devices()[:n])
    states[n] = run.train_and_evaluate(config(steps), os.path.join(root, f"{name}{n}"), mesh=mesh)
    counts[n] = len(traces)
    shardings[n] = len(jax.tree.leaves(states[n])[0].sharding.device_set)
  one = parallel.make_mesh(jax.devices()[:1])
  one_at_3 = workdir_lib.restore_workdir(os.path.join(root, f"{name}1"), 3, one)[1]
  # 8 -> 1 device: the run continues with the same global batches as the
  # 1-device run did.
  resumed = run.train_and_evaluate(config(5), os.path.join(root, f"{name}8"), mesh=one)
  assert_trees_close(states[1], resumed, rtol=1e-4, atol=1e-6)
  return {"name": name, "devices": jax.device_count(), "traces": counts,
          "devices_per_state": shardings, "max_rel_diff": max_rel_diff(states[8], one_at_3),
          "resumed_step": int(resumed.step)}


def main(root, *names):
  logging.set_verbosity(logging.ERROR)
  traces = []
  for cls in (methods.GAN, methods.VAE):
    original = cls.train_step

    def counted(self, state, batch, _original=original):
      traces.append(1)  # runs only while jax traces the step
      return _original(self, state, batch)
    cls.train_step = counted
  for name in names:
    print(json.dumps(check(name, root, traces)), flush=True)


if __name__ == "__main__":
  main(*sys.argv[1:])
