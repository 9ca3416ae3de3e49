"""Training throughput against this machine's matmul ceiling, in one run.

  python -m experiments.benchmark                      # all workloads, table
  python -m experiments.benchmark --workload dcgan28 --json
  python -m experiments.benchmark --conv_impl xla      # plain lax convolutions
  python -m experiments.benchmark --conv_impl fast,xla # both, with step-time ratios
  python -m experiments.benchmark --precision float32,bfloat16  # mixed precision
  python -m experiments.benchmark --cpu_scheduler memory,default  # XLA:CPU scheduler
  python -m experiments.benchmark --cpu_conv_kernels eigen,ynnpack # XLA:CPU conv kernels
  python -m experiments.benchmark --workload vae28 --cpu_devices 2 # data parallel over cores

For each workload (built from the normal configs) it reports the median train
step time, images/s, FLOPs per step (XLA's count), achieved GFLOP/s and its fraction
of the sustained GEMM rate in the variant's precision (the ceiling: a 2048^3
jnp.dot on a CPU, 8192^3 on an accelerator; in float32 at JAX's default matmul
precision, which is TF32 on recent NVIDIA GPUs; in bfloat16 with float32
accumulation), the compile
time (to a compiled step from the config: the run built, its state
initialised while the step is traced, lowered and compiled, as genjax.train
starts), and the input pipeline's images/s on its own (run as training runs
it, with data.workers' default for the backend). Steps are timed as in
training, back to back, in blocks of about --block_seconds, and the ceiling is
timed before each block; the fraction is the median achieved GFLOP/s over the
median ceiling. (A neighbour on a shared machine that takes one core halves the
two-thread GEMM more than it slows a step, so per-block ratios would flatter
the step.) With several variants (--conv_impl, --precision, --cpu_scheduler
and --cpu_conv_kernels lists) their blocks alternate, and the step-time ratios
are medians over neighbouring blocks.

Workloads: dcgan64 / dcgan28 (DCGAN), vae28, sngan32 (the SNGAN ResNets of
configs/cgan.py:cifar10 with 5 D steps per G step), unet_restore (the default
denoiser's U-Net on 64 px patches of noisy input, non-local means and noise
map), pix2pix256 (U-Net + PatchGAN) and cyclegan128 (two
ResNet generators, two PatchGANs). Each is its normal config, built and
compiled as genjax.train does, fed random batches of its fields.

FLOPs per step are XLA's cost analysis of the lowered train step with lax's
convolutions in float32 and loops unrolled (sngan32's D updates, cyclegan128's
residual blocks; the analysis counts a loop's body once), the same for every
variant of a workload: the multiply-adds the step's convolutions and matmuls
perform (2 FLOPs each; taps on padding are not counted) plus elementwise work.
"""
import functools
import json
import math
import os
import statistics
import subprocess
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
from absl import app, flags

from genjax import config_lib, data, parallel, workdir
from genjax.models import compute, kernels

FLAGS = flags.FLAGS
flags.DEFINE_string("workload", "all", "Comma-separated workloads (dcgan64, dcgan28, vae28, "
                    "sngan32, unet_restore, pix2pix256, cyclegan128) or all.")
flags.DEFINE_bool("json", False, "Also print one JSON line per workload.")
flags.DEFINE_string("conv_impl", "auto",
                    "train.conv_impl value(s), comma-separated: auto, fast, gemm, xla.")
flags.DEFINE_string("precision", "float32",
                    "train.precision value(s), comma-separated: float32, bfloat16.")
flags.DEFINE_string("cpu_scheduler", "memory",
                    "train.cpu_scheduler value(s), comma-separated: memory, default, concurrency.")
flags.DEFINE_string("cpu_conv_kernels", "eigen",
                    "train.cpu_conv_kernels value(s), comma-separated: eigen, ynnpack.")
flags.DEFINE_integer("blocks", 8, "Timed blocks per workload, each after a ceiling probe.")
flags.DEFINE_integer("cpu_devices", None, "Split the host CPU into this many devices; the "
                     "step runs data-parallel over them (genjax.train --cpu_devices).",
                     lower_bound=1)
flags.DEFINE_float("block_seconds", 1.0,
                   "Each block runs back-to-back train steps for about this long (>= 2 steps).")
flags.DEFINE_string("pipeline_data", None, "Instead, measure the input pipeline on real data: "
                    "folder:DIR (an image folder, decoded as configs/dcgan.py:folder does), "
                    "tfds:NAME:SPLIT or cache:DIR (a decoded cache), at the --workload's image "
                    "size and batch, with each --pipeline_workers count, against the "
                    "workload's training rate on this machine.")
