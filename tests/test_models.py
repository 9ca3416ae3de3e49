"""Model shapes and the convolution layers against direct numpy references."""
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from genjax import models
from genjax.models import compute, kernels
from genjax.models.layers import Conv2D, ConvTranspose2D
from genjax.models.translator import ResnetTranslator
from tests.conftest import assert_trees_close, load_config


def conv_reference(x, k, stride, pad):
  """Cross-correlation with zero padding, by explicit loops over the output."""
  x = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
  kh = k.shape[0]
  ho = (x.shape[1] - kh) // stride + 1
  out = np.zeros((x.shape[0], ho, ho, k.shape[3]))
  for i in range(ho):
    for j in range(ho):
      patch = x[:, i * stride:i * stride + kh, j * stride:j * stride + kh, :]
      out[:, i, j] = np.einsum("nabc,abco->no", patch, k)
  return out


def conv_transpose_reference(x, k, stride, pad):
  """Each input pixel scatters x[i, j] @ k[a, b] to (i*s - p + a, j*s - p + b)."""
  n, h, w, _ = x.shape
  kh = k.shape[0]
  size = (h - 1) * stride + kh
  out = np.zeros((n, size, size, k.shape[3]))
  for i in range(h):
    for j in range(w):
      out[:, i * stride:i * stride + kh, j * stride:j * stride + kh] += np.einsum(
          "nc,abco->nabo", x[:, i, j], k)
  return out[:, pad:size - pad, pad:size - pad]


IMPLS = ["fast", "gemm", "xla"]


def init_apply(layer, x):
  """(variables, output) of a layer at PRNGKey(0), each one jitted program
  (op by op, every operation would compile a program of its own). Fresh
  functions: a trace is never reused under another compute policy."""
  v = jax.jit(lambda rng, x: layer.init(rng, x))(jax.random.PRNGKey(0), x)
  return v, jax.jit(lambda v, x: layer.apply(v, x))(v, x)


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("stride,pad,size", [(2, 1, 8), (1, 0, 5), (2, 1, 7)])
def test_conv2d_matches_reference(stride, pad, size, impl):
  x = np.random.default_rng(0).normal(size=(2, size, size, 3)).astype(np.float32)
  layer = Conv2D(5, kernel_size=4, stride=stride, padding=pad, use_bias=False)
  with compute.use(compute.Policy(conv_impl=impl)):
    v, out = init_apply(layer, x)
  expected = conv_reference(x, np.asarray(v["params"]["kernel"]), stride, pad)
  np.testing.assert_allclose(out, expected, atol=1e-5)


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("stride,pad,size,cout", [
    (2, 1, 4, 5), (1, 0, 1, 5), (2, 1, 7, 5), (2, 1, 3, 16)])  # cout 16: phase form
def test_conv_transpose2d_has_pytorch_scatter_semantics(stride, pad, size, cout, impl):
  x = np.random.default_rng(1).normal(size=(2, size, size, 3)).astype(np.float32)
  layer = ConvTranspose2D(cout, kernel_size=4, stride=stride, padding=pad, use_bias=False)
  with compute.use(compute.Policy(conv_impl=impl)):
    v, out = init_apply(layer, x)
  expected = conv_transpose_reference(x, np.asarray(v["params"]["kernel"]), stride, pad)
  assert out.shape == expected.shape
  np.testing.assert_allclose(out, expected, atol=1e-5)


@pytest.mark.parametrize("transpose", [False, True])
@pytest.mark.parametrize("stride,pad,k,size,cin,cout", [
    (2, 1, 4, 6, 3, 4),     # stride 2: space-to-depth forms, narrow input
    (2, 1, 4, 5, 8, 16),    # odd size: conv falls back to im2col, convT stays s2d
    (2, 1, 4, 7, 16, 20),   # wide input
    (2, 1, 4, 4, 64, 72),   # wider: "gemm"'s GEMM forms (taps forward pass)
    (2, 0, 2, 4, 17, 3),    # k=2, no padding
    (2, 2, 6, 8, 2, 5),     # k=6: 3x3 taps on the s2d grid
    (1, 0, 4, 4, 2, 3),     # stride 1: lax's conv, col2im for the transposed ("gemm")
    (1, 1, 3, 5, 3, 4),     # the U-Nets' 3x3 "same" conv
    (2, 1, 3, 6, 4, 4),     # odd kernel: im2col / col2im
    (2, 1, 4, 4, 1, 20)])
def test_fast_gemm_and_xla_convs_agree_in_float64_forward_and_gradients(
    transpose, stride, pad, k, size, cin, cout):
  _check_fast_matches_xla_in_float64(transpose, stride, pad, k, size, cin, cout,
                                     impls=("fast", "gemm"))


