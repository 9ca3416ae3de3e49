"""Two local processes (jax.distributed) train like one process."""
import os
import socket
import subprocess
import sys
import tempfile

import jax
import numpy as np

from genjax import checkpoint, run
from tests.conftest import ROOT, load_config


def free_port():
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def test_two_processes_match_one_process(tmp_path):
  wd, out, port = str(tmp_path / "mh"), str(tmp_path / "leaves.npz"), free_port()
  env = dict(os.environ, PYTHONPATH=ROOT, JAX_PLATFORMS="cpu")
  env.pop("XLA_FLAGS", None)
  procs = [subprocess.Popen([sys.executable, "-m", "tests.multihost_check", "vae", str(i),
                             str(port), wd, out], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
           for i in range(2)]
  outputs = [p.communicate(timeout=600) for p in procs]
  for p, (o, e) in zip(procs, outputs):
    assert p.returncode == 0, e[-3000:]
  assert checkpoint.Checkpointer(os.path.join(wd, "checkpoints")).all_steps() == [3]

  cfg = load_config("vae", "smoke")
  cfg.train.update(num_steps=3, batch_size=8, checkpoint_every=3)
  single = run.train_and_evaluate(cfg, tempfile.mkdtemp(dir=tmp_path))
  two = np.load(out)
  leaves = jax.tree.leaves(single)
  assert len(two.files) == len(leaves)
  for i, leaf in enumerate(leaves):
    np.testing.assert_allclose(two[f"arr_{i}"], np.asarray(leaf), rtol=2e-5, atol=1e-6)
