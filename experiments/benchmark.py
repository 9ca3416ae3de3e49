"""Training throughput against this machine's matmul ceiling, in one run.

  python -m experiments.benchmark                      # all workloads, table
  python -m experiments.benchmark --workload dcgan28 --json
  python -m experiments.benchmark --conv_impl xla      # plain lax convolutions

For each workload (built from the normal configs) it reports the median train
step time, images/s, analytic FLOPs per step, achieved GFLOP/s and its fraction
of the sustained fp32 GEMM rate measured in the same run (2048^3 jnp.dot), the
compile time, and the input pipeline's images/s on its own.

FLOPs follow the PyTorch FLOP-counter convention: every conv and dense layer
counts forward + input-gradient + weight-gradient, 2 FLOPs per multiply-add.
A GAN step is one D update on a real and a fake batch and one G update through
D on that fake batch (D runs 3 times, G once); a VAE step is encoder + decoder.
"""
import json
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np
from absl import app, flags

from configs import dcgan, vae
from genjax import data, parallel, run
from genjax.data import sources

FLAGS = flags.FLAGS
flags.DEFINE_string("workload", "all", "dcgan64, dcgan28, vae28 or all.")
flags.DEFINE_bool("json", False, "Also print one JSON line per workload.")
flags.DEFINE_string("conv_impl", "auto", "Convolution implementation: auto, gemm, xla.")
flags.DEFINE_integer("steps", 10, "Timed steps per workload (after 2 warm-up steps).")

WORKLOADS = {  # name -> (config module, variant, overrides)
    "dcgan64": (dcgan, "celeba64", {"train.batch_size": 64}),
    "dcgan28": (dcgan, "mnist", {"train.batch_size": 128}),
    "vae28": (vae, "mnist", {"train.batch_size": 128}),
}


def workload_config(name, conv_impl):
  module, variant, overrides = WORKLOADS[name]
  cfg = module.get_config(variant)
  for key, value in overrides.items():
    section, field = key.split(".")
    cfg[section][field] = value
  for section in ("generator", "discriminator", "model"):
    if section in cfg:
      cfg[section].conv_impl = conv_impl
  return cfg


def count_macs(fn, *args) -> int:
  """Multiply-adds of every dot_general and convolution in fn's forward jaxpr."""
  def walk(jaxpr):
    total = 0
    for eqn in jaxpr.eqns:
      name = eqn.primitive.name
      if name == "dot_general":
        (lc, rc), (lb, _) = eqn.params["dimension_numbers"]
        lhs, rhs = eqn.invars[0].aval.shape, eqn.invars[1].aval.shape
        contract = np.prod([lhs[d] for d in lc])
        total += int(np.prod(eqn.outvars[0].aval.shape) * contract)
      elif name == "conv_general_dilated":
        rhs = eqn.invars[1].aval.shape
        spec = eqn.params["dimension_numbers"].rhs_spec  # (out, in, spatial...)
        per_out = np.prod([rhs[d] for d in spec[1:]])
        total += int(np.prod(eqn.outvars[0].aval.shape) * per_out)
      for sub in _subjaxprs(eqn.params):  # jit, custom_jvp, ... bodies
        total += walk(sub)
    return total
  return walk(jax.make_jaxpr(fn)(*args).jaxpr)


def _subjaxprs(params):
  for v in params.values():
    for item in (v if isinstance(v, (list, tuple)) else [v]):
      if hasattr(item, "jaxpr") and hasattr(item.jaxpr, "eqns"):
        yield item.jaxpr
      elif hasattr(item, "eqns"):
        yield item


def step_flops(name: str) -> float:
  """Analytic FLOPs of one train step (see module docstring), counted on the
  GEMM forms, whose multiply-adds are exactly the convolutions' (lax's
  transposed convolution would count the zeros of its dilated input)."""
  r = run.Run(workload_config(name, "gemm"))
  m, cfg = r.method, r.config
  batch_size = cfg.train.batch_size
  shape = (batch_size, cfg.data.image_size, cfg.data.image_size, cfg.data.channels)
  x = jnp.zeros(shape)
  st = r.abstract_state
  if cfg.method == "gan":
    z = jnp.zeros((batch_size, m.z_dim))
    g = count_macs(lambda p, bs: m._generate(p, bs, z)[0], st.g.params, st.g.batch_stats)
    d = count_macs(lambda p, bs: m._d_apply(p, bs, x)[0], st.d.params, st.d.batch_stats)
    macs = 3 * d + g
  else:
    macs = count_macs(lambda p: m.model.apply({"params": p}, x, jax.random.PRNGKey(0)),
                      st.net.params)
  return 2.0 * 3.0 * macs


