"""Learning-rate schedules: values against hand-computed ones, the schedule in
the checkpointed optimizer state (a run resumed mid-decay continues exactly),
and its effect on training."""

import jax
import numpy as np
import pytest

from genjax import config_lib, run
from genjax.methods import common
from tests.conftest import assert_trees_close, smoke, train_preempted


def lr_at(cfg, num_steps, counts, updates_per_step=1):
  lr = common.learning_rate(cfg, num_steps, updates_per_step)
  return [float(lr(c)) if callable(lr) else lr for c in counts]


def test_schedule_values():
  const = config_lib.adam(1e-3)
  assert common.learning_rate(const, 100) == 1e-3  # a plain float: same optimizer state as before
  linear = config_lib.adam(1e-3, schedule="linear")  # pix2pix: constant, then to 0 from 50%
  np.testing.assert_allclose(lr_at(linear, 100, [0, 49, 50, 75, 100]),
                             [1e-3, 1e-3, 1e-3, 0.5e-3, 0.0], atol=1e-9)
  warm = config_lib.adam(1e-3, schedule="linear", warmup_steps=10, decay_start=0.8)
  np.testing.assert_allclose(lr_at(warm, 100, [0, 5, 10, 80, 90, 100]),
                             [0.0, 0.5e-3, 1e-3, 1e-3, 0.5e-3, 0.0], atol=1e-9)
  cosine = config_lib.adam(1e-3, schedule="cosine", warmup_steps=10, final_lr=0.1)
  mid = 1e-4 + (1e-3 - 1e-4) * 0.5 * (1 + np.cos(np.pi * 45 / 90))
  np.testing.assert_allclose(lr_at(cosine, 100, [0, 10, 55, 100]), [0.0, 1e-3, mid, 1e-4],
                             rtol=1e-5, atol=1e-9)
  # A GAN's D makes n_critic updates per train step; the schedule is in train steps.
  np.testing.assert_allclose(lr_at(linear, 100, [150, 151, 200], updates_per_step=2),
                             [0.5e-3, 0.5e-3, 0.0], atol=1e-9)


def test_unknown_schedule_and_bad_values_are_clear_errors():
  with pytest.raises(ValueError, match="Unknown learning-rate schedule 'step'.*optim"):
    common.learning_rate(config_lib.adam(schedule="step"), 10)
  cfg = smoke("vae", {"optim.decay_start": 1.5})
  with pytest.raises(ValueError, match=r"optim.decay_start is 1.5; it must be in \[0, 1\]"):
    config_lib.validate(cfg)


@pytest.mark.parametrize("name,overrides", [
    ("dcgan", {"optim_g.schedule": "linear", "optim_d.schedule": "linear",
               "optim_g.decay_start": 0.25, "optim_d.decay_start": 0.25, "gan.n_critic": 2}),
    ("vae", {"optim.schedule": "cosine", "optim.warmup_steps": 1}),
])
def test_a_run_resumed_mid_decay_continues_exactly(name, overrides, tmp_path):
  cfg = smoke(name, overrides, num_steps=4, checkpoint_every=2, log_every=1)
  straight = run.train_and_evaluate(cfg, str(tmp_path / "a"))
  wd = str(tmp_path / "b")
  train_preempted(cfg, wd, 2)
  resumed = run.train_and_evaluate(cfg, wd)
  assert int(resumed.step) == 4
  assert_trees_close(straight, resumed, rtol=1e-6, atol=1e-7)
  # The schedule is in effect: a constant learning rate ends elsewhere.
  base = {k: v for k, v in overrides.items() if k.startswith("gan.")}
  constant = run.train_and_evaluate(
      smoke(name, base, num_steps=4, checkpoint_every=2, log_every=1), str(tmp_path / "c"))
  params = lambda s: s.g.params if name == "dcgan" else s.net.params
  diffs = [np.abs(np.asarray(x) - np.asarray(y)).max()
           for x, y in zip(jax.tree.leaves(params(straight)), jax.tree.leaves(params(constant)))]
  assert max(diffs) > 1e-4
