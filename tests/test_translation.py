"""pix2pix and CycleGAN end to end (train, resume, translate both ways,
evaluate), their data (edges, thin2thick, unpaired domains and folders) and
CycleGAN's image history buffer."""
import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import tensorflow_datasets as tfds
from PIL import Image

from genjax import config_lib, data, evaluators, run, workdir
from genjax.data import tasks
from genjax.methods import cyclegan
from genjax.evaluators.extractors import build_extractor
from tests.conftest import assert_trees_close, load_config, rewound, run_module, smoke


def test_edges_are_the_binary_outlines_of_the_strokes():
  x = np.zeros((28, 28, 1), np.uint8)
  x[8:20, 12:16] = 255  # a bar 4 px wide
  e = tasks.degrade("edges", x, None, None)["input"][..., 0]
  assert set(np.unique(e)) == {0, 255}
  assert e[14, 11] == 255 and e[14, 12] == 255 and e[14, 16] == 255  # both sides of each border
  assert e[14, 13:15].max() == 0 and e[2, 2] == 0  # inside the stroke and far away: empty


def test_thin2thick_is_dilation_and_unpaired_domains_never_align():
  cfg = config_lib.data_config("mnist")
  cfg.update(task="thin2thick", unpaired=True)
  src = data.build_source(cfg, "train")
  assert set(src.fields) == {"image", "input"} and src.class_names is None
  b = src.get(np.arange(8))
  paired = tasks.degrade("thin2thick", b["input"][0], None, cfg)
  thick = np.asarray(Image.fromarray(b["input"][0, ..., 0]).filter(
      __import__("PIL.ImageFilter").ImageFilter.MaxFilter(3)))
  np.testing.assert_array_equal(paired["image"][..., 0], thick)
  assert paired["image"].astype(int).sum() > 1.3 * b["input"][0].astype(int).sum()
  for a, t in zip(b["input"], b["image"]):  # B images come from other digits
    assert not np.array_equal(tasks.degrade("thin2thick", a, None, cfg)["image"], t)
  np.testing.assert_array_equal(src.get([3])["image"], src.get([3])["image"])  # fixed pairing


def test_image_pool_fills_then_swaps_about_half():
  pool, count = jnp.zeros((4, 1, 1, 1)), jnp.zeros((), jnp.int32)
  first = jnp.arange(1, 4, dtype=jnp.float32).reshape(3, 1, 1, 1)
  out, pool, count = cyclegan.pool_query(pool, count, first, jax.random.PRNGKey(0))
  np.testing.assert_array_equal(out, first)  # not full: the new fakes are used and stored
  assert int(count) == 3 and pool[:3, 0, 0, 0].tolist() == [1, 2, 3]
  new = jnp.full((400, 1, 1, 1), 9.0)
  out, pool, count = cyclegan.pool_query(pool, count, new, jax.random.PRNGKey(1))
  assert int(count) == 4 and out[0, 0, 0, 0] == 9.0  # the 4th slot filled with the first
  old = float(jnp.mean(out[1:, 0, 0, 0] != 9.0))
  assert out[1:].min() >= 1 and 0.0 < old < 0.1  # old fakes come back only until swapped out
  pool2 = -1.0 - jnp.arange(4, dtype=jnp.float32).reshape(4, 1, 1, 1)
  stream = jnp.arange(2000, dtype=jnp.float32).reshape(2000, 1, 1, 1)
  out, _, _ = cyclegan.pool_query(pool2, count, stream, jax.random.PRNGKey(2))
  swapped = out != stream  # an earlier fake came back instead of the new one
  assert abs(float(jnp.mean(swapped)) - 0.5) < 0.05
  assert bool(jnp.all(out[swapped] < stream[swapped]))


@pytest.fixture(scope="module")
def resumed_runs(tmp_path_factory):
  """name -> (4 straight steps' state, 2 + 2 resumed steps' state, the resumed
  workdir) of the pix2pix and CycleGAN smokes, trained once for this module."""
  out = {}
  for name in ("pix2pix", "cyclegan"):
    root = tmp_path_factory.mktemp(name)
    straight = run.train_and_evaluate(smoke(name, num_steps=4), str(root / "a"))
    wd = rewound(str(root / "a"), 2, str(root / "b"))
    out[name] = straight, run.train_and_evaluate(smoke(name, num_steps=4), wd), wd
  return out


@pytest.mark.parametrize("name", ["pix2pix", "cyclegan"])
def test_smoke_trains_resumes_exactly_and_evaluates(name, resumed_runs):
  """The image buffer (CycleGAN) and the discriminator (both) are in the state:
  2 + 2 resumed steps equal 4 straight ones."""
  straight, resumed, wd = resumed_runs[name]
  assert_trees_close(straight, resumed, rtol=1e-6, atol=1e-7)
  if name == "cyclegan":
    assert int(resumed.pool_count["a"]) == 6  # 4 steps x 8 fakes, capped at the pool size
    assert float(jnp.abs(resumed.pool["b"]).sum()) > 0
  result = json.load(open(os.path.join(wd, "eval", "paired_000004.json")))
  assert result["num_images"] == 6 and "psnr" in result["method"]
  assert "input" in result["baselines"]  # edges as the output / the identity mapping