flags.DEFINE_list("pipeline_workers", ["0", "1", "2"], "--pipeline_data: worker processes.")
flags.DEFINE_float("pipeline_seconds", 4.0, "--pipeline_data: seconds measured per setting.")
flags.DEFINE_string("make_jpegs", None, "Write 2,000 JPEGs of 178x218 px (CelebA's size; "
                    "crops of scikit-image's photos) in two sub-folders of this folder, then "
                    "exit: real encoded data for --pipeline_data folder:DIR.")

# name -> (config, overrides, the fields of its examples). Every workload is
# built from its normal config and timed through the compiled train step the
# training loop uses, on random batches of these fields (no data is read, so
# TFDS-only configs run anywhere; the pipeline is measured on its own).
DIGITS = [str(i) for i in range(10)]
WORKLOADS = {
    "dcgan64": ("configs/dcgan.py:celeba64", {"train.batch_size": 64},
                data.DataInfo({"image": data.image(64, 3)})),
    "dcgan28": ("configs/dcgan.py:mnist", {"train.batch_size": 128},
                data.DataInfo({"image": data.image(28, 1)})),
    "vae28": ("configs/vae.py:mnist", {"train.batch_size": 128},
              data.DataInfo({"image": data.image(28, 1)})),
    "sngan32": ("configs/cgan.py:cifar10", {"train.batch_size": 64},  # 5 D steps per G step
                data.DataInfo({"image": data.image(32, 3), "label": data.LABEL}, DIGITS)),
    "unet_restore": ("configs/restore.py:denoise", {"train.batch_size": 16},  # the default's
                     data.DataInfo({"image": data.image(64, 3), "input": data.image(64, 3),
                                    "prefilter": data.image(64, 3),  # non-local means and
                                    "noise": data.Field("level", (64, 64, 1))})),  # noise map
    "pix2pix256": ("configs/pix2pix.py:folder", {"train.batch_size": 1},
                   data.DataInfo({"image": data.image(256, 3), "input": data.image(256, 3)})),
    "cyclegan128": ("configs/cyclegan.py:folder", {"train.batch_size": 1},
                    data.DataInfo({"image": data.image(128, 3), "input": data.image(128, 3)})),
}


def workload_config(name, conv_impl, precision="float32", cpu_scheduler=None,
                    cpu_conv_kernels=None):
  spec, overrides, info = WORKLOADS[name]
  cfg = config_lib.load(spec)
  cfg.train.conv_impl, cfg.train.precision = conv_impl, precision
  if cpu_scheduler is not None:  # else the config's default
    cfg.train.cpu_scheduler = cpu_scheduler
  if cpu_conv_kernels is not None:
    cfg.train.cpu_conv_kernels = cpu_conv_kernels
  for key, value in overrides.items():
    section, field = key.split(".")
    cfg[section][field] = value
  cfg.data.image_size = info.fields["image"].shape[0]
  return cfg


class Workload:
  """A workload's Run and one random global batch."""

  def __init__(self, name, cfg):
    self.info = WORKLOADS[name][2]
    self.run = workdir.Run(cfg, self.info)
    self.batch_size = bs = self.run.method.images_per_step
    rng = np.random.default_rng(0)
    batch = {}
    for key, f in self.info.fields.items():
      high = max(self.info.num_classes, 1) if f.kind == "label" else 256
      batch[key] = rng.integers(0, high, (bs,) + f.shape).astype(f.dtype)
    self.local_batch = batch
    self.batch = parallel.global_batch(batch, self.run.mesh)

  def lower(self):
    """The train step lowered for the workload's state and batch."""
    return self.run.compile_train_step().lower(self.run.sharded_abstract_state, self.batch)


def parameter_count(name: str) -> int:
  """Trainable parameters of a workload's models (every `params` of its
  state; not the EMA copy, optimiser moments or normalisation statistics)."""
  run = workdir.Run(workload_config(name, "xla"), WORKLOADS[name][2])
  leaves = jax.tree_util.tree_flatten_with_path(run.abstract_state)[0]
  return sum(math.prod(leaf.shape) for path, leaf in leaves
             if jax.tree_util.GetAttrKey("params") in path)


