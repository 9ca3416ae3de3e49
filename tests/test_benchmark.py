"""The benchmark's FLOP convention, one quick workload end to end, the
PyTorch twins it is compared with, and the conv precision report."""
import json
import types

import jax
import numpy as np
import pytest

from experiments import benchmark, conv_precision
from genjax.models import kernels
from tests.conftest import run_module


@pytest.fixture(scope="module")
def twins():
  pytest.importorskip("torch", reason="PyTorch (make test installs the CPU build) times the "
                      "twins")
  from experiments import torch_twins
  return torch_twins


def test_workload_flops_are_xla_counts_near_the_pytorch_convention(twins):
  # PyTorch's FLOP counter, on the twin's step, charges every tap of a padded
  # convolution, XLA's cost analysis only the taps inside the image: a little
  # less, never more (the same models: the counts agree to that difference).
  for name in ("dcgan28", "vae28"):
    assert 0.75 < benchmark.step_flops(name) / twins.step_flops(name) < 0.95


def test_step_flops_come_from_the_host_cpu_where_lowered_programs_have_no_cost_analysis(
    monkeypatch):
  direct = benchmark.step_flops("vae28")
  # As XLA:GPU's lowered programs: no cost analysis. The count then comes from
  # a subprocess lowering the same step for the CPU: the same number.
  monkeypatch.setattr(benchmark.Workload, "lower",
                      lambda self: types.SimpleNamespace(cost_analysis=lambda: None))
  assert benchmark.step_flops.__wrapped__("vae28") == direct > 1e9


def test_torch_twins_are_the_workloads_models_and_train_in_both_precisions(twins):
  import torch
  for name in twins.WORKLOAD_NAMES:  # layer by layer the same: the same parameter count
    assert twins.build(name).parameters() == benchmark.parameter_count(name), name
  for precision in twins.PRECISIONS:
    r = twins.time_twin("vae28", precision, block_seconds=0.0, blocks=2)
    assert r["precision"] == precision and r["images_per_step"] == 128
    assert r["images_per_s"] == pytest.approx(128 / (r["step_ms"] / 1e3))
  torch.manual_seed(0)
  twin = twins.build("unet_restore")
  before = [p.detach().clone() for p in twin.net.parameters()]
  with torch.autocast("cpu", dtype=torch.bfloat16):
    twin.step()
  after = list(twin.net.parameters())
  assert all(p.dtype == torch.float32 and torch.isfinite(p).all() for p in after)
  assert any(not torch.equal(a, b) for a, b in zip(before, after))
  ema = twin.ema.avg  # moved 0.1% of the way from the initial parameters
  np.testing.assert_allclose(ema[0].numpy(), (0.999 * before[0] + 0.001 * after[0]).detach()
                             .numpy(), rtol=1e-5, atol=1e-7)


def test_vae28_benchmark_reports_consistent_rows_for_alternating_variants():
  variants = [("xla", "float32", "memory", "ynnpack"), ("auto", "bfloat16", "memory", "eigen")]
  plain, mixed = benchmark.bench("vae28", variants, 2, benchmark.ceiling_probe(256),
                                 block_seconds=0.0)
  # "auto" in bfloat16 on a CPU: GEMMs where it has bfloat16 instructions
  assert mixed["conv_impl_resolved"] == ("gemm" if kernels.cpu_has_bfloat16() else "fast")
  for res, (impl, precision, _, conv_kernels) in zip((plain, mixed), variants):
    assert res["batch"] == 128 and res["conv_impl"] == impl and res["steps_timed"] == 4
    assert res["precision"] == precision and res["cpu_conv_kernels"] == conv_kernels
    assert res["cpu_scheduler"] == "memory"
    assert res["images_per_s"] == pytest.approx(128 / (res["step_ms"] / 1e3))
    assert res["gflop_per_s"] == pytest.approx(res["gflop_per_step"] / (res["step_ms"] / 1e3))
    assert res["fraction_of_ceiling"] == pytest.approx(
        res["gflop_per_s"] / res["ceiling_gflop_per_s"]) and res["compile_s"] > 0
    assert res["pipeline_over_train"] > 5  # the input pipeline never limits training
    assert res["pipeline_workers"] == 0  # MNIST in memory: a thread, as training reads it
    assert res["devices"] == jax.device_count()
  assert plain["step_time_vs_first"] == 1.0
  # the median of per-block ratios: near the ratio of the medians (the same blocks)
  assert mixed["step_time_vs_first"] == pytest.approx(mixed["step_ms"] / plain["step_ms"],
                                                      rel=0.2)


def test_pipeline_data_reports_a_folders_rate_beside_the_workloads_training_rate(tmp_path):
  from PIL import Image
  rng = np.random.default_rng(0)
  for i in range(12):  # JPEGs of two classes
    (tmp_path / "ab"[i % 2]).mkdir(exist_ok=True)
    Image.fromarray(rng.integers(0, 255, (40, 36, 3), np.uint8)).save(
        tmp_path / "ab"[i % 2] / f"{i}.jpg")
  proc = run_module(["experiments.benchmark", "--workload", "vae28", "--json",
                     "--pipeline_data", f"folder:{tmp_path}", "--pipeline_workers", "0",
                     "--pipeline_seconds", "0.2"], timeout=300)
  assert proc.returncode == 0, proc.stderr[-2000:]
  (row,) = [json.loads(l) for l in proc.stdout.splitlines() if l.startswith("{")]
  assert row["workers"] == 0 and 0 < row["examples"] <= 12  # the training split's images
  assert row["images_per_s"] > 0
  assert row["ratio"] == pytest.approx(row["images_per_s"] / row["train_images_per_s"])


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
