"""Name -> constructor registries with errors that list the valid choices."""
from genjax import errors


class Registry(dict):
  """A dict whose failed lookups name the config key and the valid choices.

  >>> MODELS = Registry("model", "generator.name")
  >>> MODELS["dcgan_generator"] = Generator
  """

  def __init__(self, what: str, config_key: str):
    super().__init__()
    self.what = what
    self.config_key = config_key

  def register(self, name):
    def wrap(obj):
      self[name] = obj
      return obj
    return wrap

  def __missing__(self, name):
    raise errors.InputError(
        f"Unknown {self.what} {name!r} (config key {self.config_key}). "
        f"Choose one of: {', '.join(sorted(self))}.")