@functools.cache  # the same for every variant
def step_flops(name: str) -> float:
  """FLOPs of one train step by XLA's cost analysis of the step with lax's
  convolutions in float32 (so every convolution is one HLO convolution and
  every variant of a workload is charged the same work). XLA counts the
  multiply-adds a convolution performs, without the taps that fall on
  padding: 0.80x (dcgan28) to 0.9x the PyTorch FLOP-counter convention, which
  counts every tap. Backends whose lowered programs have no cost analysis
  (XLA:GPU) get the count of the same program lowered for the host CPU, in a
  subprocess."""
  with compute.unrolled_loops():  # XLA counts a loop's body once
    cost = Workload(name, workload_config(name, "xla")).lower().cost_analysis()
  if cost is None:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run(
        [sys.executable, "-c", "from experiments import benchmark; "
         f"print(benchmark.step_flops({name!r}))"], cwd=root, capture_output=True,
        text=True, check=True, env=dict(os.environ, JAX_PLATFORMS="cpu"))
    return float(out.stdout.split()[-1])
  return float(cost["flops"])


def ceiling_probe(n=None, min_seconds=0.02):
  """Returns probe(precision) -> GFLOP/s of n x n x n jnp.dots in that
  precision (float32; bfloat16 operands accumulating in float32, as the
  models' bfloat16 layers do), each precision compiled on first use. n
  defaults to 2048 on a CPU (one product ~0.1 s) and 8192 on an accelerator,
  where products are timed back to back for min_seconds (one 2048^3 product
  takes tens of microseconds there, so dispatch would dominate)."""
  n = n or (2048 if jax.default_backend() == "cpu" else 8192)
  a = jax.random.normal(jax.random.PRNGKey(0), (n, n))
  b = jax.random.normal(jax.random.PRNGKey(1), (n, n))

  @functools.cache
  def make(precision):
    dtype = compute.PRECISIONS[precision]
    x, y = a.astype(dtype), b.astype(dtype)
    f = jax.jit(functools.partial(jnp.dot, preferred_element_type=jnp.float32))
    f(x, y).block_until_ready()

    def timed(reps):
      t = time.perf_counter()
      for _ in range(reps):
        out = f(x, y)
      out.block_until_ready()
      return time.perf_counter() - t
    reps = max(1, math.ceil(min_seconds / timed(1)))
    return lambda: reps * 2 * n ** 3 / timed(reps) / 1e9

  return lambda precision="float32": make(precision)()


def pipeline_rate(cfg, batch_size, seconds=2.0):
  """(images/s, source kind, worker processes) of the input pipeline alone,
  run as training runs it (data.workers, whose default depends on the
  backend): the config's source when it can be opened here, else a synthetic
  in-memory source of the same shape."""
  try:
    source, kind = data.build_source(cfg.data, cfg.data.split), cfg.data.source
  except (FileNotFoundError, ValueError, ImportError):  # not prepared / no tfds here
    shape = (2048, cfg.data.image_size, cfg.data.image_size, cfg.data.channels)
    source = data.ArraySource(np.random.default_rng(0).integers(0, 255, shape, np.uint8),
                                 None)
    kind = "synthetic (dataset not prepared here)"
  pipe = data.Pipeline(source, batch_size, seed=0, workers=cfg.data.workers,
                       accelerator=jax.default_backend() != "cpu")
  return images_per_s(pipe, seconds), kind, pipe.workers


def images_per_s(pipe, seconds) -> float:
  """images/s of `pipe`'s batches in order, once every worker has delivered
  a batch (its start-up out of the way)."""
  it = pipe.iterate(0)
  try:
    for _ in range(max(3, pipe.workers + 1)):
      next(it)
    n, t = 0, time.perf_counter()
    while time.perf_counter() - t < seconds:
      next(it)
      n += pipe.local
    return n / (time.perf_counter() - t)
  finally:
    it.close()


class _Variant:
  """One (conv_impl, precision, cpu_scheduler, cpu_conv_kernels) build of a
  workload: compiled step and state."""

  def __init__(self, name, conv_impl, precision, cpu_scheduler, cpu_conv_kernels,
               block_seconds):
    self.conv_impl, self.precision, self.cpu_scheduler = conv_impl, precision, cpu_scheduler
    self.cpu_conv_kernels = cpu_conv_kernels
    self.cfg = workload_config(name, conv_impl, precision, cpu_scheduler, cpu_conv_kernels)
    t = time.perf_counter()
    w = Workload(name, self.cfg)
    # As genjax.train starts: the step compiles while the state initialises.
    self.state, self.compiled = w.run.start(w.run.init_state, w.local_batch)
    self.compile_s = time.perf_counter() - t  # build, initialise, trace, lower, compile
    self.batch_size, self.batch = w.batch_size, w.batch
    for _ in range(2):  # warm-up; the second one sizes the blocks
      t = time.perf_counter()
      self.state, _ = jax.block_until_ready(self.compiled(self.state, self.batch))
    self.per_block = max(2, round(block_seconds / (time.perf_counter() - t)))
    self.times, self.ceilings = [], []

  def run_block(self, probe):
    self.ceilings.append(probe(self.precision))
    t = time.perf_counter()
    for _ in range(self.per_block):
      self.state, metrics = self.compiled(self.state, self.batch)
    jax.block_until_ready((self.state, metrics))
    self.times.append((time.perf_counter() - t) / self.per_block)