@pytest.mark.parametrize("transpose", [False, True])
@pytest.mark.parametrize("stride,pad,k,size,cin,cout", [
    (2, 1, 4, 6, 3, 4), (2, 1, 4, 7, 16, 20), (2, 2, 6, 8, 2, 5)])
def test_gemm_weight_gradient_agrees_in_float64(transpose, stride, pad, k, size, cin, cout):
  """The stride-2 weight gradient as GEMMs over the s2d taps (narrow and wide
  inputs), weight_grad="gemm", the form "auto" picks off CPU."""
  _check_fast_matches_xla_in_float64(transpose, stride, pad, k, size, cin, cout, "gemm")


def _check_fast_matches_xla_in_float64(transpose, stride, pad, k, size, cin, cout,
                                       weight_grad="auto", impls=("fast",)):
  """Each of `impls` against lax's convolution ("xla") in float64: the output,
  both gradients of a loss, and the second-order gradient of R1 / gradient
  penalties (d/dkernel |d loss / dx|^2), all from one program per impl."""
  op = kernels.conv_transpose2d if transpose else kernels.conv2d
  rng = np.random.default_rng(2)

  def derivatives(impl):
    fn = lambda x, k: op(x, k, stride, pad, impl, weight_grad)
    loss = lambda x, k: jnp.sum(jnp.sin(fn(x, k)))
    penalty = lambda x, k: jnp.sum(jax.grad(loss)(x, k) ** 2)
    return jax.jit(lambda x, k: (fn(x, k), jax.grad(loss, argnums=(0, 1))(x, k),
                                 jax.grad(penalty, argnums=1)(x, k)))

  with jax.enable_x64(True):
    x = jnp.asarray(rng.normal(size=(3, size, size + 2, cin)))
    kernel = jnp.asarray(rng.normal(size=(k, k, cin, cout)))
    out, grads, second = derivatives("xla")(x, kernel)
    for impl in impls:
      out_i, grads_i, second_i = derivatives(impl)(x, kernel)
      assert out_i.dtype == jnp.float64
      np.testing.assert_allclose(out_i, out, rtol=1e-12, atol=1e-12)
      for a, b in zip(grads_i, grads):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10)
      np.testing.assert_allclose(second_i, second, rtol=1e-9, atol=1e-9)


def test_cpu_bfloat16_instructions_are_read_from_the_cpu_flags(tmp_path):
  def has(text):
    (tmp_path / "cpuinfo").write_text(text)
    return kernels.cpu_has_bfloat16.__wrapped__(str(tmp_path / "cpuinfo"))
  amd = "processor\t: 0\nflags\t\t: fpu sse avx2 fma avx512f\nmodel name\t: AMD EPYC\n"
  assert not has(amd) and not has("")
  assert has(amd.replace("avx512f", "avx512f avx512_bf16")) and has(
      "flags\t\t: avx2 amx_bf16 amx_tile\n")
  assert has("Features\t: fp asimd bf16 i8mm\n") and not has("Features\t: fp asimd\n")
  assert not kernels.cpu_has_bfloat16.__wrapped__(str(tmp_path / "missing"))


@pytest.mark.parametrize("backend,expected,grad", [
    ("cpu", "fast", "conv"), ("gpu", "fast", "gemm"), ("tpu", "xla", "gemm")])
def test_auto_conv_impl_is_chosen_per_backend(monkeypatch, backend, expected, grad):
  monkeypatch.setattr(jax, "default_backend", lambda: backend)
  assert kernels.resolve_impl("auto") == expected
  for native in (True, False):  # bfloat16 GEMMs on a CPU only where it has the instructions
    monkeypatch.setattr(kernels, "cpu_has_bfloat16", lambda: native)
    assert kernels.resolve_impl("auto", jnp.bfloat16) == (
        "gemm" if backend == "cpu" and native else expected)
  assert kernels.resolve_impl("xla") == "xla" and kernels.resolve_impl("fast") == "fast"
  assert kernels.resolve_weight_grad("auto") == grad
  assert kernels.resolve_weight_grad("gemm") == "gemm"