def gemm_ceiling(n=2048, reps=10) -> float:
  """Sustained fp32 GFLOP/s of an n x n x n jnp.dot (median of reps)."""
  a = jax.random.normal(jax.random.PRNGKey(0), (n, n))
  b = jax.random.normal(jax.random.PRNGKey(1), (n, n))
  f = jax.jit(jnp.dot)
  f(a, b).block_until_ready()
  times = []
  for _ in range(reps):
    t = time.perf_counter()
    f(a, b).block_until_ready()
    times.append(time.perf_counter() - t)
  return 2 * n ** 3 / statistics.median(times) / 1e9


def pipeline_rate(cfg, batch_size, seconds=2.0):
  """images/s of the input pipeline alone (the config's source when it can be
  opened here, else a synthetic in-memory source of the same shape)."""
  try:
    source, kind = data.build_source(cfg.data, cfg.data.split), cfg.data.source
  except (FileNotFoundError, ValueError):
    shape = (2048, cfg.data.image_size, cfg.data.image_size, cfg.data.channels)
    source = sources.ArraySource(np.random.default_rng(0).integers(0, 255, shape, np.uint8),
                                 np.zeros(shape[0], np.int32), 1)
    kind = "synthetic (dataset not prepared here)"
  pipe = data.Pipeline(source, batch_size, seed=0)
  n, t, step = 0, time.perf_counter(), 0
  while time.perf_counter() - t < seconds:
    pipe.batch(step)
    n, step = n + batch_size, step + 1
  return n / (time.perf_counter() - t), kind


def bench(name, conv_impl, steps, ceiling):
  cfg = workload_config(name, conv_impl)
  r = run.Run(cfg)
  bs = r.method.images_per_step
  shape = (bs, cfg.data.image_size, cfg.data.image_size, cfg.data.channels)
  rng = np.random.default_rng(0)
  batch = parallel.global_batch(
      {"image": rng.integers(0, 255, shape, np.uint8),
       "label": np.zeros((bs,), np.int32)}, r.mesh)
  state = r.init_state()
  step = r.train_step()
  t = time.perf_counter()
  compiled = step.lower(state, batch).compile()
  compile_s = time.perf_counter() - t
  times = []
  for i in range(steps + 2):
    t = time.perf_counter()
    state, metrics = compiled(state, batch)
    jax.block_until_ready((state, metrics))
    if i >= 2:
      times.append(time.perf_counter() - t)
  median = statistics.median(times)
  flops = step_flops(name)
  pipe, pipe_kind = pipeline_rate(cfg, bs)
  return dict(workload=name, conv_impl=conv_impl, backend=jax.default_backend(),
              devices=jax.device_count(), batch=bs, step_ms=1e3 * median,
              images_per_s=bs / median, gflop_per_step=flops / 1e9,
              gflop_per_s=flops / median / 1e9, ceiling_gflop_per_s=ceiling,
              fraction_of_ceiling=flops / median / 1e9 / ceiling, compile_s=compile_s,
              pipeline_images_per_s=pipe, pipeline_source=pipe_kind,
              pipeline_over_train=pipe / (bs / median))


def main(argv):
  del argv
  names = list(WORKLOADS) if FLAGS.workload == "all" else FLAGS.workload.split(",")
  ceiling = gemm_ceiling()
  print(f"fp32 GEMM ceiling (2048^3 jnp.dot): {ceiling:.1f} GFLOP/s on "
        f"{jax.device_count()} {jax.default_backend()} device(s), conv_impl={FLAGS.conv_impl}")
  header = (f"{'workload':9} {'step ms':>8} {'img/s':>8} {'GFLOP':>7} {'GFLOP/s':>8} "
            f"{'of ceil':>7} {'compile s':>9} {'pipe img/s':>10}")
  print(header)
  for name in names:
    res = bench(name, FLAGS.conv_impl, FLAGS.steps, ceiling)
    print(f"{name:9} {res['step_ms']:8.1f} {res['images_per_s']:8.1f} "
          f"{res['gflop_per_step']:7.1f} {res['gflop_per_s']:8.1f} "
          f"{res['fraction_of_ceiling']:7.2f} {res['compile_s']:9.1f} "
          f"{res['pipeline_images_per_s']:10.0f}", flush=True)
    if FLAGS.json:
      print(json.dumps(res), flush=True)


if __name__ == "__main__":
  app.run(main)
