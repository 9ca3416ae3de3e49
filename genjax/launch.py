"""What every entry point does before any JAX work: the device flags (the
CPU split, joining a multi-process run) and their set-up."""
import contextlib
import faulthandler
import os
import platform
import signal
import socket
import sys

import jax
from absl import flags

from genjax import checkpoint, config_lib, errors, parallel


def define_device_flags():
  """Flags every entry point shares: the CPU split and joining a
  multi-process run. The multi-process ones default to the JAX_* variables
  named in their help."""
  env = os.environ.get
  flags.DEFINE_integer("cpu_devices", None, "Split the host CPU into this many devices and "
                       "run data-parallel over them (small models on a few cores; README, "
                       "Performance). Results equal one device's up to float rounding.",
                       lower_bound=1)
  flags.DEFINE_bool("multihost", False, "Join a multi-process run (jax.distributed): with "
                    "the flags below, or with none of them where JAX detects the cluster "
                    "(Cloud TPU, SLURM, Open MPI).")
  flags.DEFINE_string("coordinator_address", env("JAX_COORDINATOR_ADDRESS"), "HOST:PORT of "
                      "process 0's coordination service (JAX_COORDINATOR_ADDRESS).")
  flags.DEFINE_integer("num_processes", _int(env("JAX_NUM_PROCESSES")), "Processes in the "
                       "run (JAX_NUM_PROCESSES).", lower_bound=1)
  flags.DEFINE_integer("process_id", _int(env("JAX_PROCESS_ID")), "This process's index, "
                       "0 .. num_processes - 1 (JAX_PROCESS_ID).", lower_bound=0)
  flags.DEFINE_list("local_device_ids", env("JAX_LOCAL_DEVICE_IDS"), "Devices of this host "
                    "that this process uses, e.g. 0,1 (JAX_LOCAL_DEVICE_IDS; default all).")
  flags.DEFINE_string("cluster_detection_method", None, "With --multihost and no "
                      "coordinator: mpi4py for MPIs other than Open MPI.")
  flags.DEFINE_integer("initialization_timeout", 300, "Seconds to wait for every process to "
                       "join.", lower_bound=1)
  flags.DEFINE_integer("heartbeat_timeout", 100, "Seconds after which a silent process "
                       "counts as dead; the others then stop with an error.", lower_bound=1)


def _int(value):
  return int(value) if value not in (None, "") else None


# Compiled programs are kept on disk (JAX's persistent compilation cache): a
# resumed run, a study's next seed, or sampling after training loads them
# instead of compiling again (cyclegan128's step: 18.9 s to compile, 3.6 s to
# load). Entries are keyed by the program, the JAX version, the device and the
# compiler options, so a stale entry is never used.
CACHE_ENV = "GENJAX_XLA_CACHE"
CACHE_MAX_BYTES = 2 << 30  # least recently used entries go beyond this


def compilation_cache(environ=os.environ):
  """The folder of compiled programs every entry point uses: JAX's own
  JAX_COMPILATION_CACHE_DIR where it is set, else $GENJAX_XLA_CACHE ("off":
  none), else $XDG_CACHE_HOME/genjax/xla (~/.cache/genjax/xla). Returns it,
  or None when off."""
  if environ.get("JAX_COMPILATION_CACHE_DIR"):
    return environ["JAX_COMPILATION_CACHE_DIR"]  # JAX reads it itself
  path = environ.get(CACHE_ENV, os.path.join(config_lib.user_cache_dir(environ), "xla"))
  if path.lower() == "off":
    return None
  try:
    os.makedirs(path, exist_ok=True)
  except OSError as e:  # a run goes on without it; says so in one line
    print(f"Not caching compiled programs: {e}. Set {CACHE_ENV} to a writable folder, or "
          f"to off.", file=sys.stderr)
    return None
  jax.config.update("jax_compilation_cache_dir", path)
  if jax.config.jax_compilation_cache_max_size == -1:  # not set by the user
    jax.config.update("jax_compilation_cache_max_size", CACHE_MAX_BYTES)
  return path


def setup(argv=None):
  """What every entry point does before any JAX work: drop orbax's late
  errors from reads of a damaged checkpoint (reported in one line already),
  keep compiled programs on disk (compilation_cache), split the CPU
  (--cpu_devices), and join a multi-process run when --multihost or a
  coordinator setting is given."""
  del argv
  checkpoint.quiet_abandoned_reads()
  compilation_cache()
  # `kill -USR1 PID` prints every thread's Python stack to stderr (a run that
  # seems stuck says where) and the run goes on.
  if hasattr(signal, "SIGUSR1"):
    faulthandler.register(signal.SIGUSR1, all_threads=True)
  f = flags.FLAGS
  parallel.split_host_cpu(f.cpu_devices)
  explicit = (f.coordinator_address, f.num_processes, f.process_id)
  if f.multihost or any(v is not None for v in explicit):
    if any(v is not None for v in explicit) and any(v is None for v in explicit):
      raise errors.InputError(
          "A multi-process run needs all of --coordinator_address, --num_processes and "
          "--process_id (or JAX_COORDINATOR_ADDRESS, JAX_NUM_PROCESSES, JAX_PROCESS_ID); "
          f"got {dict(zip(('coordinator_address', 'num_processes', 'process_id'), explicit))}.")
    ids = [int(i) for i in f.local_device_ids] if f.local_device_ids else None
    parallel.initialize_multihost(f.coordinator_address, f.num_processes, f.process_id, ids,
                                  f.cluster_detection_method, f.initialization_timeout,
                                  f.heartbeat_timeout)


def machine() -> dict:
  """The machine a run or study cell ran on: host, CPU model and count, devices."""
  cpu = platform.processor()
  with contextlib.suppress(OSError):
    with open("/proc/cpuinfo") as f:
      cpu = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), cpu)
  return {"host": socket.gethostname(), "pid": os.getpid(), "cpu": cpu, "cpu_count": os.cpu_count(),
          "backend": jax.default_backend(), "devices": jax.device_count(),
          "device_kind": jax.devices()[0].device_kind}