def test_weight_grad_forms_trace_differently():
  """weight_grad="conv" computes the stride-2 weight gradient as a convolution,
  "gemm" as dot products: the field, not the backend, picks the form."""
  x, k = jnp.zeros((2, 8, 8, 4)), jnp.zeros((4, 4, 4, 8))
  def hlo(form):
    loss = lambda k: jnp.sum(kernels.conv2d(x, k, 2, 1, "fast", form) ** 2)
    return jax.jit(jax.grad(loss)).lower(k).as_text()
  assert hlo("conv").count("convolution(") > hlo("gemm").count("convolution(")
  assert "dot_general" in hlo("gemm")


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("size,stride", [(8, 1), (7, 1), (8, 2), (7, 2)])
def test_conv_padding_same_and_valid_match_nn_conv(impl, size, stride):
  """padding="SAME"/"VALID" give nn.Conv's output sizes and values (odd sizes
  with stride 2 pad asymmetrically, as nn.Conv does)."""
  x = np.random.default_rng(3).normal(size=(2, size, size, 3)).astype(np.float32)
  for padding in ("SAME", "VALID"):
    ours = Conv2D(4, kernel_size=4, stride=stride, padding=padding)
    ref = nn.Conv(4, (4, 4), strides=(stride, stride), padding=padding)
    with compute.use(compute.Policy(conv_impl=impl)):
      v = ours.init(jax.random.PRNGKey(0), x)
      out = ours.apply(v, x)
    np.testing.assert_allclose(out, ref.apply(v, x), atol=1e-5)


def test_conv_transpose_same_padding_multiplies_the_size_by_the_stride():
  x = jnp.zeros((1, 5, 5, 2))
  for k, stride in ((4, 2), (3, 1), (6, 2)):
    layer = ConvTranspose2D(3, kernel_size=k, stride=stride, padding="SAME")
    _, out = init_apply(layer, x)
    assert out.shape == (1, 5 * stride, 5 * stride, 3)
  with pytest.raises(ValueError, match="even kernel_size - stride"):
    layer = ConvTranspose2D(3, kernel_size=3, stride=2, padding="SAME")
    layer.init(jax.random.PRNGKey(0), x)


def test_fast_path_avoids_strided_lax_gradients():
  """The backward pass of a fast stride-2 conv and stride-2 transposed conv
  contains no lhs-dilated (strided-gradient) convolution, which is what XLA:CPU
  runs slowly."""
  c = kernels.GEMM_MIN_CHANNELS  # "gemm"'s GEMM forms from this width
  x, k = jnp.zeros((2, 8, 8, c)), jnp.zeros((4, 4, c, c))
  def hlo(fn, impl, x):
    loss = lambda x, k: jnp.sum(fn(x, k, 2, 1, impl) ** 2)
    return jax.jit(jax.grad(loss, argnums=(0, 1))).lower(x, k).as_text()
  for fn, inp in ((kernels.conv2d, x), (kernels.conv_transpose2d, jnp.zeros((2, 4, 4, c)))):
    assert "lhs_dilate = [2, 2]" in hlo(fn, "xla", inp)
    assert "lhs_dilate = [2, 2]" not in hlo(fn, "fast", inp)
    # "gemm": no convolution left, every contraction a GEMM.
    text = hlo(fn, "gemm", inp)
    assert "stablehlo.convolution" not in text and "stablehlo.dot_general" in text


def test_unknown_conv_impl_is_a_clear_error():
  with pytest.raises(ValueError, match="conv_impl"):
    kernels.conv2d(jnp.zeros((1, 4, 4, 1)), jnp.zeros((4, 4, 1, 1)), 2, 1, "cudnn")
  with pytest.raises(ValueError, match="train.conv_impl"):
    compute.Policy(conv_impl="cudnn")
  with pytest.raises(ValueError, match="Unknown train.precision 'float16'"):
    compute.Policy(precision="float16")


@pytest.mark.parametrize("variant,size,channels", [
    ("mnist", 28, 1), ("cifar10", 32, 3), ("celeba64", 64, 3), ("folder", 64, 3)])
def test_dcgan_shapes_for_each_variant(variant, size, channels):
  cfg = load_config("dcgan", variant)
  g, d = models.build(cfg.generator), models.build(cfg.discriminator)
  z = jnp.zeros((2, cfg.gan.z_dim))
  gv = jax.eval_shape(lambda: g.init(jax.random.PRNGKey(0), z))
  x = jax.eval_shape(lambda v: g.apply(v, z, train=False), gv)
  assert x.shape == (2, size, size, channels)
  dv = jax.eval_shape(lambda: d.init(jax.random.PRNGKey(0), jnp.zeros(x.shape)))
  assert jax.eval_shape(lambda v: d.apply(v, jnp.zeros(x.shape), train=False), dv).shape == (2,)


def test_dcgan64_matches_the_paper_architecture():
  cfg = load_config("dcgan", "celeba64")
  g = models.build(cfg.generator)
  gv = jax.eval_shape(lambda: g.init(jax.random.PRNGKey(0), jnp.zeros((1, 100)), train=False))
  kernels = [v.shape for v in jax.tree.leaves(gv["params"]) if v.ndim == 4]
  assert kernels == [(4, 4, 512, 256), (4, 4, 256, 128), (4, 4, 128, 64), (4, 4, 64, 3)]
  assert gv["params"]["Dense_0"]["kernel"].shape == (100, 4 * 4 * 512)


