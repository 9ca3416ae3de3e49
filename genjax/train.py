"""Train a genjax model; rerunning the same command resumes from the last checkpoint.

  python -m genjax.train --config configs/dcgan.py:mnist --workdir runs/dcgan
  python -m genjax.train --config configs/vae.py:mnist --workdir runs/vae \
      --config.train.num_steps=5000 --cpu_devices=2

SIGTERM or Ctrl-C finishes the step, saves a checkpoint and exits with status 75
(preemption.PREEMPTED_EXIT_CODE) so a scheduler can requeue the job; a second
Ctrl-C stops at once.
"""
import sys

import jax
from absl import app, flags, logging
from ml_collections import config_flags

from genjax import cli, launch, parallel, preemption, run

FLAGS = flags.FLAGS


def define_flags():
  """Flags of this entry point (defined only when run as a program, so the
  library functions here can be imported beside other entry points)."""
  config_flags.DEFINE_config_file("config", None, "Config file, e.g. configs/dcgan.py:mnist.",
                                  lock_config=True)
  flags.DEFINE_string("workdir", None, "Directory for checkpoints, metrics and samples.")
  launch.define_device_flags()
  flags.DEFINE_bool("accept_data_change", False, "Resume although the files under "
                    "data.path changed since the run started (recorded in history.jsonl).")
  flags.mark_flags_as_required(["config", "workdir"])


def main(argv):
  del argv
  if not FLAGS["verbosity"].present:
    logging.set_verbosity(logging.WARNING)  # orbax logs every save at INFO
  launch.setup()  # before any JAX op: CPU split, multi-process run
  processes = (f", process {jax.process_index()} of {jax.process_count()}"
               if jax.process_count() > 1 else "")
  print(f"{jax.device_count()} {jax.default_backend()} device(s){processes}", flush=True)
  origin = {"config": config_flags.get_config_filename(FLAGS["config"]),
            "overrides": config_flags.get_override_values(FLAGS["config"])}
  try:
    run.train_and_evaluate(FLAGS.config, FLAGS.workdir,
                           accept_data_change=FLAGS.accept_data_change, origin=origin)
  except preemption.Preempted as e:
    print(e, flush=True)
    parallel.finish_multihost()
    sys.exit(preemption.PREEMPTED_EXIT_CODE)
  parallel.finish_multihost()
  print(f"Done. Samples: {FLAGS.workdir}/samples/  metrics: {FLAGS.workdir}/metrics.jsonl")


if __name__ == "__main__":
  define_flags()
  app.run(cli.clear_errors(main), flags_parser=cli.parse_flags)
