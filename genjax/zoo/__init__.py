"""Released restorers: small trained image-to-image models that ship inside
genjax and apply with no training and no network.

  python -m genjax.translate --model denoise --input noisy/ --output clean/ [--sigma 25]
  python -m genjax.zoo list                                  # models and their cards
  python -m genjax.zoo evaluate denoise --out runs/zoo_eval  # held-out + external photos
  python -m genjax.zoo build denoise [--workdir runs/zoo/denoise]   # retrain one
  python -m genjax.zoo export --workdir runs/mine --out DIR  # any run of yours

A model is a folder (genjax/zoo/<name>/ for the released ones): config.json
and data.json of the run that trained it, params.npz (its EMA parameters,
stored in float16) and card.json (provenance: the recipe, steps, data,
training wall time, and the released parameters' evaluation on the held-out
and external photos beside the classical baselines; per-image results and
figures stay in the build's workdir, under released/eval/). `build` trains the
committed recipe (RECIPES) from scratch, evaluates and exports it: the
released files are its output.
"""
import json
import os
import shutil
import time

import jax
import numpy as np

import genjax
from genjax import config_lib, errors, launch, parallel, run as run_lib
from genjax import workdir as workdir_lib
from genjax.evaluators import paired

ZOO_DIR = os.path.dirname(os.path.abspath(__file__))
PARAMS_FILE, CARD_FILE = "params.npz", "card.json"
# name -> the committed recipe that trains it (a config file of this checkout).
RECIPES = {"denoise": "configs/restore.py:release_denoise",
           "sr2": "configs/restore.py:release_sr2",
           "sr4": "configs/restore.py:release_sr4",
           "inpaint": "configs/restore.py:release_inpaint"}
EVAL_SPLITS = ("test", "external")  # the card's evaluation: held-out and external photos


def available() -> list:
  """Names of the released models present in this installation."""
  return sorted(n for n in os.listdir(ZOO_DIR)
                if os.path.exists(os.path.join(ZOO_DIR, n, PARAMS_FILE)))


def folder_of(model: str) -> str:
  """A released model's folder, or `model` itself when it is a model folder."""
  folder = model if os.path.isdir(model) else os.path.join(ZOO_DIR, model)
  if not os.path.exists(os.path.join(folder, PARAMS_FILE)):
    have = ", ".join(available()) or "none"
    raise errors.MissingError(
        f"No released model {model!r} (released here: {have}). Build one with "
        f"python -m genjax.zoo build NAME (NAME in {', '.join(RECIPES)}), or give a folder "
        "written by python -m genjax.zoo export.")
  return folder


def _flat(params) -> dict:
  return {jax.tree_util.keystr(p): np.asarray(x)
          for p, x in jax.tree_util.tree_leaves_with_path(params)}


def load(model: str):
  """(run, state, card) of a released model (name or folder); the state holds
  the released parameters as its EMA parameters, which translation uses, and
  the step they were trained to."""
  folder = folder_of(model)
  config = workdir_lib.load_config(folder)
  run = workdir_lib.Run(config, workdir_lib.load_info(folder, config))
  state = run.init_state()
  with np.load(os.path.join(folder, PARAMS_FILE)) as f:
    stored = dict(f)
  want = _flat(state.ema_params)
  if stored.keys() != want.keys() or any(stored[k].shape != want[k].shape for k in want):
    raise errors.InputError(
        f"{os.path.join(folder, PARAMS_FILE)} does not match the model of its config.json "
        "(different parameter names or shapes): export the model again.")
  leaves, treedef = jax.tree_util.tree_flatten_with_path(state.ema_params)
  values = [stored[jax.tree_util.keystr(p)].astype(np.float32) for p, _ in leaves]
  ema = jax.device_put(jax.tree_util.tree_unflatten(treedef, values),
                       parallel.replicated(run.mesh))
  with open(os.path.join(folder, CARD_FILE)) as f:
    card = json.load(f)
  step = jax.device_put(np.int32(card["step"]), parallel.replicated(run.mesh))
  return run, state.replace(ema_params=ema, step=step), card


def export(workdir: str, out: str, step=None, extra: dict = None, name: str = "") -> str:
  """Writes a run's (latest or given) EMA parameters as a model folder `out`:
  config.json, data.json, params.npz (float16) and card.json, whose name is
  `name` (default: out's folder name). Returns out."""
  run, state, meta = workdir_lib.restore_workdir(workdir, step)
  if run.method.translate is None:
    raise errors.InputError(f"{workdir!r} is a {run.config.method!r} run: only image-to-image "
                            "runs (genjax.translate) can be exported as restorers.")
  os.makedirs(out, exist_ok=True)
  for file in (workdir_lib.CONFIG_FILE, workdir_lib.DATA_FILE):
    shutil.copyfile(os.path.join(workdir, file), os.path.join(out, file))
  params = {k: v.astype(np.float16) for k, v in _flat(state.ema_params).items()}
  np.savez_compressed(os.path.join(out, PARAMS_FILE), **params)
  card = {"name": name or os.path.basename(os.path.normpath(out)), "task": run.config.data.task,
          "step": int(meta["step"]), "config_hash": run.hash,
          "parameters": int(sum(v.size for v in params.values())), "stored_as": "float16",
          "data": _data_card(run.config.data), "genjax_version": genjax.__version__,
          "exported": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()), **(extra or {})}
  _write_card(out, card)
  return out


