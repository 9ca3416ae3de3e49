"""Device mesh, shardings, multi-host set-up and the XLA options the train
step compiles with. One code path for any number of devices: state
replicated, batch sharded over the `data` axis."""
import jax
import numpy as np
from jax.sharding import NamedSharding, PartitionSpec as P

from genjax import errors


def initialize_multihost(coordinator_address=None, num_processes=None, process_id=None):
  """Joins a multi-process run (jax.distributed); arguments default to the
  cluster environment (TPU pods, SLURM, ...)."""
  jax.distributed.initialize(coordinator_address=coordinator_address,
                             num_processes=num_processes, process_id=process_id)


def split_host_cpu(num_devices=None):
  """Makes the host CPU appear as `num_devices` devices (None or 0: as is), so
  that a step runs data-parallel over its cores. Call before any JAX op."""
  if num_devices:
    jax.config.update("jax_num_cpu_devices", num_devices)


def make_mesh(devices=None):
  """A 1-D mesh over `devices` (default: all devices of all processes)."""
  devices = jax.devices() if devices is None else devices
  return jax.sharding.Mesh(np.asarray(devices), ("data",),
                           axis_types=(jax.sharding.AxisType.Auto,))


def replicated(mesh):
  return NamedSharding(mesh, P())


def data_sharded(mesh):
  return NamedSharding(mesh, P("data"))


def check_batch(global_batch: int, mesh):
  if global_batch % mesh.size:
    raise errors.InputError(f"Global batch size {global_batch} is not divisible by the "
                     f"{mesh.size} devices (config key train.batch_size).")


def global_batch(local_batch, mesh):
  """This process's rows of a batch (dict of numpy) -> global sharded arrays."""
  sharding = data_sharded(mesh)
  return jax.tree.map(
      lambda x: jax.make_array_from_process_local_data(sharding, np.asarray(x)),
      local_batch)


def replicate(local_tree, mesh):
  """Host arrays that are the same on every process -> replicated global arrays."""
  sharding = replicated(mesh)
  return jax.tree.map(
      lambda x: jax.make_array_from_process_local_data(sharding, np.asarray(x)), local_tree)


# train.cpu_scheduler -> XLA:CPU's instruction scheduler for the train step.
# "memory" runs the step's independent ops closer to one after another, so on a
# few cores each kernel keeps its threads to itself. Measure with
# `python -m experiments.benchmark --cpu_scheduler memory,default` (README,
# Performance).
CPU_SCHEDULERS = {"memory": "CPU_SCHEDULER_TYPE_MEMORY_OPTIMIZED",
                  "default": "CPU_SCHEDULER_TYPE_DEFAULT",
                  "concurrency": "CPU_SCHEDULER_TYPE_CONCURRENCY_OPTIMIZED"}
# train.cpu_conv_kernels -> which kernels run the train step's convolutions on
# XLA:CPU: "eigen", XLA's built-in ones, or "ynnpack", the YNNPACK library
# (XLA's default in jaxlib 0.10). "eigen" passes XLA's default YNNPACK fusion
# types without convolution, so it compiles to the same program as reduce +
# individual dot + individual convolution. Measure with
# `python -m experiments.benchmark --cpu_conv_kernels eigen,ynnpack`.
CPU_CONV_KERNELS = {"eigen": {"xla_cpu_experimental_ynn_fusion_type":
                              "LIBRARY_FUSION_TYPE_REDUCE,LIBRARY_FUSION_TYPE_INDIVIDUAL_DOT"},
                    "ynnpack": {}}


def step_compiler_options(train_config):
  """XLA options for the train step on the CPU backend (None elsewhere), from
  train.cpu_scheduler and train.cpu_conv_kernels."""
  chosen = []
  for key, choices in (("cpu_scheduler", CPU_SCHEDULERS), ("cpu_conv_kernels", CPU_CONV_KERNELS)):
    name = train_config[key]
    if name not in choices:
      raise errors.InputError(f"train.{key}={name!r} is not one of {', '.join(choices)}; "
                       "fix the config.")
    chosen.append(name)
  if jax.default_backend() != "cpu":
    return None
  scheduler, kernels = chosen
  return {"xla_cpu_scheduler_type": CPU_SCHEDULERS[scheduler], **CPU_CONV_KERNELS[kernels]}
