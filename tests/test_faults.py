"""Faults injected on purpose (smoke configs, a few steps each): divergence,
kill -9 during a save, damaged checkpoints, signals, two runs on one workdir,
changed data folders, out-of-range configs and malformed images. Each must end
in one clear message (or a clean resume) and lose nothing."""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from PIL import Image

from genjax import checkpoint, errors, preemption, run, workdir
from tests.conftest import ROOT, assert_trees_close, load_config, processes, run_module, smoke


def test_nan_loss_stops_with_a_clear_error_and_keeps_good_checkpoint(tmp_path):
  wd = str(tmp_path / "nan")
  cfg = smoke("vae", num_steps=6, log_every=1, checkpoint_every=2)
  run.train_and_evaluate(cfg, wd)
  ckpt = checkpoint.Checkpointer(os.path.join(wd, "checkpoints"))
  before = sorted(ckpt.all_steps())
  # Resume with a learning rate that overflows float32: the next step diverges.
  cfg2 = smoke("vae", {"optim.lr": 1e39}, num_steps=10, log_every=1, checkpoint_every=2)
  with pytest.raises(FloatingPointError, match="latest good checkpoint \\(step 6\\)"):
    run.train_and_evaluate(cfg2, wd)
  assert sorted(checkpoint.Checkpointer(os.path.join(wd, "checkpoints")).all_steps()) == before
  r, state, meta = workdir.restore_workdir(wd)
  assert meta["step"] == 6 and all(np.isfinite(x).all() for x in jax.tree.leaves(state))


def test_a_diverged_state_is_never_saved_even_between_log_steps(tmp_path):
  """checkpoint_every < log_every: the state itself is checked before saving,
  not only the logged metrics."""
  wd = str(tmp_path / "div")
  run.train_and_evaluate(smoke("vae", num_steps=2, log_every=6, checkpoint_every=1), wd)
  cfg = smoke("vae", {"optim.lr": 1e39}, num_steps=6, log_every=6, checkpoint_every=1)
  with pytest.raises(FloatingPointError, match=r"step 3 is not finite \(first bad leaf: "
                     r"state\.net.*latest good checkpoint \(step 2\)"):
    run.train_and_evaluate(cfg, wd)
  assert checkpoint.Checkpointer(os.path.join(wd, "checkpoints")).all_steps() == [1, 2]
  _, state, meta = workdir.restore_workdir(wd)
  assert meta["step"] == 2 and all(np.isfinite(x).all() for x in jax.tree.leaves(state))


def test_the_first_nonfinite_leaf_is_named_on_the_host_and_in_a_program_alike(monkeypatch):
  """On a CPU the check reads the state on the host; elsewhere (an accelerator,
  several processes) one jitted program checks it: the same answers."""
  states = [({"a": jnp.ones(3), "b": {"n": jnp.arange(2), "w": jnp.array([1.0, jnp.inf])},
              "c": np.array([np.nan], np.float32)}, "['b']['w']"),
            ({"a": jnp.ones(3), "c": np.array([np.nan], np.float32)}, "['c']"),
            ({"a": jnp.ones(3), "n": jnp.arange(3)}, None)]
  for state, bad in states:
    assert checkpoint.first_nonfinite_leaf(state) == bad
  monkeypatch.setattr(checkpoint, "_on_host", lambda x: False)
  for state, bad in states:
    assert checkpoint.first_nonfinite_leaf(state) == bad


def test_a_metrics_line_cut_by_a_crash_is_dropped_on_resume(tmp_path):
  wd = str(tmp_path / "cut")
  run.train_and_evaluate(smoke("vae", num_steps=4, log_every=1, checkpoint_every=2), wd)
  path = os.path.join(wd, "metrics.jsonl")
  text = open(path).read()
  with open(path, "w") as f:
    f.write(text[:len(text) - 30])  # power loss in the middle of the last row
  whole = [json.loads(l) for l in text.splitlines()[:-1]]  # the rows before it
  run.train_and_evaluate(smoke("vae", num_steps=6, log_every=1, checkpoint_every=2), wd)
  rows = [json.loads(l) for l in open(path)]
  assert rows[:len(whole)] == whole  # the cut row is gone, the rest kept; training goes on
  assert [r["step"] for r in rows if "train/loss" in r] == [
      r["step"] for r in whole if "train/loss" in r] + [5, 6] == [1, 2, 3, 5, 6]
  lines = open(path).read().splitlines()
  lines[1] = lines[1][:10]  # damage that is not a cut last line: named, not guessed at
  with open(path, "w") as f:
    f.write("\n".join(lines) + "\n")
  with pytest.raises(errors.InputError, match=f"{re.escape(path)} line 2 is not a metrics row"):
    run.train_and_evaluate(smoke("vae", num_steps=8, log_every=1, checkpoint_every=2), wd)


