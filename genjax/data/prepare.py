"""Decode a dataset once into a cache that training reads at memory speed.

  python -m genjax.data.prepare --config configs/dcgan.py:folder \\
      --config.data.path=/data/faces --out /data/faces_cache64
  python -m genjax.train --config configs/dcgan.py:folder --workdir runs/faces \\
      --config.data.path=/data/faces --config.data.cache=/data/faces_cache64

Decodes, crops and resizes every image of the config's training and
evaluation splits (an image folder, paired folders, a TFDS split, ...) into
uint8 .npy arrays, in --workers processes, with a progress bar. The cache
records the data settings and the folder's files with their hashes: training
with other settings, or after the folder changed, stops and says to rebuild.
"""
import os

from absl import app, flags, logging
from ml_collections import config_flags

from genjax import cli, errors
from genjax.data import cache, pipeline

FLAGS = flags.FLAGS


def define_flags():
  config_flags.DEFINE_config_file("config", None, "Config file whose `data` section to cache.",
                                  lock_config=True)
  flags.DEFINE_string("out", None, "Cache folder to write (replaced if it exists).")
  flags.DEFINE_list("splits", None, "Splits to cache (default: data.split and "
                    "data.eval_split).")
  flags.DEFINE_integer("workers", -1, "Decoding processes (-1: the CPU count).")
  flags.mark_flags_as_required(["config", "out"])


def main(argv):
  del argv
  if not FLAGS["verbosity"].present:
    logging.set_verbosity(logging.WARNING)
  cfg = FLAGS.config.data
  if cfg.get("cache"):
    raise errors.InputError("Give the config without data.cache (the cache is built from the "
                            "source it names).")
  splits = FLAGS.splits or list(dict.fromkeys([cfg.split, cfg.eval_split]))
  workers = FLAGS.workers if FLAGS.workers >= 0 else min(os.cpu_count() or 1,
                                                         pipeline.MAX_WORKERS)
  meta = cache.build(cfg, FLAGS.out, splits, workers)
  sizes = ", ".join(f"{s}: {m['length']}" for s, m in meta["splits"].items())
  print(f"Wrote {FLAGS.out} ({sizes}); train with --config.data.cache={FLAGS.out}")


if __name__ == "__main__":
  define_flags()
  app.run(cli.clear_errors(main), flags_parser=cli.parse_flags)
