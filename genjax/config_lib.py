"""Config building blocks shared by configs/*.py: the data, train and evals
sections every method has, and the datasets behind the named variants."""
import importlib.util
import os

import ml_collections

from genjax import errors

# Dataset variants shared by all methods: source settings + image geometry.
DATASETS = {
    "mnist": dict(source="mnist5k", image_size=28, channels=1),
    "digits": dict(source="digits", image_size=8, channels=1),
    "cifar10": dict(source="tfds", name="cifar10", split="train", eval_split="test",
                    image_size=32, channels=3),
    "celeba64": dict(source="tfds", name="celeb_a", split="train", eval_split="validation",
                     image_size=64, channels=3, crop_size=140),
    "folder": dict(source="folder", image_size=64, channels=3),
    # Random patches of scikit-image's photos; a fixed set of photos is held out.
    "photos": dict(source="photos", image_size=64, channels=3),
}


def user_cache_dir(environ=os.environ) -> str:
  """genjax's folder in the user's cache: $XDG_CACHE_HOME/genjax, else
  ~/.cache/genjax (the embedded digits' decoded copy, compiled programs)."""
  base = environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
  return os.path.join(base, "genjax")


def load(spec: str) -> ml_collections.ConfigDict:
  """A config file's get_config(arg) from "path/to/config.py[:arg]", loaded the
  way --config loads it."""
  path, _, arg = spec.partition(":")
  if not os.path.exists(path):
    raise errors.MissingError(f"Config file {path!r} does not exist.")
  name = "genjax_config_" + os.path.splitext(os.path.basename(path))[0]
  module_spec = importlib.util.spec_from_file_location(name, path)
  module = importlib.util.module_from_spec(module_spec)
  module_spec.loader.exec_module(module)
  return module.get_config(arg) if arg else module.get_config()


def data_config(dataset: str) -> ml_collections.ConfigDict:
  if dataset not in DATASETS:
    raise errors.InputError(f"Unknown dataset variant {dataset!r}; choose one of "
                     f"{', '.join(DATASETS)}, or one of the config's own variants "
                     "(smoke, demo, ...: its docstring lists them).")
  cfg = _data_defaults()
  cfg.update(DATASETS[dataset])
  return cfg


def _data_defaults() -> ml_collections.ConfigDict:
  return ml_collections.ConfigDict(dict(
      # mnist5k | digits | tfds | folder | npz | photos | paired_folder | unpaired_folder
      # | unpaired_tfds
      source="mnist5k",
      name="",              # TFDS dataset name (source=tfds)
      data_dir="",          # TFDS data_dir ("" = default ~/tensorflow_datasets)
      download=False,       # let TFDS download and prepare a missing dataset
      path="",              # image folder (source=folder; sub-folders = classes) or .npz
      split="train",        # train | test | all for embedded/folder; any TFDS split
      eval_split="test",
      holdout_fraction=0.1,  # embedded/folder sources: fixed held-out test fraction
      per_class=0,          # keep the first N examples of each class of data.split (0 = all)
      image_size=28,
      channels=1,
      crop="center",        # center (square crop, then resize) | resize
      crop_size=0,          # side of the centre crop; 0 = the short side
      image_key="image",
      label_key="label",
      # Derived paired task made on the fly from each image (data/tasks.py):
      # "" (none) | denoise | sr2 | sr4 | deblur | colorize | inpaint.
      task="",
      noise_std=25.0,       # denoise: Gaussian noise std on the 0..255 scale (evaluation's)
      noise_std_min=0.0,    # denoise: with noise_std_max > 0, training draws each example's
      noise_std_max=0.0,    #   std uniformly from [min, max]; evaluation keeps noise_std
      noise_map=False,      # denoise: give the model the noise std as an input map (FFDNet)
      prefilter="",         # the model corrects a classical output: "nl_means" (denoise), "biharmonic" (inpaint)
      blur_sigma=2.0,       # deblur: Gaussian blur radius in pixels
      back_project=0,       # sr2 / sr4: iterations of back-projection on translated
                            #   outputs (data/tasks.py: back_project); 0 = none
      mask="boxes",         # inpaint / harmonize: boxes | strokes | folder (data.mask_path)
      mask_path="",         # mask="folder": a folder of mask images, white = hole
      unpaired=False,       # derived task as two unaligned domains (CycleGAN's thin2thick)
      workers=-1,           # processes building batches; -1: the CPU count for sources that
                            # decode files (and derived tasks when training on an
                            # accelerator), 0 (a thread) for in-memory ones
      cache="",             # a decoded cache (python -m genjax.data.prepare) to read instead
      heldout="chelsea,coffee",  # source=photos: photos kept out of training (split test)
      augment="flip",       # source=photos: flip | dihedral (the 8 flips and rotations)
      zoom=(1.0, 1.0),      # source=photos: patches magnified by a factor in [min, max]
  ))


