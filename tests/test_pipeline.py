"""The input pipeline on real encoded files: worker processes (grain) and the
decoded cache change nothing in the batches, resume mid-epoch is exact, a
changed folder or setting invalidates the cache, a corrupt image is named
from inside a worker, and cache files are never unpickled."""
import os

import numpy as np
import pytest
from PIL import Image

from genjax import config_lib, data, errors, run
from tests.conftest import assert_trees_close, load_config, rewound, run_module


def make_folder(root, per_class=18, seed=0):
  """JPEGs of assorted sizes in two class folders (smooth random colours)."""
  rng = np.random.default_rng(seed)
  for c in ("cats", "dogs"):
    os.makedirs(root / c, exist_ok=True)
    for i in range(per_class):
      h, w = rng.integers(30, 60, 2)
      small = rng.integers(0, 255, (4, 5, 3), np.uint8)
      img = Image.fromarray(small).resize((int(w), int(h)), Image.BILINEAR)
      img.save(root / c / f"{i:03d}.jpg", quality=90)
  return root


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
  return make_folder(tmp_path_factory.mktemp("imgs") / "folder")


def folder_data(path, **kw):
  cfg = config_lib.data_config("folder")
  cfg.update({"path": str(path), "image_size": 16, "holdout_fraction": 0.2, **kw})
  return cfg


def batches(cfg, workers, start=0, count=6, split="train", task=""):
  if task:
    cfg.task = task
  pipe = data.Pipeline(data.build_source(cfg, split), 8, seed=3, workers=workers)
  it = pipe.iterate(start)
  try:
    return [next(it)[1] for _ in range(count)]
  finally:
    it.close()


def assert_same(a, b):
  assert len(a) == len(b)
  for x, y in zip(a, b):
    assert x.keys() == y.keys()
    for k in x:
      np.testing.assert_array_equal(x[k], y[k])


def test_the_same_batches_with_any_worker_count_and_from_the_cache(folder, tmp_path):
  reference = batches(folder_data(folder), workers=0)
  assert reference[0]["image"].shape == (8, 16, 16, 3) and "label" in reference[0]
  for w in (1, 2):
    assert_same(batches(folder_data(folder), workers=w), reference)
  cache = str(tmp_path / "cache")
  proc = run_module(["genjax.data.prepare", "--config=configs/dcgan.py:folder",
                     f"--config.data.path={folder}", "--config.data.image_size=16",
                     "--config.data.holdout_fraction=0.2", f"--out={cache}", "--workers=2"])
  assert proc.returncode == 0 and "Wrote" in proc.stdout, proc.stderr[-2000:]
  assert sorted(os.listdir(cache)) == ["meta.json", "test", "train"]
  assert_same(batches(folder_data(folder, cache=cache), workers=0), reference)
  # Derived tasks run on top of the cache, in the workers, seeded per example.
  noisy = batches(folder_data(folder), workers=0, task="denoise", count=3)
  assert_same(batches(folder_data(folder, cache=cache), workers=2, task="denoise", count=3),
              noisy)
  # Resume mid-epoch (36 training images, 8 per batch): steps 5.. as in one pass.
  assert_same(batches(folder_data(folder), workers=2, start=4, count=2), reference[4:6])


@pytest.mark.default_workers
def test_default_workers_are_one_per_core_for_sources_that_decode_files(folder):
  """data.workers = -1: worker processes for files (folders, TFDS), and for
  derived tasks on an accelerator; none for in-memory sources (a batch there
  is a copy)."""
  def workers(cfg):
    return data.Pipeline(data.build_source(cfg, "train"), 8, seed=0, workers=-1).workers
  cores = min(os.cpu_count(), data.pipeline.MAX_WORKERS)
  assert workers(folder_data(folder)) == cores >= 1
  assert workers(config_lib.data_config("digits")) == 0
  # Examples a derived task computes (noise, then non-local means of each patch):
  # in this process when training takes the CPU, in workers beside an accelerator.
  denoise = data.build_source(config_lib.load("configs/restore.py:denoise").data, "train")
  unpaired = data.build_source(config_lib.load("configs/cyclegan.py:thin2thick").data, "train")
  for source in (denoise, unpaired, data.source.Subset(denoise, [0, 1])):
    assert data.pipeline.default_workers(source) == 0
    assert data.pipeline.default_workers(source, accelerator=True) == cores
  digits = data.build_source(config_lib.data_config("digits"), "train")  # a copy: never
  assert data.pipeline.default_workers(digits, accelerator=True) == 0


def test_training_with_workers_resumes_exactly(folder, tmp_path):
  def cfg(steps, workers):
    c = load_config("vae", "smoke")
    c.data = folder_data(folder, workers=workers)
    c.model.update(image_size=16, out_channels=3, decoder="gaussian")
    c.train.update(num_steps=steps, checkpoint_every=2)
    c.evals.heldout.every = 0
    return c
  straight = run.train_and_evaluate(cfg(4, 0), str(tmp_path / "a"))
  wd = rewound(str(tmp_path / "a"), 2, str(tmp_path / "b"))
  resumed = run.train_and_evaluate(cfg(4, 2), wd)  # the worker count may change
  assert_trees_close(straight, resumed, rtol=1e-6, atol=1e-7)


def test_a_changed_folder_or_setting_invalidates_the_cache(tmp_path):
  folder = make_folder(tmp_path / "f", per_class=4, seed=1)
  cache = str(tmp_path / "cache")
  data.cache.build(folder_data(folder), cache, ["train"], workers=0, progress=False)
  data.build_source(folder_data(folder, cache=cache), "train")  # as built: fine
  with pytest.raises(errors.InputError, match="has splits train, not 'test'"):
    data.build_source(folder_data(folder, cache=cache), "test")
  with pytest.raises(errors.InputError, match=r"data.image_size: cache 16, config 24.*"
                     r"rebuild it: python -m genjax.data.prepare"):
    data.build_source(folder_data(folder, cache=cache, image_size=24), "train")
  Image.new("RGB", (40, 40), (9, 9, 9)).save(folder / "cats" / "001.jpg")
  with pytest.raises(errors.InputError, match=r"changed since the decoded cache .* was built "
                     r"\(1 changed \(e.g. cats/001.jpg\)\)"):
    data.build_source(folder_data(folder, cache=cache), "train")


def test_a_corrupt_image_is_named_from_inside_a_worker(tmp_path):
  folder = make_folder(tmp_path / "f", per_class=6, seed=2)
  bad = folder / "dogs" / "003.jpg"
  bad.write_bytes(bad.read_bytes()[:200])  # cut short
  with pytest.raises(Exception, match=r"Cannot read image .*dogs/003\.jpg"):
    batches(folder_data(folder, holdout_fraction=0.0), workers=2, count=12, split="all")


class Payload:
  """Unpickling this object would write a file: the proof that nothing did."""

  def __init__(self, path):
    self.path = path

  def __reduce__(self):
    return (open, (self.path, "w"))


def test_cache_files_are_never_unpickled(tmp_path):
  folder = make_folder(tmp_path / "f", per_class=3, seed=3)
  cache = str(tmp_path / "cache")
  data.cache.build(folder_data(folder), cache, ["train"], workers=0, progress=False)
  marker = tmp_path / "unpickled"
  np.save(os.path.join(cache, "train", "image.npy"), np.array([Payload(str(marker))],
                                                              dtype=object), allow_pickle=True)
  with pytest.raises(errors.InputError, match="not a plain array .* never unpickled"):
    data.build_source(folder_data(folder, cache=cache), "train")
  assert not marker.exists()
