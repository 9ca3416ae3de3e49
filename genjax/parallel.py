"""Device mesh, shardings, multi-host set-up and the XLA options the train
step compiles with. One code path for any number of devices: state
replicated, batch sharded over the `data` axis."""
import collections
import os

import jax
import numpy as np
from jax.experimental import multihost_utils
from jax.sharding import NamedSharding, PartitionSpec as P

from genjax import errors


def initialize_multihost(coordinator_address=None, num_processes=None, process_id=None,
                         local_device_ids=None, cluster_detection_method=None,
                         initialization_timeout: int = 300, heartbeat_timeout: int = 100):
  """Joins a multi-process run (jax.distributed). Without a coordinator
  address, JAX detects the cluster (Cloud TPU, SLURM, Open MPI; "mpi4py" as
  cluster_detection_method for other MPIs). Recoverability is switched on so
  that a process whose peer dies gets an exception, which the train loop
  turns into one line naming the peer, instead of an abort. (A process that
  loses process 0, which hosts the coordination service, is still ended by
  JAX's runtime at once, with the runtime's own message.)"""
  jax.config.update("jax_enable_recoverability", True)
  try:
    jax.distributed.initialize(
        coordinator_address=coordinator_address, num_processes=num_processes,
        process_id=process_id, local_device_ids=local_device_ids,
        cluster_detection_method=cluster_detection_method,
        initialization_timeout=initialization_timeout,
        heartbeat_timeout_seconds=heartbeat_timeout)
  except (ValueError, RuntimeError) as e:
    first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    raise errors.StateError(
        f"Could not join the multi-process run ({first}). Give --coordinator_address "
        "HOST:PORT, --num_processes and --process_id (or JAX_COORDINATOR_ADDRESS, "
        "JAX_NUM_PROCESSES, JAX_PROCESS_ID), or launch under SLURM, Open MPI or on a "
        "Cloud TPU, where JAX finds them itself.") from None


def failed_processes() -> list:
  """The processes of this multi-process run that the coordination service no
  longer sees alive. A barrier among the live processes (all of them call it
  after a collective failed); [0] when the coordinator itself is gone.
  live_devices runs two liveness rounds (entering and leaving its block); the
  first can be one a peer joined before it died (a checkpoint barrier's,
  checkpoint._barrier_or_lost_peer), and then the second names the dead."""
  try:
    with multihost_utils.live_devices(jax.devices()) as devices:
      alive = {d.process_index for d in devices}
  except multihost_utils.ProcessFailureError as e:  # died between the two rounds
    return sorted({d.process_index for d in e.failed_devices})
  except Exception:  # the service runs in process 0: unreachable means it died
    return [0]
  return sorted(set(range(jax.process_count())) - alive)


def finish_multihost():
  """Leaves a multi-process run in order (recoverable runs have no implicit
  shutdown barrier): a barrier after the work, then every other process
  disconnects, and process 0, which hosts the coordination service, shuts it
  down once they have."""
  if jax.process_count() == 1:
    return
  multihost_utils.sync_global_devices("genjax: done")
  if jax.process_index() == 0:
    failed_processes()  # returns when the others have disconnected
  jax.distributed.shutdown()


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


def prefetch_to_device(batches, mesh, size: int = 2):
  """(step, host batch) -> (step, global sharded batch), `size` batches ahead:
  a batch's transfer starts while the steps before it run (transfers are
  asynchronous), so a step never waits on one."""
  queue = collections.deque()
  try:
    for step, batch in batches:
      queue.append((step, global_batch(batch, mesh)))
      if len(queue) == size:
        yield queue.popleft()
    while queue:
      yield queue.popleft()
  finally:
    batches.close()  # the pipeline's workers stop with the loop


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
# LLVM's optimisation level for the train step's own code on XLA:CPU (its
# fusions; convolutions and GEMMs are library kernels either way). Level 1
# compiled the benchmark's steps in 0.76-0.97x the time of XLA's default (3),
# and its steps took 0.83-1.04x the time (README, Performance). A level set in
# XLA_FLAGS wins.
CPU_BACKEND_OPTIMIZATION_LEVEL = 1


def step_compiler_options(train_config):
  """XLA options for the train step on the CPU backend (None elsewhere), from
  train.cpu_scheduler and train.cpu_conv_kernels, and LLVM's optimisation
  level (CPU_BACKEND_OPTIMIZATION_LEVEL)."""
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
  options = {"xla_cpu_scheduler_type": CPU_SCHEDULERS[scheduler], **CPU_CONV_KERNELS[kernels]}
  if "--xla_backend_optimization_level" not in os.environ.get("XLA_FLAGS", ""):
    options["xla_backend_optimization_level"] = CPU_BACKEND_OPTIMIZATION_LEVEL
  return options
