"""Two image domains for unpaired translation (CycleGAN), in one place: two
folders or two TFDS splits (trainA / trainB ...), and a derived task's inputs
and targets drawn from different examples (data.unpaired)."""
import os

import ml_collections
import numpy as np

from genjax import errors
from genjax.data.folders import FolderSource, folder_manifest
from genjax.data.source import Source, register
from genjax.data.tfds_source import TFDSSource

PERMUTATION_SEED = 0


class Unpaired(Source):
  """Two domains as one source: example i is A[i] (field `input`) and
  B[perm[i]] (field `image`), perm a fixed random permutation of the larger
  domain's indices (seeded by `seed`), the smaller domain wrapping around."""
  aligned = False  # input[i] and image[i] are not a pair

  def __init__(self, a: Source, b: Source, seed=PERMUTATION_SEED):
    self.a, self.b = a, b
    self.n = max(len(a), len(b))
    self.perm = np.random.default_rng(seed).permutation(self.n)
    self.fields = {"input": a.fields["image"], "image": b.fields["image"]}
    self.decodes, self.computes = a.decodes or b.decodes, a.computes or b.computes

  def __len__(self):
    return self.n

  def get(self, indices):
    i = np.asarray(indices)
    return {"input": self.a.get(i % len(self.a))["image"],
            "image": self.b.get(self.perm[i] % len(self.b))["image"]}


def _domains(split):
  if split not in ("train", "test"):
    raise errors.InputError(f"Unpaired sources have splits train and test (data.split / "
                            f"data.eval_split), not {split!r}.")
  return f"{split}A", f"{split}B"


@register("unpaired_folder")
class UnpairedFolder(Unpaired):
  """data.path holding trainA/ trainB/ testA/ testB/ (the CycleGAN datasets'
  layout), one image folder per domain and split."""

  def __init__(self, cfg, split):
    sides = []
    for name in _domains(split):
      path = os.path.join(os.path.expanduser(cfg.path), name)
      if not os.path.isdir(path):
        raise errors.MissingError(f"No folder {path!r}: data.path of an unpaired folder holds "
                                  "trainA/, trainB/, testA/ and testB/ (config key data.path).")
      side = ml_collections.ConfigDict(cfg.to_dict())
      side.update(path=path, holdout_fraction=0.0)
      sides.append(FolderSource(side, "all"))
    super().__init__(*sides)

  @classmethod
  def manifest(cls, cfg) -> dict:
    return folder_manifest(cfg)


@register("unpaired_tfds")
class UnpairedTFDS(Unpaired):
  """A TFDS dataset with one split per domain, e.g. cycle_gan/horse2zebra
  (trainA, trainB, testA, testB)."""

  def __init__(self, cfg, split):
    super().__init__(*(TFDSSource(cfg, name) for name in _domains(split)))
