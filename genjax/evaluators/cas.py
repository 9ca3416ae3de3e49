"""Classification accuracy score (CAS, Ravuri & Vinyals 2019): accuracy on real
held-out data of a classifier trained only on labelled generated samples,
beside the same classifier trained on the real training split (the bound)."""
import json
import os
import time

import ml_collections
import numpy as np

import genjax
from genjax import config_lib, data, errors, workdir as workdir_lib
from genjax.evaluators.heldout import heldout_metrics


def classification_accuracy_score(samples_npz, data_cfg, workdir, train, num_steps=1500,
                                  batch_size=128, seed=0, real_bound=True):
  """CAS of `samples_npz` (images + labels) on data_cfg's eval split; the
  classifiers are trained by `train(config, workdir) -> state` (the train loop,
  passed in by the caller so evaluators never import it). Writes workdir/cas.json."""
  t0 = time.time()
  real_cfg = config_lib.classifier_config(data_cfg)
  real_cfg.train.update(num_steps=num_steps, batch_size=batch_size, progress=False,
                        checkpoint_every=num_steps)
  real_cfg.evals.heldout.every = num_steps
  real_cfg.seed = seed
  synth_cfg = config_lib.classifier_config(data_cfg)
  synth_cfg.update_from_flattened_dict({"data.source": "npz", "data.path": samples_npz,
                                        "data.split": "all", "data.eval_split": "all"})
  synth_cfg.train.update(real_cfg.train.to_dict())
  synth_cfg.evals.update(real_cfg.evals.to_dict())
  synth_cfg.seed = seed
  real_info = data.describe(data.build_source(data_cfg, data_cfg.split))
  judge = workdir_lib.Run(real_cfg, real_info)  # evaluates on the real held-out split
  results = {"real": None}
  for name, cfg in (("cas", synth_cfg), ("real", real_cfg))[:2 if real_bound else 1]:
    state = train(cfg, os.path.join(workdir, f"classifier_{name}"))
    results[name] = heldout_metrics(judge, state, data_cfg.eval_split)["accuracy"]
  result = {"cas_accuracy": results["cas"], "real_accuracy": results["real"],
            "provenance": dict(samples=os.path.abspath(samples_npz),
                               dataset=f"{data_cfg.source}:{data_cfg.name}",
                               eval_split=data_cfg.eval_split, num_steps=num_steps,
                               seed=seed, genjax_version=genjax.__version__,
                               wall_time_s=time.time() - t0)}
  with open(os.path.join(workdir, "cas.json"), "w") as f:
    json.dump(result, f, indent=2)
  return result


def augmentation_gain(samples_npz, data_cfg, workdir, train, per_class=20,
                      counts=(0, 1000, 10000), seeds=(0, 1, 2), num_steps=500,
                      batch_size=128):
  """Generated data as extra training data: a classifier trained on the first
  `per_class` real examples of each class plus the first `count` labelled
  samples, for each count (0 = the small real set alone) and seed, scored on
  the real held-out split. Writes workdir/augment.json; returns it."""
  t0 = time.time()
  small = ml_collections.ConfigDict(data_cfg.to_dict())
  small.per_class = per_class
  real = data.build_source(small, small.split)
  real = real.get(np.arange(len(real)))
  synth_images, synth_labels = data.read_npz(samples_npz)
  if synth_labels is None:
    raise errors.InputError(f"{samples_npz} has no 'labels': sample a conditional run "
                     "(genjax.sample writes them).")
  judge = workdir_lib.Run(config_lib.classifier_config(data_cfg),
                          data.describe(data.build_source(data_cfg, data_cfg.split)))
  rows = []
  for count in counts:
    mixed = os.path.join(workdir, f"train_{count}.npz")
    os.makedirs(workdir, exist_ok=True)
    np.savez(mixed, images=np.concatenate([real["image"], synth_images[:count]]),
             labels=np.concatenate([real["label"], synth_labels[:count]]).astype(np.int32))
    accs = []
    for seed in seeds:
      cfg = config_lib.classifier_config(data_cfg)
      cfg.update_from_flattened_dict({"data.source": "npz", "data.path": mixed,
                                      "data.split": "all", "data.eval_split": "all"})
      cfg.train.update(num_steps=num_steps, batch_size=batch_size, progress=False,
                       checkpoint_every=num_steps)
      cfg.evals.heldout.every = 0
      cfg.seed = seed
      state = train(cfg, os.path.join(workdir, f"classifier_{count}_seed{seed}"))
      accs.append(heldout_metrics(judge, state, data_cfg.eval_split)["accuracy"])
    rows.append({"synthetic": count, "real": len(real["image"]), "accuracy": accs,
                 "mean": float(np.mean(accs)), "std": float(np.std(accs))})
  base = rows[0]["mean"]
  for row in rows:
    row["gain"] = row["mean"] - base
  result = {"rows": rows, "provenance": dict(
      samples=os.path.abspath(samples_npz), dataset=f"{data_cfg.source}:{data_cfg.name}",
      per_class=per_class, eval_split=data_cfg.eval_split, num_steps=num_steps,
      seeds=list(seeds), genjax_version=genjax.__version__, wall_time_s=time.time() - t0)}
  with open(os.path.join(workdir, "augment.json"), "w") as f:
    json.dump(result, f, indent=2)
  return result