def _write_card(folder: str, card: dict):
  with open(os.path.join(folder, CARD_FILE), "w") as f:
    json.dump(card, f, indent=2)


def _data_card(cfg) -> dict:
  out = {"source": cfg.source, "patch": cfg.image_size, "task": cfg.task}
  if cfg.source == "photos":
    from genjax.data import photos
    held = photos.heldout_names(cfg)
    out.update(trained_on=[p for p in photos.PHOTOS if p not in held], heldout=list(held),
               external=list(photos.EXTERNAL), augment=cfg.augment)
  if cfg.task == "denoise":
    out.update(noise_std=cfg.noise_std, noise_std_min=cfg.noise_std_min,
               noise_std_max=cfg.noise_std_max, noise_map=cfg.noise_map,
               prefilter=cfg.prefilter)
  return out


# A card's evaluation per split: the photos, the mean and spread, the baselines' (evaluate()
# adds the per-image rows).
CARD_KEYS = ("images", "method", "method_std", "baselines", "baselines_std")


def evaluate(model: str, out_dir: str, splits=EVAL_SPLITS,
             how: workdir_lib.Inference = workdir_lib.Inference()) -> dict:
  """split -> the paired evaluation (per image, mean, spread, baselines) of a
  model's released parameters, applied as `how` says (workdir.Inference;
  back_project None: the model's own); JSON and figures go to out_dir/eval/."""
  return _evaluate(model, out_dir, splits, (how,))[how]


def _evaluate(model: str, out_dir: str, splits, hows) -> dict:
  """how -> split -> evaluate()'s result, for each workdir.Inference in
  `hows`, from one evaluator per split, which degrades the photos and scores
  the baselines once."""
  run, state, card = load(model)
  out = {how: {} for how in hows}
  for split in splits:
    ev = paired.PairedEvaluator(run, out_dir, split=split)
    for how in hows:
      ev.how = how  # the evaluator's files are named for it (paired_..._x8_...)
      r = ev(state, card["step"])
      out[how][split] = {k: r[k] for k in CARD_KEYS + ("per_image", "baselines_per_image")}
  return out


def build(name: str, workdir: str, out: str = "", overrides: dict = None,
          self_ensemble: bool = False) -> str:
  """Trains the recipe RECIPES[name] in workdir (resuming), exports it as the
  model `name` to `out` (default: the released folder genjax/zoo/<name>;
  built elsewhere, the folder can be copied there unchanged), evaluates the exported
  parameters on EVAL_SPLITS, and with the x8 self-ensemble too where asked
  (the card's evaluation_x8), and records it all in the card."""
  if name not in RECIPES:
    raise errors.InputError(f"Unknown released model {name!r}; choose one of "
                            f"{', '.join(RECIPES)}.")
  recipe = RECIPES[name]
  config = config_lib.load(recipe)
  config_lib.apply_overrides(config, overrides or {}, f"python -m genjax.zoo build {name}")
  t0 = time.time()
  run_lib.train_and_evaluate(config, workdir, origin={"config": recipe,
                                                      "overrides": overrides or {}})
  out = out or os.path.join(ZOO_DIR, name)
  export(workdir, out, extra={"recipe": recipe, "overrides": overrides or {},
                              "train_wall_time_s": round(_train_time(workdir, t0)),
                              "machine": launch.machine()}, name=name)
  with open(os.path.join(out, CARD_FILE)) as f:
    card = json.load(f)
  # the per-image results and figures stay in the run's workdir; the card keeps the summary
  plain, x8 = workdir_lib.Inference(), workdir_lib.Inference(self_ensemble=True)
  results = _evaluate(out, os.path.join(workdir, "released"), EVAL_SPLITS,
                      (plain, x8) if self_ensemble else (plain,))
  for how, key in ((plain, "evaluation"), (x8, "evaluation_x8")):
    if how in results:
      card[key] = {split: {k: r[k] for k in CARD_KEYS} for split, r in results[how].items()}
  _write_card(out, card)
  return out


def _train_time(workdir: str, t0: float) -> float:
  """Seconds of training recorded in the run's history (all attempts), or the
  time since t0 where the history has none."""
  path = os.path.join(workdir, workdir_lib.HISTORY_FILE)
  total = 0.0
  if os.path.exists(path):
    with open(path) as f:
      for line in f:
        total += json.loads(line).get("wall_s", 0.0)  # end / preempted / failed events
  return total or time.time() - t0