def test_cyclegan_translates_folders_both_ways_and_a_one_way_run_refuses_btoa(resumed_runs,
                                                                               tmp_path):
  wd = resumed_runs["cyclegan"][2]
  src, out_ab, out_ba = tmp_path / "in", tmp_path / "ab", tmp_path / "ba"
  src.mkdir()
  rng = np.random.default_rng(0)
  Image.fromarray(rng.integers(0, 255, (20, 30), np.uint8), "L").save(src / "g.png")
  Image.fromarray(rng.integers(0, 255, (70, 45, 4), np.uint8), "RGBA").save(src / "c.png")
  for direction, out in (("AtoB", out_ab), ("BtoA", out_ba)):
    proc = run_module(["genjax.translate", "--workdir", wd, "--input", str(src), "--output",
                       str(out), "--direction", direction, "--tile", "32", "--overlap", "8"])
    assert proc.returncode == 0, proc.stderr[-2000:]
    for name, size in (("g.png", (30, 20)), ("c.png", (45, 70))):
      with Image.open(out / name) as im:
        assert im.size == size and im.mode == "L"
  assert not np.array_equal(np.asarray(Image.open(out_ab / "g.png")),
                            np.asarray(Image.open(out_ba / "g.png")))
  proc = run_module(["genjax.translate", "--workdir", resumed_runs["pix2pix"][2], "--input",
                     str(src), "--output", str(tmp_path / "x"), "--direction", "BtoA"])
  assert proc.returncode == 1 and "translates AtoB only" in proc.stderr


def test_pix2pix_trains_on_any_restore_task(tmp_path):
  cfg = load_config("pix2pix", "inpaint")
  small = load_config("restore", "smoke")
  cfg.data.update(image_size=16)
  cfg.model = small.model
  cfg.discriminator.widths = (8, 16)
  cfg.train, cfg.evals = small.train, small.evals
  state = run.train_and_evaluate(cfg, str(tmp_path / "p"))
  assert int(state.step) == 4 and "d" in state.__dict__
  rows = [json.loads(l) for l in open(tmp_path / "p" / "metrics.jsonl")]
  assert any("paired/biharmonic_psnr" in r for r in rows)


def test_paired_evaluator_reports_whether_outputs_keep_their_class(tmp_path):
  clf = str(tmp_path / "clf")
  run.train_and_evaluate(smoke("classifier", {"data.image_size": 16}), clf)
  wd = str(tmp_path / "e2d")
  run.train_and_evaluate(smoke("pix2pix", {"evals.paired.classifier": clf}), wd)
  result = json.load(open(os.path.join(wd, "eval", "paired_000004.json")))
  judged = result["classifier"]
  assert set(judged) == {"method", "target", "input"}
  assert all(0 <= v["accuracy"] <= 1 and v["fid"] >= 0 for v in judged.values())
  assert judged["target"]["fid"] == pytest.approx(0, abs=1e-3)  # the targets against themselves
  acc = {k: v["accuracy"] for k, v in judged.items()}
  r, _, _ = workdir.restore_workdir(wd)
  cfg = r.config.data.copy_and_resolve_references()
  cfg.task = ""
  test = data.build_source(cfg, cfg.eval_split).get(np.arange(6))
  probs = build_extractor(f"classifier:{clf}")(test["image"])[1]
  assert acc["target"] == pytest.approx(float(np.mean(probs.argmax(1) == test["label"])))


def _domains(root, n=5):
  rng = np.random.default_rng(0)
  for split in ("train", "test"):
    for side, size in (("A", (20, 24)), ("B", (31, 17))):
      d = root / f"{split}{side}"
      d.mkdir(parents=True)
      for i in range(n if split == "train" else 2):
        Image.fromarray(rng.integers(0, 255, size + (3,), np.uint8)).save(d / f"{i}.jpg")


def test_unpaired_folder_source_and_its_errors(tmp_path):
  _domains(tmp_path / "h2z")
  cfg = load_config("cyclegan", "folder")
  cfg.data.update(path=str(tmp_path / "h2z"), image_size=16)
  src = data.build_source(cfg.data, "train")
  b = src.get(np.arange(5))
  assert b["input"].shape == b["image"].shape == (5, 16, 16, 3)
  assert len(src) == 5 and len(data.build_source(cfg.data, "test")) == 2
  assert sorted(data.file_manifest(cfg.data)) == sorted(
      f"{s}{d}/{i}.jpg" for s, n in (("train", 5), ("test", 2)) for d in "AB" for i in range(n))
  os.rename(tmp_path / "h2z" / "testB", tmp_path / "h2z" / "tB")
  with pytest.raises(FileNotFoundError, match="testB"):
    data.build_source(cfg.data, "test")


