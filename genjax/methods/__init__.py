"""Method registry. A method (see common.Method) is built from (config, data
info) and provides init_state, a pure train_step, optional held-out metrics
(eval_step/finalize_eval), its predict functions (generate, ...) and preview,
the image grid the train loop writes."""
from genjax import errors
from genjax.methods.classifier import Classifier
from genjax.methods.cyclegan import CycleGAN
from genjax.methods.gan import GAN
from genjax.methods.pix2pix import Pix2Pix
from genjax.methods.regression import Regression
from genjax.methods.vae import VAE
from genjax.registry import Registry

METHODS = Registry("method", "method")
METHODS["gan"] = GAN
METHODS["vae"] = VAE
METHODS["classifier"] = Classifier
METHODS["regression"] = Regression
METHODS["pix2pix"] = Pix2Pix
METHODS["cyclegan"] = CycleGAN


def build(config, info):
  """The method named by config.method for data described by `info` (data.DataInfo)."""
  method = METHODS[config.method](config, info)
  missing = [name for name in method.needs if name not in info.fields]
  if missing:
    raise errors.InputError(
        f"Method {config.method!r} needs example field(s) {', '.join(missing)}, but data "
        f"source {config.data.source!r} provides only {', '.join(info.fields)} "
        "(config key data.source; labels come from sub-folders, TFDS label_key or an "
        ".npz 'labels' array).")
  return method
