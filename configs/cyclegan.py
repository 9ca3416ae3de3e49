"""CycleGAN: unpaired translation between two image domains (Zhu et al. 2017):
ResNet generators, PatchGAN discriminators, least-squares GAN loss, cycle and
identity losses, a 50-image history buffer per domain (checkpointed).

  python -m genjax.train --config configs/cyclegan.py:thin2thick --workdir runs/t2t
  python -m genjax.evaluate --workdir runs/t2t            # PSNR to the true mapping
  python -m genjax.translate --workdir runs/t2t --input digits/ --output thick/
  python -m genjax.translate --workdir runs/t2t --input thick/ --output thin/ \\
      --direction BtoA
  python -m genjax.train --config configs/cyclegan.py:folder --workdir runs/h2z \\
      --config.data.path=/data/horse2zebra          # trainA/ trainB/ testA/ testB/

Variants: thin2thick (offline: the embedded MNIST digits as domain A, the same
digits' strokes dilated as domain B, drawn from other examples so no pair is
ever aligned; the true mapping is known, so held-out translations are scored
against it), horse2zebra (TFDS cycle_gan/horse2zebra, 256 px, the paper's
setup with 9 residual blocks; prepare it with `tfds build cycle_gan/horse2zebra`
where the network is reachable), folder (trainA/ trainB/ testA/ testB/ under
data.path, 128 px, 6 blocks), smoke (tiny, tests).
"""
import ml_collections

from genjax import config_lib

VARIANTS = ("thin2thick", "horse2zebra", "folder", "smoke")


def get_config(arg: str = "thin2thick"):
  if arg not in VARIANTS:
    raise ValueError(f"Unknown cyclegan variant {arg!r}; choose one of {', '.join(VARIANTS)}.")
  config = ml_collections.ConfigDict()
  config.method = "cyclegan"
  config.seed = 0
  config.cyclegan = dict(gan_loss="lsgan", adv_weight=2.0, cycle_weight=10.0,
                         identity_weight=0.5, pool_size=50, ema_decay=0.999)
  config.generator = dict(name="resnet_translator", widths=(64, 128, 256), blocks=9,
                          norm="instance")
  config.discriminator = dict(name="patchgan", widths=(64, 128, 256, 512), norm="instance")
  # As in the paper: constant, then linear to zero over the second half.
  config.optim_g = config_lib.adam(2e-4, 0.5, schedule="linear")
  config.optim_d = config_lib.adam(2e-4, 0.5, schedule="linear")
  config.train = config_lib.train_config(batch_size=1, num_steps=200_000, log_every=100,
                                         sample_every=5000, checkpoint_every=5000,
                                         num_grid_samples=8)
  config.evals = config_lib.evals_config(heldout_every=0)
  config.evals.paired = config_lib.paired_eval_config()
  if arg in ("horse2zebra", "folder"):
    config.data = config_lib.data_config("folder")
    if arg == "horse2zebra":
      config.data.update(source="unpaired_tfds", name="cycle_gan/horse2zebra",
                         image_size=256, label_key="")
    else:
      config.data.update(source="unpaired_folder", image_size=128)
      config.generator.blocks = 6
    config.data.update(split="train", eval_split="test", crop="resize")
    return config
  # thin2thick: 28 px digits, small networks, evaluated against the true mapping.
  # No identity loss: G_ab(b) = b would pull against the true map (dilating b).
  config.data = config_lib.data_config("mnist")
  config.data.update(task="thin2thick", unpaired=True)
  config.generator.update(widths=(16, 32), blocks=3)
  config.discriminator.widths = (32, 64, 128)
  config.cyclegan.identity_weight = 0.0
  config.train.update(batch_size=8, num_steps=3000, sample_every=500, checkpoint_every=500)
  config.evals.paired.update(every=3000, max_images=200)
  if arg == "smoke":
    config.data.image_size = 16
    config.generator.update(widths=(8, 16), blocks=1)
    config.discriminator.widths = (8, 16)
    config.cyclegan.pool_size = 6
    config_lib.smoke(config)
    config.evals.paired.update(every=4, max_images=6)
  return config
