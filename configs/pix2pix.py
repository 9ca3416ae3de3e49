"""pix2pix: paired image-to-image translation with a U-Net generator and a
PatchGAN discriminator, L1 + conditional GAN loss (Isola et al. 2017).

  python -m genjax.train --config configs/pix2pix.py:edges2digits --workdir runs/e2d
  python -m genjax.evaluate --workdir runs/e2d --classifier runs/clf_mnist
  python -m genjax.translate --workdir runs/e2d --input edges/ --output digits/
  python -m genjax.train --config configs/pix2pix.py:denoise --workdir runs/p2p_denoise

Variants: edges2digits (offline: outlines of the embedded MNIST digits -> the
digits; the evaluator's classifier checks that they keep their class), folder
(paired images under data.path: A/ and B/ folders with matching names, or
side-by-side AB images as the pix2pix datasets ship them, in train/ val/
sub-folders or not; 256 px), any restore task (denoise, sr2, sr4, deblur,
colorize, inpaint, harmonize: configs/restore.py plus the PatchGAN), smoke
(tiny, tests).

  python -m genjax.train --config configs/pix2pix.py:folder --workdir runs/facades \
      --config.data.path=/data/facades      # train/ val/ of side-by-side AB images
"""
import os

import ml_collections

from genjax import config_lib

RESTORE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "restore.py")
TASKS = ("denoise", "sr2", "sr4", "deblur", "colorize", "inpaint", "harmonize")


def _adversarial(config, d_widths):
  config.method = "pix2pix"
  config.pix2pix = dict(gan_loss="ns", l1_weight=100.0, d_weight=0.5)
  config.discriminator = dict(name="patchgan", widths=d_widths, norm="instance")
  # As in the paper: constant, then linear to zero over the second half.
  config.optim = config_lib.adam(2e-4, 0.5, schedule="linear")
  config.optim_d = config_lib.adam(2e-4, 0.5, schedule="linear")
  return config


def get_config(arg: str = "edges2digits"):
  if arg in TASKS:
    return _adversarial(config_lib.load(f"{RESTORE}:{arg}"), (64, 128, 256))
  if arg not in ("edges2digits", "folder", "smoke"):
    raise ValueError(f"Unknown pix2pix variant {arg!r}; choose edges2digits, folder, "
                     f"{', '.join(TASKS)} or smoke.")
  config = ml_collections.ConfigDict()
  config.seed = 0
  config.regression = dict(loss="l1", ema_decay=0.999, residual=False)
  if arg == "folder":
    config.data = config_lib.data_config("folder")
    config.data.update(source="paired_folder", image_size=256, crop="resize",
                       split="train", eval_split="val")
    config.model = dict(name="unet", widths=(64, 128, 256, 512), patch=2)
    config.train = config_lib.train_config(batch_size=4, num_steps=100_000,
                                           sample_every=5000, checkpoint_every=5000,
                                           num_grid_samples=8)
    config.evals = config_lib.evals_config(heldout_every=5000)
    config.evals.heldout.batch_size = 16
    config.evals.paired = config_lib.paired_eval_config(5000)
    return _adversarial(config, (64, 128, 256, 512))
  config.data = config_lib.data_config("mnist")
  config.data.task = "edges"
  config.model = dict(name="unet", widths=(64, 128), patch=2)
  config.train = config_lib.train_config(batch_size=32, num_steps=3000, log_every=100,
                                         sample_every=500, checkpoint_every=500,
                                         num_grid_samples=8)
  config.evals = config_lib.evals_config(heldout_every=500)
  config.evals.paired = config_lib.paired_eval_config(3000)
  _adversarial(config, (32, 64, 128))
  if arg == "smoke":
    config.data.image_size = 16
    config.model.update(widths=(8, 16), patch=1)
    config.discriminator.widths = (8, 16)
    config_lib.smoke(config)
    config.evals.paired.update(every=4, max_images=6)
  return config
