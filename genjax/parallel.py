"""Device mesh, shardings and multi-host set-up. One code path for any number
of devices: state replicated, batch sharded over the `data` axis."""
import jax
import numpy as np
from jax.sharding import NamedSharding, PartitionSpec as P


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
    raise ValueError(f"Global batch size {global_batch} is not divisible by the "
                     f"{mesh.size} devices (config key train.batch_size).")


def global_batch(local_batch, mesh):
  """This process's rows of a batch (dict of numpy) -> global sharded arrays."""
  sharding = data_sharded(mesh)
  return jax.tree.map(
      lambda x: jax.make_array_from_process_local_data(sharding, np.asarray(x)),
      local_batch)


def replicate(tree, mesh):
  return jax.device_put(tree, replicated(mesh))
