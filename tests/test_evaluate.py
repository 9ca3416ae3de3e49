"""Classifier training, feature extraction and genjax.evaluate end to end."""
import json
import os

import numpy as np
import pytest

from genjax import config_lib, data, evaluate, run, workdir
from genjax.evaluators import cas, quality
from tests.conftest import load_config, run_module


@pytest.fixture(scope="module")
def classifier_dir(tmp_path_factory):
  wd = str(tmp_path_factory.mktemp("clf"))
  cfg = load_config("classifier", "smoke")
  cfg.train.update(num_steps=200, batch_size=32, log_every=50, checkpoint_every=200)
  cfg.evals.heldout.every = 200
  cfg.optim.lr = 3e-3
  run.train_and_evaluate(cfg, wd)
  return wd


def test_classifier_learns_above_chance(classifier_dir):
  rows = [json.loads(l) for l in open(os.path.join(classifier_dir, "metrics.jsonl"))]
  ev = [r for r in rows if "eval/accuracy" in r][-1]
  assert ev["eval/count"] == 500 and ev["eval/accuracy"] > 0.3  # chance is 0.1


def mnist_test_npz(path, noise=0.0):
  src = data.build_source(config_lib.data_config("mnist"), "test")
  x = src.get(np.arange(len(src)))["image"].astype(np.float32)
  x = np.clip(x + noise * np.random.default_rng(0).normal(size=x.shape) * 255, 0, 255)
  np.savez(path, images=x.astype(np.uint8))
  return str(path)


def test_two_set_mode_identical_sets_score_perfectly(classifier_dir, tmp_path):
  a = mnist_test_npz(tmp_path / "a.npz")
  same = quality.evaluate_sets(a, a, f"classifier:{classifier_dir}", kid_subsets=5,
                                kid_subset_size=200)
  assert abs(same["fid"]) < 1e-4 and same["precision"] == same["recall"] == 1.0
  noisy = quality.evaluate_sets(mnist_test_npz(tmp_path / "n.npz", 0.5), a,
                                 f"classifier:{classifier_dir}", kid_subsets=5,
                                 kid_subset_size=200)
  assert noisy["fid"] > 1.0, noisy
  assert noisy["kid"] > same["kid"] and noisy["precision"] < 1.0
  prov = noisy["provenance"]
  assert prov["extractor"].startswith("classifier:") and len(prov["extractor_weights_hash"]) == 16


def test_evaluate_workdir_writes_results_with_provenance(classifier_dir, tmp_path):
  wd = str(tmp_path / "gan")
  run.train_and_evaluate(load_config("dcgan", "smoke"), wd)
  proc = run_module(["genjax.evaluate", "--workdir", wd, "--extractor",
                     f"classifier:{classifier_dir}", "--num_samples", "300",
                     "--kid_subsets", "5", "--kid_subset_size", "100"])
  assert proc.returncode == 0, proc.stderr[-3000:]
  result = json.load(open(os.path.join(wd, "eval", "quality_000004.json")))
  for key in ("fid", "kid", "kid_std", "is", "precision", "recall", "density", "coverage"):
    assert np.isfinite(result[key]), key
  prov = result["provenance"]
  assert prov["checkpoint_step"] == 4 and prov["num_samples"] == 300
  assert prov["config_hash"] == workdir.config_hash(workdir.load_config(wd))
  assert prov["reference_split"] == "test" and prov["reference"].startswith("mnist5k")
  rows = [json.loads(l) for l in open(os.path.join(wd, "metrics.jsonl"))]
  assert "quality/fid" in rows[-1] and "quality/near_copy_fraction" in rows[-1]
  mem = result["memorization"]
  assert mem["pixel"]["heldout_near_copy_fraction"] == pytest.approx(0.01, abs=0.005)
  assert 0.0 <= mem["feature"]["near_copy_fraction"] <= 1.0
  assert os.path.exists(os.path.join(wd, "eval", "closest_pairs_000004.png"))
  # The truncation trick as an evaluation option: its own file and rows; at 0
  # every sample is the mean latent's image, so the samples have no spread.
  (trunc,) = evaluate.evaluate_workdir(wd, f"classifier:{classifier_dir}", num_samples=300,
                                       kid_subsets=5, kid_subset_size=100,
                                       memorization=False, truncation=0.0)
  assert trunc["provenance"]["truncation"] == 0.0
  assert os.path.exists(os.path.join(wd, "eval", "quality_psi0_000004.json"))
  assert trunc["recall"] < result["recall"] or result["recall"] == 0
  assert "quality_psi0/fid" in json.loads(open(os.path.join(wd, "metrics.jsonl")).readlines()[-1])
  with pytest.raises(ValueError, match="--back_project applies to image-to-image runs only"):
    evaluate.evaluate_workdir(wd, f"classifier:{classifier_dir}",
                              how=workdir.Inference(back_project=2))


