"""Write the HTML report of a run or a study: one self-contained page (images
and plots inlined, nothing fetched) that opens from a file.

  python -m genjax.report --workdir runs/demo               # runs/demo/report.html
  python -m genjax.report --workdir runs/studies/conditional --out cond.html

A run's page shows its config (changes against the config file's variant
highlighted), curves, samples over training, evaluations with provenance,
memorisation check, data and history; a study's page its tables, findings
and plots. genjax.train refreshes workdir/report.html at the end of each run.
"""
from absl import app, flags, logging

from genjax import cli, report_html

FLAGS = flags.FLAGS


def define_flags():
  flags.DEFINE_string("workdir", None, "A run's workdir or a study's directory.")
  flags.DEFINE_string("out", None, "Output HTML (default: WORKDIR/report.html).")
  flags.mark_flags_as_required(["workdir"])


def main(argv):
  del argv
  if not FLAGS["verbosity"].present:
    logging.set_verbosity(logging.WARNING)
  print(f"Wrote {report_html.write(FLAGS.workdir, FLAGS.out or '')}")


if __name__ == "__main__":
  define_flags()
  app.run(cli.clear_errors(main), flags_parser=cli.parse_flags)
