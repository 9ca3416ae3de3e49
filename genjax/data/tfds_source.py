"""Any prepared TFDS dataset, read with random access (tfds.data_source)."""
import numpy as np

from genjax import errors
from genjax.data import fields as fields_lib
from genjax.data.decode import prepare_image
from genjax.data.source import Source, register


def image_fields(cfg, labelled: bool) -> dict:
  f = {"image": fields_lib.image(cfg.image_size, cfg.channels)}
  if labelled:
    f["label"] = fields_lib.LABEL
  return f


@register("tfds")
class TFDSSource(Source):
  """A prepared TFDS dataset (data.name, data.data_dir); its records are
  decoded and brought to data.image_size one by one in get()."""
  decodes = True

  def __init__(self, cfg, split):
    import tensorflow_datasets as tfds
    try:
      self.ds = tfds.data_source(cfg.name, split=split, data_dir=cfg.data_dir or None,
                                 download=cfg.download)
    except Exception as e:  # tfds raises several types for a missing dataset
      raise errors.MissingError(
          f"TFDS dataset {cfg.name!r} split {split!r} could not be opened "
          f"(config keys data.name / data.split, data_dir={cfg.data_dir or 'default'}): "
          f"{type(e).__name__}: {e}. Prepare it first with "
          f"`tfds build {cfg.name}` on a machine with network access, point "
          "data.data_dir at a prepared copy, or set --config.data.download=True.") from e
    self.cfg = cfg
    info = getattr(self.ds, "dataset_info", None)  # (a TFDS object: what it has varies)
    label = info.features[cfg.label_key] if info and cfg.label_key in info.features else None
    self.class_names = list(getattr(label, "names", None) or []) or None
    self.fields = image_fields(cfg, self.class_names is not None)

  def __len__(self):
    return len(self.ds)

  def get(self, indices):
    cfg = self.cfg
    images, labels = [], []
    for i in np.asarray(indices).tolist():
      rec = self.ds[i]
      images.append(prepare_image(rec[cfg.image_key], cfg.image_size, cfg.channels,
                                  cfg.crop, cfg.crop_size, where=f"{cfg.name}[{i}]"))
      if self.class_names:
        labels.append(int(rec[cfg.label_key]))
    out = {"image": np.stack(images)}
    if self.class_names:
      out["label"] = np.asarray(labels, np.int32)
    return out
