"""Steering a trained generator (GAN or VAE), the Python API genjax.sample is
built on: interpolation through latent space (and, for conditional runs,
from class to class), the truncation trick, traversals (a VAE's latent
dimensions by KL; a GAN's principal directions, GANSpace) and attribute
vectors. Every function is a pure function of the run, its state and the
seeds given: the same arguments give the same images, bit for bit.

Images come back as float32 numpy arrays in [-1, 1]: frames [T, rows, H, W, C]
for animations, grids [rows, cols, H, W, C] otherwise."""
import os

import numpy as np

from genjax import data, errors, images, latents

TRAVERSE_VALUES = tuple(np.linspace(-3.0, 3.0, 7))


def keypoint_latents(run, seeds) -> np.ndarray:
  """One prior latent per seed, [len(seeds), latent_dim]."""
  return np.concatenate([run.sample_latents(int(s), 1) for s in seeds])


def _rows_of(run, labels):
  """Labels of the rows: each given class for a conditional run, one
  unconditional row otherwise."""
  if run.method.num_classes:
    return list(labels) if labels else list(range(run.method.num_classes))
  if labels:
    raise errors.InputError("This run is unconditional: labels (--labels) need a run trained with "
                     "conditioning.")
  return [None]


def _generate_rows(run, state, z, rows):
  """[len(z), len(rows), ...]: the latents z decoded once per row's label."""
  out = [run.generate_from(state, z, None if c is None else np.full(len(z), c, np.int32))
         for c in rows]
  return np.stack(out, 1)


def interpolate(run, state, seeds, frames: int, spherical: bool = True, labels=None):
  """A path through the latents of `seeds` (slerp, or lerp), `frames` per
  segment: frames [T, rows, ...], one row per class of `labels` (all classes
  by default) for a conditional run."""
  z = latents.path(keypoint_latents(run, seeds), frames, spherical)
  return _generate_rows(run, state, z, _rows_of(run, labels))


def morph(run, state, classes, frames: int, seeds):
  """Class to class at fixed latents (conditional runs): the label's one-hot
  weights move linearly through `classes` (the label embedding or label maps
  follow), `frames` per segment; frames [T, len(seeds), ...]."""
  k = run.method.num_classes
  if not k:
    raise errors.InputError("A class morph (--morph) needs a conditional run (e.g. configs/cgan.py).")
  if len(classes) < 2:
    raise errors.InputError(f"A class morph needs at least two classes (got {list(classes)}).")
  weights = latents.path(np.eye(k, dtype=np.float32)[list(classes)], frames, spherical=False)
  z = keypoint_latents(run, seeds)
  out = [run.generate_from(state, np.repeat(z[i:i + 1], len(weights), 0), weights)
         for i in range(len(z))]
  return np.stack(out, 1)


def truncation_grid(run, state, psis, rows: int, seed: int, labels=None):
  """[rows, len(psis), ...]: the same latents (rows) pulled towards the mean
  latent by each truncation psi (columns; 1 = the prior, 0 = the mean). A
  conditional run's rows cycle through `labels` (default: all classes)."""
  z = run.sample_latents(seed, rows)
  mean = np.asarray(run.method.mean_latent())
  classes = _rows_of(run, labels)
  y = None if classes == [None] else np.asarray(classes, np.int32)[np.arange(rows) % len(classes)]
  cols = [run.generate_from(state, latents.truncate(z, float(p), mean), y) for p in psis]
  return np.stack(cols, 1)


def vae_traversal(run, state, num_dims: int, values=TRAVERSE_VALUES, label=None,
                  split: str = ""):
  """A VAE's latent dimensions, most informative first: the mean KL per
  dimension of the posterior over `split` (default data.eval_split) orders
  them; row i walks dimension order[i] through `values` (prior standard
  deviations) from the prior mean, the others at 0. Returns (grid, order, kl)."""
  cfg = run.config.data
  ex = data.split_examples(cfg, split or cfg.eval_split)
  conditional = run.method.num_classes > 0
  mean, logvar = run.encode(state, ex["image"], ex["label"] if conditional else None)
  kl = latents.kl_per_dim(mean, logvar)
  order = np.argsort(-kl, kind="stable")[:num_dims]
  rows = []
  for d in order:
    z = np.zeros((len(values), run.method.latent_dim), np.float32)
    z[:, d] = values
    y = np.full(len(values), label or 0, np.int32) if conditional else None
    rows.append(run.generate_from(state, z, y))
  return np.stack(rows), order, kl


