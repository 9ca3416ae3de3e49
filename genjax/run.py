"""A training run as a library: train_and_evaluate(config, workdir), plus the
pieces the other entry points share (config hashing, restoring a workdir)."""
import hashlib
import json
import os
import signal
import time

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

import genjax
from genjax import checkpoint, config_lib, data, images, methods, parallel
from genjax.logging import MetricWriter, Progress

CONFIG_FILE = "config.json"
# Keys a resumed run may change: they do not change what is computed
# (train.cpu_conv_kernels changes float rounding only).
RESUMABLE_CHANGES = {"train.num_steps", "train.cpu_scheduler", "train.cpu_conv_kernels"}
# train.cpu_scheduler -> XLA:CPU's instruction scheduler for the train step.
# "memory" runs the step's independent ops closer to one after another; on a
# few cores that keeps each kernel's threads to itself. vae28 measured 0.80x
# the step time of "default" on a busy machine and 0.99x on a quiet one
# (experiments/benchmark.py --cpu_scheduler memory,default).
CPU_SCHEDULERS = {"memory": "CPU_SCHEDULER_TYPE_MEMORY_OPTIMIZED",
                  "default": "CPU_SCHEDULER_TYPE_DEFAULT",
                  "concurrency": "CPU_SCHEDULER_TYPE_CONCURRENCY_OPTIMIZED"}
# train.cpu_conv_kernels -> which kernels run the train step's convolutions on
# XLA:CPU: "eigen", XLA's built-in ones, or "ynnpack", the YNNPACK library
# (XLA's default in jaxlib 0.10.2). With the fast conv layers "eigen" measured
# 0.82x (vae28), 0.88x (dcgan28) and 0.90x (dcgan64) the step time of
# "ynnpack" (one-process interleaved A/B); since their weight gradients became
# convolutions too, "ynnpack" takes 1.8-2.4x as long (README, Performance).
# "eigen" passes XLA's default YNNPACK fusion types without convolution: the
# default compiles to the same program as reduce + individual dot + individual
# convolution.
CPU_CONV_KERNELS = {"eigen": {"xla_cpu_experimental_ynn_fusion_type":
                              "LIBRARY_FUSION_TYPE_REDUCE,LIBRARY_FUSION_TYPE_INDIVIDUAL_DOT"},
                    "ynnpack": {}}


def config_hash(config) -> str:
  return hashlib.sha256(config.to_json(sort_keys=True).encode()).hexdigest()[:12]


def save_config(config, workdir: str):
  """Writes workdir/config.json; a resumed run must use the same config."""
  path = os.path.join(workdir, CONFIG_FILE)
  text = config.to_json(indent=2, sort_keys=True)
  if os.path.exists(path) and jax.process_index() == 0:
    old = load_config(workdir)
    if config_hash(old) != config_hash(config):
      new, prev = _flatten(config), _flatten(old)
      changed = sorted(k for k in new.keys() | prev.keys() if new.get(k) != prev.get(k))
      if set(changed) - RESUMABLE_CHANGES:
        raise ValueError(
            f"{path} holds a different config (keys differ: {', '.join(changed)}). "
            f"Resume with the same config (only {', '.join(sorted(RESUMABLE_CHANGES))} "
            "may change) or use a new --workdir.")
  if jax.process_index() == 0:
    os.makedirs(workdir, exist_ok=True)
    with open(path + ".tmp", "w") as f:
      f.write(text)
    os.replace(path + ".tmp", path)


def _flatten(cfg, prefix=""):
  out = {}
  for k, v in cfg.items():
    if isinstance(v, (dict, ml_collections.ConfigDict)):
      out.update(_flatten(v, f"{prefix}{k}."))
    else:
      out[prefix + k] = list(v) if isinstance(v, tuple) else v
  return out


def load_config(workdir: str) -> ml_collections.ConfigDict:
  path = os.path.join(workdir, CONFIG_FILE)
  if not os.path.exists(path):
    raise FileNotFoundError(f"No {CONFIG_FILE} in workdir {workdir!r}: is it a "
                            "genjax run directory (made by genjax.train)?")
  with open(path) as f:
    return ml_collections.ConfigDict(json.load(f))


def step_compiler_options(train_config):
  """XLA options for the train step on the CPU backend: train.cpu_scheduler
  and train.cpu_conv_kernels."""
  chosen, defaults = [], config_lib.train_config()
  for key, choices in (("cpu_scheduler", CPU_SCHEDULERS), ("cpu_conv_kernels", CPU_CONV_KERNELS)):
    # Configs saved before the key existed get today's default.
    name = train_config.get(key, defaults[key])
    if name not in choices:
      raise ValueError(f"train.{key}={name!r} is not one of {', '.join(choices)}; "
                       "fix the config.")
    chosen.append(name)
  if jax.default_backend() != "cpu":
    return None
  scheduler, kernels = chosen
  return {"xla_cpu_scheduler_type": CPU_SCHEDULERS[scheduler], **CPU_CONV_KERNELS[kernels]}


