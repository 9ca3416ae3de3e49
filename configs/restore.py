"""Image restoration by a CNN regressor y = f(x): trained on random patches
(regions) of photos, applied to whole images of any size.

  python -m genjax.train --config configs/restore.py:denoise --workdir runs/denoise
  python -m genjax.translate --workdir runs/denoise --input noisy/ --output clean/
  python -m genjax.evaluate --workdir runs/denoise    # PSNR/SSIM/L1 vs baselines
  python -m genjax.evaluate --workdir runs/denoise --reference_split external

Tasks (data.task, made on the fly from clean photos with seeded randomness):
denoise (Gaussian noise, std 25 on 0..255, RGB), sr2 / sr4 (bicubic-downsampled
input, output 2x / 4x larger), deblur (Gaussian blur), colorize (grey in, RGB
out), inpaint (image + hole mask in: data.mask=boxes|strokes), harmonize
(composition: a region with another colour cast, as if pasted from another
photo, plus its mask in; the region is made to fit its surroundings).
Variants: TASK (the default recipe, within ~25 min of training on a 2-core
CPU), TASK_long (4x the steps and 1.5x the width, for a GPU or a machine with
time), release_TASK (the recipe of the released restorer, python -m genjax.zoo
build TASK: the default's, except that release_sr2 keeps two convolutions per
block, as the released sr2 was built), smoke (tests). The denoiser is one model for
noise stds 0-50, told the std by an input map (FFDNet; genjax.translate
--sigma), that corrects the output of non-local means (data.prefilter),
seeing the noisy input too; it is scored at std 25. The inpainter likewise
corrects biharmonic inpainting.
Data: scikit-image's bundled photos, data.heldout (default chelsea, coffee)
kept out of training and evaluated whole; three photos that ship with other
packages (split "external") are evaluated at the end and never trained on.
Any image source works (--config.data.source=folder --config.data.path=DIR
--config.evals.external.every=0).
L1 loss, horizontal flips, constant Adam 1e-3: at equal steps L2 with the
8 flips and rotations and a cosine decay scored lower on both held-out and
external photos (experiments/studies/restore_screen.py). Super-resolution (sr2, sr4): a
two-level U-Net of widths 64/128, the 8 flips and rotations and a cosine
decay, 2,000 steps: the former recipe (widths 32/64/128, 5,000 steps) had
reached its score by 1,500 steps, and capacity at the finest level is what
gained (experiments/studies/sr2_screen.py); sr2's blocks then gained from four
3x3 convolutions instead of two (model.depth, experiments/studies/sr2_depth.py).
Their outputs are back-projected onto the input (data.back_project=4 iterations:
the output's bicubic downsampling made to match the low-resolution input).
"""
import ml_collections

from genjax import config_lib

TASKS = ("denoise", "sr2", "sr4", "deblur", "colorize", "inpaint", "harmonize")


def _variant(arg: str):
  """(task, variant): TASK -> default, TASK_long -> long, release_TASK -> release."""
  if arg == "smoke":
    return "denoise", "smoke"
  if arg.startswith("release_"):
    task, variant = arg[len("release_"):], "release"
  elif arg.endswith("_long"):
    task, variant = arg[:-len("_long")], "long"
  else:
    task, variant = arg, "default"
  if task not in TASKS:
    raise ValueError(f"Unknown restore variant {arg!r}; choose TASK, TASK_long or "
                     f"release_TASK with TASK one of {', '.join(TASKS)}; or smoke.")
  return task, variant


def get_config(arg: str = "denoise"):
  task, variant = _variant(arg)
  config = ml_collections.ConfigDict()
  config.method = "regression"
  config.seed = 0
  config.data = config_lib.data_config("photos")
  config.data.task = task
  config.model = dict(name="unet", widths=(32, 64, 128), patch=2, depth=2)
  config.regression = dict(loss="l1", ema_decay=0.999, fill="grey")
  config.optim = config_lib.adam(1e-3, 0.9)
  if task == "denoise":  # one model for noise stds 0-50 (told by a map), correcting
    config.data.update(noise_std_min=0.0, noise_std_max=50.0, noise_map=True,  # non-local
                       prefilter="nl_means")  # means (scored at data.noise_std, 25)
  steps = 5000
  config.train = config_lib.train_config(batch_size=16, num_steps=steps, log_every=100,
                                         sample_every=1000, checkpoint_every=1000,
                                         num_grid_samples=8)
  config.evals = config_lib.evals_config(heldout_every=1000)
  config.evals.paired = config_lib.paired_eval_config(steps)
  # The photos that ship with other packages, never trained or tuned on (another
  # data.source has no such split: set evals.external.every=0).
  config.evals.external = config_lib.paired_eval_config(steps, split="external",
                                                        evaluator="paired")
  if task == "inpaint":  # a correction of biharmonic inpainting, fitted for PSNR
    config.regression.update(fill="pushpull", loss="l2")  # the fill: without a prefilter
    config.data.prefilter = "biharmonic"
    steps = 4000
  if task in ("sr2", "sr4"):  # capacity at the finest level, fewer steps (sr2_screen)
    config.model.widths = (64, 128)
    config.data.augment = "dihedral"
    config.optim.update(schedule="cosine", warmup_steps=100)
    config.data.back_project = 4  # outputs made consistent with the input (+0.1-0.2 dB)
    steps = 2000
  if task == "sr2" and variant != "release":  # four convolutions per block (sr2_depth);
    config.model.depth = 4  # the released sr2 was built before, with two
  if variant == "long":
    config.model.widths = tuple(w * 3 // 2 for w in config.model.widths)
    steps *= 4
  config.train.num_steps = config.evals.paired.every = config.evals.external.every = steps
  if variant == "smoke":
    config.data.image_size = 16
    config.model.widths = (8, 16)
    config.data.update(noise_std_max=0.0, noise_map=False, prefilter="")  # a plain denoiser
    config_lib.smoke(config)
    config.evals.paired.every = 4
    config.evals.external.every = 0
  return config
