"""Image classifier: feature extractor for in-domain FID/KID/PR and judge of
classification accuracy scores.

  python -m genjax.train --config configs/classifier.py:mnist --workdir runs/clf_mnist
  python -m genjax.train --config configs/classifier.py:cifar10 --workdir runs/clf_cifar10

Variants: mnist (embedded 5k digits), cifar10 (TFDS), folder, smoke (tests).
Held-out accuracy goes to metrics.jsonl as eval/accuracy.
"""
import ml_collections

from genjax import config_lib


def get_config(arg: str = "mnist"):
  dataset = "mnist" if arg == "smoke" else arg
  config = ml_collections.ConfigDict()
  config.method = "classifier"
  config.seed = 0
  config.data = config_lib.data_config(dataset)
  gray = config.data.channels == 1
  config.model = dict(name="conv_classifier", widths=(32, 64) if gray else (64, 128, 256),
                      feature_dim=128, num_classes=10)
  config.classifier = dict(ema_decay=0.0)
  config.optim = config_lib.adam(1e-3, 0.9)
  config.train = config_lib.train_config(batch_size=128, num_steps=3000, log_every=100,
                                         checkpoint_every=1000, sample_every=10**9,
                                         eval_every=1000)
  config.eval = config_lib.eval_config()
  if arg == "smoke":
    config.model.update(widths=(16,), feature_dim=32)
    config_lib.smoke(config)
  return config
