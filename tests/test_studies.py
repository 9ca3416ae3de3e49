"""Ablation studies: grid expansion, the statistics against hand-computed
values, a study interrupted mid-cell that resumes exactly, the summary files,
TensorBoard HParams as TensorBoard reads them, and the Ray and submitit
executors on a 2-cell smoke study."""
import csv
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from scipy import stats as scipy_stats

from genjax import errors, studies, workdir
from genjax.studies import stats
from tests.conftest import ROOT, assert_trees_close
from tests.test_report import assert_shows_its_images_and_fetches_nothing

SMOKE = os.path.join(ROOT, "configs", "vae.py") + ":smoke"


def smoke_study(num_steps=2, seeds=(0,), heldout=True, **kw):
  """Two cells of the VAE smoke; heldout=False measures the training loss
  instead of the held-out bound (no evaluation to compile in each cell)."""
  return studies.Study(
      base=SMOKE, cells={"beta=1": {}, "beta=0.5": {"vae.beta": 0.5}}, seeds=seeds,
      overrides={"train.num_steps": num_steps, "train.checkpoint_every": 2,
                 "evals.heldout.every": num_steps if heldout else 0},
      metrics={"eval/nats" if heldout else "train/nats": "lower"},
      curves=("train/loss",), name="smoke", **kw)


@pytest.mark.parametrize("path", sorted(
    p for p in os.listdir(os.path.join(ROOT, "experiments", "studies"))
    if p.endswith(".py") and p not in ("__init__.py", "common.py")))
def test_every_shipped_study_loads_and_its_cells_configs_validate(path):
  study = studies.load_study(os.path.join(ROOT, "experiments", "studies", path))  # checks it
  for cell in study.cells:
    assert study.config(cell, study.seeds[0]).seed == study.seeds[0]


def test_grid_expands_products_and_explicit_cells_into_configs():
  cells = studies.grid({"gan.loss": ["ns", "hinge"], "optim_g.lr": [1e-4, 2e-4]},
                       gan__n_critic=2)
  assert list(cells) == ["loss=ns_lr=0.0001", "loss=ns_lr=0.0002", "loss=hinge_lr=0.0001",
                         "loss=hinge_lr=0.0002"]
  assert cells["loss=hinge_lr=0.0001"] == {"gan.n_critic": 2, "gan.loss": "hinge",
                                           "optim_g.lr": 1e-4}
  # Axes that share a last part keep their whole key.
  assert list(studies.grid({"optim_g.lr": [1], "optim_d.lr": [2]})) == [
      "optim_g.lr=1_optim_d.lr=2"]
  dcgan = os.path.join(ROOT, "configs", "dcgan.py")
  study = studies.Study(
      base=f"{dcgan}:smoke", seeds=(3, 4), overrides={"train.num_steps": 7},
      cells={**cells, "wide": studies.Cell({"generator.widths": [32, 16]}),
             "vae": studies.Cell({}, config=SMOKE)})
  study.check()
  assert study.baseline == "loss=ns_lr=0.0001"  # the first cell by default
  cfg = study.config("loss=hinge_lr=0.0002", 4)
  assert (cfg.gan.loss, cfg.optim_g.lr, cfg.gan.n_critic, cfg.seed, cfg.train.num_steps) == (
      "hinge", 2e-4, 2, 4, 7)
  assert study.config("wide", 3).generator.widths == (32, 16)
  assert study.config("vae", 3).method == "vae"


@pytest.mark.parametrize("change,message", [
    (dict(cells={"a": {"gan.los": "x"}}), "cell 'a': unknown config key 'gan.los'; the section has"),
    (dict(cells={"a": {"gann.loss": "x"}}), "unknown config key 'gann.loss' \\(no section 'gann'\\)"),
    (dict(cells={"a b": {}}), "not usable as folder names"),
    (dict(baseline="c"), "baseline 'c' is not a cell; choose one of a"),
    (dict(metrics={"eval/nats": "smaller"}), "use 'higher' or 'lower'"),
    (dict(seeds=(1, 1)), "must be distinct"),
])
def test_a_bad_study_is_a_clear_error(change, message):
  kw = dict(base=os.path.join(ROOT, "configs", "dcgan.py") + ":smoke", cells={"a": {}})
  kw.update(change)
  study = studies.Study(**kw)
  with pytest.raises(ValueError, match=message):
    study.check()
    study.config(next(iter(study.cells)), 0)


