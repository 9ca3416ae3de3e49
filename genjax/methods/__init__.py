"""Method registry. A method object provides init_state(rng, batch),
train_step(state, batch), eval_step(state, batch, rng) (or None),
finalize_eval(sums, image_shape), sample(state, rng, n) (or None),
images_per_step and
summary_keys (metrics shown on the progress bar)."""
from genjax.methods.classifier import Classifier
from genjax.methods.gan import GAN
from genjax.methods.vae import VAE
from genjax.registry import Registry

METHODS = Registry("method", "method")
METHODS["gan"] = GAN
METHODS["vae"] = VAE
METHODS["classifier"] = Classifier


def build(config):
  return METHODS[config.method](config)
