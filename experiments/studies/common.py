"""What studies share: for the digit studies, the MNIST classifier that
scores samples (trained once, as a run the studies need) and the quality
evaluator settings; for the restoration studies, a shorter run scored once."""

CLASSIFIER = "runs/clf_mnist"
NEEDS = {CLASSIFIER: "configs/classifier.py:mnist"}


def quality(every: int, num_samples: int = 5000) -> dict:
  """Overrides that score samples every `every` steps and at the last step:
  classifier-FID, precision/recall, conditional accuracy (conditional runs)."""
  return {"evals.quality.every": every, "evals.quality.extractor": f"classifier:{CLASSIFIER}",
          "evals.quality.num_samples": num_samples, "evals.quality.memorization": False}


SAMPLE_METRICS = {"quality/conditional_accuracy": "higher", "quality/fid": "lower",
                  "quality/precision": "higher", "quality/recall": "higher"}


def restore_length(steps: int) -> dict:
  """Overrides that train a restorer `steps` steps and score it once, at the
  end: held-out patches, the held-out photos and the external photos."""
  return {"train.num_steps": steps, "evals.paired.every": steps, "evals.external.every": steps,
          "evals.heldout.every": steps}


RESTORE_CURVES = ("train/loss", "train/psnr")


def restore_metrics(baseline: str) -> dict:
  """The restorer's and a baseline's mean PSNR (e.g. "bicubic", "nl_means"),
  on the held-out photos and on the external ones, higher being better."""
  return {f"{split}/{name}": "higher" for split in ("paired", "paired_external")
          for name in ("psnr", f"{baseline}_psnr")}