def _can_mount_a_small_disk() -> bool:
  return shutil.which("unshare") is not None and subprocess.run(
      ["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"],
      capture_output=True).returncode == 0


def test_a_disk_that_fills_during_a_save_ends_in_one_line_and_loses_nothing(tmp_path):
  """The workdir on a 600 KB tmpfs (a private mount namespace): the save that
  runs out of space is reported in one line naming the folder; the partial
  save is removed and the checkpoint before it still samples."""
  if not _can_mount_a_small_disk():
    pytest.skip("No private mount namespace here (unshare -rm and mount -t tmpfs): needed "
                "for a disk that fills")
  disk = tmp_path / "disk"
  disk.mkdir()
  wd = disk / "w"
  script = (
      f"mount -t tmpfs -o size=600k tmpfs {disk} && cd {ROOT} && "
      f"{sys.executable} -m genjax.train --config configs/dcgan.py:smoke --workdir {wd} "
      "--config.train.num_steps=40 --config.train.checkpoint_every=1 "
      "--config.train.keep_checkpoints=50 --config.train.progress=False; echo exit=$?; "
      f"{sys.executable} -m genjax.sample --workdir {wd} --num 2 --out {tmp_path}/s.npz")
  proc = subprocess.run(["unshare", "-rm", "sh", "-c", script], capture_output=True,
                        text=True, timeout=600, env=dict(os.environ, PYTHONPATH=ROOT))
  errors_ = [l for l in proc.stderr.splitlines() if l.startswith("error:")]
  assert "exit=1" in proc.stdout and len(errors_) == 1, proc.stderr[-3000:]
  assert f"The disk holding {wd}/checkpoints is full (No space left on device)" in errors_[0]
  assert len(proc.stderr.splitlines()) == 1 and "Traceback" not in proc.stderr
  latest = int(re.search(r"latest checkpoint \(step (\d+)\) is intact", errors_[0]).group(1))
  assert latest >= 1 and f"Wrote 2 samples from step {latest}" in proc.stdout


def test_metrics_keep_one_row_per_step_across_resumes(tmp_path):
  """Rows logged after the checkpoint a run resumes from are written again by
  the resumed run: the stale ones are dropped first."""
  wd = str(tmp_path / "m")
  run.train_and_evaluate(smoke("vae", num_steps=4, log_every=1, checkpoint_every=2), wd)
  shutil.rmtree(os.path.join(wd, "checkpoints", "4"))  # as if killed before saving step 4
  run.train_and_evaluate(smoke("vae", num_steps=4, log_every=1, checkpoint_every=2), wd)
  rows = [json.loads(l) for l in open(os.path.join(wd, "metrics.jsonl"))]
  assert [r["step"] for r in rows if "train/loss" in r] == [1, 2, 3, 4]


def test_a_second_run_on_a_workdir_in_use_fails_at_once_and_a_stale_lock_is_taken_over(tmp_path):
  wd = tmp_path / "busy"
  wd.mkdir()
  lock = wd / workdir.LOCK_FILE
  lock.write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname()}))
  with pytest.raises(RuntimeError, match=f"in use by another genjax run \\(pid {os.getpid()}"):
    run.train_and_evaluate(smoke("vae", num_steps=2), str(wd))
  assert not (wd / workdir.CONFIG_FILE).exists() and lock.exists()  # nothing touched
  dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                        capture_output=True, text=True).stdout.strip()
  lock.write_text(json.dumps({"pid": int(dead), "host": socket.gethostname()}))
  run.train_and_evaluate(smoke("vae", num_steps=2), str(wd))
  assert not lock.exists()  # released at the end
  assert checkpoint.Checkpointer(str(wd / "checkpoints")).latest_step() == 2


