"""Class- and style-conditioned GANs G(z, c): labels come from the data source
(embedded digits, TFDS label_key, or the sub-folders of an image folder).

  python -m genjax.train --config configs/cgan.py:mnist --workdir runs/cgan
  python -m genjax.train --config configs/cgan.py:folder --workdir runs/styles \
      --config.data.path=/path/to/paintings   # one sub-folder per style
  python -m genjax.train --config configs/cgan.py:cifar10 --workdir runs/sngan_cifar10
  python -m genjax.sample --workdir runs/cgan --num 1000 --out s.npz --labels 3,7 \
      --class_grid grid.png

Conditioning (override on the command line):
  generator.cond      concat (label embedding beside z) | cbn (conditional BatchNorm)
  discriminator.cond  concat (label maps beside the image) | projection | acgan
  gan.acgan_weight    weight of the ACGAN auxiliary classification loss

Variants: mnist (conditional DCGAN-28 on the embedded 5k digits: label
embedding concatenated to z, label maps concatenated to D's input), demo (mnist at half width: `make demo`), folder
(64 px SNGAN ResNets on an image folder whose sub-folders are classes or
styles), cifar10 (the SNGAN-projection CIFAR-10 setup of Miyato & Koyama 2018:
ResNet G with cBN, ResNet D with spectral norm and projection, hinge loss,
n_critic 5, Adam(2e-4, 0, 0.9), batch 64), smoke (tiny, tests).
"""
from genjax import config_lib

# SNGAN ResNets per image size: (G widths, D widths, D down-sampling blocks).
RESNET_ARCH = {
    32: ((256, 256, 256), (128, 128, 128, 128), 2),
    64: ((512, 256, 128, 64), (64, 128, 256, 512, 1024), 4),
}


def get_config(arg: str = "mnist"):
  resnet = arg in ("cifar10", "folder")
  config = config_lib.dcgan("cifar10" if resnet else arg)
  # DCGAN variants: label embedding beside z, label maps beside the image
  # (best of the A/B in README, Conditional generation); ResNets: cBN + projection.
  config.generator.cond = "cbn" if resnet else "concat"
  config.discriminator.cond = "projection" if resnet else "concat"
  config.gan.acgan_weight = 1.0
  if arg == "mnist":  # sized for at most 10 minutes of training on 2 CPU cores
    config.train.num_steps = 3000
  if arg == "demo":  # `make demo`: chosen with experiments/studies/demo.py (3 seeds): at a
    # constant rate, 5,000 steps are the 6,000-step cell's first 5,000, scored there at
    # step 5,000; within 5 minutes of `make demo` on a 2-core machine.
    config.train.num_steps = 5000
  if resnet:
    config.data = config_lib.data_config(arg)
    g_widths, d_widths, num_down = RESNET_ARCH[config.data.image_size]
    config.generator = dict(name="resnet_generator", widths=g_widths, start_size=4,
                            out_channels=config.data.channels, cond="cbn")
    config.discriminator = dict(name="resnet_discriminator", widths=d_widths,
                                num_down=num_down, cond="projection", spectral_norm=True)
    config.gan.update(loss="hinge", z_dim=128, n_critic=5, ema_decay=0.9999)
    config.optim_g = config_lib.adam(2e-4, 0.0, 0.9)
    config.optim_d = config_lib.adam(2e-4, 0.0, 0.9)
    config.train.update(batch_size=64, num_steps=50_000, sample_every=2000,
                        checkpoint_every=2000)
  return config
