"""Ablation studies: a grid of config overrides x seeds, each cell x seed a
normal genjax workdir, run on this machine's cores, as Ray tasks or as a SLURM
job array (submitit), and summarised with intervals, tests against a baseline,
plots and TensorBoard HParams. `python -m experiments.study --study FILE`."""
from genjax.studies.cells import Task, run_task
from genjax.studies.executors import EXECUTORS, Executor, Local, Ray, Slurm
from genjax.studies.runner import StudyInterrupted, run_study
from genjax.studies.spec import Cell, Study, grid, load_study
from genjax.studies.summary import publish, summarize
