"""DCGAN (Radford et al. 2016): conv generator/discriminator with BatchNorm.

  python -m genjax.train --config configs/dcgan.py:mnist --workdir runs/dcgan_mnist
  python -m genjax.train --config configs/dcgan.py:cifar10 --workdir runs/dcgan_cifar10
  python -m genjax.train --config configs/dcgan.py:celeba64 --workdir runs/dcgan_celeba
  python -m genjax.train --config configs/dcgan.py:folder --workdir runs/art \
      --config.data.path=/path/to/images
  python -m genjax.train --config configs/dcgan.py:mnist --workdir runs/wgan \
      --config.gan.loss=wgan --config.gan.gp_weight=10 --config.gan.n_critic=5 \
      --config.discriminator.norm=layer

Variants: mnist (embedded 5k real digits, 28px, the standard DCGAN-28),
demo (mnist at half width, sized to train in ~6 minutes on 2 CPU cores: `make demo`),
cifar10 (TFDS, 32px), celeba64 (TFDS, 64px), folder (any image folder, 64px),
smoke (tiny, for tests).
"""
import ml_collections

from genjax import config_lib

# (generator widths, start size, discriminator widths) per image size.
ARCH = {
    8: ((64, 32), 2, (32, 64)),
    28: ((128, 64), 7, (64, 128)),
    32: ((256, 128, 64), 4, (64, 128, 256)),
    64: ((512, 256, 128, 64), 4, (64, 128, 256, 512)),
}


def get_config(arg: str = "mnist"):
  dataset = "mnist" if arg in ("smoke", "demo") else arg
  config = ml_collections.ConfigDict()
  config.method = "gan"
  config.seed = 0
  config.data = config_lib.data_config(dataset)
  g_widths, start, d_widths = ARCH[config.data.image_size]
  config.generator = dict(name="dcgan_generator", widths=g_widths, start_size=start,
                          out_channels=config.data.channels, norm="batch")
  config.discriminator = dict(name="dcgan_discriminator", widths=d_widths, norm="batch")
  config.gan = dict(
      loss="ns",          # ns | hinge | lsgan | wgan
      z_dim=100,
      n_critic=1,         # D updates per G update
      gp_weight=0.0,      # WGAN-GP gradient penalty weight (10 with loss=wgan)
      r1_weight=0.0,      # R1 penalty gamma on real data
      ema_decay=0.999,    # EMA of G weights, used for sampling
  )
  config.optim_g = config_lib.adam(2e-4, 0.5)
  config.optim_d = config_lib.adam(2e-4, 0.5)
  config.train = config_lib.train_config(batch_size=64, num_steps=20_000)
  config.eval = config_lib.eval_config()
  config.evals = config_lib.evals_config()
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
    config_lib.smoke(config)
  return config
