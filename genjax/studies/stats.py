"""Statistics over seeds, all from scipy.stats: a cell's mean, standard
deviation and Student-t 95% interval; a cell against the baseline by Welch's
t-test (unequal variances, which suits a handful of seeds per side), with the
interval of the difference; p-values adjusted for the number of comparisons by
Benjamini-Hochberg (false_discovery_control), per metric."""
import math
from typing import Sequence

import numpy as np
from scipy import stats

NAN = float("nan")


def describe(values: Sequence[float], confidence: float = 0.95) -> dict:
  """n, mean, std (n - 1), and the t interval of the mean (NaN for n < 2)."""
  x = np.asarray(values, np.float64)
  n = len(x)
  out = {"n": n, "mean": float(np.mean(x)) if n else NAN, "std": NAN,
         "ci_low": NAN, "ci_high": NAN}
  if n >= 2:
    out["std"] = float(np.std(x, ddof=1))
    sem = stats.sem(x)
    if sem > 0:
      out["ci_low"], out["ci_high"] = map(float, stats.t.interval(confidence, n - 1,
                                                                   loc=out["mean"], scale=sem))
    else:
      out["ci_low"] = out["ci_high"] = out["mean"]
  return out


def compare(values: Sequence[float], baseline: Sequence[float],
            confidence: float = 0.95) -> dict:
  """values - baseline: difference of means, Welch's t statistic and
  two-sided p-value, and the Welch interval of the difference (NaN when a
  side has fewer than two seeds or both have no spread)."""
  a, b = np.asarray(values, np.float64), np.asarray(baseline, np.float64)
  out = {"diff": float(np.mean(a) - np.mean(b)) if len(a) and len(b) else NAN,
         "t": NAN, "p": NAN, "diff_ci_low": NAN, "diff_ci_high": NAN}
  if len(a) < 2 or len(b) < 2 or (np.var(a) == 0 and np.var(b) == 0):
    return out
  res = stats.ttest_ind(a, b, equal_var=False)
  ci = res.confidence_interval(confidence)
  out.update(t=float(res.statistic), p=float(res.pvalue), diff_ci_low=float(ci.low),
             diff_ci_high=float(ci.high))
  return out


def adjust(pvalues: Sequence[float]) -> list:
  """Benjamini-Hochberg adjusted p-values; NaN entries (no test) stay NaN."""
  p = np.asarray(pvalues, np.float64)
  out = np.full(p.shape, NAN)
  ok = ~np.isnan(p)
  if ok.any():
    out[ok] = stats.false_discovery_control(p[ok], method="bh")
  return out.tolist()


def verdict(comparison: dict, direction: str, alpha: float) -> str:
  """"better", "worse" (significant at alpha after adjustment), "no
  significant difference", or "not tested"."""
  p = comparison.get("p_adj", NAN)
  if math.isnan(p):
    return "not tested"
  if p >= alpha:
    return "no significant difference"
  higher = comparison["diff"] > 0
  return "better" if higher == (direction == "higher") else "worse"
