"""What every entry point shares: genjax's own user errors (errors.UserError:
bad configs, data, files, workdirs) end in one clear message and a non-zero
exit; any other exception is a bug and keeps its traceback. `--verbosity=1`
(or any explicit --verbosity) shows the traceback of user errors too."""
import os
import sys

from absl import flags

from genjax import errors

# Parsing the flags and the config file (before main): a mistyped override
# key or a config file that raises is the user's input too.
PARSE_ERRORS = (errors.UserError, flags.Error, ValueError, KeyError, AttributeError,
                TypeError, OSError)
USAGE_EXIT_CODE = 2


def _verbose() -> bool:
  return "--verbosity" in " ".join(sys.argv) or any(a.startswith("-v") for a in sys.argv[1:])


def _fail(e: BaseException):
  message = str(e).strip().strip("'\"").replace("\\n", "\n").replace("\\'", "'")
  lines = [l.strip() for l in message.splitlines() if l.strip()]
  if "Traceback" in message:  # a config file that raised: its first and last lines
    lines = [lines[0], lines[-1]]
  message = " ".join(lines)  # one line
  print(f"error: {message or type(e).__name__}", file=sys.stderr)
  if isinstance(e, errors.PeerError):
    # A peer of a multi-process run died: leave at once. An orderly exit
    # would join the threads of a pending async save (its barrier waits on the
    # dead peer) and the runtime's shutdown; the latest checkpoint is whole.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(1)
  sys.exit(USAGE_EXIT_CODE if isinstance(e, flags.Error) else 1)


def parse_flags(argv):
  """absl flag parsing (configs included) that reports a bad flag or config in
  one line. Config files load lazily, so their errors are raised here too."""
  try:
    rest = flags.FLAGS(argv)
    if "config" in flags.FLAGS:  # genjax.train's config: a file that failed to load
      flags.FLAGS.config.keys()  # is a placeholder that raises on first use
    return rest
  except PARSE_ERRORS as e:
    if _verbose():
      raise
    _fail(e)


def clear_errors(main):
  """Wraps an entry point's main: user errors (errors.UserError) become one
  line on stderr and exit status 1; other exceptions propagate."""
  def wrapped(argv):
    try:
      return main(argv)
    except errors.UserError as e:
      if _verbose():
        raise
      _fail(e)
  return wrapped


# The inference options of image-to-image runs (workdir.Inference), as the
# entry points that apply a run to images define them.
INFERENCE_FLAGS = ("self_ensemble", "back_project", "adapt")


def define_inference_flags(scope: str = "", outputs: str = ""):
  """--self_ensemble, --back_project and --adapt; `scope` starts each help
  ("Workdir mode, "), `outputs` names where a flag's results go, with {tag}
  for the option's name in them ("eval/paired_{tag}_<step>.json")."""
  where = lambda tag: f" ({outputs.format(tag=tag)})" if outputs else ""
  flags.DEFINE_bool("self_ensemble", False, f"{scope}image-to-image runs: average the outputs "
                    "for the 8 flips and rotations of each input (8x the compute; usually a "
                    f"little higher PSNR){where('x8')}.")
  flags.DEFINE_integer("back_project", None, f"{scope}super-resolution: iterations of "
                       "back-projection onto the input (the downsampled output made to match "
                       "it; default: the run's data.back_project, 4 for configs/restore.py:sr2 "
                       f"and sr4){where('bpN')}.", lower_bound=0)
  flags.DEFINE_integer("adapt", 0, f"{scope}super-resolution: steps of test-time adaptation to "
                       "each image first: the model is fine-tuned on pairs cut from the image "
                       "itself and downsampled again (ZSSR's internal learning; ~500 steps "
                       "gained 0.1-0.7 dB per photo with sr2, at ~0.25 s a step on a 2-core "
                       f"CPU; it lost 0.5 dB with sr4). 0 = off{where('adaptN')}.",
                       lower_bound=0)


def inference_flags() -> dict:
  """The values of define_inference_flags' flags, as workdir.Inference's fields."""
  return {name: flags.FLAGS[name].value for name in INFERENCE_FLAGS}
