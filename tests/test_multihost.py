"""Multi-process runs from the command line, on local CPU processes: started
by the flags (or JAX_* variables) and by Open MPI's mpirun, resumed on
another number of processes, stopped together by a signal to one process,
and ended in one line when a peer dies. Every test kills the processes it
started, with their children, however it ends."""
import os
import re
import shutil
import signal
import subprocess
import time

import pytest

from genjax import checkpoint, run, workdir
from tests.conftest import assert_trees_close, free_port, processes, run_group, smoke

SMOKE = ["--config=configs/vae.py:smoke", "--config.train.batch_size=8",
         "--config.train.checkpoint_every=3"]


def train_args(wd, steps, *extra):
  return ["genjax.train", *SMOKE, f"--workdir={wd}", f"--config.train.num_steps={steps}",
          *extra]


def straight_workdir(tmp_path, steps) -> str:
  return str(tmp_path / f"straight{steps}")


def straight(tmp_path, steps):
  """The same run in this process, one device, uninterrupted."""
  cfg = smoke("vae", num_steps=steps, batch_size=8, checkpoint_every=3)
  return run.train_and_evaluate(cfg, straight_workdir(tmp_path, steps))


def test_two_processes_from_flags_equal_one_and_resume_in_one(tmp_path):
  wd = str(tmp_path / "two")
  outs = run_group(lambda port: [
      train_args(wd, 3, f"--coordinator_address=127.0.0.1:{port}", "--num_processes=2",
                 f"--process_id={i}") for i in range(2)])
  for code, out in outs:
    assert code == 0, out[-3000:]
  assert "process 1 of 2" in outs[1][1]
  assert checkpoint.Checkpointer(os.path.join(wd, "checkpoints")).all_steps() == [3]
  _, two, _ = workdir.restore_workdir(wd)
  six = straight(tmp_path, 6)  # and its checkpoint at step 3
  assert_trees_close(workdir.restore_workdir(straight_workdir(tmp_path, 6), 3)[1], two,
                     rtol=2e-5, atol=1e-6)
  # 2 -> 1 process: the same global batches, so the same run.
  resumed = run.train_and_evaluate(smoke("vae", num_steps=6, batch_size=8, checkpoint_every=3),
                                   wd)
  assert_trees_close(six, resumed, rtol=2e-5, atol=1e-6)


def test_incomplete_coordinator_settings_are_one_clear_error(tmp_path):
  from tests.conftest import run_module
  proc = run_module(train_args(str(tmp_path / "w"), 2), env={"JAX_NUM_PROCESSES": "2"})
  assert proc.returncode == 1 and proc.stderr.startswith("error: A multi-process run needs all")
  assert "Traceback" not in proc.stderr


@pytest.mark.skipif(not shutil.which("mpirun"), reason="Open MPI is not installed (Debian: "
                    "apt-get install openmpi-bin; .ci/run installs it)")
def test_mpirun_resumes_a_one_process_run_on_two(tmp_path):
  wd = str(tmp_path / "mpi")
  run.train_and_evaluate(smoke("vae", num_steps=3, batch_size=8, checkpoint_every=3), wd)
  mpirun = ["mpirun", "--allow-run-as-root", "--oversubscribe", "-np", "2"]
  with processes([train_args(wd, 6, "--multihost")], launcher=mpirun) as (proc,):
    proc.wait(timeout=600)
    out = proc.output()
  assert proc.returncode == 0, out[-3000:]
  assert "process 0 of 2" in out and "process 1 of 2" in out and "Resumed" in out
  _, resumed, _ = workdir.restore_workdir(wd)
  assert_trees_close(straight(tmp_path, 6), resumed, rtol=2e-5, atol=1e-6)


def _two(wd, steps, port, *extra):
  return [train_args(wd, steps, f"--coordinator_address=127.0.0.1:{port}",
                     "--num_processes=2", f"--process_id={i}",
                     "--config.train.log_every=1", *extra) for i in range(2)]


def _wait_for_step(wd, step, procs, deadline):
  rows = os.path.join(wd, "metrics.jsonl")
  while True:
    for p in procs:
      assert p.poll() is None, p.output()[-3000:]
    if os.path.exists(rows) and sum(1 for _ in open(rows)) >= step:
      return
    assert time.time() < deadline, "the run did not start"
    time.sleep(0.2)


