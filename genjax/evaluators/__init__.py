"""Evaluators, one file each, built from config.evals.<name> and used alike by
the train loop (every `every` steps) and by genjax.evaluate:

- heldout: the method's own held-out metrics (VAE ELBO/IWAE, accuracy).
- quality: sample quality against the dataset, with memorisation check.
- paired: whole held-out images through translate vs their originals, beside
  training-free baselines (PSNR / SSIM / L1).
- cas: classification accuracy score of labelled samples (genjax.evaluate --cas).

An evaluator's `from_config(section, run, workdir, writer)` returns it, or None
when the run's method has nothing for it to measure; `__call__(state, step)`
returns (and writes) its result.
"""
from genjax.evaluators.heldout import HeldoutEvaluator
from genjax.evaluators.paired import PairedEvaluator
from genjax.evaluators.quality import QualityEvaluator
from genjax.registry import Registry

EVALUATORS = Registry("evaluator", "evals.<name>")
EVALUATORS["heldout"] = HeldoutEvaluator
EVALUATORS["quality"] = QualityEvaluator
EVALUATORS["paired"] = PairedEvaluator


def from_config(config, run, workdir, writer):
  """The evaluators whose config.evals.<name>.every is set, in name order. A
  section may name its evaluator (`evaluator`: a second paired evaluation on
  another split, say); by default its name does."""
  built = []
  for name, section in sorted(config.get("evals", {}).items()):
    if section.get("every"):
      options = dict(section)
      kind = options.pop("evaluator", name)
      built.append(EVALUATORS[kind].from_config(options, run, workdir, writer))
  return [e for e in built if e is not None]