def train_config(**overrides) -> ml_collections.ConfigDict:
  cfg = ml_collections.ConfigDict(dict(
      batch_size=64,        # global, over all devices and hosts
      num_steps=10_000,
      log_every=100,
      checkpoint_every=1000,
      sample_every=1000,    # preview grid in workdir/samples/
      keep_checkpoints=3,
      async_checkpoints=False,
      num_grid_samples=64,
      tensorboard=True,
      progress=True,
      cpu_scheduler="memory",  # XLA:CPU scheduler for the train step (parallel.CPU_SCHEDULERS)
      cpu_conv_kernels="eigen",  # XLA:CPU convolution kernels (parallel.CPU_CONV_KERNELS)
      nonfinite="stop",     # a NaN/Inf loss or state: stop (nothing bad is saved) | skip the update
      max_skips_in_row=10,  # nonfinite=skip: stop after this many skipped steps in a row
      precision="float32",  # float32 | bfloat16: mixed precision (models/compute.py)
      conv_impl="auto",     # convolution kernels: auto | fast | gemm | xla (models/kernels.py)
  ))
  cfg.update(overrides)
  return cfg


def evals_config(heldout_every: int = 5000) -> ml_collections.ConfigDict:
  """Evaluators run inside training every `every` steps (0 = off) and by
  genjax.evaluate; one section per genjax/evaluators/ entry."""
  return ml_collections.ConfigDict(dict(
      heldout=dict(           # the method's own held-out metrics (VAE nats, accuracy)
          every=heldout_every,
          split="",           # "" = data.eval_split
          batch_size=500,
          seed=0,
      ),
      quality=dict(           # sample quality: FID/KID/IS/PR/DC, memorisation
          every=0,
          extractor="",       # e.g. classifier:runs/clf_mnist
          num_samples=2000,
          reference_split="",  # "" = data.eval_split
          memorization=True,
          seed=0,
      ),
  ))


def paired_eval_config(every: int = 0, **overrides) -> ml_collections.ConfigDict:
  """config.evals.paired of image-to-image methods (evaluators/paired.py)."""
  cfg = ml_collections.ConfigDict(dict(
      every=every,
      split="",             # "" = data.eval_split
      max_images=0,         # 0 = all held-out images
      tile=256, overlap=32,  # whole images run tile by tile (images.tiled)
      classifier="",        # a classifier run's workdir: do outputs keep their class?
      self_ensemble=False,  # translate with the x8 self-ensemble (8x the compute)
  ))
  cfg.update(overrides)
  return cfg


