"""What evaluators share."""


class Evaluator:
  """An evaluator built from its config section, for runs whose method has the
  predict function it needs (`applies`)."""

  @staticmethod
  def applies(method) -> bool:
    del method
    return True

  @classmethod
  def from_config(cls, cfg, run, workdir, writer):
    if not cls.applies(run.method):
      return None
    return cls(run, workdir, writer, **cfg)
