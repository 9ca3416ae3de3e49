"""Image classifier: feature extractor for in-domain FID/KID/PR and judge of
classification accuracy scores (CAS).

  python -m genjax.train --config configs/classifier.py:mnist --workdir runs/clf_mnist
  python -m genjax.train --config configs/classifier.py:cifar10 --workdir runs/clf_cifar10

Variants: mnist (embedded 5k digits), cifar10 (TFDS), folder, smoke (tests).
Held-out accuracy goes to metrics.jsonl as eval/accuracy.
"""
from genjax import config_lib


def get_config(arg: str = "mnist"):
  dataset = "mnist" if arg == "smoke" else arg
  config = config_lib.classifier_config(config_lib.data_config(dataset))
  if arg == "smoke":
    config.model.update(widths=(16,), feature_dim=32)
    config_lib.smoke(config)
  return config