class Run:
  """Method, mesh, shardings and (abstract) state for a config."""

  def __init__(self, config, mesh=None):
    self.config = config
    self.mesh = mesh if mesh is not None else parallel.make_mesh()
    self.method = methods.build(config)
    self.hash = config_hash(config)
    self._step_options = step_compiler_options(config.train)
    init = lambda rng: self.method.init_state(rng, data.dummy_batch(config.data))
    self.abstract_state = jax.eval_shape(init, jax.random.PRNGKey(0))
    self.state_sharding = jax.tree.map(lambda _: parallel.replicated(self.mesh),
                                       self.abstract_state)
    self._init = jax.jit(init, out_shardings=self.state_sharding)
    # Jitted once per run, so periodic sampling and evaluation never retrace.
    if self.method.sample is not None:
      self._sample = jax.jit(self.method.sample, static_argnums=2,
                             out_shardings=parallel.replicated(self.mesh))
    if self.method.eval_step is not None:
      self._eval_step = jax.jit(
          lambda s, b, r: self.method.eval_step(s, data.normalize(b), r))

  def init_state(self):
    # Partitionable threefry makes XLA:CPU compile parameter initialisers ~5x
    # slower (seconds per conv layer); initial values need no partitioning.
    with jax.threefry_partitionable(False):
      return self._init(jax.random.PRNGKey(self.config.seed))

  def restore(self, ckpt: checkpoint.Checkpointer, step=None):
    abstract = jax.tree.map(
        lambda a, s: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=s),
        self.abstract_state, self.state_sharding)
    return ckpt.restore(abstract, step)

  def train_step(self):
    """The jitted, donated train step on normalised sharded batches."""
    return jax.jit(
        lambda s, b: self.method.train_step(s, data.normalize(b)),
        in_shardings=(self.state_sharding, parallel.data_sharded(self.mesh)),
        out_shardings=(self.state_sharding, parallel.replicated(self.mesh)),
        donate_argnums=0, compiler_options=self._step_options)

  def sample(self, state, num: int, seed: int, batch_size: int = 500):
    """num images (float32 numpy in [-1, 1]) from the method's sampler."""
    out = []
    for i in range(0, num, batch_size):
      n = min(batch_size, num - i)
      key = jax.random.fold_in(jax.random.PRNGKey(seed), i)
      out.append(np.asarray(self._sample(state, key, n)))
    return np.concatenate(out)

  def provenance(self, step: int, **extra):
    return dict(step=int(step), config_hash=self.hash, method=self.config.method,
                genjax_version=genjax.__version__, **extra)


def restore_workdir(workdir: str, step=None, mesh=None):
  """(run, state, meta) for the latest (or given) checkpoint of a workdir."""
  run = Run(load_config(workdir), mesh)
  ckpt = checkpoint.Checkpointer(os.path.join(workdir, "checkpoints"))
  state, meta = run.restore(ckpt, step)
  ckpt.close()
  return run, state, meta