def bench(name, variants, blocks, probe, block_seconds=1.0):
  """One result dict per (conv_impl, precision, cpu_scheduler, cpu_conv_kernels)
  in `variants`. The
  variants' blocks alternate, so their step-time ratios (median over blocks,
  `step_time_vs_first`) see the same machine load."""
  flops = step_flops(name)
  runs = [_Variant(name, *variant, block_seconds) for variant in variants]
  for _ in range(blocks):
    for v in runs:
      v.run_block(probe)
  # The variants share the data config and batch size, so the pipeline too.
  pipe, pipe_kind, pipe_workers = pipeline_rate(runs[0].cfg, runs[0].batch_size)
  results = []
  for v in runs:
    median, bs = statistics.median(v.times), v.batch_size
    results.append(dict(
        workload=name, conv_impl=v.conv_impl, precision=v.precision,
        conv_impl_resolved=kernels.resolve_impl(
            v.conv_impl, compute.PRECISIONS[v.precision]), cpu_scheduler=v.cpu_scheduler,
        cpu_conv_kernels=v.cpu_conv_kernels,
        backend=jax.default_backend(), devices=jax.device_count(),
        device_kind=jax.devices()[0].device_kind, batch=bs,
        step_ms=1e3 * median, images_per_s=bs / median, gflop_per_step=flops / 1e9,
        gflop_per_s=flops / median / 1e9, ceiling_gflop_per_s=statistics.median(v.ceilings),
        fraction_of_ceiling=flops / median / 1e9 / statistics.median(v.ceilings),
        step_time_vs_first=statistics.median(
            dt / d0 for dt, d0 in zip(v.times, runs[0].times)),
        compile_s=v.compile_s, steps_timed=blocks * v.per_block,
        pipeline_images_per_s=pipe, pipeline_source=pipe_kind, pipeline_workers=pipe_workers,
        pipeline_over_train=pipe / (bs / median)))
  return results


def make_jpegs(folder: str, count: int = 2000, size=(178, 218), seed: int = 0):
  """`count` JPEGs of `size` (w, h) in folder/a and folder/b: random crops,
  scales and flips of scikit-image's photos, quality 90."""
  from PIL import Image
  from genjax.data import photos
  images = [Image.fromarray(p) for p in photos.photos(photos.PHOTOS_TRAIN, 3)]
  rng = np.random.default_rng(seed)
  for i in range(count):
    src = images[i % len(images)]
    scale = rng.uniform(0.4, 1.0)
    w = int(min(src.width, src.height * size[0] / size[1]) * scale)
    h = int(w * size[1] / size[0])
    x, y = rng.integers(0, src.width - w + 1), rng.integers(0, src.height - h + 1)
    img = src.crop((x, y, x + w, y + h)).resize(size, Image.BICUBIC)
    if rng.integers(2):
      img = img.transpose(Image.FLIP_LEFT_RIGHT)
    sub = os.path.join(folder, "ab"[i % 2])
    os.makedirs(sub, exist_ok=True)
    img.save(os.path.join(sub, f"{i:05d}.jpg"), quality=90)


def pipeline_config(spec: str, workload_cfg):
  """The data config reading `spec` at the workload's image size."""
  kind, _, rest = spec.partition(":")
  if kind == "folder":
    cfg = config_lib.data_config("folder")
    cfg.update(path=rest, image_size=workload_cfg.data.image_size,
               channels=workload_cfg.data.channels)
  elif kind == "tfds":
    name, _, split = rest.partition(":")
    cfg = config_lib.data_config("folder")
    cfg.update(source="tfds", name=name, split=split or "train",
               image_size=workload_cfg.data.image_size, channels=workload_cfg.data.channels)
  elif kind == "cache":
    with open(os.path.join(rest, "meta.json")) as f:
      settings = json.load(f)["settings"]
    cfg = config_lib.data_config("folder")
    cfg.update({k: v for k, v in settings.items() if v is not None})
    cfg.update(cache=rest, split=next(iter(json.load(open(os.path.join(rest, "meta.json")))[
        "splits"])))
  else:
    raise ValueError(f"--pipeline_data {spec!r}: use folder:DIR, tfds:NAME:SPLIT or cache:DIR.")
  return cfg


