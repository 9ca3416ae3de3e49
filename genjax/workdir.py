"""A run directory: its config.json and data.json, and `Run`, the method of a
config on a mesh, which restores the directory's checkpoints and compiles its
train step and predict functions. Everything that reads a workdir starts here."""
import contextlib
import dataclasses
import hashlib
import json
import os
import socket
import threading
import time
from typing import Optional

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

import genjax
from genjax import checkpoint, config_lib, data, errors, images, methods, parallel
from genjax.data import tasks
from genjax.models import compute

CONFIG_FILE = "config.json"
DATA_FILE = "data.json"  # data.DataInfo of the training source: fields, class names
# Keys a resumed run may change. The first ones do not change what is computed
# (train.cpu_conv_kernels changes float rounding only); the learning rates of
# every optimizer section (<section>.lr, e.g. lower after a divergence) and
# train.num_steps (the length of a decaying schedule too) change it on purpose.
# Every change is appended to workdir/history.jsonl.
RESUMABLE_CHANGES = {
    "train.num_steps", "train.cpu_scheduler", "train.cpu_conv_kernels", "train.log_every",
    "train.checkpoint_every", "train.sample_every", "train.keep_checkpoints",
    "train.progress", "train.tensorboard", "train.nonfinite", "train.max_skips_in_row",
    "data.workers", "data.cache",  # the same batches with any worker count, cached or not
    "train.conv_impl"}  # float rounding only


def resumable_changes(config) -> set:
  """RESUMABLE_CHANGES and the learning rate of each of the config's optimizers."""
  return RESUMABLE_CHANGES | {f"{name}.lr" for name in config_lib.optimizer_sections(config)}
HISTORY_FILE = "history.jsonl"


def config_hash(config) -> str:
  return hashlib.sha256(config.to_json(sort_keys=True).encode()).hexdigest()[:12]


def _write(path: str, text: str):
  with open(path + ".tmp", "w") as f:
    f.write(text)
  os.replace(path + ".tmp", path)


def save(config, info: data.DataInfo, workdir: str):
  """Writes workdir/config.json and data.json; a resumed run must use the same
  config (up to RESUMABLE_CHANGES)."""
  path = os.path.join(workdir, CONFIG_FILE)
  if jax.process_index() != 0:
    return
  if os.path.exists(path):
    old = load_config(workdir)
    if config_hash(old) != config_hash(config):
      new, prev = config_lib.flatten(config), config_lib.flatten(old)
      changed = sorted(k for k in new.keys() | prev.keys() if new.get(k) != prev.get(k))
      allowed = resumable_changes(config)
      if "train.precision" in changed:
        raise errors.InputError(
            f"This run was trained in {prev.get('train.precision')} (train.precision, "
            f"{path}); a resumed run cannot switch precision. Resume with "
            f"--config.train.precision={prev.get('train.precision')}, or start a new "
            "--workdir.")
      if set(changed) - allowed:
        raise errors.InputError(
            f"{path} holds a different config (keys differ: {', '.join(changed)}). "
            f"Resume with the same config (only {', '.join(sorted(allowed))} "
            "may change) or use a new --workdir.")
      with open(os.path.join(workdir, HISTORY_FILE), "a") as f:
        f.write(json.dumps({"time": time.time(), "config_hash": config_hash(config),
                            "changed": {k: [prev.get(k), new.get(k)] for k in changed}}) + "\n")
  os.makedirs(workdir, exist_ok=True)
  _write(path, config.to_json(indent=2, sort_keys=True))
  _write(os.path.join(workdir, DATA_FILE), info.to_json())


def log_event(workdir: str, event: str, **details):
  """Appends {time, event, ...} to workdir/history.jsonl (process 0): starts,
  resumes, ends and preemptions of runs, beside the config changes."""
  if jax.process_index() != 0:
    return
  os.makedirs(workdir, exist_ok=True)
  with open(os.path.join(workdir, HISTORY_FILE), "a") as f:
    f.write(json.dumps({"time": time.time(), "event": event, **details}, default=str) + "\n")


FILES_FILE = "data_files.json"  # {path under data.path: content hash} of file-backed data


