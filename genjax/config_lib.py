"""Config building blocks shared by configs/*.py: the data, train and eval
sections every method has, and the datasets behind the named variants."""
import ml_collections

# Dataset variants shared by all methods: source settings + image geometry.
DATASETS = {
    "mnist": dict(source="mnist5k", image_size=28, channels=1),
    "digits": dict(source="digits", image_size=8, channels=1),
    "cifar10": dict(source="tfds", name="cifar10", split="train", eval_split="test",
                    image_size=32, channels=3),
    "celeba64": dict(source="tfds", name="celeb_a", split="train", eval_split="validation",
                     image_size=64, channels=3, crop_size=140),
    "folder": dict(source="folder", image_size=64, channels=3),
}


def data_config(dataset: str) -> ml_collections.ConfigDict:
  if dataset not in DATASETS:
    raise ValueError(f"Unknown dataset variant {dataset!r}; choose one of "
                     f"{', '.join(DATASETS)}.")
  cfg = ml_collections.ConfigDict(dict(
      source="mnist5k",     # mnist5k | digits | tfds | folder
      name="",              # TFDS dataset name (source=tfds)
      data_dir="",          # TFDS data_dir ("" = default ~/tensorflow_datasets)
      download=False,       # let TFDS download and prepare a missing dataset
      path="",              # image folder root (source=folder); sub-folders = classes
      split="train",        # train | test | all for embedded/folder; any TFDS split
      eval_split="test",
      holdout_fraction=0.1,  # embedded/folder sources: fixed held-out test fraction
      image_size=28,
      channels=1,
      crop="center",        # center (square crop, then resize) | resize
      crop_size=0,          # side of the centre crop; 0 = the short side
      image_key="image",
      label_key="label",
  ))
  cfg.update(DATASETS[dataset])
  return cfg


def train_config(**overrides) -> ml_collections.ConfigDict:
  cfg = ml_collections.ConfigDict(dict(
      batch_size=64,        # global, over all devices and hosts
      num_steps=10_000,
      log_every=100,
      checkpoint_every=1000,
      sample_every=1000,
      eval_every=5000,
      keep_checkpoints=3,
      async_checkpoints=False,
      num_grid_samples=64,
      tensorboard=True,
      progress=True,
      cpu_scheduler="memory",  # XLA:CPU scheduler for the train step (run.CPU_SCHEDULERS)
      cpu_conv_kernels="eigen",  # XLA:CPU convolution kernels (run.CPU_CONV_KERNELS)
  ))
  cfg.update(overrides)
  return cfg


def eval_config(**overrides) -> ml_collections.ConfigDict:
  cfg = ml_collections.ConfigDict(dict(batch_size=500, seed=0))
  cfg.update(overrides)
  return cfg


def evals_config() -> ml_collections.ConfigDict:
  """Evaluators run inside training (genjax.evaluate runs the same code)."""
  return ml_collections.ConfigDict(dict(
      quality=dict(
          every=0,            # steps between sample-quality evals (0 = off)
          extractor="",       # e.g. classifier:runs/clf_mnist
          num_samples=2000,
          reference_split="",  # "" = data.eval_split
          memorization=True,
      ),
  ))


def classifier_config(data: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """A classifier run on `data` (configs/classifier.py and CAS build on this)."""
  config = ml_collections.ConfigDict()
  config.method = "classifier"
  config.seed = 0
  config.data = ml_collections.ConfigDict(data.to_dict())
  gray = data.channels == 1
  config.model = dict(name="conv_classifier", widths=(32, 64) if gray else (64, 128, 256),
                      feature_dim=128, num_classes=10)
  config.classifier = dict(ema_decay=0.0)
  config.optim = adam(1e-3, 0.9)
  config.train = train_config(batch_size=128, num_steps=3000, log_every=100,
                              checkpoint_every=1000, eval_every=1000)
  config.eval = eval_config()
  return config


def adam(lr=2e-4, b1=0.5, b2=0.999) -> ml_collections.ConfigDict:
  return ml_collections.ConfigDict(dict(name="adam", lr=lr, b1=b1, b2=b2,
                                        weight_decay=0.0, grad_clip=0.0))


def smoke(cfg, num_steps=4):
  """Shrinks a config's schedule for a seconds-long test run."""
  cfg.train.update(batch_size=8, num_steps=num_steps, log_every=2, checkpoint_every=2,
                   sample_every=num_steps, eval_every=num_steps, num_grid_samples=16,
                   tensorboard=True, progress=False)
  cfg.eval.batch_size = 100
  return cfg
