"""What a study is: a base config, cells of config overrides (explicit, or the
product of value lists), seeds, the metrics to compare and the baseline cell.
A study file (experiments/studies/NAME.py) defines get_study() -> Study."""
import dataclasses
import importlib.util
import itertools
import os
import re
from typing import Dict, Sequence, Tuple, Union

import ml_collections

from genjax import config_lib, errors

DIRECTIONS = ("higher", "lower")  # which way a metric is better
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._=+-]*$")


@dataclasses.dataclass(frozen=True)
class Cell:
  """One setting under study: config overrides ({"gan.loss": "hinge"}) on the
  study's base config, or on another config file (`config`, e.g. the
  unconditional twin "configs/dcgan.py:demo")."""
  overrides: Dict[str, object] = dataclasses.field(default_factory=dict)
  config: str = ""


@dataclasses.dataclass
class Study:
  """A grid of cells x seeds, each trained as a normal genjax workdir
  (<study workdir>/<cell>/seed<k>), compared with the baseline cell.

  base: config spec, "configs/cgan.py:demo".
  cells: cell name -> overrides dict or Cell (see `grid` for products).
  seeds: each cell trains once per seed (config key `seed`: init, data order).
  baseline: the cell every other is compared with ("" = the first).
  overrides: applied to every cell first (evaluators, schedule, steps).
  metrics: metrics.jsonl key at the last step -> "higher" or "lower" (better).
  curves: metrics.jsonl keys plotted over training steps.
  needs: workdir -> config spec of runs trained before the cells (e.g. the
    classifier an evaluator's extractor reads), once, not per seed.
  alpha: significance level after the correction for multiple comparisons.
  """
  base: str
  cells: Dict[str, Union[Cell, dict]]
  seeds: Sequence[int] = (0, 1, 2)
  baseline: str = ""
  overrides: Dict[str, object] = dataclasses.field(default_factory=dict)
  metrics: Dict[str, str] = dataclasses.field(default_factory=dict)
  curves: Tuple[str, ...] = ()
  needs: Dict[str, str] = dataclasses.field(default_factory=dict)
  alpha: float = 0.05
  description: str = ""
  name: str = ""

  def __post_init__(self):
    self.cells = {name: c if isinstance(c, Cell) else Cell(dict(c))
                  for name, c in self.cells.items()}
    self.seeds = tuple(int(s) for s in self.seeds)
    self.curves = tuple(self.curves)
    self.baseline = self.baseline or next(iter(self.cells), "")

  def check(self, where: str = "the study"):
    """ValueError naming `where` and the fix for an inconsistent study."""
    if not self.cells:
      raise errors.InputError(f"{where} has no cells: give Study(cells={{name: overrides}}).")
    bad = [n for n in self.cells if not _SAFE_NAME.match(n)]
    if bad:
      raise errors.InputError(f"{where}: cell name(s) {', '.join(map(repr, bad))} are not usable "
                       "as folder names; use letters, digits and . _ = + -")
    if self.baseline not in self.cells:
      raise errors.InputError(f"{where}: baseline {self.baseline!r} is not a cell; choose one of "
                       f"{', '.join(self.cells)}.")
    if not self.seeds or len(set(self.seeds)) != len(self.seeds):
      raise errors.InputError(f"{where}: seeds {list(self.seeds)} must be distinct and not empty.")
    for key, direction in self.metrics.items():
      if direction not in DIRECTIONS:
        raise errors.InputError(f"{where}: metric {key!r} has direction {direction!r}; use "
                         "'higher' or 'lower' (which way is better).")
    if not 0 < self.alpha < 1:
      raise errors.InputError(f"{where}: alpha {self.alpha} must be in (0, 1).")

  def config(self, cell: str, seed: int) -> ml_collections.ConfigDict:
    """The full config of one cell and seed (base or the cell's own config
    file, the study's overrides, the cell's, then the seed)."""
    c = self.cells[cell]
    cfg = config_lib.load(c.config or self.base)
    for source, overrides in (("the study's overrides", self.overrides),
                              (f"cell {cell!r}", c.overrides)):
      config_lib.apply_overrides(cfg, overrides, f"{self.name or 'study'}: {source}")
    cfg.seed = int(seed)
    config_lib.validate(cfg)
    return cfg

  def origin(self, cell: str, seed: int) -> dict:
    """Where a cell's config comes from: its file and every override."""
    c = self.cells[cell]
    return {"config": c.config or self.base, "study": self.name, "cell": cell,
            "overrides": {**self.overrides, **c.overrides, "seed": int(seed)}}


def _fmt(value) -> str:
  if isinstance(value, float):
    return f"{value:g}"
  if isinstance(value, (tuple, list)):
    return "x".join(_fmt(v) for v in value)
  return str(value)


def grid(axes: Dict[str, Sequence], **fixed) -> Dict[str, dict]:
  """Cells for every combination of the value lists in `axes` ({"gan.loss":
  ["ns", "hinge"], "optim_g.lr": [1e-4, 2e-4]}), each with the `fixed`
  overrides too (dotted keys with "." written as "__"). Names join
  short_key=value: "loss=hinge_lr=0.0001" (the key's last part, or the whole
  key where two axes share a last part)."""
  keys = list(axes)
  last = [k.rsplit(".", 1)[-1] for k in keys]
  short = [l if last.count(l) == 1 else k for k, l in zip(keys, last)]
  fixed = {k.replace("__", "."): v for k, v in fixed.items()}
  cells = {}
  for values in itertools.product(*(axes[k] for k in keys)):
    name = "_".join(f"{s}={_fmt(v)}" for s, v in zip(short, values))
    cells[name] = {**fixed, **dict(zip(keys, values))}
  return cells


def load_study(path: str) -> Study:
  """get_study() of a study file; its name is the file's stem."""
  if not os.path.exists(path):
    raise errors.MissingError(f"Study file {path!r} does not exist (--study); studies live in "
                            "experiments/studies/.")
  name = os.path.splitext(os.path.basename(path))[0]
  spec = importlib.util.spec_from_file_location(f"genjax_study_{name}", path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  if not hasattr(module, "get_study"):
    raise errors.InputError(f"Study file {path!r} defines no get_study() returning a "
                     "genjax.studies.Study.")
  study = module.get_study()
  study.name = study.name or name
  study.description = study.description or (module.__doc__ or "").strip()
  study.check(f"Study file {path!r}")
  return study
