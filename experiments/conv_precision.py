"""Numerical error of the conv implementations at JAX's matmul precision.

  python -m experiments.conv_precision
  JAX_DEFAULT_MATMUL_PRECISION=highest python -m experiments.conv_precision

For the benchmark workloads' layer shapes it runs each layer with conv_impl
"xla" and "fast" in float32, and "xla" and "gemm" with bfloat16 operands
(train.precision=bfloat16; float32 accumulation), forward and both gradients,
and prints the largest error relative to the largest magnitude of a float64
reference ("xla" in float64, which "fast" equals in float64:
tests/test_models.py). On a CPU float32 is ~1e-6; on a GPU the default
precision lets XLA use TF32 (~3e-4); bfloat16 operands give ~1e-2.
"""
import jax
import jax.numpy as jnp
import numpy as np
from absl import app

from genjax.models import kernels

# (kind, input NHWC, output channels, stride, padding), kernel 4x4.
CASES = (
    ("conv", (64, 32, 32, 64), 128, 2, 1),    # dcgan64 D, second layer
    ("conv", (64, 4, 4, 512), 1, 1, 0),       # dcgan64 D, logit
    ("convT", (64, 1, 1, 100), 512, 1, 0),    # dcgan64 G, first layer
    ("convT", (64, 8, 8, 256), 128, 2, 1),    # dcgan64 G, middle
    ("conv", (128, 28, 28, 1), 64, 2, 1),     # dcgan28 D, first layer
    ("convT", (128, 14, 14, 64), 1, 2, 1),    # dcgan28 G, image layer
)


VARIANTS = (("xla", "float32"), ("fast", "float32"), ("xla", "bfloat16"), ("gemm", "bfloat16"))


def relative_errors(kind, x_shape, cout, stride, padding, variants=VARIANTS):
  """{"impl/precision": (y, dx, dw) errors / max |float64 reference|}: float32
  inputs, the convolution's operands in `precision`."""
  op = kernels.conv2d if kind == "conv" else kernels.conv_transpose2d
  rng = np.random.default_rng(0)
  x = rng.normal(size=x_shape)
  w = 0.05 * rng.normal(size=(4, 4, x_shape[-1], cout))

  def outputs(impl, dtype, operands=None):
    y, vjp = jax.vjp(lambda x, w: op(x, w, stride, padding, impl, dtype=operands),
                     jnp.asarray(x, dtype), jnp.asarray(w, dtype))
    dy = jnp.asarray(np.random.default_rng(1).normal(size=y.shape), dtype)
    return [np.asarray(a, np.float64) for a in (y, *vjp(dy))]

  with jax.enable_x64(True):
    ref = outputs("xla", jnp.float64)
    operands = {"float32": None, "bfloat16": jnp.bfloat16}
    return {f"{impl}/{precision}": tuple(
        float(np.abs(o - r).max() / np.abs(r).max())
        for o, r in zip(outputs(impl, jnp.float32, operands[precision]), ref))
        for impl, precision in variants}


def main(argv):
  del argv
  print(f"backend {jax.default_backend()}, default matmul precision "
        f"{jax.config.jax_default_matmul_precision or 'default'}; error / max |float64|:")
  for case in CASES:
    errors = relative_errors(*case)
    kind, x_shape, cout, stride, _ = case
    print(f"{kind:5} {str(x_shape):18} -> {cout:3} s{stride}  " + "  ".join(
        f"{impl}: y {e[0]:.1e} dx {e[1]:.1e} dw {e[2]:.1e}" for impl, e in errors.items()),
        flush=True)


if __name__ == "__main__":
  app.run(main)