def evaluate(run: Run, state, split: str):
  """Runs the method's eval_step over a whole split; returns its metrics."""
  method, cfg = run.method, run.config
  if method.eval_step is None:
    return {}
  source = data.build_source(cfg.data, split)
  sums = None
  key = jax.random.PRNGKey(cfg.eval.seed)
  batch_size = -(-cfg.eval.batch_size // run.mesh.size) * run.mesh.size  # padded rows are masked
  for i, batch in enumerate(data.eval_batches(source, batch_size,
                                              jax.process_index(), jax.process_count())):
    out = run._eval_step(state, parallel.global_batch(batch, run.mesh),
                         jax.random.fold_in(key, i))
    sums = out if sums is None else jax.tree.map(jnp.add, sums, out)
  image_shape = (cfg.data.image_size, cfg.data.image_size, cfg.data.channels)
  result = method.finalize_eval(jax.device_get(sums), image_shape)
  return {k: (float(v) if isinstance(v, (np.floating, np.ndarray)) else v)
          for k, v in result.items()}


def _quality_evaluator(config, workdir, method):
  """The in-training sample-quality evaluator, when config.evals.quality asks."""
  q = config.get("evals", {}).get("quality")
  if not q or not q.every or method.sample is None:
    return None
  if not q.extractor:
    raise ValueError("config.evals.quality.every is set but evals.quality.extractor is "
                     "empty; give e.g. --config.evals.quality.extractor=classifier:DIR.")
  from genjax.evaluate import QualityEvaluator  # evaluate imports run lazily too
  return QualityEvaluator(workdir, config, q.extractor, num_samples=q.num_samples,
                          reference_split=q.reference_split or None,
                          seed=config.eval.seed, memorization=q.memorization)


class _Preemption:
  """Turns SIGTERM into a flag the loop checks after each step."""

  def __init__(self):
    self.requested = False
    self._old = signal.signal(signal.SIGTERM, self._handle)

  def _handle(self, *_):
    self.requested = True

  def restore(self):
    signal.signal(signal.SIGTERM, self._old)


def _check_finite(metrics: dict, step: int, last_good):
  for k, v in metrics.items():
    if not np.isfinite(v):
      raise FloatingPointError(
          f"Metric {k!r} is {v} at step {step}. The latest good checkpoint (step "
          f"{last_good}) is untouched; lower the learning rate (config optim*.lr) "
          "or check the data, then rerun to resume from it.")


def train_and_evaluate(config, workdir: str, mesh=None):
  """Trains config in workdir, resuming from its latest checkpoint. Returns
  the final state."""
  t = config.train
  run = Run(config, mesh)
  method, mesh = run.method, run.mesh
  parallel.check_batch(method.images_per_step, mesh)
  save_config(config, workdir)
  source = data.build_source(config.data, config.data.split)
  pipeline = data.Pipeline(source, method.images_per_step, config.seed,
                           jax.process_index(), jax.process_count())
  ckpt = checkpoint.Checkpointer(os.path.join(workdir, "checkpoints"),
                                 t.keep_checkpoints, t.async_checkpoints)
  start = ckpt.latest_step() or 0
  if start:
    state, meta = run.restore(ckpt)
    print(f"Resumed {workdir} from step {start} (data position {meta['data_step']}).")
  else:
    state = run.init_state()

  train_step = run.train_step()
  writer = MetricWriter(workdir, tensorboard=t.tensorboard)
  quality = _quality_evaluator(config, workdir, method)
  progress = Progress(start, t.num_steps, method.images_per_step, t.progress)
  preempt = _Preemption()
  pending, last_good, last_log = [], start, (start, time.time())

  def save(step):
    nonlocal last_good
    ckpt.save(step, state, {"step": step, "data_step": step, "config_hash": run.hash})
    last_good = step

  def flush(step):
    nonlocal pending, last_log
    host = jax.device_get(pending)
    metrics = {k: float(np.mean([m[k] for m in host])) for k in host[0]}
    _check_finite(metrics, step, last_good)
    dt = time.time() - last_log[1]
    metrics["images_per_sec"] = (step - last_log[0]) * method.images_per_step / dt
    writer.write(step, metrics, prefix="train/")
    pending, last_log = [], (step, time.time())
    return metrics

  def write_samples(step):
    imgs = run.sample(state, t.num_grid_samples, config.seed)
    if jax.process_index() == 0:
      images.save_png(os.path.join(workdir, "samples", f"step_{step:06d}.png"),
                      images.grid(images.to_uint8(imgs)),
                      run.provenance(step, seed=config.seed, num=len(imgs)))

  try:
    step = start
    batches = pipeline.iterate(start)
    for step, batch in batches:
      if step >= t.num_steps or preempt.requested:
        break
      state, metrics = train_step(state, parallel.global_batch(batch, mesh))
      pending.append(metrics)
      done = step + 1
      progress.update(1)
      if done % t.log_every == 0 or done == t.num_steps:
        m = flush(done)
        progress.update(0, **{k: m[k] for k in method.summary_keys})
      if done % t.checkpoint_every == 0 or done == t.num_steps:
        if pending:
          flush(done)
        save(done)
      if method.sample is not None and (done % t.sample_every == 0 or done == t.num_steps):
        write_samples(done)
      if method.eval_step is not None and (done % t.eval_every == 0 or done == t.num_steps):
        writer.write(done, evaluate(run, state, config.data.eval_split), prefix="eval/")
      if quality and (done % config.evals.quality.every == 0 or done == t.num_steps):
        quality(run, state, done)
    batches.close()
    if preempt.requested and ckpt.latest_step() != step:
      if pending:
        flush(step)
      save(step)
      print(f"Preempted: saved step {step} to {ckpt.directory}; rerun to resume.")
  finally:
    progress.close()
    preempt.restore()
    ckpt.wait()
    ckpt.close()
    writer.close()
    if quality:
      quality.close()
  return state
