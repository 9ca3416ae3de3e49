import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile

import jax
import pytest
from absl import logging

from genjax import config_lib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
logging.set_verbosity(logging.WARNING)
# Tests compile the same smoke programs many times, in this process, in the
# other test processes (pytest-xdist's workers inherit the environment) and in
# the programs tests start: they all share one cache of compiled executables,
# a folder made by the first process (pytest's own) and removed when it exits.
# Every program is kept, however fast it compiled: a run compiles dozens of
# small ones (evaluation, sampling, checks), and loading them beat compiling
# them again (test_translation + test_faults: 283 s instead of 334).
if "GENJAX_TEST_XLA_CACHE" not in os.environ:
  _XLA_CACHE = tempfile.TemporaryDirectory(prefix="genjax-xla-")
  os.environ.update(GENJAX_TEST_XLA_CACHE=_XLA_CACHE.name,
                    JAX_COMPILATION_CACHE_DIR=_XLA_CACHE.name,
                    JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0")
# Tests run tiny models for a few steps, so most of their time is XLA compiling
# them: LLVM's level-1 optimisation compiles about 25% faster than the default
# (3) and runs these programs as fast (level 0 ran the longer tests slower). The
# programs are the same; only their machine code is optimised less.
if "--xla_backend_optimization_level" not in os.environ.get("XLA_FLAGS", ""):
  os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "")
                             + " --xla_backend_optimization_level=1").strip()
jax.config.update("jax_compilation_cache_dir", os.environ["GENJAX_TEST_XLA_CACHE"])
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)


# The test files that take longest (seconds of XLA compiling and training),
# longest first (pytest --durations=0, summed per file): pytest-xdist hands
# whole files to its processes in collection order (make test: --dist loadfile
# --no-loadscope-reorder), so these start first and the light files fill in at
# the end, instead of one long file running alone at the end while the other
# processes idle.
SLOW_FILES = ("test_conditional", "test_faults", "test_translation", "test_restore",
              "test_train", "test_studies", "test_multihost", "test_models",
              "test_multidevice", "test_pipeline", "test_evaluate", "test_cli",
              "test_precision", "test_schedules", "test_benchmark", "test_control")


def pytest_collection_modifyitems(session, config, items):
  del session, config
  rank = {name: i for i, name in enumerate(SLOW_FILES)}
  items.sort(key=lambda item: rank.get(item.path.stem, len(rank)))  # stable: order kept within


# data.workers = -1 (every config's default) starts one worker process per core
# for sources that decode files (folders, TFDS): a training run in a test then
# spends ~7 s of CPU starting them (spawned, each imports genjax), longer than
# the few batches it reads. Batches are the same with any worker count
# (test_pipeline.py checks it, with explicit counts, and the default itself), so
# runs inside the test processes default to none; a test marked
# `default_workers` keeps genjax's default. Programs a test starts are unchanged.
@pytest.fixture(autouse=True)
def _no_default_data_workers(request, monkeypatch):
  if request.node.get_closest_marker("default_workers") is None:
    from genjax.data import pipeline
    monkeypatch.setattr(pipeline, "default_workers", lambda source, accelerator=False: 0)


def pytest_configure(config):
  config.addinivalue_line("markers", "default_workers: keep data.workers=-1's worker "
                          "processes (tests/conftest.py)")


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


def train_preempted(config, workdir: str, step: int):
  """Trains config in workdir as a run preempted (SIGTERM) after `step`: it
  saves and stops there, and the same config resumes it. The programs are the
  full run's (a shorter train.num_steps would change a decaying schedule's)."""
  from unittest import mock
  from genjax import preemption, run
  should_stop = preemption.Preemption.should_stop
  def stop_at(self, s):
    if s >= step and self.requested is None:
      self.requested = "SIGTERM"
    return should_stop(self, s)
  with mock.patch.object(preemption.Preemption, "should_stop", stop_at):
    with pytest.raises(preemption.Preempted, match=f"saved step {step} "):
      run.train_and_evaluate(config, workdir)


def rewound(workdir: str, step: int, copy: str) -> str:
  """A copy of a finished run's workdir as it was when the run had saved
  `step` (later checkpoints removed, as a crash right after that save leaves
  it): resuming the copy must end where the run ended, without training the
  first `step` steps again."""
  shutil.copytree(workdir, copy)
  ckpts = os.path.join(copy, "checkpoints")
  later = [n for n in os.listdir(ckpts) if n.isdigit() and int(n) > step]
  assert later and os.path.isdir(os.path.join(ckpts, str(step))), os.listdir(ckpts)
  for name in later:
    shutil.rmtree(os.path.join(ckpts, name))
  return copy


def assert_trees_close(a, b, **kw):
  import numpy as np
  for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
    np.testing.assert_allclose(np.asarray(x), np.asarray(y), **kw)


@pytest.fixture
def config_loader():
  return load_config


@contextlib.contextmanager
def processes(commands, env=None, launcher=()):
  """Starts `[*launcher] python -m <args>` for each args list in `commands`
  (launcher: e.g. mpirun and its options), each in a
  session of its own with its stdout and stderr in a file (`p.output()`
  reads it: no pipe can fill up and stall a process); on leaving, even on a
  failure or a timeout, kills the ones still running with their children."""
  full_env = dict(os.environ, **(env or {}))
  full_env["PYTHONPATH"] = ROOT + os.pathsep + full_env.get("PYTHONPATH", "")
  with tempfile.TemporaryDirectory(prefix="genjax-procs-") as logs:
    procs = []
    try:
      for i, args in enumerate(commands):
        path = os.path.join(logs, f"{i}.log")
        with open(path, "w") as log:
          p = subprocess.Popen([*launcher, sys.executable, "-m", *args], cwd=ROOT, env=full_env,
                               stdout=log, stderr=subprocess.STDOUT, text=True,
                               start_new_session=True)
        p.output = lambda path=path: open(path).read()
        procs.append(p)
      yield procs
    finally:
      for p in procs:
        if p.poll() is None:
          with contextlib.suppress(ProcessLookupError):
            os.killpg(p.pid, signal.SIGKILL)
          p.wait()


def free_port() -> int:
  """A port the OS just gave out; callers retry on the rare collision
  (run_group), since another program may take it before the coordinator binds."""
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def run_group(make_commands, env=None, timeout=600, attempts=3):
  """Runs the commands make_commands(port) together (a multi-process run with
  its coordinator on `port`) to the end; returns [(returncode, output)]. A
  port taken between choosing and binding it is retried with another."""
  for _ in range(attempts):
    with processes(make_commands(free_port()), env) as procs:
      for p in procs:
        p.wait(timeout=timeout)
      outs = [(p.returncode, p.output()) for p in procs]
    if not any("Address already in use" in o or "Failed to add port" in o for _, o in outs):
      return outs
  return outs


def run_module(args, env=None, timeout=600, cwd=ROOT):
  """Runs `python -m <args>` from the repository root; returns CompletedProcess.
  `env` adds to the environment; a None value removes that variable."""
  full_env = {k: v for k, v in {**os.environ, **(env or {})}.items() if v is not None}
  full_env["PYTHONPATH"] = ROOT + os.pathsep + full_env.get("PYTHONPATH", "")
  return subprocess.run([sys.executable, "-m", *args], cwd=cwd, env=full_env,
                        capture_output=True, text=True, timeout=timeout)
