"""Image restoration by a CNN regressor y = f(x): trained on random 64 px
patches (regions) of photos, applied to whole images of any size.

  python -m genjax.train --config configs/restore.py:denoise --workdir runs/denoise
  python -m genjax.translate --workdir runs/denoise --input noisy/ --output clean/
  python -m genjax.evaluate --workdir runs/denoise    # PSNR/SSIM/L1 vs baselines

Tasks (data.task, made on the fly from clean photos with seeded randomness):
denoise (Gaussian noise, std 25 on 0..255, RGB), sr2 / sr4 (bicubic-downsampled
input, output 2x / 4x larger), deblur (Gaussian blur), colorize (grey in, RGB
out), inpaint (image + hole mask in: data.mask=boxes|strokes), harmonize
(composition: a region with another colour cast, as if pasted from another
photo, plus its mask in; the region is made to fit its surroundings), smoke
(tests).
Data: scikit-image's bundled photos, two of them (chelsea, coffee) held out
and evaluated whole; any image source works (--config.data.source=folder
--config.data.path=DIR).
"""
import ml_collections

from genjax import config_lib

TASKS = ("denoise", "sr2", "sr4", "deblur", "colorize", "inpaint", "harmonize")


def get_config(arg: str = "denoise"):
  task = "denoise" if arg == "smoke" else arg
  if task not in TASKS:
    raise ValueError(f"Unknown restore task {arg!r}; choose one of {', '.join(TASKS)}, smoke.")
  config = ml_collections.ConfigDict()
  config.method = "regression"
  config.seed = 0
  config.data = config_lib.data_config("photos")
  config.data.task = task
  config.model = dict(name="unet", widths=(32, 64, 128), patch=2)
  config.regression = dict(loss="l1", ema_decay=0.999, fill="grey")
  config.optim = config_lib.adam(1e-3, 0.9)
  config.train = config_lib.train_config(batch_size=16, num_steps=5000, log_every=100,
                                         sample_every=1000, checkpoint_every=1000,
                                         num_grid_samples=8)
  config.evals = config_lib.evals_config(heldout_every=1000)
  config.evals.paired = config_lib.paired_eval_config(5000)
  if task == "inpaint":  # a residual on a smooth fill of the holes, fitted for PSNR;
    config.regression.update(loss="l2", fill="pushpull")  # 4000 steps: ~16 min here
    config.train.num_steps = config.evals.paired.every = 4000
  if arg == "smoke":
    config.data.image_size = 16
    config.model.widths = (8, 16)
    config_lib.smoke(config)
    config.evals.paired.every = 4
  return config
