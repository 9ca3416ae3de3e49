"""Sources, image preparation and the deterministic pipeline."""
import os

import numpy as np
import pytest
import tensorflow_datasets as tfds
from PIL import Image

from genjax import config_lib, data


def folder_config(path, size=16, channels=3):
  cfg = config_lib.data_config("folder")
  cfg.update(path=str(path), image_size=size, channels=channels)
  return cfg


@pytest.fixture
def image_folder(tmp_path):
  """Two style folders with RGB PNG, RGBA PNG, grayscale JPEG of odd sizes."""
  rng = np.random.default_rng(0)
  for style in ("monet", "vangogh"):
    (tmp_path / style).mkdir()
    for i in range(5):
      Image.fromarray(rng.integers(0, 255, (20 + i, 30, 3), np.uint8)).save(
          tmp_path / style / f"rgb{i}.png")
    Image.fromarray(rng.integers(0, 255, (24, 24, 4), np.uint8), "RGBA").save(
        tmp_path / style / "alpha.png")
    Image.fromarray(rng.integers(0, 255, (40, 17), np.uint8), "L").save(
        tmp_path / style / "gray.jpg")
  (tmp_path / "monet" / "notes.txt").write_text("not an image")
  return tmp_path


class ToySource:
  def __init__(self, n):
    self.n = n

  def __len__(self):
    return self.n

  def get(self, idx):
    idx = np.asarray(idx)
    return {"image": idx.reshape(-1, 1, 1, 1).astype(np.uint8), "label": idx}


def test_batch_is_a_pure_function_of_seed_and_step():
  a = data.Pipeline(ToySource(37), 8, seed=3)
  b = data.Pipeline(ToySource(37), 8, seed=3)
  for step in (0, 4, 5, 100):
    np.testing.assert_array_equal(a.indices(step), b.indices(step))
  assert not np.array_equal(a.indices(0), data.Pipeline(ToySource(37), 8, seed=4).indices(0))


def test_each_epoch_visits_every_item_once_in_a_new_order():
  p = data.Pipeline(ToySource(40), 8, seed=0)
  epoch0 = np.concatenate([p.indices(s) for s in range(5)])
  epoch1 = np.concatenate([p.indices(s) for s in range(5, 10)])
  assert sorted(epoch0) == list(range(40)) == sorted(epoch1)
  assert not np.array_equal(epoch0, epoch1)


def test_batches_crossing_an_epoch_boundary_continue_the_next_permutation():
  p = data.Pipeline(ToySource(10), 4, seed=1)
  flat = np.concatenate([p.indices(s) for s in range(5)])  # 20 = two epochs
  assert sorted(flat[:10]) == list(range(10)) == sorted(flat[10:])


def test_process_shards_concatenate_to_the_global_batch():
  full = data.Pipeline(ToySource(50), 12, seed=2)
  shards = [data.Pipeline(ToySource(50), 12, seed=2, process_index=i, process_count=3)
            for i in range(3)]
  for step in (0, 7):
    np.testing.assert_array_equal(np.concatenate([s.indices(step) for s in shards]),
                                  full.indices(step))


def test_prefetching_iterator_yields_the_same_batches_as_direct_reads():
  p = data.Pipeline(ToySource(30), 4, seed=0)
  it = p.iterate(3)
  for _ in range(5):
    step, batch = next(it)
    np.testing.assert_array_equal(batch["label"], p.indices(step))
  it.close()


def test_eval_batches_cover_the_split_once_marking_padding_rows():
  batches = list(data.eval_batches(ToySource(10), 4))
  labels = np.concatenate([b["label"] for b in batches])
  mask = np.concatenate([b["valid"] for b in batches])
  assert len(labels) == 12 and mask.sum() == 10
  np.testing.assert_array_equal(labels[mask == 1], np.arange(10))


def test_holdout_split_is_disjoint_fixed_and_complete():
  train = data.holdout_split(100, "train", 0.1)
  test = data.holdout_split(100, "test", 0.1)
  assert len(test) == 10 and not set(train) & set(test)
  assert sorted(np.concatenate([train, test])) == list(range(100))
  np.testing.assert_array_equal(test, data.holdout_split(100, "test", 0.1))


def test_mnist5k_is_real_digits_split_train_test():
  cfg = config_lib.data_config("mnist")
  train, test = data.build_source(cfg, "train"), data.build_source(cfg, "test")
  assert len(train) == 4500 and len(test) == 500
  info = data.describe(train)
  assert info.num_classes == 10 and info.class_names[7] == "7"
  assert set(info.fields) == {"image", "label"} and info.fields["image"].shape == (28, 28, 1)
  b = train.get(np.arange(64))
  assert b["image"].shape == (64, 28, 28, 1) and b["image"].dtype == np.uint8
  assert b["image"].max() == 255 and 0.05 < (b["image"] > 127).mean() < 0.3