def pipeline_throughput(cfg, batch_size, workers, seconds):
  """(images/s, examples) of data.Pipeline over cfg's source with `workers`
  processes."""
  source = data.build_source(cfg, cfg.split)
  return images_per_s(data.Pipeline(source, batch_size, seed=0, workers=workers),
                      seconds), len(source)


def pipeline_main(name):
  cfg = workload_config(name, "auto")
  v = _Variant(name, "auto", "float32", cfg.train.cpu_scheduler, cfg.train.cpu_conv_kernels,
               1.0)
  for _ in range(3):
    v.run_block(lambda precision: 0.0)
  train = v.batch_size / statistics.median(v.times)
  data_cfg = pipeline_config(FLAGS.pipeline_data, cfg)
  print(f"{name}: training {train:.0f} images/s on {jax.device_count()} "
        f"{jax.default_backend()} device(s); reading {FLAGS.pipeline_data} at "
        f"{data_cfg.image_size} px, batch {v.batch_size}, {os.cpu_count()} CPU cores")
  print(f"{'workers':>7} {'images/s':>9} {'x training':>10}")
  for w in [int(x) for x in FLAGS.pipeline_workers]:
    rate, n = pipeline_throughput(data_cfg, v.batch_size, w, FLAGS.pipeline_seconds)
    print(f"{w:7d} {rate:9.0f} {rate / train:10.2f}", flush=True)
    if FLAGS.json:
      print(json.dumps(dict(workload=name, pipeline_data=FLAGS.pipeline_data, workers=w,
                            images_per_s=rate, train_images_per_s=train, examples=n,
                            ratio=rate / train, cpu_count=os.cpu_count())), flush=True)


def main(argv):
  del argv
  if FLAGS.make_jpegs:
    make_jpegs(FLAGS.make_jpegs)
    print(f"Wrote 2,000 JPEGs under {FLAGS.make_jpegs}")
    return
  parallel.split_host_cpu(FLAGS.cpu_devices)  # before any JAX op
  if FLAGS.pipeline_data:
    for name in (list(WORKLOADS) if FLAGS.workload == "all" else FLAGS.workload.split(",")):
      pipeline_main(name)
    return
  names = list(WORKLOADS) if FLAGS.workload == "all" else FLAGS.workload.split(",")
  variants = [(impl, precision, sched, kern) for impl in FLAGS.conv_impl.split(",")
              for precision in FLAGS.precision.split(",")
              for sched in FLAGS.cpu_scheduler.split(",")
              for kern in FLAGS.cpu_conv_kernels.split(",")]
  def label(res):  # e.g. fast/f32/memory/eigen, auto=gemm/bf16/memory/eigen
    impl, resolved = res["conv_impl"], res["conv_impl_resolved"]
    precision = {"float32": "f32", "bfloat16": "bf16"}[res["precision"]]
    return (f"{impl if impl == resolved else impl + '=' + resolved}/{precision}"
            f"/{res['cpu_scheduler']}/{res['cpu_conv_kernels']}")
  probe = ceiling_probe()
  print(f"{jax.device_count()} {jax.default_backend()} device(s) "
        f"({jax.devices()[0].device_kind}); ceiling = a square jnp.dot in the variant's "
        "precision (bfloat16: float32 accumulation) timed before each block of steps")
  print(f"{'workload':9} {'impl/prec/sched/kernels':29} {'step ms':>8} {'img/s':>8} {'GFLOP':>7} {'GFLOP/s':>8} "
        f"{'ceiling':>8} {'of ceil':>7} {'compile s':>9} {'pipe img/s':>10}")
  for name in names:
    results = bench(name, variants, FLAGS.blocks, probe, FLAGS.block_seconds)
    for res in results:
      print(f"{name:9} {label(res):29} {res['step_ms']:8.1f} {res['images_per_s']:8.1f} "
            f"{res['gflop_per_step']:7.1f} {res['gflop_per_s']:8.1f} "
            f"{res['ceiling_gflop_per_s']:8.1f} {res['fraction_of_ceiling']:7.2f} "
            f"{res['compile_s']:9.1f} {res['pipeline_images_per_s']:10.0f}", flush=True)
      if FLAGS.json:
        print(json.dumps(res), flush=True)
    if len(results) > 1:
      print(f"{name:9} step time relative to {label(results[0])} (median over alternating "
            "blocks): " + ", ".join(f"{label(r)} {r['step_time_vs_first']:.2f}x"
                                    for r in results[1:]), flush=True)


if __name__ == "__main__":
  app.run(main)