def classifier_config(data: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """A classifier run on `data` (configs/classifier.py and CAS build on this)."""
  config = ml_collections.ConfigDict()
  config.method = "classifier"
  config.seed = 0
  config.data = ml_collections.ConfigDict(data.to_dict())
  gray = data.channels == 1
  config.model = dict(name="conv_classifier", widths=(32, 64) if gray else (64, 128, 256),
                      feature_dim=128)  # num_classes comes from the data source
  config.classifier = dict(ema_decay=0.0)
  config.optim = adam(1e-3, 0.9)
  config.train = train_config(batch_size=128, num_steps=3000, log_every=100,
                              checkpoint_every=1000)
  config.evals = evals_config(heldout_every=1000)
  return config


def adam(lr=2e-4, b1=0.5, b2=0.999, schedule="constant", **schedule_options
         ) -> ml_collections.ConfigDict:
  """An optimizer section (methods/common.make_optimizer): Adam and its
  learning-rate schedule over train.num_steps (methods/common.learning_rate)."""
  cfg = ml_collections.ConfigDict(dict(
      name="adam", lr=lr, b1=b1, b2=b2, weight_decay=0.0, grad_clip=0.0,
      schedule=schedule,    # constant | linear (to 0 from decay_start) | cosine
      warmup_steps=0,       # linear warm-up from 0, in train steps
      decay_start=0.5,      # linear: fraction of train.num_steps where the decay starts
      final_lr=0.0,         # cosine: final learning rate as a fraction of lr
  ))
  cfg.update(schedule_options)
  return cfg


def optimizer_sections(cfg) -> list:
  """Names of the config's optimizer sections (optim, optim_g, optim_d, ...):
  the sections with an optimizer `name` and a learning rate `lr`."""
  return sorted(k for k, v in cfg.items()
                if isinstance(v, (dict, ml_collections.ConfigDict)) and "lr" in v and "name" in v)


def smoke(cfg, num_steps=4):
  """Shrinks a config's schedule for a seconds-long test run. The held-out
  evaluation is off (a run that checks it sets evals.heldout.every): it
  compiles programs of its own, about 2 s of a cold smoke run."""
  cfg.train.update(batch_size=8, num_steps=num_steps, log_every=2, checkpoint_every=2,
                   sample_every=num_steps, num_grid_samples=16, tensorboard=True,
                   progress=False)
  cfg.evals.heldout.update(every=0, batch_size=100)
  return cfg


# DCGAN (generator widths, start size, discriminator widths) per image size.
DCGAN_ARCH = {
    8: ((64, 32), 2, (32, 64)),
    28: ((128, 64), 7, (64, 128)),
    32: ((256, 128, 64), 4, (64, 128, 256)),
    64: ((512, 256, 128, 64), 4, (64, 128, 256, 512)),
}


def dcgan(arg: str = "mnist") -> ml_collections.ConfigDict:
  """configs/dcgan.py: DCGAN on a dataset variant, or the mnist-based demo / smoke."""
  dataset = "mnist" if arg in ("smoke", "demo") else arg
  config = ml_collections.ConfigDict()
  config.method = "gan"
  config.seed = 0
  config.data = data_config(dataset)
  g_widths, start, d_widths = DCGAN_ARCH[config.data.image_size]
  config.generator = dict(name="dcgan_generator", widths=g_widths, start_size=start,
                          out_channels=config.data.channels, norm="batch")
  config.discriminator = dict(name="dcgan_discriminator", widths=d_widths, norm="batch")
  config.gan = dict(
      loss="ns",          # ns | hinge | lsgan | wgan
      z_dim=100,
      n_critic=1,         # D updates per G update
      gp_weight=0.0,      # WGAN-GP gradient penalty weight (10 with loss=wgan)
      r1_weight=0.0,      # R1 penalty gamma on real data
      # How a D update sees the real and the fake batch: joint (one D call on
      # both, as BigGAN), separate (one call each: batch norm in D then keeps
      # their statistics apart, as DCGAN), auto (joint unless D has batch norm).
      d_batches="auto",
      ema_decay=0.999,    # EMA of G weights, used for sampling
  )
  config.optim_g = adam(2e-4, 0.5)
  config.optim_d = adam(2e-4, 0.5)
  config.train = train_config(batch_size=64, num_steps=20_000)
  config.evals = evals_config()
  if dataset == "mnist":
    config.gan.ema_decay = 0.99  # short runs: a 0.999 average lags behind G
    config.train.update(batch_size=128, num_steps=5000, log_every=50, sample_every=500,
                        checkpoint_every=500)
  if arg == "demo":
    config.generator.widths = (64, 32)
    config.discriminator.widths = (32, 64)
    config.train.update(batch_size=64, num_steps=3000)
  if arg == "smoke":
    config.generator.widths = (16, 8)
    config.discriminator.widths = (8, 16)
    config.gan.z_dim = 16
    smoke(config)
  return config


# Conv VAE encoder widths per image size.
VAE_WIDTHS = {8: (32,), 28: (32, 64), 32: (32, 64, 128), 64: (32, 64, 128, 256)}


def vae(arg: str = "mnist") -> ml_collections.ConfigDict:
  """configs/vae.py: conv VAE on a dataset variant, or the mnist-based smoke."""
  dataset = "mnist" if arg == "smoke" else arg
  config = ml_collections.ConfigDict()
  config.method = "vae"
  config.seed = 0
  config.data = data_config(dataset)
  gray = config.data.channels == 1
  config.model = dict(name="conv_vae", widths=VAE_WIDTHS[config.data.image_size],
                      latent_dim=16 if gray else 128,
                      image_size=config.data.image_size,
                      out_channels=config.data.channels,
                      decoder="bernoulli" if gray else "gaussian")
  config.vae = dict(
      beta=1.0,           # weight of the KL term (beta-VAE); likelihoods use beta=1
      kl_warmup=0,        # steps over which the KL weight rises linearly from 0 to beta
      free_bits=0.0,      # nats: each latent dimension's KL counts at least this in the loss
      binarize=True,      # Bernoulli decoder: threshold pixels at 0.5
      ema_decay=0.0,      # EMA of weights used for eval and sampling (0 = off)
      iwae_k=100,         # importance samples for the held-out IWAE bound (0 = off)
  )
  config.optim = adam(1e-3, 0.9)
  config.train = train_config(batch_size=128, num_steps=20_000)
  config.evals = evals_config()
  if dataset == "mnist":
    config.train.update(num_steps=3000, log_every=100, sample_every=1000,
                        checkpoint_every=1000)
    config.evals.heldout.every = 1000
  if arg == "smoke":
    config.model.widths = (8, 16)
    config.model.latent_dim = 4
    config.vae.iwae_k = 8
    smoke(config)
  return config


def upgrade(cfg: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """A config saved by an earlier genjax, in today's layout (same meaning):
  `eval` + train.eval_every became evals.heldout; data and train keys added
  since get their defaults."""
  d = cfg.to_dict()
  train = d["train"]
  if "eval" in d:
    old = d.pop("eval")
    evals = d.setdefault("evals", evals_config().to_dict())
    evals["heldout"] = dict(every=train.pop("eval_every", 0), split="",
                            batch_size=old["batch_size"], seed=old["seed"])
    evals["quality"].setdefault("seed", old["seed"])
  for key, value in train_config().items():
    if key in ("cpu_scheduler", "cpu_conv_kernels", "nonfinite", "max_skips_in_row",
               "precision", "conv_impl"):
      train.setdefault(key, value)
  for section in ("generator", "discriminator", "model"):  # conv_impl: once per run now
    impl = d.get(section, {}).pop("conv_impl", None)
    if impl is not None:
      train["conv_impl"] = impl
  d["data"] = {**_data_defaults().to_dict(), **d["data"]}
  if "vae" in d:  # KL warm-up, free bits and cond_layers came later: what ran
    d["vae"] = {"kl_warmup": 0, "free_bits": 0.0, **d["vae"]}
    if d["model"].get("cond", "none") != "none":
      d["model"].setdefault("cond_layers", "input")
  for name in optimizer_sections(d):  # schedules came later: constant is what ran
    d[name] = {**adam().to_dict(), **d[name]}
  return ml_collections.ConfigDict(d)


# (key, test, what it must be): ranges the type checks of ConfigDict cannot see.
_POSITIVE = lambda v: v > 0
_NONNEGATIVE = lambda v: v >= 0
_RULES = (
    ("train.batch_size", _POSITIVE, "a positive number of examples per step"),
    ("train.num_steps", _POSITIVE, "positive"),
    ("train.log_every", _NONNEGATIVE, ">= 0 (0 = never)"),
    ("train.checkpoint_every", _NONNEGATIVE, ">= 0 (0 = never)"),
    ("train.sample_every", _NONNEGATIVE, ">= 0 (0 = never)"),
    ("train.keep_checkpoints", _POSITIVE, "at least 1"),
    ("train.num_grid_samples", _POSITIVE, "at least 1"),
    ("train.max_skips_in_row", _POSITIVE, "at least 1"),
    ("data.image_size", _POSITIVE, "a positive side in pixels"),
    ("data.channels", lambda v: v in (1, 3), "1 (grey) or 3 (RGB)"),
    ("data.holdout_fraction", lambda v: 0 <= v < 1, "in [0, 1)"),
    ("data.per_class", _NONNEGATIVE, ">= 0 (0 = all)"),
    ("data.workers", lambda v: v >= -1, ">= 0, or -1 (the CPU count for sources that decode "
     "files, and for derived tasks on an accelerator)"),
    ("data.crop", lambda v: v in ("center", "resize"), "center or resize"),
    ("data.crop_size", _NONNEGATIVE, ">= 0 (0 = the short side)"),
    ("data.noise_std", _NONNEGATIVE, ">= 0"),
    ("data.blur_sigma", _NONNEGATIVE, ">= 0"),
    ("data.back_project", _NONNEGATIVE, ">= 0 iterations (0 = none)"),
)


def flatten(cfg, prefix: str = "") -> dict:
  """A config (ConfigDict or nested dicts) as {"section.key": value}, tuples
  as lists (as JSON gives them back)."""
  out = {}
  for k, v in cfg.items():
    if isinstance(v, (dict, ml_collections.ConfigDict)):
      out.update(flatten(v, f"{prefix}{k}."))
    else:
      out[prefix + k] = list(v) if isinstance(v, tuple) else v
  return out


def _get(cfg, key):
  for part in key.split("."):
    if part not in cfg:
      return None
    cfg = cfg[part]
  return cfg


def validate(cfg: ml_collections.ConfigDict):
  """Raises ValueError naming the key for a value out of its range (before a
  run writes anything): sizes, counts, schedules, fractions, learning rates."""
  checks = list(_RULES)
  for name in optimizer_sections(cfg):
    checks.append((f"{name}.lr", lambda v: v > 0 and v < float("inf"), "a positive number"))
    checks.append((f"{name}.warmup_steps", _NONNEGATIVE, ">= 0"))
    checks.append((f"{name}.decay_start", lambda v: 0 <= v <= 1, "in [0, 1]"))
    checks.append((f"{name}.final_lr", lambda v: 0 <= v <= 1, "in [0, 1] (a fraction of lr)"))
  for name in cfg.get("evals", {}):
    checks.append((f"evals.{name}.every", _NONNEGATIVE, ">= 0 (0 = off)"))
    checks.append((f"evals.{name}.batch_size", _POSITIVE, "positive"))
  for key, ok, what in checks:
    value = _get(cfg, key)
    if value is not None and not isinstance(value, bool) and not ok(value):
      raise errors.InputError(f"Config key {key} is {value!r}; it must be {what} "
                       f"(--config.{key}=...).")
  if _get(cfg, "data.back_project") and _get(cfg, "data.task") not in ("sr2", "sr4"):
    raise errors.InputError(f"Config key data.back_project applies to data.task sr2 or sr4 "
                            f"(got task {_get(cfg, 'data.task')!r}); set it to 0.")


def apply_overrides(cfg: ml_collections.ConfigDict, overrides: dict, where: str):
  """cfg[key] = value for dotted keys; an unknown key is an error naming it."""
  for key, value in overrides.items():
    node, parts = cfg, key.split(".")
    for part in parts[:-1]:
      if part not in node or not isinstance(node[part], ml_collections.ConfigDict):
        raise errors.InputError(f"{where}: unknown config key {key!r} (no section {part!r}).")
      node = node[part]
    if parts[-1] not in node:
      raise errors.InputError(f"{where}: unknown config key {key!r}; the section has "
                       f"{', '.join(sorted(node.keys()))}.")
    node[parts[-1]] = tuple(value) if isinstance(value, list) else value
