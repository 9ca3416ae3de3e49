"""Data parallelism over 8 fake CPU devices equals the 1-device run, and an
8-device checkpoint resumes on 1 device (in one process with 8 fake devices:
tests/multidevice_check.py)."""
import json

from tests.conftest import run_module


def test_eight_devices_match_one_resume_on_one_and_the_step_traces_once(tmp_path):
  # The DCGAN: two networks with batch norm (the VAE runs sharded over two
  # processes in test_multihost.py).
  proc = run_module(["tests.multidevice_check", str(tmp_path), "dcgan"])
  assert proc.returncode == 0, proc.stderr[-3000:]
  results = [json.loads(l) for l in proc.stdout.splitlines() if l.startswith("{")]
  assert [r["name"] for r in results] == ["dcgan"]
  for r in results:
    assert r["devices"] == 8
    assert r["devices_per_state"] == {"8": 8, "1": 1}  # the state lives on the run's mesh
    assert r["traces"] == {"8": 1, "1": 1}
    assert r["max_rel_diff"] < 1e-5, r
    assert r["resumed_step"] == 5  # and equal to the 1-device run's (asserted there)
