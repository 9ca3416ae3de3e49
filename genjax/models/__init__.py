"""Model registry: `build(cfg)` makes a module from a config with a `name` key."""
from genjax import errors
from genjax.models import classifier, dcgan, patchgan, resblocks, resnet, translator, unet, vae
from genjax.registry import Registry

MODELS = Registry("model", "<model>.name")
MODELS["dcgan_generator"] = dcgan.Generator
MODELS["dcgan_discriminator"] = dcgan.Discriminator
MODELS["resnet_generator"] = resnet.Generator
MODELS["resnet_discriminator"] = resnet.Discriminator
MODELS["conv_vae"] = vae.ConvVAE
MODELS["conv_classifier"] = classifier.ConvClassifier
MODELS["unet"] = unet.UNet
MODELS["resblocks"] = resblocks.ResidualRestorer
MODELS["patchgan"] = patchgan.PatchDiscriminator
MODELS["resnet_translator"] = translator.ResnetTranslator


def build(cfg, **overrides):
  """Builds a registered module from a ConfigDict/dict holding `name` + fields."""
  fields = dict(cfg)
  fields.update(overrides)
  name = fields.pop("name")
  cls = MODELS[name]
  fields = {k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()}
  try:
    return cls(**fields)
  except TypeError as e:
    raise errors.InputError(f"Bad fields for model {name!r}: {e}. "
                     f"Valid fields: {', '.join(cls.__dataclass_fields__)}") from None
