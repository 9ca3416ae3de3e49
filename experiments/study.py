"""Run an ablation study: every cell x seed of a study file as a genjax
workdir, then summary.md / summary.csv with intervals and tests against the
baseline, curves.png and bars.png, and TensorBoard HParams.

  python -m experiments.study --study experiments/studies/conditional.py
  python -m experiments.study --study experiments/studies/conditional.py --parallel 2
  # Ray: a local instance, or a cluster (one GPU per cell)
  python -m experiments.study --study experiments/studies/losses.py --executor ray \
      --address auto --gpus_per_cell 1
  # SLURM job array through submitit
  python -m experiments.study --study experiments/studies/losses.py --executor slurm \
      --partition gpu --gpus_per_cell 1 --timeout_min 120
  tensorboard --logdir runs/studies/losses      # HParams dashboard
  # copy the summary beside the study files, to commit it
  python -m experiments.study --study experiments/studies/losses.py --summarize_only \
      --publish experiments/studies/results/losses

Rerunning the same command skips finished cells and resumes unfinished ones
from their last checkpoint. SIGTERM or Ctrl-C makes the running cells save,
writes the summary so far and exits with status 75.
"""
import sys

from absl import app, flags, logging

from genjax import cli, errors, preemption, studies

FLAGS = flags.FLAGS


def define_flags():
  flags.DEFINE_string("study", None, "Study file, e.g. experiments/studies/conditional.py.")
  flags.DEFINE_string("workdir", None, "Where the cells' workdirs and the summary go "
                      "(default runs/studies/<study name>).")
  flags.DEFINE_enum("executor", "local", list(studies.EXECUTORS), "Where cells run: this "
                    "machine's worker processes, Ray tasks, or a SLURM job array (submitit).")
  flags.DEFINE_integer("parallel", 1, "local: cells run at once (one process each).")
  flags.DEFINE_string("address", "", "ray: cluster address (e.g. auto, or ray://host:10001); "
                      "empty starts a local Ray instance.")
  flags.DEFINE_float("cpus_per_cell", 1, "ray / slurm: CPUs reserved per cell.")
  flags.DEFINE_float("gpus_per_cell", 0, "ray / slurm: GPUs reserved per cell.")
  flags.DEFINE_string("partition", "", "slurm: partition.")
  flags.DEFINE_integer("timeout_min", 60, "slurm: time limit per cell (a cell stopped at "
                       "its limit is requeued and resumes from its checkpoint).")
  flags.DEFINE_float("mem_gb", 0, "slurm: memory per cell (0: the cluster's default).")
  flags.DEFINE_integer("array_parallelism", 256, "slurm: array elements running at once.")
  flags.DEFINE_enum("submitit_cluster", "slurm", ["slurm", "local", "debug"], "slurm: "
                    "submitit's cluster; local runs the array on this machine.")
  flags.DEFINE_bool("summarize_only", False, "Only rewrite the summary of the cells so far.")
  flags.DEFINE_string("publish", None, "Then copy the summary (summary.md / .csv, "
                      "results.csv, curves.png, bars.png) to this folder, e.g. "
                      "experiments/studies/results/<name>, to commit it.")
  flags.mark_flags_as_required(["study"])


def make_executor(root: str) -> studies.Executor:
  if FLAGS.executor == "ray":
    return studies.Ray(FLAGS.address, FLAGS.cpus_per_cell, FLAGS.gpus_per_cell)
  if FLAGS.executor == "slurm":
    return studies.Slurm(f"{root}/slurm", FLAGS.submitit_cluster, FLAGS.partition,
                         FLAGS.timeout_min, int(FLAGS.gpus_per_cell),
                         max(1, int(FLAGS.cpus_per_cell)), FLAGS.mem_gb,
                         FLAGS.array_parallelism)
  return studies.Local(FLAGS.parallel)


def main(argv):
  del argv
  if not FLAGS["verbosity"].present:
    logging.set_verbosity(logging.WARNING)
  study = studies.load_study(FLAGS.study)
  root = FLAGS.workdir or f"runs/studies/{study.name}"
  if FLAGS.summarize_only:
    studies.summarize(study, root)
  else:
    command = "python -m experiments.study " + " ".join(sys.argv[1:])
    try:
      summary = studies.run_study(study, root, make_executor(root), command)
    except preemption.Preempted as e:
      print(e, flush=True)
      sys.exit(preemption.PREEMPTED_EXIT_CODE)
    failed = [f"{c}/seed{s}" for c, st in summary["status"].items()
              for s, x in zip(study.seeds, st) if x == "failed"]
    if failed:
      print(f"Summary: {root}/summary.md", flush=True)
      raise errors.StateError(f"{len(failed)} cell(s) failed: {', '.join(failed)}; see their "
                         "study_cell.json and log.txt, fix the cause and rerun to retry them.")
  print(f"Summary: {root}/summary.md")
  if FLAGS.publish:
    studies.publish(root, FLAGS.publish)
    print(f"Published to {FLAGS.publish}")


if __name__ == "__main__":
  define_flags()
  app.run(cli.clear_errors(main), flags_parser=cli.parse_flags)
