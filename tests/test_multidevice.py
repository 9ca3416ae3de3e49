"""Data parallelism over 8 fake CPU devices equals the 1-device run."""
import json

import pytest

from tests.conftest import run_module


@pytest.mark.parametrize("name", ["dcgan", "vae"])
def test_eight_devices_match_one_and_step_traces_once(name):
  proc = run_module(["tests.multidevice_check", name])
  assert proc.returncode == 0, proc.stderr[-3000:]
  result = json.loads(proc.stdout.strip().splitlines()[-1])
  assert result["devices"] == 8
  assert result["traces"] == {"8": 1, "1": 1}
  assert result["max_rel_diff"] < 1e-5, result