def check_data_files(config, workdir: str, accept_change: bool = False):
  """Records the training files' hashes at the first run; on resume, refuses a
  folder whose files were added, removed or changed (another data order and
  split would follow silently) unless `accept_change`, which records the new
  list and the change in history.jsonl."""
  if jax.process_index() != 0:
    return
  files = data.file_manifest(config.data)
  path = os.path.join(workdir, FILES_FILE)
  if files is None:
    return
  if os.path.exists(path):
    with open(path) as f:
      old = json.load(f)
    added = sorted(files.keys() - old.keys())
    removed = sorted(old.keys() - files.keys())
    changed = sorted(k for k in files.keys() & old.keys() if files[k] != old[k])
    if not (added or removed or changed):
      return
    what = ", ".join(f"{len(v)} {name} (e.g. {v[0]})" for name, v in
                     (("added", added), ("removed", removed), ("changed", changed)) if v)
    if not accept_change:
      raise errors.InputError(
          f"The files under data.path {config.data.path!r} changed since this run started "
          f"({what}; recorded in {path}). Restore them, or resume with "
          "--accept_data_change to train on the new contents from here (the split and "
          "order will differ), or use a new --workdir.")
    print(f"Data files changed ({what}); continuing with them (--accept_data_change).")
    with open(os.path.join(workdir, HISTORY_FILE), "a") as f:
      f.write(json.dumps({"time": time.time(), "data_files": {
          "added": len(added), "removed": len(removed), "changed": len(changed)}}) + "\n")
  os.makedirs(workdir, exist_ok=True)
  _write(path, json.dumps(files, indent=0, sort_keys=True))


LOCK_FILE = ".lock"


def _alive(pid: int) -> bool:
  try:
    os.kill(pid, 0)
  except ProcessLookupError:
    return False
  except PermissionError:
    return True
  return True


@contextlib.contextmanager
def lock(workdir: str):
  """One training run per workdir: workdir/.lock holds the owner's pid and
  host. A second run fails at once naming them; a lock whose process is gone
  (same host) is stale and taken over with a note. Only process 0 locks."""
  if jax.process_index() != 0:
    yield
    return
  os.makedirs(workdir, exist_ok=True)
  path = os.path.join(workdir, LOCK_FILE)
  me = {"pid": os.getpid(), "host": socket.gethostname()}
  for _ in range(2):
    try:
      fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
      try:
        with open(path) as f:
          owner = json.load(f)
      except (OSError, ValueError):
        owner = {"pid": -1, "host": me["host"]}  # unreadable: a crash mid-write
      if owner.get("host") != me["host"] or _alive(int(owner.get("pid", -1))):
        raise errors.StateError(
            f"{workdir!r} is in use by another genjax run (pid {owner.get('pid')} on "
            f"{owner.get('host')}; lock file {path}). Wait for it, stop it, or use another "
            "--workdir; delete the lock file only if that process is gone.") from None
      print(f"Removing a stale lock of pid {owner.get('pid')} (no longer running): {path}")
      os.remove(path)
      continue
    with os.fdopen(fd, "w") as f:
      json.dump(me, f)
    break
  try:
    yield
  finally:
    with contextlib.suppress(FileNotFoundError):
      os.remove(path)


def load_config(workdir: str) -> ml_collections.ConfigDict:
  path = os.path.join(workdir, CONFIG_FILE)
  if not os.path.exists(path):
    raise errors.MissingError(f"No {CONFIG_FILE} in workdir {workdir!r}: is it a "
                            "genjax run directory (made by genjax.train)?")
  with open(path) as f:
    return config_lib.upgrade(ml_collections.ConfigDict(json.load(f)))


def load_info(workdir: str, config) -> data.DataInfo:
  """The workdir's data.json; runs saved before it existed describe their
  training source again."""
  path = os.path.join(workdir, DATA_FILE)
  if os.path.exists(path):
    with open(path) as f:
      return data.DataInfo.from_json(f.read())
  return data.describe(data.build_source(config.data, config.data.split))


NONFINITE_POLICIES = ("stop", "skip")


@dataclasses.dataclass(frozen=True)
class Inference:
  """How Run.translate applies an image-to-image run to a whole image, as
  genjax.translate, genjax.evaluate, genjax.zoo evaluate and the paired
  evaluator pass it on: tile / overlap, the tiling of large images in input
  pixels (images.tiled); direction, "AtoB" or "BtoA" for two-way translators
  (CycleGAN); self_ensemble, the mean over the 8 flips and rotations
  (images.self_ensemble); back_project, super-resolution's iterations of
  back-projection onto the input (tasks.back_project; None: the run's
  data.back_project); adapt, super-resolution's steps of test-time adaptation
  to each image first (Run.adapt; 0 = off)."""
  tile: int = 256
  overlap: int = 32
  direction: str = "AtoB"
  self_ensemble: bool = False
  back_project: Optional[int] = None
  adapt: int = 0

  def changed(self) -> list:
    """The names of the options not at their defaults."""
    return [f.name for f in dataclasses.fields(self) if getattr(self, f.name) != f.default]

  def tags(self) -> list:
    """Names of the options that change the outputs, for file names: x8, bpN,
    adaptN (tiling changes them at the seams only; direction is the task)."""
    return (["x8"] if self.self_ensemble else []) + (
        [f"bp{self.back_project}"] if self.back_project is not None else []) + (
        [f"adapt{self.adapt}"] if self.adapt else [])


