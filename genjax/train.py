"""Train a genjax model; rerunning the same command resumes from the last checkpoint.

  python -m genjax.train --config configs/dcgan.py:mnist --workdir runs/dcgan
  python -m genjax.train --config configs/vae.py:mnist --workdir runs/vae \
      --config.train.num_steps=5000 --cpu_devices=2

SIGTERM or Ctrl-C finishes the step, saves a checkpoint and exits with status 75
(checkpoint.PREEMPTED_EXIT_CODE) so a scheduler can requeue the job; a second
Ctrl-C stops at once.
"""
import sys

import jax
from absl import app, flags, logging
from ml_collections import config_flags

from genjax import checkpoint, cli, parallel, run

FLAGS = flags.FLAGS


def define_flags():
  """Flags of this entry point (defined only when run as a program, so the
  library functions here can be imported beside other entry points)."""
  config_flags.DEFINE_config_file("config", None, "Config file, e.g. configs/dcgan.py:mnist.",
                                  lock_config=True)
  flags.DEFINE_string("workdir", None, "Directory for checkpoints, metrics and samples.")
  flags.DEFINE_bool("multihost", False, "Call jax.distributed.initialize() first (pods, "
                    "multi-node GPU).")
  flags.DEFINE_integer("cpu_devices", None, "Split the host CPU into this many devices and "
                       "train data-parallel over them (small models on a few cores; README, "
                       "Performance). Results equal one device's up to float rounding.",
                       lower_bound=1)
  flags.DEFINE_bool("accept_data_change", False, "Resume although the files under "
                    "data.path changed since the run started (recorded in history.jsonl).")
  flags.mark_flags_as_required(["config", "workdir"])


def main(argv):
  del argv
  if not FLAGS["verbosity"].present:
    logging.set_verbosity(logging.WARNING)  # orbax logs every save at INFO
  parallel.split_host_cpu(FLAGS.cpu_devices)  # before any JAX op
  if FLAGS.multihost:
    parallel.initialize_multihost()
  print(f"{jax.device_count()} {jax.default_backend()} device(s)", flush=True)
  try:
    origin = {"config": config_flags.get_config_filename(FLAGS["config"]),
              "overrides": config_flags.get_override_values(FLAGS["config"])}
    run.train_and_evaluate(FLAGS.config, FLAGS.workdir,
                           accept_data_change=FLAGS.accept_data_change, origin=origin)
  except checkpoint.Preempted as e:
    print(e, flush=True)
    sys.exit(checkpoint.PREEMPTED_EXIT_CODE)
  print(f"Done. Samples: {FLAGS.workdir}/samples/  metrics: {FLAGS.workdir}/metrics.jsonl")


if __name__ == "__main__":
  define_flags()
  app.run(cli.clear_errors(main), flags_parser=cli.parse_flags)
