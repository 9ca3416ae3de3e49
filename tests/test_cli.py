"""The `python -m` entry points, as a user runs them."""
import json
import os

import numpy as np
import pytest

from genjax import checkpoint, cli, errors, launch
from tests.conftest import run_module


def test_train_then_sample_from_the_command_line(tmp_path):
  wd = str(tmp_path / "run")
  proc = run_module(["genjax.train", "--config", "configs/dcgan.py:smoke", "--workdir", wd,
                     "--config.train.num_steps=3", "--config.gan.loss=hinge"])
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert json.load(open(os.path.join(wd, "config.json")))["gan"]["loss"] == "hinge"
  out = str(tmp_path / "s.npz")
  proc = run_module(["genjax.sample", "--workdir", wd, "--num", "7", "--out", out,
                     "--grid", str(tmp_path / "grid.png")])
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert np.load(out)["images"].shape == (7, 28, 28, 1)
  assert os.path.getsize(tmp_path / "grid.png") > 0
  # The same command again resumes: nothing left to do at step 3.
  proc = run_module(["genjax.train", "--config", "configs/dcgan.py:smoke", "--workdir", wd,
                     "--config.train.num_steps=3", "--config.gan.loss=hinge"])
  assert proc.returncode == 0 and "Resumed" in proc.stdout
  assert "1 cpu device(s)" in proc.stdout
  # Two more steps with the CPU split into two devices: the 1-device checkpoint
  # resumes onto a 2-device mesh and the batch is sharded over both. (Programs
  # no other test compiles: outside the tests' own cache, the entry point keeps
  # them in $GENJAX_XLA_CACHE.)
  cache = tmp_path / "xla"
  proc = run_module(["genjax.train", "--config", "configs/dcgan.py:smoke", "--workdir", wd,
                     "--config.train.num_steps=5", "--config.gan.loss=hinge",
                     "--cpu_devices=2"],
                    env={"JAX_COMPILATION_CACHE_DIR": None, launch.CACHE_ENV: str(cache),
                         "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0"})
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert len(os.listdir(cache)) >= 2  # the train step and the initialisation at least
  assert "Resumed" in proc.stdout and "2 cpu device(s)" in proc.stdout
  assert checkpoint.Checkpointer(os.path.join(wd, "checkpoints")).latest_step() == 5


def test_compiled_programs_are_cached_where_jax_or_genjax_is_told_else_in_the_user_cache(
    monkeypatch, tmp_path, capsys):
  updates = {}
  monkeypatch.setattr(launch.jax.config, "update", updates.__setitem__)
  assert launch.compilation_cache({"JAX_COMPILATION_CACHE_DIR": "/j",
                                   launch.CACHE_ENV: "/g"}) == "/j"
  assert updates == {}  # JAX reads its own variable
  assert launch.compilation_cache({launch.CACHE_ENV: "OFF", "XDG_CACHE_HOME": "/x"}) is None
  assert updates == {}
  assert launch.compilation_cache({launch.CACHE_ENV: str(tmp_path / "g")}) == str(tmp_path / "g")
  assert updates["jax_compilation_cache_dir"] == str(tmp_path / "g")
  assert os.path.isdir(tmp_path / "g")
  assert launch.compilation_cache({"XDG_CACHE_HOME": str(tmp_path)}) == str(tmp_path / "genjax/xla")
  monkeypatch.setenv("HOME", str(tmp_path / "home"))
  home = str(tmp_path / "home" / ".cache" / "genjax" / "xla")
  assert launch.compilation_cache({}) == home == updates["jax_compilation_cache_dir"]
  assert updates["jax_compilation_cache_max_size"] == launch.CACHE_MAX_BYTES
  # A folder that cannot be made: the run goes on uncached and says why in one line.
  (tmp_path / "file").write_text("")
  updates.clear()
  assert launch.compilation_cache({launch.CACHE_ENV: str(tmp_path / "file" / "x")}) is None
  assert updates == {} and launch.CACHE_ENV in capsys.readouterr().err


def test_config_typo_fails_before_training(tmp_path):
  proc = run_module(["genjax.train", "--config", "configs/vae.py:smoke",
                     "--workdir", str(tmp_path), "--config.train.nmu_steps=3"])
  assert proc.returncode != 0 and "nmu_steps" in proc.stderr
  assert 'Did you mean "num_steps"' in proc.stderr and "Traceback" not in proc.stderr
  assert not os.path.exists(tmp_path / "config.json")


@pytest.mark.parametrize("args,message", [
    (["genjax.train", "--config", "configs/nope.py:smoke"], "configs/nope.py"),
    (["genjax.train", "--config", "configs/vae.py:bogus"], "variant 'bogus'"),
    (["genjax.sample", "--out", "x.npz"], "No config.json in workdir"),
    (["genjax.translate", "--input", "in", "--output", "out"], "No config.json in workdir"),
])


def test_expected_errors_are_one_clear_message_without_traceback(args, message, tmp_path):
  proc = run_module(args + ["--workdir", str(tmp_path / "none")])
  assert proc.returncode != 0 and message in proc.stderr, proc.stderr[-2000:]
  assert "Traceback" not in proc.stderr and proc.stderr.startswith("error: ")


def test_only_user_errors_become_one_line_and_bugs_keep_their_traceback(capsys, monkeypatch):
  monkeypatch.setattr("sys.argv", ["genjax.train"])  # no --verbosity
  def user_mistake(argv):
    raise errors.InputError("Config key train.num_steps is 0;\nit must be positive.")
  with pytest.raises(SystemExit) as exit_:
    cli.clear_errors(user_mistake)([])
  assert exit_.value.code == 1
  assert capsys.readouterr().err == (
      "error: Config key train.num_steps is 0; it must be positive.\n")
  for bug in (KeyError("step"), AttributeError("no attribute 'g'"), TypeError("bad call"),
              ValueError("a bug, not a genjax user error")):
    def buggy(argv, bug=bug):
      raise bug
    with pytest.raises(type(bug)):
      cli.clear_errors(buggy)([])
