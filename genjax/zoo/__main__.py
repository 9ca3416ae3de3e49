"""python -m genjax.zoo list | build NAME | evaluate NAME | export (genjax/zoo/__init__.py)."""
import json
import os
import sys

from absl import app, flags, logging

from genjax import cli, errors, launch, preemption, workdir as workdir_lib, zoo

FLAGS = flags.FLAGS
USAGE = ("python -m genjax.zoo list | build NAME [--workdir DIR] [--out DIR] [--self_ensemble] "
         "| evaluate NAME_OR_DIR --out DIR [--self_ensemble] [--back_project N] [--adapt N] "
         "| export --workdir DIR --out DIR [--name NAME]")


def define_flags():
  flags.DEFINE_string("workdir", None, "build: the training run's directory (default "
                      "runs/zoo/NAME; an interrupted build resumes there). export: the run.")
  flags.DEFINE_string("out", None, "build: where the model goes (default: the released "
                      "folder genjax/zoo/NAME). export: the model folder to write. "
                      "evaluate: where eval/ (JSON, figures) goes.")
  flags.DEFINE_integer("step", None, "export: checkpoint step (default: latest).")
  cli.define_inference_flags("evaluate, ")
  flags.FLAGS["self_ensemble"].help += (" build: evaluate with it too (the card's "
                                        "evaluation_x8).")
  flags.DEFINE_string("name", "", "export: the model's name in its card (default: the --out "
                      "folder's name).")
  launch.define_device_flags()


def main(argv):
  launch.setup()
  if not FLAGS["verbosity"].present:
    logging.set_verbosity(logging.WARNING)
  command, args = (argv[1], argv[2:]) if len(argv) > 1 else ("", [])
  if command == "list":
    for name in zoo.available():
      with open(os.path.join(zoo.folder_of(name), zoo.CARD_FILE)) as f:
        card = json.load(f)
      ev = card.get("evaluation", {}).get("external", {})
      psnr = ev.get("method", {}).get("psnr", float("nan"))
      base = ", ".join(f"{b} {m['psnr']:.2f}" for b, m in ev.get("baselines", {}).items())
      print(f"{name}: {card['task']}, {card['parameters']:,} parameters, step {card['step']}; "
            f"external photos PSNR {psnr:.2f} dB (baselines: {base})")
  elif command == "build" and len(args) == 1:
    try:
      out = zoo.build(args[0], FLAGS.workdir or os.path.join("runs", "zoo", args[0]), FLAGS.out,
                      self_ensemble=FLAGS.self_ensemble)
    except preemption.Preempted as e:  # saved: the same command resumes
      print(e, flush=True)
      sys.exit(preemption.PREEMPTED_EXIT_CODE)
    print(f"Built {out}")
  elif command == "evaluate" and len(args) == 1 and FLAGS.out:
    results = zoo.evaluate(args[0], FLAGS.out, how=workdir_lib.Inference(**cli.inference_flags()))
    print(json.dumps({s: {k: r[k] for k in ("method", "method_std", "baselines")}
                      for s, r in results.items()}))
  elif command == "export" and not args and FLAGS.workdir and FLAGS.out:
    print(f"Exported {zoo.export(FLAGS.workdir, FLAGS.out, FLAGS.step, name=FLAGS.name)}")
  else:
    raise errors.InputError(f"Usage: {USAGE}")


if __name__ == "__main__":
  define_flags()
  app.run(cli.clear_errors(main), flags_parser=cli.parse_flags)