def test_a_damaged_latest_checkpoint_is_moved_aside_and_the_one_before_used(tmp_path, capsys):
  wd = str(tmp_path / "c")
  straight = run.train_and_evaluate(smoke("vae", num_steps=4), str(tmp_path / "a"))
  run.train_and_evaluate(smoke("vae", num_steps=4), wd)
  files = [os.path.join(d, f) for d, _, fs in os.walk(os.path.join(wd, "checkpoints", "4"))
           for f in fs]
  biggest = max(files, key=os.path.getsize)
  with open(biggest, "r+b") as f:
    f.truncate(os.path.getsize(biggest) // 2)
  _, _, meta = workdir.restore_workdir(wd)
  assert meta["step"] == 2
  out = capsys.readouterr().out
  assert "Checkpoint 4 cannot be read" in out and len(out.strip().splitlines()) == 1
  assert os.path.isdir(os.path.join(wd, "checkpoints_corrupt", "4"))  # kept, not deleted
  resumed = run.train_and_evaluate(smoke("vae", num_steps=4), wd)  # redoes steps 3-4
  assert_trees_close(straight, resumed, rtol=1e-6, atol=1e-7)


def test_resuming_with_a_lower_learning_rate_is_allowed_and_recorded(tmp_path):
  wd = str(tmp_path / "lr")
  run.train_and_evaluate(smoke("vae", num_steps=2), wd)
  cfg = smoke("vae", num_steps=4)
  cfg.optim.lr = 1e-4
  state = run.train_and_evaluate(cfg, wd)
  assert int(state.step) == 4 and workdir.load_config(wd).optim.lr == 1e-4
  history = [json.loads(l) for l in open(os.path.join(wd, workdir.HISTORY_FILE))]
  (entry,) = [h for h in history if "changed" in h]
  assert entry["changed"] == {"optim.lr": [1e-3, 1e-4], "train.num_steps": [2, 4]}
  assert [h.get("event") for h in history] == ["start", "end", None, "resume", "end"]


@pytest.mark.parametrize("key,value", [
    ("train.num_steps", 0), ("train.batch_size", -2), ("optim.lr", float("nan")),
    ("data.channels", 2), ("data.holdout_fraction", 1.0), ("evals.heldout.every", -1),
    ("train.nonfinite", "maybe")])
def test_out_of_range_config_values_are_refused_before_anything_is_written(key, value,
                                                                           tmp_path):
  with pytest.raises(ValueError, match=key.replace(".", r"\.")):
    run.train_and_evaluate(smoke("vae", {key: value}), str(tmp_path / "z"))
  assert not os.path.exists(tmp_path / "z")


def test_sigterm_and_ctrl_c_save_a_checkpoint_and_the_rerun_finishes(tmp_path):
  """Ctrl-C stops a run, then SIGTERM stops its rerun, each saving the step it
  reached; the third run resumes from the second stop and finishes."""
  wd = str(tmp_path / "pre")
  args = lambda steps: ["genjax.train", "--config", "configs/vae.py:smoke", "--workdir", wd,
                        f"--config.train.num_steps={steps}",
                        "--config.train.checkpoint_every=100000", "--config.train.log_every=5"]
  metrics = os.path.join(wd, "metrics.jsonl")

  def rows():
    if not os.path.exists(metrics):
      return 0
    with open(metrics) as f:
      return sum(1 for _ in f)

  saved = [0]
  for sig in (signal.SIGINT, signal.SIGTERM):
    before = rows()
    with processes([args(100000)]) as (proc,):
      deadline = time.time() + 300
      while rows() <= before and time.time() < deadline and proc.poll() is None:
        time.sleep(0.5)
      proc.send_signal(sig)
      proc.wait(timeout=300)
      out = proc.output()
    assert proc.returncode == preemption.PREEMPTED_EXIT_CODE, out[-3000:]
    assert f"Preempted by {sig.name}: saved step" in out and "Traceback" not in out
    assert saved[-1] == 0 or f"Resumed {wd} from step {saved[-1]}" in out
    steps = checkpoint.Checkpointer(os.path.join(wd, "checkpoints")).all_steps()
    assert steps[:-1] == saved[1:] and steps[-1] >= max(saved[-1] + 1, 5), (steps, saved)
    saved.append(steps[-1])
  proc = run_module(args(saved[-1] + 2))
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert f"Resumed {wd} from step {saved[-1]}" in proc.stdout
  final = checkpoint.Checkpointer(os.path.join(wd, "checkpoints")).latest_step()
  assert final == saved[-1] + 2


def test_sample_on_a_damaged_latest_checkpoint_reports_one_line_and_uses_the_previous(tmp_path):
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


# --- divergence: the skip policy --------------------------------------------

def test_skip_policy_drops_a_nonfinite_update_and_advances_only_the_step(tmp_path):
  cfg = smoke("vae", {"optim.lr": 1e39, "train.nonfinite": "skip"})
  r = workdir.Run(cfg, workdir.load_info(str(tmp_path), cfg))
  from genjax import data, parallel
  source = data.build_source(cfg.data, cfg.data.split)
  batch = parallel.global_batch(source.get(np.arange(cfg.train.batch_size)), r.mesh)
  state = r.init_state()
  before = jax.device_get(state)
  new, metrics = r.compile_train_step()(state, batch)
  assert float(metrics["skipped"]) == 1.0 and int(new.step) == 1
  for a, b in zip(jax.tree.leaves(before.net), jax.tree.leaves(jax.device_get(new.net))):
    np.testing.assert_array_equal(a, b)  # params, optimiser state: untouched
  cfg.optim.lr = 1e-3
  r = workdir.Run(cfg, r.info)
  new, metrics = r.compile_train_step()(r.init_state(), batch)
  assert float(metrics["skipped"]) == 0.0 and np.isfinite(float(metrics["loss"]))


def test_skip_policy_stops_after_max_skips_in_a_row_keeping_the_good_checkpoint(tmp_path):
  wd = str(tmp_path / "skip")
  run.train_and_evaluate(smoke("vae", num_steps=2, checkpoint_every=2), wd)
  cfg = smoke("vae", {"optim.lr": 1e39, "train.nonfinite": "skip",
                      "train.max_skips_in_row": 3}, num_steps=20, log_every=100,
              checkpoint_every=100)
  with pytest.raises(FloatingPointError, match=r"3 train steps in a row up to step 5 .*"
                     r"latest good checkpoint \(step 2\)"):
    run.train_and_evaluate(cfg, wd)
  assert checkpoint.Checkpointer(os.path.join(wd, "checkpoints")).all_steps() == [2]


def test_skipped_steps_are_counted_and_left_out_of_the_logged_averages(tmp_path):
  class Sink:
    rows = []

    def write(self, step, metrics, prefix=""):
      self.rows.append((step, metrics))

  class Bar:
    def update(self, *a, **k):
      pass

  r = workdir.Run(smoke("vae", {"train.nonfinite": "skip", "train.max_skips_in_row": 2}),
                  workdir.load_info(str(tmp_path), smoke("vae")))
  class Ckpt:
    def latest_step(self):
      return 3

  log = run.TrainMetrics(r, Sink(), Bar(), Ckpt(), 0)
  for loss, skipped in [(1.0, 0), (np.nan, 1), (3.0, 0), (np.inf, 1)]:
    log.append({"loss": np.float32(loss), "skipped": np.float32(skipped)})
  log.flush(4)
  step, metrics = Sink.rows[-1]
  assert step == 4 and metrics["skipped"] == 2 and metrics["loss"] == 2.0
  log.append({"loss": np.float32(np.nan), "skipped": np.float32(1)})  # 2 in a row
  with pytest.raises(FloatingPointError, match=r"2 train steps in a row up to step 5 .*"
                     r"checkpoint \(step 3\) is untouched"):
    log.append({"loss": np.float32(1.0), "skipped": np.float32(0)})


# --- kill -9 and damaged checkpoints ----------------------------------------

def test_kill_9_during_a_save_loses_nothing_and_the_rerun_ends_bit_identical(tmp_path):
  """SIGKILL while checkpoint 3 is written (complete in its temporary folder,
  not yet committed): the rerun removes the leftover with a note, resumes from
  step 2 and ends bit-identical to an uninterrupted run."""
  args = ["--config", "configs/vae.py:smoke", "--config.train.num_steps=5",
          "--config.train.checkpoint_every=1", "--config.train.progress=False"]
  straight = run.train_and_evaluate(smoke("vae", num_steps=5, checkpoint_every=1),
                                    str(tmp_path / "a"))
  wd = str(tmp_path / "k")
  proc = subprocess.run([sys.executable, "tests/kill_during_save.py", "3", "--workdir", wd]
                        + args, cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT),
                        capture_output=True, text=True, timeout=600)
  assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
  ckpts = os.path.join(wd, "checkpoints")
  assert sorted(os.listdir(ckpts)) == ["1", "2", "3" + checkpoint.TMP_MARK]
  proc = run_module(["genjax.train", "--workdir", wd] + args)
  assert proc.returncode == 0, proc.stderr[-2000:]
  assert "Removing a stale lock" in proc.stdout  # the killed run's
  assert "Removed 1 incomplete checkpoint folder(s) of an interrupted save" in proc.stdout
  assert f"Resumed {wd} from step 2." in proc.stdout
  assert sorted(os.listdir(ckpts)) == ["3", "4", "5"]
  _, resumed, _ = workdir.restore_workdir(wd)
  for a, b in zip(jax.tree.leaves(straight), jax.tree.leaves(resumed)):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


