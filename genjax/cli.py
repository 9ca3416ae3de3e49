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

