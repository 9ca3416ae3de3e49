"""What evaluators share."""
import json
import os

import jax

from genjax import images


def writes() -> bool:
  """Whether this process writes results (process 0 of a multi-process run,
  where every process computes them)."""
  return jax.process_index() == 0


def write_json(path: str, result: dict):
  if writes():
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".tmp", "w") as f:
      json.dump(result, f, indent=2)
    os.replace(path + ".tmp", path)


def save_png(path: str, image, provenance: dict):
  if writes():
    images.save_png(path, image, provenance)


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