def test_digits_resized_on_request_once_per_process_read_only():
  cfg = config_lib.data_config("digits")
  cfg.image_size = 16
  source = data.build_source(cfg, "train")
  b = source.get([0, 1])
  assert b["image"].shape == (2, 16, 16, 1)
  assert data.build_source(cfg, "train").images is source.images  # resized once, shared
  with pytest.raises(ValueError, match="read-only"):
    source.images[0, 0, 0, 0] = 1
  cfg.image_size = 12  # other settings: their own arrays
  assert data.build_source(cfg, "train").images.shape[1:] == (12, 12, 1)
  assert data.build_source(cfg, "test").images is not source.images


def test_prepare_image_handles_gray_rgba_and_aspect():
  gray = np.zeros((30, 50), np.uint8)
  assert data.prepare_image(gray, 8, 3).shape == (8, 8, 3)
  rgba = np.zeros((10, 10, 4), np.uint8)  # fully transparent -> white background
  out = data.prepare_image(Image.fromarray(rgba, "RGBA"), 10, 3)
  assert out.shape == (10, 10, 3) and (out == 255).all()
  rgb = np.zeros((10, 20, 3), np.uint8)
  rgb[:, :5] = 255  # the left quarter is cropped away by the centre crop
  assert data.prepare_image(rgb, 10, 1, crop="center").max() == 0
  assert data.prepare_image(rgb, 10, 1, crop="resize").max() > 200


def test_folder_source_classes_are_subfolders(image_folder):
  src = data.build_source(folder_config(image_folder), "all")
  assert src.class_names == ["monet", "vangogh"] and len(src) == 14
  b = src.get(np.arange(14))
  assert b["image"].shape == (14, 16, 16, 3)
  np.testing.assert_array_equal(np.bincount(b["label"]), [7, 7])
  gray = data.build_source(folder_config(image_folder, 8, 1), "train").get([0])
  assert gray["image"].shape == (1, 8, 8, 1)


def test_folder_without_subfolders_is_unlabelled(tmp_path):
  for i in range(3):
    Image.fromarray(np.full((5, 5), i * 50, np.uint8)).save(tmp_path / f"{i}.png")
  src = data.build_source(folder_config(tmp_path, 4, 1), "all")
  assert len(src) == 3 and src.class_names is None and set(src.fields) == {"image"}
  assert set(src.get([0, 1])) == {"image"}


def test_corrupt_image_error_names_the_file(image_folder):
  bad = image_folder / "monet" / "broken.png"
  bad.write_bytes(b"\x89PNG\r\n\x1a\n not really")
  src = data.build_source(folder_config(image_folder), "all")
  idx = [f for f, _ in src.files].index(str(bad))
  with pytest.raises(ValueError, match="broken.png"):
    src.get([idx])


def test_missing_folder_and_empty_folder_errors_name_the_key(tmp_path):
  with pytest.raises(FileNotFoundError, match="data.path"):
    data.build_source(folder_config(tmp_path / "nope"), "train")
  with pytest.raises(FileNotFoundError, match="No images"):
    data.build_source(folder_config(tmp_path), "train")


def test_unknown_source_lists_choices():
  cfg = config_lib.data_config("mnist")
  cfg.source = "imagenet"
  with pytest.raises(ValueError, match="data.source.*mnist5k"):
    data.build_source(cfg, "train")


@pytest.mark.parametrize("variant", ["cifar10", "celeba64"])
def test_tfds_source_under_mock_data(variant):
  cfg = config_lib.data_config(variant)
  with tfds.testing.mock_data(num_examples=12):
    src = data.build_source(cfg, cfg.split)
    b = src.get([0, 5, 11])
  size = cfg.image_size
  assert len(src) == 12 and b["image"].shape == (3, size, size, 3)
  assert b["image"].dtype == np.uint8
  if variant == "cifar10":  # the class count comes from the dataset's ClassLabel
    assert b["label"].dtype == np.int32 and len(src.class_names) == 10
  else:  # celeb_a has attributes, no class label
    assert "label" not in b and src.class_names is None


def test_missing_tfds_dataset_says_how_to_prepare(tmp_path):
  cfg = config_lib.data_config("cifar10")
  cfg.data_dir = str(tmp_path)
  with pytest.raises(FileNotFoundError, match="tfds build cifar10"):
    data.build_source(cfg, "train")


