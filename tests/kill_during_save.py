"""Run as a subprocess by test_faults.py: `python -m genjax.train` with orbax's
final rename of the checkpoint of step N replaced by SIGKILL, i.e. the process
dies with that checkpoint fully written to its temporary folder but not yet
committed. Usage: python tests/kill_during_save.py N <genjax.train flags>."""
import os
import signal
import sys

from orbax.checkpoint._src.path import atomicity

from genjax import cli, train


def main():
  step = sys.argv.pop(1)
  finalize = atomicity.AtomicRenameTemporaryPath.finalize

  async def finalize_or_die(self, *args, **kwargs):
    if self.get_final().name == step:  # the step folder's rename: the commit
      os.kill(os.getpid(), signal.SIGKILL)
    return await finalize(self, *args, **kwargs)

  atomicity.AtomicRenameTemporaryPath.finalize = finalize_or_die
  from absl import app
  train.define_flags()
  app.run(cli.clear_errors(train.main), flags_parser=cli.parse_flags)


if __name__ == "__main__":
  main()
