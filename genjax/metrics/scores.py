"""Inception Score (Salimans et al. 2016) from class probabilities."""
import numpy as np


def inception_score(probs, splits: int = 10):
  """(mean, std) over splits of exp(E_x KL(p(y|x) || p(y)))."""
  probs = np.asarray(probs, np.float64)
  scores = []
  for part in np.array_split(probs, splits):
    marginal = part.mean(0, keepdims=True)
    kl = np.sum(part * (np.log(part + 1e-12) - np.log(marginal + 1e-12)), axis=1)
    scores.append(np.exp(kl.mean()))
  return float(np.mean(scores)), float(np.std(scores))
