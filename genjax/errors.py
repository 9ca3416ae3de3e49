"""genjax's own errors: a person's mistake or a fault of the environment that a
person can act on (a bad config key or value, a file that is missing or
unreadable, a busy workdir, a full disk, a training run that diverged, a peer
process that died). Entry points end these in one `error:` line naming the
fix; anything else is a bug and keeps its traceback.

Each also derives from the builtin it used to be, so `except ValueError`
still catches a bad value."""
import errno


class UserError(Exception):
  """Base of the errors an entry point reports in one line."""


class InputError(UserError, ValueError):
  """A config key or value, a flag, or data that cannot work as given."""


class MissingError(UserError, FileNotFoundError):
  """A file, folder, run, checkpoint or dataset that is not there."""


class StateError(UserError, RuntimeError):
  """The world is not as the run needs it: a workdir in use, a run it depends on."""


class StorageError(UserError, OSError):
  """Writing failed (disk full, permissions): nothing saved before is lost."""


class DivergedError(UserError, FloatingPointError):
  """Training produced a NaN or Inf; the latest good checkpoint is untouched."""


class PeerError(UserError, RuntimeError):
  """Another process of a multi-process run stopped."""


def disk_full(error: BaseException) -> bool:
  """Whether `error` (an OSError, or orbax / tensorstore's message) says the disk is full."""
  return getattr(error, "errno", None) == errno.ENOSPC or "No space left on device" in f"{error}"