def test_statistics_match_hand_computed_values():
  a, b = [0.91, 0.95, 0.93], [0.88, 0.86, 0.90]
  d = stats.describe(a)
  half = scipy_stats.t.ppf(0.975, 2) * 0.02 / np.sqrt(3)  # t quantile x std / sqrt(n)
  np.testing.assert_allclose([d["mean"], d["std"], d["ci_low"], d["ci_high"]],
                             [0.93, 0.02, 0.93 - half, 0.93 + half])
  c = stats.compare(a, b)
  se = np.sqrt(0.0004 / 3 + 0.0004 / 3)  # Welch: variances 0.0004 each, 3 seeds a side
  df = se ** 4 / (2 * (0.0004 / 3) ** 2 / 2)  # Welch-Satterthwaite: 4 here
  np.testing.assert_allclose([c["diff"], c["t"], c["p"], c["diff_ci_low"], c["diff_ci_high"]],
                             [0.05, 0.05 / se, 2 * scipy_stats.t.sf(0.05 / se, df),
                              0.05 - scipy_stats.t.ppf(0.975, df) * se,
                              0.05 + scipy_stats.t.ppf(0.975, df) * se])
  # Benjamini-Hochberg by hand: p * m / rank, then the running minimum from the top.
  np.testing.assert_allclose(stats.adjust([0.01, 0.04, 0.03, 0.5, np.nan]),
                             [0.04, 0.16 / 3, 0.16 / 3, 0.5, np.nan])
  assert stats.verdict({"diff": -1.0, "p_adj": 0.01}, "lower", 0.05) == "better"
  assert stats.verdict({"diff": -1.0, "p_adj": 0.01}, "higher", 0.05) == "worse"
  assert stats.verdict({"diff": 1.0, "p_adj": 0.2}, "higher", 0.05) == "no significant difference"
  assert np.isnan(stats.compare([1.0], b)["p"]) and np.isnan(stats.describe([1.0])["std"])


def test_summary_tables_plots_and_hparams_as_tensorboard_reads_them(tmp_path):
  root = str(tmp_path / "s")
  study = smoke_study(seeds=(0, 1), heldout=False)
  studies.run_study(study, root, studies.Local(parallel=2))
  summary = studies.run_study(study, root, studies.Local())  # a rerun skips finished cells
  assert len(summary["sessions"]) == 2
  results = {(c, s): json.load(open(os.path.join(root, c, f"seed{s}", "study_cell.json")))
             for c in study.cells for s in study.seeds}
  assert all(r["status"] == "done" and r["steps"] == 2 and r["attempts"] == 1
             for r in results.values())
  rows = list(csv.DictReader(open(os.path.join(root, "summary.csv"))))
  assert [(r["cell"], r["metric"]) for r in rows] == [("beta=1", "train/nats"),
                                                      ("beta=0.5", "train/nats")]
  for r in rows:
    seeds = [results[(r["cell"], s)]["metrics"]["train/nats"] for s in study.seeds]
    np.testing.assert_allclose(float(r["mean"]), np.mean(seeds))
    np.testing.assert_allclose(float(r["std"]), np.std(seeds, ddof=1))
  assert rows[1]["verdict"] in ("better", "worse", "no significant difference")
  md = open(os.path.join(root, "summary.md")).read()
  assert "Welch" in md and "## train/nats (lower is better)" in md and "![curves](curves.png)" in md
  assert summary["findings"][0].startswith("beta=0.5 vs beta=1 on train/nats")
  for png in ("curves.png", "bars.png"):
    assert os.path.getsize(os.path.join(root, png)) > 5000
  published = studies.publish(root, str(tmp_path / "results"))
  assert sorted(os.path.basename(p) for p in published) == sorted(studies.summary.PUBLISHED)
  assert open(published[0]).read() == md
  with pytest.raises(errors.MissingError, match="No summary to publish in .*run the study"):
    studies.publish(str(tmp_path / "nothing"), str(tmp_path / "again"))
  html = open(os.path.join(root, "report.html")).read()
  assert "Study: smoke" in html and 'href="beta=1/seed0/report.html"' in html
  assert_shows_its_images_and_fetches_nothing(os.path.join(root, "report.html"),
                                              str(tmp_path / "study.png"))
  # Each cell is a normal workdir: it restores and samples.
  r, state, meta = workdir.restore_workdir(os.path.join(root, "beta=0.5", "seed1"))
  assert meta["step"] == 2 and r.config.vae.beta == 0.5 and r.config.seed == 1

  from tensorboard.backend.event_processing import event_multiplexer
  from tensorboard.plugins.hparams import metadata
  mux = event_multiplexer.EventMultiplexer().AddRunsFromDirectory(root)
  mux.Reload()
  sessions = {}
  for name, tags in mux.PluginRunToTagToContent(metadata.PLUGIN_NAME).items():
    if metadata.SESSION_START_INFO_TAG in tags:
      info = metadata.parse_session_start_info_plugin_data(
          tags[metadata.SESSION_START_INFO_TAG])
      sessions[name] = {k: v.string_value or v.number_value for k, v in info.hparams.items()}
  assert sessions["beta=0.5/seed1/tensorboard/hparams"] == {"cell": "beta=0.5", "seed": 1,
                                                             "vae.beta": 0.5}
  assert len(sessions) == 4
  final = mux.Scalars("beta=0.5/seed1/tensorboard/hparams", "final/train/nats")[0].value
  np.testing.assert_allclose(final, results[("beta=0.5", 1)]["metrics"]["train/nats"], rtol=1e-6)


