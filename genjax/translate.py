"""Translate every image in a folder with a trained image-to-image run, or
with a released restorer (genjax.zoo: denoise, sr2, sr4, inpaint) and no
training at all.

  python -m genjax.translate --model denoise --input noisy/ --output clean/ [--sigma 25]
  python -m genjax.translate --workdir runs/denoise --input noisy/ --output clean/
  python -m genjax.translate --workdir runs/inpaint --input damaged/ --mask masks/ \
      --output restored/ [--tile 256] [--overlap 32]
  python -m genjax.translate --model sr2 --input small/ --output large/ [--adapt 500]
  python -m genjax.translate --workdir runs/cyclegan --input zebras/ --output horses/ \
      --direction BtoA

Images of any size and mode (grey, RGB, RGBA composited on white, palette) are
converted to the run's input channels; outputs keep the file names (for sr2 /
sr4 they are 2x / 4x larger). Images larger than --tile run tile by tile,
overlapping by --overlap pixels and blended. Masks: same file name in --mask,
white = hole (the input's pixels under the hole are ignored).
"""
import os

import jax
import numpy as np
from absl import app, flags, logging
from PIL import Image

from genjax import cli, data, errors, images, launch, workdir as workdir_lib, zoo
from genjax.data import tasks

FLAGS = flags.FLAGS


def define_flags():
  """Flags of this entry point (defined only when run as a program)."""
  flags.DEFINE_string("workdir", None, "Run directory of an image-to-image run.")
  flags.DEFINE_string("model", None, "Instead of --workdir: a released restorer (python -m "
                      "genjax.zoo list) or a folder written by python -m genjax.zoo export.")
  flags.DEFINE_float("sigma", None, "Denoisers given the noise level (data.noise_map, "
                     "data.prefilter=nl_means): the inputs' noise std on the 0..255 scale "
                     "(default: the run's data.noise_std).")
  flags.DEFINE_string("input", None, "Folder of input images.")
  flags.DEFINE_string("output", None, "Folder for the outputs (same file names).")
  flags.DEFINE_string("mask", None, "Folder of masks (inpainting: white = hole; harmonisation: "
                      "white = the pasted region), same file names as the inputs.")
  flags.DEFINE_integer("tile", 256, "Tile side in input pixels (larger images are tiled).")
  flags.DEFINE_integer("overlap", 32, "Overlap of neighbouring tiles in input pixels.")
  flags.DEFINE_integer("step", None, "Checkpoint step (default: latest).")
  cli.define_inference_flags()
  flags.DEFINE_enum("direction", "AtoB", ["AtoB", "BtoA"], "Two-way translators (CycleGAN): "
                    "domain A -> B (the training `input` -> `image`) or back.")
  launch.define_device_flags()
  flags.mark_flags_as_required(["input", "output"])


def read_image(path: str, channels: int) -> np.ndarray:
  """uint8 HWC (channels 1 or 3) of an image file of any mode, at its size."""
  try:
    with Image.open(path) as img:
      img.load()
      return data.to_channels(img, channels)
  except (OSError, SyntaxError) as e:
    raise errors.InputError(f"Cannot read image {path!r}: {e}.") from None


def open_translator(workdir=None, model=None, step=None):
  """(run, state) of a workdir's checkpoint (latest or `step`) or a released model."""
  if bool(workdir) == bool(model):
    raise errors.InputError("Give --workdir (a run of yours) or --model (a released restorer: "
                            f"{', '.join(zoo.available()) or 'none here'}), not both.")
  if model:
    if step is not None:
      raise errors.InputError("--step applies to --workdir runs; a released model has one.")
    return zoo.load(model)[:2]
  return workdir_lib.restore_workdir(workdir, step)[:2]