@pytest.mark.parametrize("damage", ["empty_metadata", "delete_file"])
def test_other_damage_to_a_checkpoint_falls_back_to_the_one_before(damage, tmp_path, capsys):
  """Beside truncation (above): an emptied _METADATA file, a missing array file."""
  wd = str(tmp_path / damage)
  run.train_and_evaluate(smoke("vae", num_steps=4), wd)
  capsys.readouterr()
  step4 = os.path.join(wd, "checkpoints", "4")
  files = [os.path.join(d, f) for d, _, fs in os.walk(step4) for f in fs]
  if damage == "empty_metadata":
    for path in files:
      if os.path.basename(path) == "_METADATA":
        open(path, "w").close()
  else:
    os.remove(max(files, key=os.path.getsize))
  _, state, meta = workdir.restore_workdir(wd)
  out = capsys.readouterr().out
  assert meta["step"] == 2 and "Checkpoint 4 cannot be read" in out, out
  assert len(out.strip().splitlines()) == 1
  assert os.path.isdir(os.path.join(wd, "checkpoints_corrupt", "4"))


# --- image folders that change ----------------------------------------------

def _folder(path, n, seed=0):
  rng = np.random.default_rng(seed)
  for style in ("a", "b"):
    os.makedirs(path / style, exist_ok=True)
    for i in range(n):
      Image.fromarray(rng.integers(0, 255, (12, 12, 3), np.uint8)).save(
          path / style / f"{i}.png")


