"""Run as a subprocess by test_multihost.py: `python -m genjax.train` whose
process with --process_id=1 dies (SIGKILL) when it reaches the coordination
barrier of its save number N (orbax's first barrier of a save that is not a
collective), i.e. its peer waits there for a process that will never come.
Usage: python -m tests.die_at_save_barrier N <genjax.train flags>."""
import os
import signal
import sys

from orbax.checkpoint._src.futures import synchronization

from genjax import cli, train


def main():
  save = int(sys.argv.pop(1))
  dies = "--process_id=1" in sys.argv
  set_value = synchronization.MultihostSynchronizedValue.set
  calls = []

  def set_or_die(self, value):
    calls.append(value)
    if dies and calls.count(True) == save:  # set(True): the save starts
      os.kill(os.getpid(), signal.SIGKILL)
    return set_value(self, value)

  synchronization.MultihostSynchronizedValue.set = set_or_die
  from absl import app
  train.define_flags()
  app.run(cli.clear_errors(train.main), flags_parser=cli.parse_flags)


if __name__ == "__main__":
  main()
