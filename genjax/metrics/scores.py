"""Inception Score (Salimans et al. 2016) from class probabilities."""
import numpy as np


def inception_score(probs, splits: int = 10, seed: int = 0):
  """(mean, std) over splits of exp(E_x KL(p(y|x) || p(y))). Rows are shuffled
  (seeded) first, so ordered inputs (e.g. a class-sorted dataset) are scored
  like random samples."""
  probs = np.asarray(probs, np.float64)
  probs = probs[np.random.default_rng(seed).permutation(len(probs))]
  scores = []
  for part in np.array_split(probs, splits):
    marginal = part.mean(0, keepdims=True)
    kl = np.sum(part * (np.log(part + 1e-12) - np.log(marginal + 1e-12)), axis=1)
    scores.append(np.exp(kl.mean()))
  return float(np.mean(scores)), float(np.std(scores))