def _folder_vae(path, **train):
  return smoke("vae", {"data.source": "folder", "data.path": str(path)}, **train)


def test_a_changed_image_folder_is_refused_on_resume_unless_accepted(tmp_path):
  images = tmp_path / "images"
  _folder(images, 6)
  wd = str(tmp_path / "run")
  run.train_and_evaluate(_folder_vae(images, num_steps=2), wd)
  recorded = json.load(open(os.path.join(wd, workdir.FILES_FILE)))
  assert sorted(recorded) == [f"{s}/{i}.png" for s in "ab" for i in range(6)]
  Image.new("RGB", (12, 12)).save(images / "a" / "new.png")
  Image.new("RGB", (12, 12), (9, 9, 9)).save(images / "b" / "0.png")  # same name, new bytes
  (images / "a" / "5.png").unlink()
  with pytest.raises(ValueError, match=r"changed since this run started \(1 added \(e.g. "
                     r"a/new.png\), 1 removed \(e.g. a/5.png\), 1 changed \(e.g. b/0.png\)"):
    run.train_and_evaluate(_folder_vae(images, num_steps=4), wd)
  assert checkpoint.Checkpointer(os.path.join(wd, "checkpoints")).all_steps() == [2]
  state = run.train_and_evaluate(_folder_vae(images, num_steps=4), wd, accept_data_change=True)
  assert int(state.step) == 4
  history = [json.loads(l) for l in open(os.path.join(wd, workdir.HISTORY_FILE))]
  (change,) = [h["data_files"] for h in history if "data_files" in h]
  assert change == {"added": 1, "removed": 1, "changed": 1}
  assert "a/new.png" in json.load(open(os.path.join(wd, workdir.FILES_FILE)))


# --- fuzz: malformed image files and out-of-range configs -------------------