@pytest.mark.parametrize("variant", ["mnist", "cifar10", "celeba64"])
def test_vae_shapes_for_each_variant(variant):
  cfg = load_config("vae", variant)
  m = models.build(cfg.model)
  s = cfg.data.image_size
  x = jnp.zeros((2, s, s, cfg.data.channels))
  v = jax.eval_shape(lambda: m.init(jax.random.PRNGKey(0), x, jax.random.PRNGKey(1)))
  out, mean, logvar = jax.eval_shape(lambda v: m.apply(v, x, jax.random.PRNGKey(1)), v)
  assert out.shape == x.shape and mean.shape == logvar.shape == (2, cfg.model.latent_dim)


def test_unknown_model_and_bad_field_are_clear_errors():
  with pytest.raises(ValueError, match="Unknown model 'resnet'.*dcgan_generator"):
    models.build({"name": "resnet"})
  with pytest.raises(ValueError, match="Bad fields for model 'dcgan_generator'"):
    models.build({"name": "dcgan_generator", "widthz": (1,)})


def test_unet_depth_sets_the_convolutions_per_block():
  """model.depth 3x3 convolutions per block (2 by default: the released
  restorers' parameter names), applied to any multiple of the net's stride."""
  x = jnp.zeros((1, 8, 12, 3))
  names = {}
  for depth in (1, 2, 4):
    net = models.MODELS["unet"](widths=(4, 8), patch=2, depth=depth)
    params = jax.eval_shape(net.init, jax.random.PRNGKey(0), x)["params"]
    assert jax.eval_shape(net.apply, {"params": params}, x).shape == x.shape
    names[depth] = sorted(n for n in params if n.startswith("Conv2D"))
  # per block: depth convs; plus the down conv and the output conv
  assert [len(names[d]) for d in (1, 2, 4)] == [3 * d + 2 for d in (1, 2, 4)]
  with pytest.raises(ValueError, match="model.depth"):
    models.MODELS["unet"](widths=(4, 8), depth=0).init(jax.random.PRNGKey(0), x)


def test_residual_restorer_starts_at_zero_and_keeps_any_multiple_of_its_patch():
  """EDSR-style blocks on the patch x patch grid: 2 convolutions per block plus
  head, body end and a zero-initialised tail (an untrained residual is 0), and
  the pixel (un)shuffle around them is exact."""
  x = jax.random.normal(jax.random.PRNGKey(1), (2, 6, 10, 3))
  net = models.build({"name": "resblocks", "width": 8, "blocks": 3, "patch": 2},
                     out_channels=3)
  v, out = init_apply(net, x)
  params = v["params"]
  assert len(params) == 2 * 3 + 3 and net.multiple == 2
  assert not np.asarray(out).any()
  apply = jax.jit(lambda v, x: net.apply(v, x))
  tail = dict(params, **{f"Conv2D_{2 * 3 + 2}": jax.tree.map(jnp.ones_like,
                                                            params[f"Conv2D_{2 * 3 + 2}"])})
  out = apply({"params": tail}, x)
  assert out.shape == x.shape and np.asarray(out).any()
  s = models.layers.space_to_depth(x, 2)
  assert s.shape == (2, 3, 5, 12)
  np.testing.assert_array_equal(s[0, 1, 2].reshape(2, 2, 3), x[0, 2:4, 4:6])
  np.testing.assert_array_equal(models.layers.depth_to_space(s, 2), x)
  with pytest.raises(ValueError, match="blocks >= 0"):
    models.build({"name": "resblocks", "blocks": -1}).init(jax.random.PRNGKey(0), x)


def test_resnet_translator_runs_its_blocks_as_a_loop_with_the_unrolled_parameters():
  x = jnp.asarray(np.random.default_rng(0).normal(size=(2, 8, 8, 3)), jnp.float32)
  looped, unrolled = (ResnetTranslator(widths=(4, 8), blocks=3, loop=loop)
                      for loop in (True, False))
  params = looped.init(jax.random.PRNGKey(0), x, train=False)["params"]
  assert_trees_close(params, unrolled.init(jax.random.PRNGKey(0), x, train=False)["params"],
                     rtol=0, atol=0)  # the same names and initial values

  def value_and_grad(module):
    loss = lambda p: jnp.sum(jnp.sin(module.apply({"params": p}, x, train=True)))
    return jax.jit(jax.value_and_grad(loss)).lower(params)
  looped, unrolled = value_and_grad(looped), value_and_grad(unrolled)
  assert " while(" in looped.as_text("hlo") and " while(" not in unrolled.as_text("hlo")
  assert_trees_close(looped.compile()(params), unrolled.compile()(params), rtol=1e-5, atol=1e-5)