def add_task_inputs(r, inputs: dict, sigma: float = None):
  """A restorer's inputs beyond the image (and mask), made from them: a
  denoiser's std map (data.noise_map) for the noise std `sigma` (0..255) and
  the output of its classical prefilter (data.prefilter: non-local means at
  `sigma`, or the biharmonic fill of an inpainter's holes)."""
  if "noise" in r.info.fields:
    inputs["noise"] = tasks.noise_map(inputs["input"].shape, sigma)
  if "prefilter" in r.info.fields:
    inputs.update(tasks.prefilter(r.config.data.prefilter, inputs, sigma,
                                  r.config.data.task))
  return inputs


def translate_folder(workdir, input_dir, output_dir, mask_dir=None,
                     how: workdir_lib.Inference = workdir_lib.Inference(), step=None,
                     model=None, sigma=None):
  """Translates every image of input_dir into output_dir with a run (workdir)
  or a released model, applied as `how` says; returns the names."""
  r, state = open_translator(workdir, model, step)
  workdir = workdir or model
  fields = r.info.fields
  noise_aware = r.config.data.get("task") == "denoise" and ("noise" in fields
                                                            or "prefilter" in fields)
  if sigma is not None and not noise_aware:
    raise errors.InputError(f"--sigma: {workdir!r} takes no noise level (only denoisers "
                            "trained with data.noise_map or data.prefilter=nl_means do); leave it out.")
  if noise_aware:
    sigma = r.config.data.noise_std if sigma is None else sigma
  if "input" not in fields:
    raise errors.InputError(f"{workdir!r} is a {r.config.method!r} run without an `input` field; "
                     "genjax.translate needs an image-to-image run (e.g. configs/restore.py).")
  mask_key = next((k for k in ("mask", "region") if k in fields), None)
  if mask_key and not mask_dir:
    raise errors.InputError(f"{workdir!r} {'inpaints' if mask_key == 'mask' else 'harmonises'}: give "
                     "--mask DIR (same file names, white = the hole / pasted region).")
  channels = fields["input" if how.direction == "AtoB" else "image"].shape[-1]
  if not os.path.isdir(input_dir):
    raise errors.MissingError(f"Input folder {input_dir!r} (--input) does not exist.")
  names = sorted(n for n in os.listdir(input_dir)
                 if n.lower().endswith(data.IMAGE_EXTENSIONS))
  if not names:
    raise errors.MissingError(f"No images ({', '.join(data.IMAGE_EXTENSIONS)}) in {input_dir!r}.")
  os.makedirs(output_dir, exist_ok=True)
  for name in names:
    inputs = {"input": read_image(os.path.join(input_dir, name), channels)}
    if mask_key:
      path = os.path.join(mask_dir, name)
      if not os.path.exists(path):
        raise errors.MissingError(f"No mask {path!r} for input {name!r} (--mask).")
      mask = read_image(path, 1)
      if mask.shape[:2] != inputs["input"].shape[:2]:
        raise errors.InputError(f"Mask {path!r} is {mask.shape[1]}x{mask.shape[0]}, its image "
                         f"{inputs['input'].shape[1]}x{inputs['input'].shape[0]}.")
      inputs[mask_key] = (mask > 127).astype(np.uint8)
    add_task_inputs(r, inputs, sigma)
    out = images.to_uint8(r.translate(state, inputs, how))
    if jax.process_index() == 0:  # every process translates; one writes
      Image.fromarray(out[..., 0] if out.shape[-1] == 1 else out).save(
          os.path.join(output_dir, name))
  return names


def main(argv):
  del argv
  launch.setup()  # before any JAX op: CPU split, multi-process run
  if not FLAGS["verbosity"].present:
    logging.set_verbosity(logging.WARNING)
  how = workdir_lib.Inference(tile=FLAGS.tile, overlap=FLAGS.overlap, direction=FLAGS.direction,
                              **cli.inference_flags())
  names = translate_folder(FLAGS.workdir, FLAGS.input, FLAGS.output, FLAGS.mask, how,
                           FLAGS.step, FLAGS.model, FLAGS.sigma)
  print(f"Translated {len(names)} image(s) into {FLAGS.output}")


if __name__ == "__main__":
  define_flags()
  app.run(cli.clear_errors(main), flags_parser=cli.parse_flags)
