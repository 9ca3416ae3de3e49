"""Data parallelism over 8 fake CPU devices equals the 1-device run, and an
8-device checkpoint resumes on 1 device."""
import json

import pytest

from genjax import run, workdir
from tests.conftest import assert_trees_close, run_module, smoke


@pytest.mark.parametrize("name", ["dcgan", "vae"])
def test_eight_devices_match_one_and_step_traces_once(name, tmp_path):
  wd, one = str(tmp_path / "eight"), str(tmp_path / "one")
  proc = run_module(["tests.multidevice_check", name, wd, one])
  assert proc.returncode == 0, proc.stderr[-3000:]
  result = json.loads(proc.stdout.strip().splitlines()[-1])
  assert result["devices"] == 8
  assert result["traces"] == {"8": 1, "1": 1}
  assert result["max_rel_diff"] < 1e-5, result
  # 8 -> 1 device: the run continues with the same global batches as the
  # 1-device run did.
  resumed = run.train_and_evaluate(smoke(name, num_steps=5, batch_size=16, checkpoint_every=3),
                                   wd)
  assert int(resumed.step) == 5
  assert_trees_close(workdir.restore_workdir(one)[1], resumed, rtol=1e-4, atol=1e-6)
