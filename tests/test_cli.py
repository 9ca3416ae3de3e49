"""The `python -m` entry points, as a user runs them."""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from genjax import checkpoint
from tests.conftest import ROOT, run_module


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
  # resumes onto a 2-device mesh and the batch is sharded over both.
  proc = run_module(["genjax.train", "--config", "configs/dcgan.py:smoke", "--workdir", wd,
                     "--config.train.num_steps=5", "--config.gan.loss=hinge",
                     "--cpu_devices=2"])
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert "Resumed" in proc.stdout and "2 cpu device(s)" in proc.stdout
  assert checkpoint.Checkpointer(os.path.join(wd, "checkpoints")).latest_step() == 5


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


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_and_ctrl_c_save_a_checkpoint_and_the_rerun_finishes(sig, tmp_path):
  wd = str(tmp_path / "pre")
  args = [sys.executable, "-m", "genjax.train", "--config", "configs/vae.py:smoke",
          "--workdir", wd, "--config.train.num_steps=100000",
          "--config.train.checkpoint_every=100000", "--config.train.log_every=5"]
  env = dict(os.environ, PYTHONPATH=ROOT)
  proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)
  metrics = os.path.join(wd, "metrics.jsonl")
  deadline = time.time() + 300
  while not os.path.exists(metrics) and time.time() < deadline:
    time.sleep(0.5)
  proc.send_signal(sig)
  out, err = proc.communicate(timeout=300)
  assert proc.returncode == checkpoint.PREEMPTED_EXIT_CODE, err[-3000:]
  assert f"Preempted by {sig.name}: saved step" in out and "Traceback" not in err
  steps = checkpoint.Checkpointer(os.path.join(wd, "checkpoints")).all_steps()
  assert len(steps) == 1 and steps[0] >= 5
  proc = run_module(["genjax.train", "--config", "configs/vae.py:smoke", "--workdir", wd,
                     f"--config.train.num_steps={steps[0] + 2}",
                     "--config.train.checkpoint_every=100000", "--config.train.log_every=5"])
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert f"Resumed {wd} from step {steps[0]}" in proc.stdout
  final = checkpoint.Checkpointer(os.path.join(wd, "checkpoints")).latest_step()
  assert final == steps[0] + 2


def test_sample_on_a_damaged_latest_checkpoint_reports_one_line_and_uses_the_previous(tmp_path):
  from genjax import run
  from tests.conftest import load_config
  wd = str(tmp_path / "d")
  run.train_and_evaluate(load_config("vae", "smoke"), wd)
  files = [os.path.join(d, f) for d, _, fs in os.walk(os.path.join(wd, "checkpoints", "4"))
           for f in fs]
  biggest = max(files, key=os.path.getsize)
  with open(biggest, "r+b") as f:
    f.truncate(os.path.getsize(biggest) // 2)
  proc = run_module(["genjax.sample", "--workdir", wd, "--num", "4", "--out",
                     str(tmp_path / "s.npz")])
  assert proc.returncode == 0, proc.stderr[-2000:]
  assert "Checkpoint 4 cannot be read" in proc.stdout and "from step 2" in proc.stdout
  assert "Traceback" not in proc.stderr and len(proc.stderr.splitlines()) < 5, proc.stderr[:3000]