def test_unknown_extractor_and_bad_image_set_are_clear_errors(tmp_path):
  with pytest.raises(ValueError, match="--extractor"):
    quality.evaluate_sets("a.npz", "b.npz", "inception")
  np.savez(tmp_path / "x.npz", pics=np.zeros(3))
  with pytest.raises(ValueError, match="no 'images'"):
    data.load_image_set(str(tmp_path / "x.npz"), 28, 1)


def test_quality_evaluator_runs_inside_training_on_schedule(classifier_dir, tmp_path):
  wd = str(tmp_path / "sched")
  cfg = load_config("dcgan", "smoke")
  cfg.evals.quality.update(every=2, extractor=f"classifier:{classifier_dir}",
                           num_samples=200, memorization=False)
  run.train_and_evaluate(cfg, wd)
  assert sorted(f for f in os.listdir(os.path.join(wd, "eval")) if f.startswith("quality")) == [
      "quality_000002.json", "quality_000004.json"]
  rows = [json.loads(l) for l in open(os.path.join(wd, "metrics.jsonl"))]
  assert [r["step"] for r in rows if "quality/fid" in r] == [2, 4]


def test_quality_schedule_without_extractor_is_a_clear_error(tmp_path):
  cfg = load_config("dcgan", "smoke")
  cfg.evals.quality.every = 2
  with pytest.raises(ValueError, match="evals.quality.extractor"):
    run.train_and_evaluate(cfg, str(tmp_path))


def test_cas_of_real_labelled_images_reaches_the_real_bound_and_shuffled_labels_do_not(
    tmp_path):
  cfg = config_lib.data_config("mnist")
  src = data.build_source(cfg, "train")
  batch = src.get(np.arange(len(src)))
  good, bad = str(tmp_path / "good.npz"), str(tmp_path / "bad.npz")
  np.savez(good, images=batch["image"], labels=batch["label"])
  np.savez(bad, images=batch["image"],
           labels=np.random.default_rng(0).permutation(batch["label"]))
  res = cas.classification_accuracy_score(good, cfg, str(tmp_path / "g"),
                                          run.train_and_evaluate, num_steps=60, batch_size=64)
  assert res["real_accuracy"] > 0.8 and abs(res["cas_accuracy"] - res["real_accuracy"]) < 0.02
  assert json.load(open(tmp_path / "g" / "cas.json"))["provenance"]["num_steps"] == 60
  shuffled = cas.classification_accuracy_score(bad, cfg, str(tmp_path / "b"),  # chance at
                                               run.train_and_evaluate, num_steps=20,  # any length
                                               batch_size=64, real_bound=False)
  assert shuffled["cas_accuracy"] < 0.3


def test_vae_workdir_evaluation_adds_heldout_elbo_and_iwae(classifier_dir, tmp_path):
  wd = str(tmp_path / "vae")
  run.train_and_evaluate(load_config("vae", "smoke"), wd)
  (result,) = evaluate.evaluate_workdir(wd, f"classifier:{classifier_dir}", iwae_k=16,
                                        num_samples=200, kid_subsets=5,
                                        kid_subset_size=100, memorization=False)
  lik = result["heldout"]
  assert lik["iwae_k"] == 16 and lik["count"] == 500
  assert 0 < lik["iwae_nats"] < lik["nats"]
  saved = json.load(open(os.path.join(wd, "eval", "quality_000004.json")))
  assert saved["heldout"]["iwae_k"] == 16


def test_paired_mode_reports_psnr_ssim_l1_per_image(classifier_dir, tmp_path):
  a = mnist_test_npz(tmp_path / "a.npz")
  b = mnist_test_npz(tmp_path / "b.npz", noise=0.1)
  res = quality.evaluate_sets(b, a, f"classifier:{classifier_dir}", kid_subsets=2,
                               kid_subset_size=100, paired=True)["paired"]
  x, y = (np.load(p)["images"].astype(np.float64) / 127.5 - 1 for p in (a, b))
  mse = ((x - y) ** 2).reshape(len(x), -1).mean(1)
  np.testing.assert_allclose(res["per_image"]["psnr"], 10 * np.log10(4 / mse), rtol=1e-4)
  assert len(res["per_image"]["ssim"]) == 500 and 0 < res["ssim"] < 1
  assert res["l1"] == pytest.approx(np.abs(x - y).mean(), rel=1e-4)


@pytest.mark.parametrize("arrays,message", [
    ({"images": np.zeros((4, 8, 8, 1), np.float32)}, "must be uint8 NHWC"),
    ({"images": np.zeros((4, 8, 8), np.uint8)}, "must be uint8 NHWC"),
    ({"images": np.zeros((4, 8, 8, 1), np.uint8), "labels": np.zeros(3)}, "one integer per image"),
])
def test_image_sets_are_validated(arrays, message, tmp_path):
  np.savez(tmp_path / "x.npz", **arrays)
  with pytest.raises(ValueError, match=message):
    data.load_image_set(str(tmp_path / "x.npz"), 28, 1)
  (tmp_path / "garbage.npz").write_bytes(b"not a zip file at all")
  with pytest.raises(ValueError, match="Cannot read .* as an .npz of images"):
    data.load_image_set(str(tmp_path / "garbage.npz"), 28, 1)