def test_normalize_follows_the_declared_fields():
  fields = {"image": data.image(1, 1), "input": data.image(1, 1), "label": data.LABEL,
            "mask": data.Field("mask", (1, 1, 1))}
  batch = {"image": np.array([0, 255], np.uint8), "input": np.array([255], np.uint8),
           "label": np.array([3], np.int32), "mask": np.array([1, 0], np.uint8),
           "valid": np.array([1.0])}
  out = data.normalize(batch, fields)
  np.testing.assert_allclose(out["image"], [-1.0, 1.0])
  np.testing.assert_allclose(out["input"], [1.0])
  assert out["mask"].dtype == np.float32 and out["label"].dtype == np.int32
  assert out["valid"] is batch["valid"]  # not a declared field: passed through


def test_dummy_batch_and_data_info_round_trip():
  info = data.DataInfo({"image": data.image(8, 3), "label": data.LABEL}, ["cat", "dog"])
  again = data.DataInfo.from_json(info.to_json())
  assert again == data.DataInfo(info.fields, ["cat", "dog"]) and again.num_classes == 2
  b = data.dummy_batch(info.fields, 3)
  assert b["image"].shape == (3, 8, 8, 3) and b["image"].dtype == np.uint8
  assert b["label"].shape == (3,) and b["label"].dtype == np.int32


def test_folder_policy_top_level_hidden_links_and_nesting(tmp_path, image_folder):
  """Top-level images are a class beside the sub-folders; hidden folders are
  skipped; links are followed only inside the root; nested folders belong to
  their top-level class."""
  rng = np.random.default_rng(1)
  save = lambda p: Image.fromarray(rng.integers(0, 255, (9, 9, 3), np.uint8)).save(p)
  for i in range(3):
    save(image_folder / f"top{i}.png")
  (image_folder / ".ipynb_checkpoints").mkdir()
  save(image_folder / ".ipynb_checkpoints" / "x.png")
  (image_folder / "monet" / "sketches").mkdir()
  save(image_folder / "monet" / "sketches" / "s.png")
  outside = tmp_path.parent / f"{tmp_path.name}_outside"
  outside.mkdir()
  save(outside / "o.png")
  os.symlink(outside, image_folder / "linked_out")
  os.symlink(image_folder / "vangogh", image_folder / "linked_in")
  names, files = data.list_images(str(image_folder))
  assert names == ["linked_in", "monet", "vangogh", os.path.basename(image_folder)]
  counts = np.bincount([l for _, l in files]).tolist()
  assert counts == [7, 8, 7, 3]  # monet gains its nested sketch
  assert not any(".ipynb" in p or "_outside" in p for p, _ in files)


def test_folder_decodes_16_bit_cmyk_and_exif_rotated_images(tmp_path):
  (tmp_path / "a").mkdir()
  grey16 = (np.arange(64, dtype=np.uint16).reshape(8, 8) * 1000)
  Image.fromarray(grey16).save(tmp_path / "a" / "deep.png")
  with Image.open(tmp_path / "a" / "deep.png") as im:
    assert im.mode.startswith("I")  # a 16-bit PNG
  Image.new("CMYK", (8, 8), (0, 255, 255, 0)).save(tmp_path / "a" / "cmyk.jpg")
  tall = np.zeros((8, 4, 3), np.uint8)
  tall[:4] = 255  # white top half
  img = Image.fromarray(tall)
  exif = img.getexif()
  exif[0x0112] = 3  # rotated 180 degrees: displayed with the white half at the bottom
  img.save(tmp_path / "a" / "rotated.jpg", exif=exif, quality=100)
  src = data.build_source(folder_config(tmp_path, 8, 3), "all")
  by_name = {os.path.basename(p): i for i, (p, _) in enumerate(src.files)}
  deep = src.get([by_name["deep.png"]])["image"][0, ..., 0].astype(float)
  np.testing.assert_allclose(deep, np.round(grey16.astype(float) * 255 / 65535), atol=1)
  red = src.get([by_name["cmyk.jpg"]])["image"][0]
  assert red[..., 0].mean() > 200 and red[..., 1:].mean() < 60
  cfg = folder_config(tmp_path, 8, 1)
  cfg.crop = "resize"
  rot = data.build_source(cfg, "all").get([by_name["rotated.jpg"]])["image"][0, ..., 0]
  assert rot[:3].mean() < 60 and rot[5:].mean() > 200