def _malformed_images(rng):
  """(file name, bytes) of broken or unusual image files."""
  good = rng.integers(0, 255, (9, 7, 3), np.uint8)
  import io
  def png(arr, mode=None, **kw):
    b = io.BytesIO()
    Image.fromarray(arr, mode).save(b, "PNG", **kw)
    return b.getvalue()
  full = png(good)
  return [
      ("empty.png", b""),
      ("truncated.png", full[:len(full) // 2]),
      ("header_only.png", full[:16]),
      ("random.jpg", rng.integers(0, 256, 300, np.uint8).tobytes()),
      ("text.png", b"this is not an image\n"),
      ("flipped_bits.png", bytes(b ^ 0xFF if i > 40 else b for i, b in enumerate(full))),
  ]


def test_fuzz_malformed_image_files_end_in_one_message_naming_the_file(tmp_path):
  """Each broken file in an otherwise good folder: training stops before
  anything is written with an expected error that names the file; never a raw
  crash, never silently trained on."""
  rng = np.random.default_rng(0)
  for i, (name, blob) in enumerate(_malformed_images(rng)):
    images = tmp_path / f"imgs{i}"
    _folder(images, 3, seed=i)
    (images / "a" / name).write_bytes(blob)
    cfg = _folder_vae(images, num_steps=2)
    cfg.data.holdout_fraction = 0.0
    cfg.evals.heldout.every = 0
    wd = tmp_path / f"run{i}"
    try:
      run.train_and_evaluate(cfg, str(wd))
    except errors.UserError as e:
      assert name in str(e) and "\n" not in str(e).strip(), (name, str(e))
    else:
      pytest.fail(f"{name}: trained on a broken image file")


FUZZ_KEYS = {  # key -> values of the right type but possibly out of range
    "train.batch_size": [-1, 0, 3, 7],
    "train.num_steps": [-5, 0, 1, 2],
    "train.log_every": [-1, 0, 1, 5],
    "train.checkpoint_every": [-2, 0, 1],
    "train.keep_checkpoints": [0, 1],
    "train.max_skips_in_row": [0, 1],
    "train.nonfinite": ["skip", "stop", "ignore"],
    "data.image_size": [-8, 0, 8, 12],
    "data.channels": [0, 1, 2, 3, 4],
    "data.holdout_fraction": [-0.1, 0.0, 0.5, 1.0],
    "data.source": ["mnist5k", "digits", "nope"],
    "data.crop": ["center", "resize", "zoom"],
    "optim.lr": [-1e-3, 0.0, 1e-3, float("inf")],
    "evals.heldout.every": [-1, 0, 1],
    "evals.heldout.batch_size": [0, 5],
}


def test_fuzz_random_configs_train_or_fail_with_one_message_naming_the_key(tmp_path):
  rng = np.random.default_rng(1)
  keys = sorted(FUZZ_KEYS)
  outcomes = {"trained": 0, "refused": 0}
  for trial in range(12):
    picked = {k: FUZZ_KEYS[k][rng.integers(len(FUZZ_KEYS[k]))]
              for k in rng.choice(keys, size=3, replace=False)}
    cfg = smoke("vae", {k: v.item() if hasattr(v, "item") else v for k, v in picked.items()})
    wd = tmp_path / f"t{trial}"
    try:
      run.train_and_evaluate(cfg, str(wd))
      outcomes["trained"] += 1
    except errors.UserError as e:
      message = str(e)
      assert any(k.split(".")[-1] in message for k in picked), (picked, message)
      assert not (wd / "checkpoints").exists(), (picked, message)  # refused before writing
      outcomes["refused"] += 1
  assert outcomes["trained"] and outcomes["refused"], outcomes


def test_sample_arguments_are_checked_and_reported_truthfully(tmp_path):
  wd = str(tmp_path / "s")
  run.train_and_evaluate(smoke("vae"), wd)
  base = ["genjax.sample", "--workdir", wd]
  zero = run_module(base + ["--num", "0", "--out", str(tmp_path / "z.npz")])
  assert zero.returncode == 2 and "num" in zero.stderr and "Traceback" not in zero.stderr
  missing = run_module(base + ["--step", "3", "--out", str(tmp_path / "m.npz")])
  assert missing.returncode == 1 and "it has steps 2, 4" in missing.stderr, missing.stderr
  noext = run_module(base + ["--num", "3", "--out", str(tmp_path / "noext")])
  assert noext.returncode == 0 and str(tmp_path / "noext.npz") in noext.stdout
  assert os.path.exists(tmp_path / "noext.npz")
  empty = tmp_path / "untrained"
  empty.mkdir()
  shutil.copy(os.path.join(wd, workdir.CONFIG_FILE), empty / workdir.CONFIG_FILE)
  none = run_module(["genjax.sample", "--workdir", str(empty), "--out", str(tmp_path / "n")])
  assert none.returncode == 1 and "No checkpoints" in none.stderr
  assert not (empty / "checkpoints").exists()
