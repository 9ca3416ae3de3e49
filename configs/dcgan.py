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
demo (mnist at half width; `make demo` trains its conditional twin configs/cgan.py:demo),
cifar10 (TFDS, 32px), celeba64 (TFDS, 64px), folder (any image folder, 64px),
smoke (tiny, for tests).
"""
from genjax import config_lib


def get_config(arg: str = "mnist"):
  return config_lib.dcgan(arg)