def test_cyclegan_folder_variant_trains_and_horse2zebra_reads_its_domains(tmp_path):
  def shrink(cfg):
    cfg.data.image_size = 16
    cfg.generator.update(widths=(8, 16), blocks=1)
    cfg.discriminator.widths = (8, 16)
    cfg.train.update(batch_size=2, num_steps=2, log_every=1, checkpoint_every=2,
                     sample_every=2, progress=False)
    return cfg
  _domains(tmp_path / "d")
  cfg = shrink(load_config("cyclegan", "folder"))
  cfg.data.path = str(tmp_path / "d")
  assert int(run.train_and_evaluate(cfg, str(tmp_path / "f")).step) == 2
  r, _, _ = workdir.restore_workdir(str(tmp_path / "f"))
  with pytest.raises(ValueError, match="unpaired domains: there are no aligned targets"):
    evaluators.PairedEvaluator(r, str(tmp_path / "f"))
  # horse2zebra: the same models on TFDS's trainA / trainB splits; its source
  # gives the fields the folder's does (the folder run above trained on them)
  cfg = shrink(load_config("cyclegan", "horse2zebra"))
  with tfds.testing.mock_data(num_examples=4):
    src = data.build_source(cfg.data, cfg.data.split)
    batch = src.get(np.arange(2))
  assert data.describe(src).fields == r.info.fields
  assert batch["input"].shape == batch["image"].shape == (2, 16, 16, 3)
  assert batch["input"].dtype == np.uint8 and not np.array_equal(batch["input"], batch["image"])


def test_paired_folder_reads_a_b_folders_and_side_by_side_images(tmp_path):
  rng = np.random.default_rng(0)
  ab = tmp_path / "ab"
  for split in ("train", "val"):
    (ab / split).mkdir(parents=True)
    for i in range(3):
      left = rng.integers(0, 255, (20, 20, 3), np.uint8)
      Image.fromarray(np.concatenate([left, 255 - left], 1)).save(ab / split / f"{i}.png")
  cfg = load_config("pix2pix", "folder")
  cfg.data.update(path=str(ab), image_size=20)
  src = data.build_source(cfg.data, "train")
  b = src.get([0, 1])
  np.testing.assert_array_equal(b["image"].astype(int), 255 - b["input"].astype(int))
  assert len(data.build_source(cfg.data, "val")) == 3
  ab2 = tmp_path / "a_b"
  for side in "AB":
    (ab2 / side).mkdir(parents=True)
  for i in range(5):
    x = rng.integers(0, 255, (12, 16), np.uint8)
    Image.fromarray(x).save(ab2 / "A" / f"{i}.png")
    Image.fromarray(x // 2).save(ab2 / "B" / f"{i}.jpg" if i == 0 else ab2 / "B" / f"{i}.png")
  cfg.data.update(path=str(ab2), image_size=8, channels=1, holdout_fraction=0.2)
  train, test = data.build_source(cfg.data, "train"), data.build_source(cfg.data, "val")
  assert (len(train), len(test)) == (4, 1)
  Image.fromarray(x).save(ab2 / "A" / "lonely.png")
  with pytest.raises(ValueError, match="1 image.* no partner .*lonely"):
    data.build_source(cfg.data, "train")


def test_inpainting_masks_from_a_mask_folder(tmp_path):
  masks = tmp_path / "masks"
  masks.mkdir()
  m = np.zeros((10, 10), np.uint8)
  m[:, :5] = 255
  Image.fromarray(m).save(masks / "half.png")
  cfg = config_lib.data_config("photos")
  cfg.update(task="inpaint", mask="folder", mask_path=str(masks))
  out = data.build_source(cfg, "train").get([0, 1, 2, 3])["mask"][..., 0]
  assert out.shape == (4, 64, 64) and np.all(out.mean(axis=(1, 2)) == 0.5)
  assert np.all((out[:, :, :32] == 1).all((1, 2)) | (out[:, :, 32:] == 1).all((1, 2)))
  cfg.mask_path = str(tmp_path / "none")
  with pytest.raises(FileNotFoundError, match="data.mask_path"):
    data.build_source(cfg, "train")


def test_pix2pix_folder_variant_trains_and_evaluates_on_val(tmp_path):
  rng = np.random.default_rng(1)
  for split in ("train", "val"):
    (tmp_path / "ab" / split).mkdir(parents=True)
    for i in range(4):
      Image.fromarray(rng.integers(0, 255, (24, 48, 3), np.uint8)).save(
          tmp_path / "ab" / split / f"{i}.jpg")
  cfg = load_config("pix2pix", "folder")
  cfg.data.update(path=str(tmp_path / "ab"), image_size=16)
  cfg.model.update(widths=(8, 16), patch=1)
  cfg.discriminator.widths = (8, 16)
  cfg.train.update(batch_size=2, num_steps=2, log_every=1, checkpoint_every=2,
                   sample_every=2, progress=False)
  cfg.evals.heldout.every = cfg.evals.paired.every = 2
  wd = tmp_path / "run"
  assert int(run.train_and_evaluate(cfg, str(wd)).step) == 2
  assert json.load(open(wd / "eval" / "paired_000002.json"))["num_images"] == 4