# Test-time adaptation (Run.adapt): crops per step, their side in output pixels
# (internal pairs of side / factor -> side), the initial Adam rate, the seed.
ADAPT_BATCH, ADAPT_SIDE, ADAPT_LR, ADAPT_SEED = 16, 48, 3e-4, 11


class Run:
  """A config's method on a mesh: shardings, abstract state, the compiled train
  step and the jitted predict functions (compiled once per run, so periodic
  previews and evaluations never retrace)."""

  def __init__(self, config, info: data.DataInfo, mesh=None):
    self.config, self.info = config, info
    self.mesh = mesh if mesh is not None else parallel.make_mesh()
    if config.train.nonfinite not in NONFINITE_POLICIES:
      raise errors.InputError(f"Unknown train.nonfinite {config.train.nonfinite!r}; use "
                       f"{' or '.join(NONFINITE_POLICIES)}.")
    self.policy = compute.from_config(config.train)  # conv impl and precision, once
    self.method = methods.build(config, info)
    self.hash = config_hash(config)
    self._step_options = parallel.step_compiler_options(config.train)
    dummy = data.dummy_batch(info.fields)
    init = lambda rng: self.method.init_state(rng, data.normalize(dummy, info.fields))
    # The state's shapes come from the initialiser's own trace, which
    # init_state's call then reuses instead of tracing it again.
    out = parallel.replicated(self.mesh)
    self._init = self.jit(init, out_shardings=out)
    with jax.threefry_partitionable(False):  # as init_state calls it
      self.abstract_state = self._init.eval_shape(jax.random.PRNGKey(0))
    self.state_sharding = jax.tree.map(lambda _: out, self.abstract_state)
    m = self.method
    self._generate = m.generate and self.jit(m.generate, static_argnums=2, out_shardings=out)
    self._generate_from = m.generate_from and self.jit(m.generate_from, out_shardings=out)
    self._sample_latents = m.generate_from and self.jit(m.sample_latents, static_argnums=1,
                                                        out_shardings=out)
    self._encode = m.encode and self.jit(
        lambda s, x, y: m.encode(s, data.normalize_images(x), y), out_shardings=out)
    self._activations = m.latent_activations and self.jit(m.latent_activations,
                                                         out_shardings=out)
    self._preview = m.preview and self.jit(
        lambda s, b, r: m.preview(s, data.normalize(b, info.fields), r), out_shardings=out)
    self._translate = m.translate and self.jit(
        lambda s, b, d: m.translate(s, data.normalize(b, info.fields), d),
        static_argnums=2, out_shardings=out)
    self._adapt_step = m.adapt_step and self.jit(
        lambda p, o, b, lr: m.adapt_step(p, o, data.normalize(b, info.fields), lr))

  def jit(self, fn, **kwargs):
    """jax.jit of fn traced under the run's compute policy (precision, conv impl)."""
    return jax.jit(compute.under(self.policy, fn), **kwargs)

  def init_state(self):
    # Partitionable threefry makes XLA:CPU compile parameter initialisers ~5x
    # slower (seconds per conv layer); initial values need no partitioning.
    with jax.threefry_partitionable(False):
      return self._init(jax.random.PRNGKey(self.config.seed))

  @property
  def sharded_abstract_state(self):
    """The state's shapes, dtypes and shardings (nothing allocated)."""
    return jax.tree.map(lambda a, s: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=s),
                        self.abstract_state, self.state_sharding)

  def restore(self, ckpt: checkpoint.Checkpointer, step=None):
    """(state, meta) of the latest (or given) checkpoint."""
    return ckpt.restore(self.sharded_abstract_state, step)

  def start(self, make_state, example):
    """(make_state(), the train step compiled for global batches like
    `example`): the step is traced, lowered and compiled on a second thread
    while make_state (init_state, or a restore) runs on this one. Both take
    seconds, mostly in XLA's compiler, which leaves cores idle (the SNGAN
    step: 30 s to a compiled step one after the other, 23 s together on 2
    cores). `example` is a batch of this process's source (its first row is
    repeated to this process's share of a global batch); a train batch of
    other shapes or types is refused by the compiled step."""
    local = self.method.images_per_step // jax.process_count()
    batch = parallel.global_batch(
        {k: np.repeat(np.asarray(v)[:1], local, axis=0) for k, v in example.items()}, self.mesh)
    out = {}

    def compile_step():
      try:
        out["step"] = self.compile_train_step().lower(self.sharded_abstract_state,
                                                      batch).compile()
      except BaseException as e:  # raised on the caller's thread
        out["error"] = e

    # A daemon thread: an error in make_state is raised at once and the
    # process may exit without waiting for the compiler.
    thread = threading.Thread(target=compile_step, name="genjax-compile-step", daemon=True)
    thread.start()
    state = make_state()
    thread.join()
    if "error" in out:
      raise out["error"]
    return state, out["step"]

  def compile_train_step(self):
    """The jitted, donated train step on normalised sharded batches. With
    train.nonfinite=skip, a step whose new state or metrics hold a NaN/Inf
    keeps the old state (only the step counter advances, so the data order
    and resume stay as they were) and reports metrics["skipped"] = 1."""
    fields, skip = self.info.fields, self.config.train.nonfinite == "skip"

    def step(state, batch):
      new, metrics = self.method.train_step(state, data.normalize(batch, fields))
      if skip:
        ok = checkpoint.all_finite((new, metrics))
        new = jax.tree.map(lambda a, b: jnp.where(ok, a, b), new,
                           state.replace(step=new.step))
        metrics = dict(metrics, skipped=1.0 - ok.astype(jnp.float32))
      return new, metrics

    return self.jit(
        step,
        in_shardings=(self.state_sharding, parallel.data_sharded(self.mesh)),
        out_shardings=(self.state_sharding, parallel.replicated(self.mesh)),
        donate_argnums=0, compiler_options=self._step_options)

  def generate(self, state, num: int, seed: int, labels=None, batch_size: int = 500,
               truncation: float = 1.0):
    """num images (float32 numpy in [-1, 1]) from the method's generate; labels
    (int array of num, or None) condition them where the method is
    conditional; latents are pulled towards the mean by `truncation` (1 = off)."""
    if self._generate is None:
      raise errors.InputError(f"Method {self.config.method!r} does not generate images.")
    out = []
    for i in range(0, num, batch_size):
      n = min(batch_size, num - i)
      key = jax.random.fold_in(jax.random.PRNGKey(seed), i)
      y = None if labels is None else parallel.replicate(
          np.asarray(labels[i:i + n], np.int32), self.mesh)
      out.append(np.asarray(self._generate(state, key, n, y, truncation)))
    return np.concatenate(out)

  def _latent_method(self, what: str):
    if self._generate_from is None:
      raise errors.InputError(f"Method {self.config.method!r} has no latent space to {what} "
                       "(GANs and VAEs have).")

  def sample_latents(self, seed: int, num: int) -> np.ndarray:
    """num latents from the prior, a pure function of (seed, num)."""
    self._latent_method("sample")
    return np.asarray(self._sample_latents(jax.random.PRNGKey(seed), num))

  def generate_from(self, state, latents, labels=None, batch_size: int = 500) -> np.ndarray:
    """Images (float32 numpy in [-1, 1]) from latents [n, latent_dim]; labels:
    class indices [n] or class weights [n, num_classes] (conditional runs)."""
    self._latent_method("generate from")
    out = []
    for i in range(0, len(latents), batch_size):
      z = parallel.replicate(np.asarray(latents[i:i + batch_size], np.float32), self.mesh)
      y = None if labels is None else parallel.replicate(np.asarray(labels[i:i + batch_size]),
                                                         self.mesh)
      out.append(np.asarray(self._generate_from(state, z, y)))
    return np.concatenate(out)

  def encode(self, state, uint8_images, labels=None, batch_size: int = 500):
    """(mean, logvar) numpy arrays of q(z | x) for uint8 NHWC images (VAEs)."""
    if self._encode is None:
      raise errors.InputError(f"Method {self.config.method!r} has no encoder (VAEs have): images "
                       "cannot be mapped to latents.")
    means, logvars = [], []
    for i in range(0, len(uint8_images), batch_size):
      x = parallel.replicate(np.asarray(uint8_images[i:i + batch_size]), self.mesh)
      y = None if labels is None else parallel.replicate(
          np.asarray(labels[i:i + batch_size], np.int32), self.mesh)
      mean, logvar = self._encode(state, x, y)
      means.append(np.asarray(mean))
      logvars.append(np.asarray(logvar))
    return np.concatenate(means), np.concatenate(logvars)

  def latent_activations(self, state, latents, labels=None) -> np.ndarray:
    """The generator's first-layer activations [n, F] for latents (GANs)."""
    if self._activations is None:
      raise errors.InputError(f"Method {self.config.method!r} exposes no generator activations "
                       "(GANs do): use the VAE traversal instead.")
    z = parallel.replicate(np.asarray(latents, np.float32), self.mesh)
    y = None if labels is None else parallel.replicate(np.asarray(labels), self.mesh)
    return np.asarray(self._activations(state, z, y))

  def adapt(self, state, inputs: dict, steps: int, lr: float = ADAPT_LR, seed: int = 0):
    """The state with its EMA parameters (the ones translation uses) fine-tuned
    for `steps` steps on pairs cut from this image's own input
    (tasks.internal_pairs: ADAPT_BATCH crops of ADAPT_SIDE px, downsampled
    again by the sr task): Adam from rate lr with a cosine decay to 0 on the
    run's loss. Super-resolution only (internal_pairs checks the task)."""
    if self._adapt_step is None:
      raise errors.InputError(f"Test-time adaptation (--adapt) applies to super-resolution "
                              f"runs of method 'regression', not {self.config.method!r}; "
                              "leave it out.")
    unit = self.method.multiple * self.method.scale  # crop sides the network takes
    side = ADAPT_SIDE // unit * unit or unit
    rng = np.random.default_rng([ADAPT_SEED, seed])
    params = state.ema_params
    opt_state = methods.regression.ADAPT_TX.init(params)
    schedule = optax.cosine_decay_schedule(lr, max(steps, 1))  # 0 steps: the state as it is
    for i in range(steps):
      batch = tasks.internal_pairs(inputs["input"], self.config.data.get("task", ""), rng,
                                   ADAPT_BATCH, side, self.config.data)
      rate = np.float32(schedule(i))
      params, opt_state = self._adapt_step(params, opt_state,
                                           parallel.replicate(batch, self.mesh), rate)
    return state.replace(ema_params=params)

  def translate(self, state, inputs: dict, how: Inference = Inference()) -> np.ndarray:
    """One image of any size: `inputs` maps the method's input fields (input,
    mask) to uint8 HWC arrays; returns the float32 HWC output in [-1, 1],
    computed tile by tile when larger than how.tile, with the options of
    `how` (Inference)."""
    if self._translate is None:
      raise errors.InputError(f"Method {self.config.method!r} does not translate images.")
    if how.direction not in self.method.directions:
      raise errors.InputError(f"Method {self.config.method!r} translates "
                       f"{' and '.join(self.method.directions)} only (got --direction "
                       f"{how.direction}).")
    task = self.config.data.task
    back_project = (self.config.data.get("back_project", 0) if how.back_project is None
                    else how.back_project)
    if back_project and task not in tasks.SR_FACTORS:
      raise errors.InputError(f"Back-projection applies to super-resolution runs (data.task "
                              f"sr2 or sr4), not {task or self.config.method!r}; leave "
                              "--back_project out.")
    if how.adapt:  # after the checks: adaptation takes minutes
      state = self.adapt(state, inputs, how.adapt)
    fn = lambda b: self._translate(state, parallel.replicate(b, self.mesh), how.direction)
    whole = lambda ins: images.tiled(fn, ins, how.tile, how.overlap, self.method.multiple,
                                     self.method.scale)
    out = images.self_ensemble(whole, inputs) if how.self_ensemble else whole(inputs)
    return tasks.back_project(out, inputs["input"], task, back_project) if back_project else out

  def preview(self, state, batch, seed: int):
    """(rows, cols, H, W, C) float32 numpy images for a grid, or None."""
    if self._preview is None:
      return None
    key = jax.random.fold_in(jax.random.PRNGKey(seed), 0)
    return np.asarray(self._preview(state, parallel.replicate(batch, self.mesh), key))

  def provenance(self, step: int, **extra):
    return dict(step=int(step), config_hash=self.hash, method=self.config.method,
                genjax_version=genjax.__version__, **extra)


def open_run(workdir: str, mesh=None):
  """(run, checkpointer) of an existing workdir (read-only use)."""
  config = load_config(workdir)
  ckpt_dir = os.path.join(workdir, "checkpoints")
  if not os.path.isdir(ckpt_dir):
    raise errors.MissingError(f"No checkpoints in workdir {workdir!r}; train it first.")
  return Run(config, load_info(workdir, config), mesh), checkpoint.Checkpointer(ckpt_dir)


def restore_workdir(workdir: str, step=None, mesh=None):
  """(run, state, meta) for the latest (or given) checkpoint of a workdir."""
  run, ckpt = open_run(workdir, mesh)
  with ckpt:
    state, meta = run.restore(ckpt, step)
  return run, state, meta
