import os
import sys

import tempfile

import jax
import pytest
from absl import logging

from genjax import config_lib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
logging.set_verbosity(logging.WARNING)
# Tests compile the same smoke programs many times: share compiled executables
# (in a folder removed when the session exits).
_XLA_CACHE = tempfile.TemporaryDirectory(prefix="genjax-xla-")
jax.config.update("jax_compilation_cache_dir", _XLA_CACHE.name)
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.3)


def load_config(name: str, arg: str):
  """configs/<name>.py:get_config(arg), loaded the way config_flags loads it."""
  return config_lib.load(os.path.join(ROOT, "configs", f"{name}.py") + f":{arg}")


def smoke(name, overrides=None, **train):
  """configs/<name>.py:smoke with flattened `overrides` ({"optim.lr": 1e-4})
  and train.<key>=value keywords."""
  cfg = load_config(name, "smoke")
  cfg.update_from_flattened_dict(overrides or {})
  cfg.train.update(train)
  return cfg


def assert_trees_close(a, b, **kw):
  import numpy as np
  for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
    np.testing.assert_allclose(np.asarray(x), np.asarray(y), **kw)


@pytest.fixture
def config_loader():
  return load_config


def run_module(args, env=None, timeout=600, cwd=ROOT):
  """Runs `python -m <args>` from the repository root; returns CompletedProcess."""
  import subprocess
  full_env = dict(os.environ, **(env or {}))
  full_env["PYTHONPATH"] = ROOT + os.pathsep + full_env.get("PYTHONPATH", "")
  return subprocess.run([sys.executable, "-m", *args], cwd=cwd, env=full_env,
                        capture_output=True, text=True, timeout=timeout)
