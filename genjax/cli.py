"""What every entry point shares: expected errors (bad flags, configs, data,
workdirs) end in one clear message and a non-zero exit, not a traceback;
`--verbosity=1` (or any explicit --verbosity) shows the traceback too."""
import sys

from absl import flags

# Errors genjax raises with a message a person can act on (and the ones
# config parsing raises for a mistyped key).
EXPECTED = (ValueError, OSError, RuntimeError, FloatingPointError, KeyError,
            AttributeError, TypeError, flags.Error)
USAGE_EXIT_CODE = 2


def _verbose() -> bool:
  return "--verbosity" in " ".join(sys.argv) or any(a.startswith("-v") for a in sys.argv[1:])


def _fail(e: BaseException):
  message = str(e).strip().strip("'\"").replace("\\n", "\n").replace("\\'", "'")
  if "Traceback" in message:  # a config file that raised: its first and last lines
    lines = [l for l in message.splitlines() if l.strip()]
    message = f"{lines[0]} {lines[-1]}"
  print(f"error: {message or type(e).__name__}", file=sys.stderr)
  sys.exit(USAGE_EXIT_CODE if isinstance(e, flags.Error) else 1)


def parse_flags(argv):
  """absl flag parsing (configs included) that reports a bad flag or config in
  one line."""
  try:
    return flags.FLAGS(argv)
  except EXPECTED as e:
    if _verbose():
      raise
    _fail(e)


def clear_errors(main):
  """Wraps an entry point's main: expected errors become one line on stderr
  and exit status 1."""
  def wrapped(argv):
    try:
      return main(argv)
    except EXPECTED as e:
      if _verbose():
        raise
      _fail(e)
  return wrapped
