"""How a run computes, chosen once per run and read by the layers while a
function is traced: the convolution implementation (train.conv_impl) and the
precision (train.precision). Models use the standard layers and know nothing
of either.

- precision "float32": everything in float32.
- precision "bfloat16" (mixed precision, Flax's dtype / param_dtype
  convention): parameters, optimizer state and EMA stay float32; convolutions
  and matmuls take bfloat16 operands and accumulate in float32; normalisation
  statistics, losses, penalties (GP / R1), KL and likelihoods are float32.
- conv_impl: see models/kernels.py; "auto" picks per backend and precision.

And loop(): repeated work (a GAN's D updates, residual blocks) as one
lax.scan, which XLA compiles once, unrolled where that policy's convolutions
or a FLOP count need it; traced_once(): a function called more than once in a
step, traced once.
"""
import contextlib
import contextvars
import dataclasses
import functools

import jax
import jax.numpy as jnp

from genjax import errors
from genjax.models import kernels

PRECISIONS = {"float32": jnp.float32, "bfloat16": jnp.bfloat16}


@dataclasses.dataclass(frozen=True)
class Policy:
  conv_impl: str = "auto"
  precision: str = "float32"

  def __post_init__(self):
    if self.precision not in PRECISIONS:
      raise errors.InputError(f"Unknown train.precision {self.precision!r}; use "
                              f"{' or '.join(PRECISIONS)}.")
    if self.conv_impl not in kernels.IMPLS:
      raise errors.InputError(f"Unknown conv impl {self.conv_impl!r} (config key "
                              f"train.conv_impl); choose one of {', '.join(kernels.IMPLS)}.")

  @property
  def operand_dtype(self):
    """The operand type of convolutions and matmuls (accumulation is float32),
    or None in float32 runs: operands as they are, so float64 tests stay
    float64."""
    return None if self.precision == "float32" else PRECISIONS[self.precision]


_current = contextvars.ContextVar("genjax_compute_policy", default=Policy())


def current() -> Policy:
  return _current.get()


@contextlib.contextmanager
def use(policy: Policy):
  token = _current.set(policy)
  try:
    yield policy
  finally:
    _current.reset(token)


def under(policy: Policy, fn):
  """fn run under `policy`: wrap a function before jax.jit traces it, so its
  layers see the run's policy whatever is active when it is called."""
  @functools.wraps(fn)
  def wrapped(*args, **kwargs):
    with use(policy):
      return fn(*args, **kwargs)
  return wrapped


def from_config(train_config) -> Policy:
  return Policy(conv_impl=train_config.get("conv_impl", "auto"),
                precision=train_config.get("precision", "float32"))


_UNROLLED = contextvars.ContextVar("genjax_unrolled_loops", default=False)


def loop(body, carry, xs):
  """lax.scan of `body` (carry, x) -> (carry, y) over the leading axis of xs,
  for repeated work that XLA should compile once rather than once per
  repetition (a GAN's D updates, a generator's residual blocks). Unrolled
  under unrolled_loops() (XLA's cost analysis counts a loop's body once, so
  the benchmark counts a step's FLOPs on the unrolled program) and where the
  policy's convolutions would leave XLA's kernels in a loop body
  (train.conv_impl=xla on CPU: kernels.loop_ready)."""
  policy = current()
  unroll = _UNROLLED.get() or not kernels.loop_ready(policy.conv_impl, policy.operand_dtype)
  return jax.lax.scan(body, carry, xs, unroll=True if unroll else 1)


@contextlib.contextmanager
def unrolled_loops():
  """loop() unrolled while functions are traced in this context."""
  token = _UNROLLED.set(True)
  try:
    yield
  finally:
    _UNROLLED.reset(token)


def traced_once(fn):
  """fn (positional arguments, arrays) as a nested jax.jit keyed by the policy
  and the loop unrolling in force: called again in the same step with
  arguments of the same shapes (a GAN's D update in its loop and after it),
  it is not traced again. XLA inlines the call, so the compiled program is
  the same as without it."""
  @functools.partial(jax.jit, static_argnums=(0, 1))
  def jitted(policy, unrolled, *args):
    del policy, unrolled  # the cache key; in force as jit traces fn (on this call)
    return fn(*args)

  return lambda *args: jitted(current(), _UNROLLED.get(), *args)