def test_sigterm_to_one_process_stops_both_at_one_agreed_step(tmp_path):
  wd = str(tmp_path / "pre")
  with processes(_two(wd, 100000, free_port())) as procs:
    _wait_for_step(wd, 5, procs, time.time() + 300)
    procs[1].send_signal(signal.SIGTERM)
    for p in procs:
      p.wait(timeout=120)
    outs = [p.output() for p in procs]
  assert [p.returncode for p in procs] == [75, 75], outs[0][-2000:] + outs[1][-2000:]
  saved = [int(re.search(r"saved step (\d+)", o).group(1)) for o in outs]
  assert saved[0] == saved[1] and saved[0] in checkpoint.Checkpointer(
      os.path.join(wd, "checkpoints")).all_steps()


def _survivor_ends_in_one_line(procs, where, kill=None):
  """Process 0 of `procs` ends within 30 s of `kill()` (or of process 1's
  end), in one line naming process 1 and `where` it was."""
  if kill:
    kill()
  else:
    procs[1].wait(timeout=300)
  t0 = time.time()
  try:
    procs[0].wait(timeout=60)
  except subprocess.TimeoutExpired:
    os.kill(procs[0].pid, signal.SIGUSR1)  # its threads' stacks, to say where it waits
    time.sleep(3)
    pytest.fail(f"the survivor still runs 60 s after its peer died:\n{procs[0].output()[-8000:]}")
  waited = time.time() - t0
  out = procs[0].output()
  assert procs[0].returncode == 1 and waited < 30, (waited, out[-3000:])
  errors = [l for l in out.splitlines() if l.startswith("error:")]
  assert len(errors) == 1 and f"Process 1 of 2 stopped {where}" in errors[0], out[-3000:]
  assert "Traceback" not in out, out[-3000:]


def test_a_dead_peer_ends_the_survivor_in_one_line_within_the_timeout(tmp_path):
  wd = str(tmp_path / "dead")
  with processes(_two(wd, 100000, free_port(), "--heartbeat_timeout=10")) as procs:
    _wait_for_step(wd, 5, procs, time.time() + 300)
    _survivor_ends_in_one_line(procs, "", lambda: os.killpg(procs[1].pid, signal.SIGKILL))


def test_a_peer_dead_at_a_checkpoint_barrier_ends_the_survivor_within_the_timeout(tmp_path):
  """The peer dies where the survivor waits for it at a save's barrier, not in
  a collective: the coordination service of a recoverable run leaves that
  barrier waiting for its own timeout (20 minutes), unless genjax's barrier
  ends it when the service marks the peer dead."""
  commands = _two(str(tmp_path / "barrier"), 100000, free_port(), "--heartbeat_timeout=5")
  with processes([["tests.die_at_save_barrier", "2", *c[1:]] for c in commands]) as procs:
    _survivor_ends_in_one_line(procs, "while saving step 6")  # the saves of steps 3 and 6


def test_a_save_thread_that_lost_its_peer_logs_nothing_other_errors_still_show():
  """The survivor's pending async save hits the dead peer in its barrier, in
  orbax's thread, as the train loop does; the loop's one line reports it."""
  import logging as pylogging
  from absl import logging
  checkpoint.quiet_abandoned_reads()
  logger = logging.get_absl_logger()
  def record(message):
    return logger.makeRecord("absl", pylogging.ERROR, "future.py", 1, message, None, None)
  assert not logger.filter(record("_SignalingThread.run() raised an exception: UNKNOWN: Gloo "
                                  "AllGather failed: Read error: Connection reset by peer"))
  assert logger.filter(record("_SignalingThread.run() raised an exception: PermissionError"))


def test_a_peer_lost_between_the_two_liveness_rounds_is_named(monkeypatch):
  """live_devices raises ProcessFailureError when its second round lacks a
  process its first had (a round the peer joined before it died): that
  process is the one named, not the coordinator."""
  from collections import namedtuple
  from jax.experimental import multihost_utils
  from genjax import parallel
  Device = namedtuple("Device", "process_index id")
  dead = {Device(1, 2), Device(1, 3)}
  class Lost:
    def __call__(self, devices):
      raise multihost_utils.ProcessFailureError(dead)
  monkeypatch.setattr(multihost_utils, "live_devices", Lost())
  assert parallel.failed_processes() == [1]
  class Gone:  # the coordination service itself unreachable: process 0 (its host) died
    def __call__(self, devices):
      raise RuntimeError("UNAVAILABLE: failed to connect")
  monkeypatch.setattr(multihost_utils, "live_devices", Gone())
  assert parallel.failed_processes() == [0]
