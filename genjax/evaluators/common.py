"""What evaluators share."""


class Evaluator:
  """An evaluator built from its config section, for runs whose method has the
  predict function it needs (`requires`, e.g. "generate")."""
  requires = ""

  @classmethod
  def from_config(cls, cfg, run, workdir, writer):
    if getattr(run.method, cls.requires, None) is None:
      return None
    return cls(run, workdir, writer, **cfg)