def test_an_interrupted_study_resumes_its_cells_exactly(tmp_path):
  """SIGTERM to a running study: the cell in flight saves, no other cell
  starts, and the study exits 75 with a summary; the rerun resumes the cell
  from its checkpoint to the same parameters as an uninterrupted run (cell b:
  the same training as a, logged less often, run after the signal in one go)."""
  study_file = tmp_path / "half.py"
  study_file.write_text(
      "from genjax.studies import Study\n"
      "def get_study():\n"
      f"  return Study(base={SMOKE!r}, cells={{'a': {{}}, 'b': {{'train.log_every': 50}}}},\n"
      "               seeds=(0,), metrics={'train/nats': 'lower'},\n"
      "               overrides={'train.num_steps': 200, 'train.checkpoint_every': 20,\n"
      "                          'train.log_every': 10, 'train.sample_every': 100,\n"
      "                          'evals.heldout.every': 0})\n")
  root = tmp_path / "runs"
  cmd = [sys.executable, "-m", "experiments.study", f"--study={study_file}",
         f"--workdir={root}"]
  env = dict(os.environ, PYTHONPATH=ROOT)
  proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, start_new_session=True)
  try:
    ckpts = root / "a" / "seed0" / "checkpoints"
    deadline = time.time() + 420
    while not (ckpts.is_dir() and any(n.isdigit() and int(n) >= 20 for n in os.listdir(ckpts))):
      assert proc.poll() is None and time.time() < deadline, proc.stdout.read()
      time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=240)
  finally:
    if proc.poll() is None:
      os.killpg(proc.pid, signal.SIGKILL)
      proc.wait()
  assert proc.returncode == 75, out
  assert "Interrupted by SIGTERM: 0/2 cells done" in out
  a = json.load(open(root / "a" / "seed0" / "study_cell.json"))
  assert a["status"] == "preempted" and os.path.exists(root / "summary.md")
  assert not os.path.exists(root / "b")  # not started after the signal
  saved = max(int(n) for n in os.listdir(ckpts) if n.isdigit())
  assert 20 <= saved < 200

  done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
  assert done.returncode == 0, done.stdout + done.stderr
  assert json.load(open(root / "b" / "seed0" / "study_cell.json"))["attempts"] == 1
  a = json.load(open(root / "a" / "seed0" / "study_cell.json"))
  assert a["status"] == "done" and a["attempts"] == 2
  assert f"Resumed {root / 'a' / 'seed0'} from step {saved}." in open(
      root / "a" / "seed0" / "log.txt").read()
  _, straight, _ = workdir.restore_workdir(str(root / "b" / "seed0"))
  _, resumed, _ = workdir.restore_workdir(str(root / "a" / "seed0"))
  assert int(resumed.step) == int(straight.step) == 200
  assert_trees_close(straight, resumed, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("executor", ["ray", "submitit"])
def test_cluster_executors_run_a_two_cell_study(executor, tmp_path):
  root = str(tmp_path / executor)
  if executor == "ray":
    import ray
    ex = studies.Ray(num_cpus=1)
  else:
    ex = studies.Slurm(os.path.join(root, "slurm"), cluster="local", timeout_min=10)
  try:
    summary = studies.run_study(smoke_study(heldout=False), root, ex)
  finally:
    ex.stop()
    if executor == "ray":
      ray.shutdown()
  assert summary["status"] == {"beta=1": ["done"], "beta=0.5": ["done"]}
  for cell in ("beta=1", "beta=0.5"):
    result = json.load(open(os.path.join(root, cell, "seed0", "study_cell.json")))
    assert result["machine"]["pid"] != os.getpid()  # ran in the engine's worker process
    assert np.isfinite(result["metrics"]["train/nats"])
