"""The benchmark's FLOP convention, one quick workload end to end, and the
conv precision report."""
import jax
import pytest

from experiments import benchmark, conv_precision


def test_workload_flops_are_xla_counts_near_the_pytorch_convention():
  # PyTorch's FLOP counter charges every tap of a padded convolution, XLA's
  # cost analysis only the taps inside the image: a little less, never more.
  for name, pytorch_gflops in (("dcgan28", 20.6), ("vae28", 2.7)):
    assert 0.75 < benchmark.step_flops(name) / 1e9 / pytorch_gflops < 0.95


def test_vae28_benchmark_reports_consistent_rows_for_alternating_variants():
  variants = [("xla", "float32", "memory", "ynnpack"), ("auto", "bfloat16", "memory", "eigen")]
  plain, mixed = benchmark.bench("vae28", variants, 2, benchmark.ceiling_probe(256),
                                 block_seconds=0.0)
  assert mixed["conv_impl_resolved"] == "gemm"  # "auto" in bfloat16 on a CPU
  for res, (impl, precision, _, conv_kernels) in zip((plain, mixed), variants):
    assert res["batch"] == 128 and res["conv_impl"] == impl and res["steps_timed"] == 4
    assert res["precision"] == precision and res["cpu_conv_kernels"] == conv_kernels
    assert res["cpu_scheduler"] == "memory"
    assert res["images_per_s"] == pytest.approx(128 / (res["step_ms"] / 1e3))
    assert res["gflop_per_s"] == pytest.approx(res["gflop_per_step"] / (res["step_ms"] / 1e3))
    assert res["fraction_of_ceiling"] == pytest.approx(
        res["gflop_per_s"] / res["ceiling_gflop_per_s"]) and res["compile_s"] > 0
    assert res["pipeline_over_train"] > 5  # the input pipeline never limits training
    assert res["devices"] == jax.device_count()
  assert plain["step_time_vs_first"] == 1.0
  # the median of per-block ratios: near the ratio of the medians (the same blocks)
  assert mixed["step_time_vs_first"] == pytest.approx(mixed["step_ms"] / plain["step_ms"],
                                                      rel=0.2)


@pytest.mark.parametrize("case", [("conv", (4, 8, 8, 16), 8, 2, 1), ("convT", (4, 4, 4, 8), 3, 2, 1),
                                  ("conv", (4, 4, 4, 8), 1, 1, 0)])
def test_conv_precision_reports_float32_and_bfloat16_errors_against_float64(case):
  errors = conv_precision.relative_errors(*case)
  assert set(errors) == {"xla/float32", "fast/float32", "xla/bfloat16", "gemm/bfloat16"}
  for variant, errs in errors.items():
    assert len(errs) == 3  # y, dx, dw
    if variant.endswith("float32"):  # float32 rounding on the CPU: far below TF32's ~1e-3
      assert all(0 < e < 1e-5 for e in errs), (variant, errs)
    else:  # bfloat16 operands (8 bits of mantissa), float32 accumulation
      assert all(1e-4 < e < 3e-2 for e in errs), (variant, errs)
