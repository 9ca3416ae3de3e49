"""Data sources and the deterministic pipeline. Images enter the model as
float32 in [-1, 1], NHWC (`normalize`); sources and batches hold uint8."""
import jax.numpy as jnp
import numpy as np

from genjax.data.pipeline import Pipeline, eval_batches
from genjax.data.sources import SOURCES, build_source, prepare_image


def normalize(batch):
  """uint8 images in a batch dict -> float32 in [-1, 1] (jit-able)."""
  out = dict(batch)
  out["image"] = batch["image"].astype(jnp.float32) / 127.5 - 1.0
  return out


def dummy_batch(data_cfg, batch_size: int = 2):
  """A zero batch with the configured shapes, for initialisation."""
  shape = (batch_size, data_cfg.image_size, data_cfg.image_size, data_cfg.channels)
  return {"image": np.zeros(shape, np.uint8), "label": np.zeros((batch_size,), np.int32)}