def gan_traversal(run, state, num_dims: int, seed: int, values=TRAVERSE_VALUES, label=None,
                  num_latents: int = 2000):
  """A GAN's top principal directions (GANSpace: PCA of the generator's
  first-layer activations for `num_latents` prior draws, mapped back to the
  latents by least squares); row i moves the latent of `seed` along direction
  i by `values` standard deviations of that component. Returns (grid,
  directions, explained variance ratios)."""
  conditional = run.method.num_classes > 0
  y = lambda n: np.full(n, label or 0, np.int32) if conditional else None
  z = run.sample_latents(seed + 1, num_latents)
  directions, _, ratio = latents.principal_directions(
      run.latent_activations(state, z, y(num_latents)), z, num_dims)
  base = run.sample_latents(seed, 1)
  values = np.asarray(values, np.float32)
  rows = [run.generate_from(state, base + values[:, None] * d[None], y(len(values)))
          for d in directions]
  return np.stack(rows), directions, ratio


def traverse(run, state, num_dims: int, seed: int, values=TRAVERSE_VALUES, label=None):
  """vae_traversal for runs with an encoder, gan_traversal otherwise; returns
  (grid, description of the rows)."""
  if run.method.encode is not None:
    grid, order, kl = vae_traversal(run, state, num_dims, values, label)
    return grid, [f"z[{d}] (KL {kl[d]:.2f} nats)" for d in order]
  grid, _, ratio = gan_traversal(run, state, num_dims, seed, values, label)
  return grid, [f"principal direction {i} ({r:.1%} of the variance)"
                for i, r in enumerate(ratio)]


def _class_index(run, name):
  names = list(run.info.class_names or [])
  if name in names:
    return names.index(name)
  if str(name).lstrip("-").isdigit() and 0 <= int(name) < len(names):
    return int(name)
  raise errors.InputError(f"Unknown class {name!r} in an attribute A:B: give a class index "
                   f"0..{len(names) - 1}, a class name ({', '.join(names)}) or an image folder.")


def attribute_sets(run, state, a, b, classify=None, num_latents: int = 2000, seed: int = 0):
  """(latents of set A, latents of set B). With an encoder (VAE): A and B are
  classes of the run's held-out split (by name or index) or image folders,
  encoded to their posterior means. Without (GAN): A and B are classes of
  `classify` (uint8 images -> class probabilities, e.g. a genjax classifier),
  which labels `num_latents` generated samples."""
  if run.method.encode is not None:
    cfg = run.config.data
    ex = None
    sets = []
    for spec in (a, b):
      if os.path.isdir(spec):
        imgs = data.load_image_set(spec, cfg.image_size, cfg.channels)
      else:
        ex = ex if ex is not None else data.split_examples(cfg, cfg.eval_split)
        if "label" not in ex:
          raise errors.InputError(f"Data {cfg.source!r} has no labels: give two image folders as "
                           "the attribute's A:B.")
        imgs = ex["image"][ex["label"] == _class_index(run, spec)]
      sets.append(run.encode(state, imgs)[0])
    return tuple(sets)
  if classify is None:
    raise errors.InputError("A GAN has no encoder: attribute vectors need a classifier that labels "
                     "its samples (--classifier DIR of a configs/classifier.py run).")
  z = run.sample_latents(seed + 2, num_latents)
  predicted = np.argmax(classify(images.to_uint8(run.generate_from(state, z))), -1)
  ia, ib = (_class_index(run, s) if run.info.class_names else int(s) for s in (a, b))
  return z[predicted == ia], z[predicted == ib]


def attribute(run, state, a, b, strengths, rows: int, seed: int, classify=None):
  """[rows, len(strengths), ...]: latents of set A (encoded examples, or
  samples labelled A) moved by strength x (mean latent of B - mean latent of
  A); 0 keeps them. Returns (grid, the attribute vector)."""
  if run.method.num_classes:
    raise errors.InputError("Attribute vectors steer unconditional runs; a conditional run changes "
                     "class through its label (--morph A:B).")
  za, zb = attribute_sets(run, state, a, b, classify, seed=seed)
  vector = latents.attribute_vector(za, zb)
  base = za[:rows]
  cols = [run.generate_from(state, base + float(s) * vector) for s in strengths]
  return np.stack(cols, 1), vector
