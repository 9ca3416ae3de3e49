"""Data sources and the deterministic pipeline. Images enter the model as
float32 in [-1, 1], NHWC (`normalize`); sources and batches hold uint8."""
from genjax.data.fields import (LABEL, DataInfo, Field, describe, dummy_batch, image,
                                normalize, normalize_images)
from genjax.data.pipeline import Pipeline, eval_batches
from genjax.data.sets import load_image_set, split_examples, split_images
from genjax.data.arrays import ArraySource, holdout_split, read_npz
from genjax.data.decode import IMAGE_EXTENSIONS, open_image, prepare_image, to_channels
from genjax.data.folders import list_images
from genjax.data.source import SOURCES, Source
from genjax.data.sources import build_source, file_manifest
