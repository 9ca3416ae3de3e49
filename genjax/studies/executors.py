"""Where a study's tasks run, on existing engines: worker processes of this
machine (concurrent.futures, one fresh process per task), Ray tasks (a local
instance or a cluster) or a SLURM job array through submitit. Each executor
is a generator of (task, result) as tasks finish, and `stop()` interrupts the
tasks in flight: they save a checkpoint (genjax's SIGTERM/SIGINT handling), so
rerunning the study resumes them."""
import concurrent.futures
import multiprocessing
import os
import signal
import time
from typing import Iterable, Iterator, Tuple

from genjax import errors
from genjax.registry import Registry
from genjax.studies.cells import Task, run_task


class Executor:
  """Runs tasks; `in_flight` counts those started (or, on a cluster, queued)
  and not yet finished."""
  in_flight = 0

  def run(self, tasks: Iterable[Task]) -> Iterator[Tuple[Task, dict]]:
    """Yields (task, result) as tasks finish, and (None, None) while waiting."""
    raise NotImplementedError

  def stop(self):
    """Asks the tasks in flight to save and stop; starts no new ones."""


def _failed(task: Task, error: BaseException) -> dict:
  return {"cell": task.cell, "seed": task.seed, "status": "failed",
          "error": f"{type(error).__name__}: {error}"}


class Local(Executor):
  """`parallel` worker processes of this machine, a fresh one per task (no
  JAX state or memory carried from one cell to the next)."""

  def __init__(self, parallel: int = 1):
    if parallel < 1:
      raise errors.InputError(f"--parallel {parallel}: run at least one cell at a time.")
    self.parallel, self.stopping = parallel, False

  def run(self, tasks):
    queue = list(tasks)
    ctx = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(self.parallel, mp_context=ctx,
                                                max_tasks_per_child=1) as pool:
      futures = {}
      while queue or futures:
        # Submit only as many as run: a task waiting in the pool's queue could
        # not be taken back once the study is asked to stop.
        while queue and len(futures) < self.parallel and not self.stopping:
          task = queue.pop(0)
          futures[pool.submit(run_task, task)] = task
        if not futures:
          break
        done, _ = concurrent.futures.wait(futures, timeout=1.0,
                                          return_when=concurrent.futures.FIRST_COMPLETED)
        self.in_flight = len(futures) - len(done)
        yield None, None  # a heartbeat: the runner refreshes its progress line
        for f in done:
          task = futures.pop(f)
          try:
            yield task, f.result()
          except Exception as e:  # a worker that died (killed, out of memory)
            yield task, _failed(task, e)
    self.in_flight = 0

  def stop(self):
    self.stopping = True
    for p in multiprocessing.active_children():  # the pool's workers
      if p.is_alive():
        os.kill(p.pid, signal.SIGTERM)


class Ray(Executor):
  """One Ray task per cell x seed, with `resources` (num_cpus, num_gpus) each,
  on the cluster at `address` ("" starts a local instance). Each task runs in
  a fresh worker process (max_calls=1). The cluster's nodes need genjax
  installed and the study's working directory (a shared file system)."""

  def __init__(self, address: str = "", num_cpus: float = 1, num_gpus: float = 0):
    import ray  # optional extra: pip install genjax[ray]
    self.ray = ray
    if not ray.is_initialized():
      # A local instance runs its workers at Ray's default niceness of 15: beside
      # any other busy process a cell then crawls (importing jax took 45-65 s
      # instead of 3.5 s next to two trainings). A cell is the job: it runs at
      # the priority genjax.train would.
      local = {"num_cpus": os.cpu_count(), "_system_config": {"worker_niceness": 0}}
      ray.init(address=address or None, include_dashboard=False, log_to_driver=False,
               **({} if address else local))
    self.remote = ray.remote(num_cpus=num_cpus, num_gpus=num_gpus, max_calls=1)(run_task)
    self.refs = {}

  def run(self, tasks):
    self.refs = {self.remote.remote(t): t for t in tasks}
    pending = list(self.refs)
    while pending:
      done, pending = self.ray.wait(pending, num_returns=1, timeout=1.0)
      self.in_flight = len(pending)
      yield None, None
      for ref in done:
        task = self.refs[ref]
        try:
          yield task, self.ray.get(ref)
        except Exception as e:  # a task cancelled or lost with its node
          yield task, _failed(task, e)
    self.in_flight = 0

  def stop(self):
    for ref in self.refs:  # SIGINT in the worker: the cell saves and stops
      self.ray.cancel(ref)


class CheckpointableTask:
  """run_task for submitit: a job that SLURM stops at its time limit is
  requeued by submitit and resumes from the cell's last checkpoint."""

  def __init__(self):
    import submitit
    self.requeue = submitit.helpers.DelayedSubmission

  def __call__(self, task: Task) -> dict:
    return run_task(task)

  def checkpoint(self, task: Task):
    return self.requeue(self, task)


class Slurm(Executor):
  """A SLURM job array, one element per cell x seed, through submitit.
  `cluster="local"` runs the same array with submitit's local executor (tests,
  a machine without SLURM). Parameters are submitit's (partition, timeout_min,
  gpus_per_node, cpus_per_task, mem_gb, array_parallelism)."""

  def __init__(self, folder: str, cluster: str = "slurm", partition: str = "",
               timeout_min: int = 60, gpus_per_node: int = 0, cpus_per_task: int = 1,
               mem_gb: float = 0, array_parallelism: int = 256):
    import submitit  # optional extra: pip install genjax[slurm]
    self.executor = submitit.AutoExecutor(folder=folder, cluster=cluster)
    params = dict(timeout_min=timeout_min, gpus_per_node=gpus_per_node,
                  cpus_per_task=cpus_per_task, slurm_array_parallelism=array_parallelism,
                  name="genjax-study")
    if partition:
      params["slurm_partition"] = partition
    if mem_gb:
      params["mem_gb"] = mem_gb
    self.executor.update_parameters(**params)
    self.jobs = []

  def run(self, tasks):
    tasks = list(tasks)
    if not tasks:
      return
    self.jobs = self.executor.map_array(CheckpointableTask(), tasks)
    pending = dict(zip(self.jobs, tasks))
    while pending:
      yield None, None
      for job in [j for j in pending if j.done()]:
        task = pending.pop(job)
        self.in_flight = len(pending)
        try:
          yield task, job.result()
        except Exception as e:  # the job failed or was cancelled
          yield task, _failed(task, e)
      if pending:
        time.sleep(1.0)
    self.in_flight = 0

  def stop(self):
    for job in self.jobs:
      if not job.done():
        job.cancel(check=False)  # scancel: SIGTERM, the cell saves and stops


EXECUTORS = Registry("study executor", "--executor")
EXECUTORS["local"] = Local
EXECUTORS["ray"] = Ray
EXECUTORS["slurm"] = Slurm
