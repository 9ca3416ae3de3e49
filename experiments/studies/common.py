"""What the digit studies share: the MNIST classifier that scores samples
(trained once, as a run the studies need) and the quality evaluator settings."""

CLASSIFIER = "runs/clf_mnist"
NEEDS = {CLASSIFIER: "configs/classifier.py:mnist"}


def quality(every: int, num_samples: int = 5000) -> dict:
  """Overrides that score samples every `every` steps and at the last step:
  classifier-FID, precision/recall, conditional accuracy (conditional runs)."""
  return {"evals.quality.every": every, "evals.quality.extractor": f"classifier:{CLASSIFIER}",
          "evals.quality.num_samples": num_samples, "evals.quality.memorization": False}


SAMPLE_METRICS = {"quality/conditional_accuracy": "higher", "quality/fid": "lower",
                  "quality/precision": "higher", "quality/recall": "higher"}
