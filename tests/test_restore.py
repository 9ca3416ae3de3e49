"""Image-to-image regression: degradations, tiling, and configs/restore.py end
to end (train, resume, translate folders of any size and mode, evaluate)."""
import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from PIL import Image

from genjax import config_lib, data, evaluate, images, run, translate, workdir, zoo
from genjax.data import photos, tasks
from genjax.evaluators import paired
from genjax.methods import regression
from experiments import restore_crops
from tests.conftest import ROOT, assert_trees_close, load_config, run_module, train_preempted


def task_config(task, **extra):
  cfg = config_lib.data_config("photos")
  cfg.update(task=task, **extra)
  return cfg


def test_noise_has_the_configured_level_and_is_seeded_by_index():
  cfg = task_config("denoise")
  x = np.full((64, 64, 3), 128, np.uint8)
  a = tasks.degrade("denoise", x, np.random.default_rng([tasks.TASK_SEED, 5]), cfg)["input"]
  assert abs(float(np.std(a.astype(float) - 128)) - 25.0) < 1.0
  src = data.build_source(cfg, "train")
  np.testing.assert_array_equal(src.get([5, 9])["input"], src.get([5, 9])["input"])
  assert not np.array_equal(src.get([5])["input"], src.get([6])["input"])


@pytest.mark.parametrize("task,factor", [("sr2", 2), ("sr4", 4)])
def test_super_resolution_input_is_the_bicubic_downsample(task, factor):
  src = data.build_source(task_config(task), "train")
  b = src.get([0, 1])
  assert b["input"].shape == (2, 64 // factor, 64 // factor, 3)
  expected = Image.fromarray(b["image"][0]).resize((64 // factor,) * 2, Image.BICUBIC)
  np.testing.assert_array_equal(b["input"][0], np.asarray(expected))


def test_back_projection_pulls_the_output_towards_the_input():
  """Each iteration brings the output's bicubic downsample nearer the input;
  from the bicubic upsampling of a photo's downsample it also nears the photo."""
  hr = photos.photos(("astronaut",), 3)[0][100:164, 200:264]  # 64 px of a face
  x = tasks.degrade("sr2", hr, None, None)["input"]
  y0 = np.asarray(Image.fromarray(x).resize((64, 64), Image.BICUBIC), np.float32) / 127.5 - 1
  down = lambda y: tasks._resize(y, (32, 32))
  lo = x / 127.5 - 1
  err = lambda y: float(np.abs(down(y) - lo).mean())
  ys = [tasks.back_project(y0, x, "sr2", n) for n in (0, 1, 4)]
  np.testing.assert_array_equal(ys[0], y0)  # 0 iterations: as it was
  assert err(ys[2]) < err(ys[1]) < 0.7 * err(y0)
  mse = lambda y: float(np.mean((y - (hr / 127.5 - 1)) ** 2))
  assert mse(ys[2]) < mse(y0) and ys[2].min() >= -1 and ys[2].max() <= 1
  with pytest.raises(ValueError, match="not 2x the input"):
    tasks.back_project(y0[:60], x, "sr2", 1)
  cfg = load_config("restore", "denoise")
  cfg.data.back_project = 2
  with pytest.raises(ValueError, match="data.back_project applies to data.task sr2 or sr4"):
    config_lib.validate(cfg)
  assert load_config("restore", "sr4").data.back_project == 4


def test_blur_grey_and_hole_degradations():
  rng = np.random.default_rng(0)
  x = rng.integers(0, 256, (32, 32, 3), np.uint8)
  cfg = task_config("deblur")
  blurred = tasks.degrade("deblur", x, rng, cfg)["input"]
  high = lambda im: np.abs(np.diff(im.astype(float), axis=0)).mean()
  assert high(blurred) < 0.3 * high(x)
  grey = tasks.degrade("colorize", x, rng, cfg)["input"]
  assert grey.shape == (32, 32, 1)
  for kind in ("boxes", "strokes"):
    out = tasks.degrade("inpaint", x, np.random.default_rng(3), task_config("inpaint", mask=kind))
    m = out["mask"][..., 0]
    assert set(np.unique(m)) == {0, 1} and 0.005 < m.mean() < 0.6
    assert (out["input"][m == 1] == 128).all() and (out["input"][m == 0] == x[m == 0]).all()
  with pytest.raises(ValueError, match="data.mask"):
    tasks.degrade("inpaint", x, rng, task_config("inpaint", mask="blobs"))


def test_harmonize_recolours_only_the_pasted_region_and_is_scored_inside_it(trained):
  x = np.random.default_rng(0).integers(0, 256, (48, 48, 3), np.uint8)
  out = tasks.degrade("harmonize", x, np.random.default_rng(4), task_config("harmonize"))
  r = out["region"][..., 0] == 1
  assert 0.005 < r.mean() < 0.6 and (out["input"][~r] == x[~r]).all()
  assert np.abs(out["input"][r].astype(int) - x[r]).mean() > 5
  wd = trained("harmonize")
  result = json.load(open(os.path.join(wd, "eval", "paired_000004.json")))
  assert set(result["baselines"]) == {"input", "color_transfer"}
  assert result["provenance"]["in_hole"]
  figure = os.path.join(wd, "eval", "paired_000004.png")  # crops: input, baselines, ours, target
  assert json.loads(images.read_provenance(figure)["columns"]) == [
      "input", "color_transfer", "genjax", "target"]
  r, state, _ = workdir.restore_workdir(wd)
  m = np.zeros((40, 40, 1), np.uint8)
  m[5:20, 5:20] = 1
  y = images.to_uint8(r.translate(state, {"input": x[:40, :40], "region": m}))
  np.testing.assert_allclose(y[m[..., 0] == 0], x[:40, :40][m[..., 0] == 0], atol=1)


def test_photo_patches_hold_out_whole_photos():
  cfg = config_lib.data_config("photos")
  train, test = data.build_source(cfg, "train"), data.build_source(cfg, "test")
  assert train.get([3])["image"].shape == (1, 64, 64, 3)
  held = test.whole_images()
  assert len(held) == 2 and held[0].shape == (300, 451, 3)  # chelsea, at full size
  train_photos = {p.tobytes()[:4096] for p in train.images}
  assert not any(p.tobytes()[:4096] in train_photos for p in held)


def _toy_fn(scale):
  """A translation-equivariant stand-in for a network: a 3x3 box filter then
  nearest upsampling by `scale`."""
  def fn(b):
    x = b["input"].astype(np.float32)
    p = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="edge")
    y = sum(p[:, i:i + x.shape[1], j:j + x.shape[2]] for i in range(3) for j in range(3)) / 9
    return np.repeat(np.repeat(y, scale, 1), scale, 2)
  return fn


@pytest.mark.parametrize("scale", [1, 2])
def test_tiled_equals_untiled_when_one_tile_fits_and_seams_stay_small(scale):
  rng = np.random.default_rng(0)
  small = {"input": rng.uniform(size=(30, 45, 3)).astype(np.float32)}  # not multiples of 4
  whole = images.tiled(_toy_fn(scale), small, tile=64, multiple=4, scale=scale)
  padded = np.pad(small["input"], ((0, 2), (0, 3), (0, 0)), mode="reflect")
  np.testing.assert_array_equal(whole, _toy_fn(scale)({"input": padded[None]})[0][
      :30 * scale, :45 * scale])
  big = {"input": rng.uniform(size=(150, 97, 3)).astype(np.float32)}
  untiled = _toy_fn(scale)({"input": big["input"][None]})[0]
  tiled = images.tiled(_toy_fn(scale), big, tile=48, overlap=8, multiple=4, scale=scale)
  assert tiled.shape == (150 * scale, 97 * scale, 3)
  # The stand-in sees 1 pixel of context: with 8 pixels of overlap the blend
  # differs from the whole-image result only where a tile edge is within reach.
  assert np.abs(tiled - untiled).max() < 0.05


def test_self_ensemble_commutes_with_flips_and_rotations():
  rng = np.random.default_rng(0)
  x = {"input": rng.uniform(size=(12, 9, 3)).astype(np.float32)}
  # An orientation-dependent stand-in: each pixel minus its right neighbour.
  fn = lambda ins: ins["input"] - np.roll(ins["input"], -1, axis=1)
  plain, ensembled = fn(x), images.self_ensemble(fn, x)
  for k in range(8):
    turned = {"input": images.dihedral(x["input"], k)}
    np.testing.assert_array_equal(images.undo_dihedral(images.dihedral(x["input"], k), k),
                                  x["input"])
    np.testing.assert_allclose(images.self_ensemble(fn, turned),
                               images.dihedral(ensembled, k), atol=1e-6)
    if k in (1, 4):  # a quarter turn, a left-right flip: fn alone does not commute
      assert np.abs(fn(turned) - images.dihedral(plain, k)).max() > 0.1
  # Where fn itself commutes with them (a 3x3 box filter), the ensemble is fn.
  np.testing.assert_allclose(images.self_ensemble(lambda ins: _toy_fn(1)(
      {"input": ins["input"][None]})[0], x), _toy_fn(1)({"input": x["input"][None]})[0],
      atol=1e-6)


def smoke(task="denoise", **train):
  cfg = load_config("restore", "smoke")
  cfg.data.task = task
  cfg.train.update(train)
  return cfg


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
  """trained(task) -> the workdir of smoke(task), trained once for this module."""
  done = {}
  def get(task):
    if task not in done:
      done[task] = str(tmp_path_factory.mktemp(task) / "run")
      run.train_and_evaluate(smoke(task), done[task])
    return done[task]
  return get


def test_restore_smoke_resumes_exactly_and_reports_against_baselines(tmp_path):
  def config():  # evaluating on the way (held out and paired) changes nothing
    cfg = smoke()
    cfg.evals.heldout.every = 2
    return cfg
  straight = run.train_and_evaluate(config(), str(tmp_path / "a"))
  wd = str(tmp_path / "b")
  train_preempted(config(), wd, 2)
  resumed = run.train_and_evaluate(config(), wd)
  assert_trees_close(straight, resumed, rtol=1e-6, atol=1e-7)
  result = json.load(open(os.path.join(wd, "eval", "paired_000004.json")))
  assert result["num_images"] == 2 and set(result["baselines"]) == {"input", "nl_means"}
  # non-local means removes most of sigma-25 noise: well above the noisy input
  assert result["baselines"]["nl_means"]["psnr"] > result["baselines"]["input"]["psnr"] + 5
  rows = [json.loads(l) for l in open(os.path.join(wd, "metrics.jsonl"))]
  assert any("paired/psnr" in r and "paired/nl_means_psnr" in r for r in rows)
  assert any("eval/psnr" in r for r in rows)


@pytest.mark.parametrize("task", ["sr2", "inpaint", "harmonize"])
def test_translate_cli_handles_any_size_and_mode(task, trained, tmp_path):
  wd = trained(task)
  src, dst, masks = tmp_path / "in", tmp_path / "out", tmp_path / "masks"
  for d in (src, dst, masks):
    d.mkdir()
  rng = np.random.default_rng(0)
  Image.fromarray(rng.integers(0, 255, (37, 50), np.uint8), "L").save(src / "grey.png")
  Image.fromarray(rng.integers(0, 255, (21, 18, 4), np.uint8), "RGBA").save(src / "alpha.png")
  Image.fromarray(rng.integers(0, 255, (300, 90, 3), np.uint8)).save(src / "tall.jpg")
  for name, (w, h) in (("grey.png", (50, 37)), ("alpha.png", (18, 21)), ("tall.jpg", (90, 300))):
    m = np.zeros((h, w), np.uint8)
    m[h // 4:h // 2, w // 4:w // 2] = 255
    Image.fromarray(m).save(masks / name)
  args = ["genjax.translate", "--workdir", wd, "--input", str(src), "--output", str(dst),
          "--tile", "64", "--overlap", "8"]
  masked = task in ("inpaint", "harmonize")
  proc = run_module(args + (["--mask", str(masks)] if masked else []))
  assert proc.returncode == 0, proc.stderr[-3000:]
  factor = 2 if task == "sr2" else 1
  for name, (w, h) in (("grey.png", (50, 37)), ("alpha.png", (18, 21)), ("tall.jpg", (90, 300))):
    with Image.open(dst / name) as out:
      assert out.size == (w * factor, h * factor) and out.mode == "RGB"
  if masked:
    with pytest.raises(ValueError, match="--mask"):
      translate.translate_folder(wd, str(src), str(tmp_path / "x"))
    with pytest.raises(ValueError, match="super-resolution"):
      translate.translate_folder(wd, str(src), str(tmp_path / "x"), str(masks),
                                 workdir.Inference(back_project=2))
  if task == "sr2":  # the x8 self-ensemble: 8 passes, each output turned back
    translate.translate_folder(wd, str(src), str(tmp_path / "x8"),
                               how=workdir.Inference(tile=64, overlap=8, self_ensemble=True))
    with Image.open(tmp_path / "x8" / "grey.png") as a, Image.open(dst / "grey.png") as b:
      assert a.size == b.size and 0 < np.abs(np.asarray(a, float) - np.asarray(b, float)).max()
    # back-projected (the smoke run's data.back_project is 0): its downsample nears the input
    translate.translate_folder(wd, str(src), str(tmp_path / "bp"),
                               how=workdir.Inference(tile=64, overlap=8, back_project=4))
    def input_error(out_dir):  # mean |the output's bicubic downsample - the input|
      with Image.open(out_dir / "tall.jpg") as out, Image.open(src / "tall.jpg") as x:
        return np.abs(np.asarray(out.resize(x.size, Image.BICUBIC), float)
                      - np.asarray(x, float)).mean()
    assert input_error(tmp_path / "bp") < 0.8 * input_error(dst)


def test_test_time_adaptation_fits_the_image_and_keeps_the_run(trained, tmp_path):
  """Run.adapt fine-tunes a copy of the parameters on pairs cut from the
  low-resolution input itself (each input the task's downsample of its
  target): the adapted smoke model super-resolves that photo closer to the
  original than before, and the run's own parameters stay as they were."""
  wd = trained("sr2")
  r, state = workdir.restore_workdir(wd)[:2]
  hr = photos.photos(("astronaut",), 3)[0][60:188, 150:278]  # 128 px: face and background
  x = tasks.degrade("sr2", hr, None, None)["input"]
  pairs = tasks.internal_pairs(x, "sr2", np.random.default_rng(0), 3, 48, None)
  assert pairs["image"].shape == (3, 48, 48, 3) and pairs["input"].shape == (3, 24, 24, 3)
  np.testing.assert_array_equal(pairs["input"][1],
                                tasks.degrade("sr2", pairs["image"][1], None, None)["input"])
  before = jax.tree.map(np.array, state.ema_params)
  adapted = r.adapt(state, {"input": x}, 40, lr=3e-3)  # the smoke model: 4 steps trained
  assert_trees_close(state.ema_params, before, rtol=0, atol=0)
  psnr = lambda s: paired.image_metrics(images.to_uint8(r.translate(s, {"input": x})), hr)["psnr"]
  assert psnr(adapted) > psnr(state) + 0.1
  # through the evaluator: files named for the option, which its provenance records
  res = evaluate.evaluate_workdir(wd, how=workdir.Inference(adapt=2))[0]
  assert res["provenance"]["adapt"] == 2
  step = res["provenance"]["step"]
  assert os.path.exists(os.path.join(wd, "eval", f"paired_adapt2_{step:06d}.json"))
  with pytest.raises(ValueError, match="smaller than its 48 px crops"):
    r.adapt(state, {"input": x[:20, :20]}, 1)
  den, den_state = workdir.restore_workdir(trained("denoise"))[:2]
  with pytest.raises(ValueError, match="--adapt"):
    den.translate(den_state, {"input": hr}, workdir.Inference(adapt=1))


def test_pushpull_fill_keeps_known_pixels_and_interpolates_holes():
  fill = jax.jit(regression.pushpull_fill)  # one program for the three fills below
  rng = np.random.default_rng(0)
  x = jnp.asarray(rng.uniform(-1, 1, (2, 37, 50, 3)), jnp.float32)
  known = jnp.ones((2, 37, 50, 1)).at[:, 10:20, 5:30].set(0.0)
  f = fill(x, known)
  np.testing.assert_allclose(f * known, x * known, atol=1e-6)
  assert float(f.min()) >= -1 - 1e-6 and float(f.max()) <= 1 + 1e-6  # a convex blend
  ramp = jnp.broadcast_to(jnp.linspace(-1, 1, 50)[None, None, :, None], x.shape)
  g = fill(ramp, known)
  hole = np.asarray(known[0, ..., 0]) == 0
  assert np.abs(np.asarray(g - ramp)[0, ..., 0][hole]).mean() < 0.15  # close to the ramp
  np.testing.assert_allclose(fill(jnp.full_like(x, 0.3), known), 0.3, atol=1e-6)


@pytest.mark.parametrize("prefilter", ["", "biharmonic"])
def test_pixels_under_the_hole_are_ignored(prefilter, trained, tmp_path):
  """With a grey fill, and as a correction of biharmonic inpainting (which
  starts at that baseline's quality)."""
  cfg = smoke("inpaint")
  assert cfg.regression.fill == "grey" and not cfg.data.prefilter  # trained("inpaint")'s
  wd = trained("inpaint") if not prefilter else str(tmp_path / "inpaint")
  if prefilter:
    cfg.data.prefilter = prefilter
    run.train_and_evaluate(cfg, wd)
    result = json.load(open(os.path.join(wd, "eval", "paired_000004.json")))
    assert abs(result["method"]["psnr"] - result["baselines"]["biharmonic"]["psnr"]) < 1.0
  r, state, _ = workdir.restore_workdir(wd)
  rng = np.random.default_rng(0)
  x = rng.integers(0, 255, (40, 40, 3), np.uint8)
  mask = np.zeros((40, 40, 1), np.uint8)
  mask[10:25, 5:30] = 1
  other = np.where(mask == 1, rng.integers(0, 255, x.shape, np.uint8), x)
  a, b = (r.translate(state, translate.add_task_inputs(r, {"input": v, "mask": mask}))
          for v in (x, other))
  np.testing.assert_allclose(a, b, atol=1e-6)
  # known pixels are kept as given
  np.testing.assert_allclose(images.to_uint8(a)[mask[..., 0] == 0], x[mask[..., 0] == 0], atol=1)
  with pytest.raises(ValueError, match="data.prefilter='biharmonic' does not apply"):
    data.build_source(task_config("denoise", prefilter="biharmonic"), "train")


def test_regression_without_a_paired_task_is_a_clear_error(tmp_path):
  cfg = smoke()
  cfg.data.task = ""
  with pytest.raises(ValueError, match="data.task"):
    run.train_and_evaluate(cfg, str(tmp_path))


def test_photos_rotate_the_heldout_set_and_keep_external_photos_apart():
  cfg = task_config("", heldout="astronaut,brick,coffee", augment="dihedral")
  train, test = data.build_source(cfg, "train"), data.build_source(cfg, "test")
  assert test.names == ("astronaut", "brick", "coffee") and "chelsea" in train.names
  assert not set(train.names) & set(test.names)
  external = data.build_source(cfg, "external")
  assert external.names == tuple(photos.EXTERNAL) and len(external.whole_images()) == 3
  assert all(min(im.shape[:2]) >= 400 for im in external.whole_images())
  # dihedral augmentation reaches all 8 flips and rotations; flip only 2
  x = np.arange(16, dtype=np.uint8).reshape(4, 4, 1)
  seen = lambda kind: {photos.augment(x, np.random.default_rng(i), kind).tobytes()
                       for i in range(64)}
  assert len(seen("dihedral")) == 8 and len(seen("flip")) == 2
  for bad in ("nope", "", ",".join(photos.PHOTOS)):
    with pytest.raises(ValueError, match="data.heldout"):
      data.build_source(task_config("", heldout=bad), "train")
  # zoom: each patch a region magnified (smoother) or shrunk (busier), seeded by its index
  patches = lambda zoom: data.build_source(task_config("", zoom=zoom), "train").get(
      np.arange(64))["image"]
  busy = lambda x: np.abs(np.diff(x.astype(float), axis=1)).mean()
  plain, zoomed = patches((1.0, 1.0)), patches((0.5, 2.0))
  np.testing.assert_array_equal(zoomed, patches((0.5, 2.0)))
  assert zoomed.shape == plain.shape
  assert busy(patches((2.0, 2.0))) < 0.8 * busy(plain) < busy(patches((0.5, 0.5)))
  with pytest.raises(ValueError, match="data.zoom"):
    data.build_source(task_config("", zoom=(2.0, 0.5)), "train")


def test_denoise_stds_span_the_range_with_a_matching_noise_map():
  cfg = task_config("denoise", noise_std_min=5.0, noise_std_max=50.0, noise_map=True)
  src = data.build_source(cfg, "train")
  assert src.fields["noise"] == data.Field("level", (64, 64, 1))
  b = src.get(np.arange(40))
  stds = b["noise"][:, 0, 0, 0].astype(float)
  assert (b["noise"] == stds[:, None, None, None]).all()  # one std per example, everywhere
  assert stds.min() >= 5 and stds.max() <= 50 and len(set(stds)) > 10
  measured = np.std(b["input"].astype(float) - b["image"], axis=(1, 2, 3))
  ok = (b["image"] > 60).all(axis=(1, 2, 3)) & (b["image"] < 195).all(axis=(1, 2, 3))
  np.testing.assert_allclose(measured[ok], stds[ok], rtol=0.1)  # unclipped patches
  normalized = data.normalize(b, src.fields)["noise"]
  np.testing.assert_allclose(normalized[:, 0, 0, 0], stds / 255.0, rtol=1e-6)


def test_restore_variants_and_their_errors():
  release = load_config("restore", "release_denoise")
  assert release.data.noise_map and release.data.noise_std_max == 50.0
  long = load_config("restore", "sr2_long")
  assert long.data.task == "sr2" and long.train.num_steps == 4 * load_config(
      "restore", "sr2").train.num_steps
  # the released sr2 was built with two convolutions per block, the default has four
  assert (load_config("restore", "sr2").model.depth, long.model.depth) == (4, 4)
  assert load_config("restore", "release_sr2").model.depth == 2
  with pytest.raises(ValueError, match="release_TASK"):
    load_config("restore", "denoise_short")


def test_released_model_build_translate_and_external_evaluation(tmp_path, monkeypatch):
  """A denoiser with a noise map, built by genjax.zoo from its recipe (the
  smoke here): a model folder named for the model wherever it is written,
  with a card that holds its evaluation, plain and x8, loaded
  with no workdir, applied by genjax.translate --model with --sigma, and
  evaluated on the external photos with per-image rows and spread."""
  recipe = os.path.join(ROOT, "configs", "restore.py:smoke")
  monkeypatch.setitem(zoo.RECIPES, "denoise", recipe)
  wd, model = str(tmp_path / "run"), str(tmp_path / "model")
  zoo.build("denoise", wd, model, {"data.noise_std_max": 50.0, "data.noise_map": True,
                                   "data.prefilter": "nl_means"}, self_ensemble=True)
  card = json.load(open(os.path.join(model, "card.json")))
  assert card["name"] == "denoise" and card["step"] == 4 and card["data"]["noise_std_max"] == 50.0
  assert card["data"]["heldout"] == ["chelsea", "coffee"] and card["recipe"] == recipe
  ext = card["evaluation"]["external"]
  assert ext["images"] == list(photos.EXTERNAL) and set(ext["baselines"]) == {"input", "nl_means"}
  # a correction of non-local means (data.prefilter) starts at its quality
  assert abs(ext["method"]["psnr"] - ext["baselines"]["nl_means"]["psnr"]) < 1.0
  assert card["evaluation"]["test"]["images"] == ["chelsea", "coffee"]
  for split, ev in card["evaluation_x8"].items():  # 8 passes of an all but untrained net
    plain = card["evaluation"][split]
    assert ev["images"] == plain["images"] and ev["baselines"] == plain["baselines"]
    assert ev["method"]["psnr"] != plain["method"]["psnr"]
    assert abs(ev["method"]["psnr"] - plain["method"]["psnr"]) < 0.2
  _, state, _ = workdir.restore_workdir(wd)
  r, loaded, _ = zoo.load(model)
  assert_trees_close(loaded.ema_params, state.ema_params, rtol=2e-3, atol=1e-4)  # float16
  src, out = tmp_path / "in", tmp_path / "out"
  src.mkdir()
  x = np.random.default_rng(0).integers(0, 255, (40, 52, 3), np.uint8)
  Image.fromarray(x).save(src / "a.png")
  proc = run_module(["genjax.translate", "--model", model, "--input", str(src), "--output",
                     str(out), "--sigma", "5"])
  assert proc.returncode == 0, proc.stderr[-3000:]
  direct = {sigma: images.to_uint8(r.translate(loaded, translate.add_task_inputs(
      r, {"input": x}, sigma))) for sigma in (5, 50)}
  np.testing.assert_array_equal(direct[5], np.asarray(Image.open(out / "a.png")))
  assert direct[5].shape == x.shape and np.abs(direct[5] - direct[50].astype(int)).max() > 0
  with pytest.raises(ValueError, match="--workdir.*--model"):
    translate.open_translator(wd, model)
  with pytest.raises(FileNotFoundError, match="genjax.zoo build"):
    zoo.load("no_such_model")
  rows, columns, psnrs = restore_crops.crops(r, loaded)  # the flat / textured crops figure
  assert columns == ["input", "nl_means", "genjax", "target"]
  assert len(rows) == 4 * len(restore_crops.CROPS) and rows[0].shape == (128, 128, 3)
  for (*_, what), p in zip(restore_crops.CROPS, psnrs):  # noise removed, most where flat
    assert p["nl_means"] > p["input"] + (5 if what.startswith("flat") else 0)
  ext = evaluate.evaluate_workdir(wd, reference_split="external")[0]
  assert ext["images"] == list(photos.EXTERNAL) and len(ext["per_image"]) == 3
  assert ext["method_std"]["psnr"] > 0 and set(ext["baselines_std"]) == {"input", "nl_means"}
  assert os.path.exists(os.path.join(wd, "eval", "paired_external_000004.json"))


def test_released_restorers_load_with_complete_cards():
  """Every model under genjax/zoo/ loads from its files alone, and its card
  records the recipe, data, training and its evaluation against baselines."""
  names = zoo.available()
  if not names:
    pytest.skip("no released restorers in this checkout (python -m genjax.zoo build NAME)")
  for name in names:
    card = json.load(open(os.path.join(zoo.folder_of(name), zoo.CARD_FILE)))
    assert card["name"] == name and card["recipe"] == zoo.RECIPES[name]
    assert card["train_wall_time_s"] > 0
    assert card["data"]["trained_on"] and not set(card["data"]["trained_on"]) & set(
        card["data"]["heldout"] + card["data"]["external"])
    for split in zoo.EVAL_SPLITS:
      ev = card["evaluation"][split]
      assert len(ev["images"]) >= 2 and ev["method"]["psnr"] > 0 and ev["baselines"]
    r, state, loaded_card = zoo.load(name)
    assert loaded_card == card and int(state.step) == card["step"]
  x = np.random.default_rng(0).integers(0, 255, (24, 40, 3), np.uint8)
  for name in names:  # each applies to an image of another size
    r, state, _ = zoo.load(name)
    inputs = {"input": x[:24 // r.method.scale, :40 // r.method.scale]}
    if "mask" in r.info.fields:
      inputs["mask"] = tasks.hole_mask(24, 40, np.random.default_rng(0))
    out = r.translate(state, translate.add_task_inputs(r, inputs, sigma=25.0))
    assert out.shape == (24, 40, 3)
