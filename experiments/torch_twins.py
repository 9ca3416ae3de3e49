"""PyTorch twins of experiments.benchmark's workloads: the same models (layer
by layer, the same parameter count), losses, optimisers, batch and updates per
step, timed the way the benchmark times genjax (back-to-back steps in blocks
of about a second, median), in eager mode with channels-last tensors, in
float32 or under torch.autocast(device, torch.bfloat16), on the CPU or a CUDA GPU.

  pip install "torch==2.13.0+cpu"    # or: --index-url https://download.pytorch.org/whl/cpu
  python -m experiments.torch_twins --workload dcgan64,vae28 --precision float32,bfloat16
  python -m experiments.torch_twins --device cuda --precision float32,bfloat16

One step of each twin does what genjax's compiled train step does:
dcgan64/dcgan28 (DCGAN, non-saturating loss, one D and one G update; G runs
forward once, its fakes reused for the G update), vae28 (conv VAE, binarised
Bernoulli ELBO), sngan32 (SNGAN ResNets with conditional BatchNorm and a
projection discriminator, spectral norm on every D weight, hinge loss, 5 D
updates, each on the real and the fake batch in one D call, then one G
update), unet_restore (the restore U-Net on 2x2 pixel blocks correcting a
prefilter, L1), pix2pix256 (U-Net + 70x70 PatchGAN, L1 x 100 + GAN) and
cyclegan128 (two ResNet generators with 6 blocks, two PatchGANs, LSGAN + cycle
+ identity); every one with Adam and an EMA of the generator where genjax
keeps one. Differences left: no image pool in the CycleGAN twin, and the data
are random tensors already on the device (as the genjax benchmark feeds its
step). Each line of output is one workload and precision: step ms (median),
images/s and parameters.
"""
import json
import os
import statistics
import time

from absl import app, flags

import torch
import torch.nn as nn
import torch.nn.functional as F

FLAGS = flags.FLAGS
WORKLOAD_NAMES = ("dcgan64", "dcgan28", "vae28", "sngan32", "unet_restore", "pix2pix256",
                  "cyclegan128")
PRECISIONS = {"float32": None, "bfloat16": torch.bfloat16}


def _conv(cin, cout, k, s=1, p=0, bias=True):
  return nn.Conv2d(cin, cout, k, s, p, bias=bias)


class DCGANGenerator(nn.Module):
  """z -> Linear(s*s*w0) -> BN ReLU -> [ConvT4 s2 BN ReLU] -> ConvT4 s2 -> tanh."""

  def __init__(self, widths, start, out_channels, z_dim):
    super().__init__()
    self.start, self.w0 = start, widths[0]
    self.fc = nn.Linear(z_dim, start * start * widths[0], bias=False)
    layers = [nn.BatchNorm2d(widths[0]), nn.ReLU()]
    for a, b in zip(widths, widths[1:]):
      layers += [nn.ConvTranspose2d(a, b, 4, 2, 1, bias=False), nn.BatchNorm2d(b), nn.ReLU()]
    layers += [nn.ConvTranspose2d(widths[-1], out_channels, 4, 2, 1), nn.Tanh()]
    self.net = nn.Sequential(*layers)

  def forward(self, z):
    x = self.fc(z).view(len(z), self.start, self.start, self.w0).permute(0, 3, 1, 2)
    return self.net(x.contiguous(memory_format=torch.channels_last))


class DCGANDiscriminator(nn.Module):
  """Conv4 s2 LReLU -> [Conv4 s2 BN LReLU] -> flatten -> Linear 1."""

  def __init__(self, widths, in_channels, image_size):
    super().__init__()
    layers = [_conv(in_channels, widths[0], 4, 2, 1), nn.LeakyReLU(0.2)]
    for a, b in zip(widths, widths[1:]):
      layers += [_conv(a, b, 4, 2, 1, bias=False), nn.BatchNorm2d(b), nn.LeakyReLU(0.2)]
    self.net = nn.Sequential(*layers)
    side = image_size // 2 ** len(widths)
    self.fc = nn.Linear(side * side * widths[-1], 1)

  def forward(self, x):
    return self.fc(self.net(x).permute(0, 2, 3, 1).flatten(1))[:, 0]


class ConvVAE(nn.Module):
  """enc [Conv4 s2 ReLU] -> Linear 2*latent; dec Linear ReLU -> [ConvT4 s2 ReLU] -> ConvT4 s2."""

  def __init__(self, widths=(32, 64), latent=16, image_size=28, channels=1):
    super().__init__()
    enc, cin = [], channels
    for w in widths:
      enc += [_conv(cin, w, 4, 2, 1), nn.ReLU()]
      cin = w
    self.enc = nn.Sequential(*enc)
    self.start, self.w = image_size // 2 ** len(widths), widths[-1]
    self.enc_out = nn.Linear(self.start ** 2 * widths[-1], 2 * latent)
    self.dec_in = nn.Linear(latent, self.start ** 2 * widths[-1])
    dec, outs = [], list(widths[::-1][1:]) + [channels]
    for i, w in enumerate(outs):
      dec.append(nn.ConvTranspose2d(cin, w, 4, 2, 1))
      if i < len(outs) - 1:
        dec.append(nn.ReLU())
      cin = w
    self.dec = nn.Sequential(*dec)

  def forward(self, x):
    mean, logvar = self.enc_out(self.enc(x).permute(0, 2, 3, 1).flatten(1)).chunk(2, -1)
    z = mean + torch.exp(0.5 * logvar) * torch.randn_like(mean)
    h = F.relu(self.dec_in(z)).view(len(z), self.start, self.start, self.w).permute(0, 3, 1, 2)
    return self.dec(h.contiguous(memory_format=torch.channels_last)), mean, logvar


class ConditionalBatchNorm(nn.Module):
  def __init__(self, channels, num_classes):
    super().__init__()
    self.bn = nn.BatchNorm2d(channels, affine=False)
    self.gain, self.bias = nn.Embedding(num_classes, channels), nn.Embedding(num_classes, channels)
    nn.init.ones_(self.gain.weight)
    nn.init.zeros_(self.bias.weight)

  def forward(self, x, y):
    return self.bn(x) * self.gain(y)[:, :, None, None] + self.bias(y)[:, :, None, None]


class GBlock(nn.Module):
  """BN ReLU up Conv3 BN ReLU Conv3, shortcut up Conv1 (conditional BN)."""

  def __init__(self, cin, cout, num_classes):
    super().__init__()
    self.n1, self.n2 = ConditionalBatchNorm(cin, num_classes), ConditionalBatchNorm(cout,
                                                                                    num_classes)
    self.c1, self.c2, self.sc = _conv(cin, cout, 3, 1, 1), _conv(cout, cout, 3, 1, 1), _conv(
        cin, cout, 1)

  def forward(self, x, y):
    up = lambda t: F.interpolate(t, scale_factor=2, mode="nearest")
    h = self.c2(F.relu(self.n2(self.c1(up(F.relu(self.n1(x, y)))), y)))
    return h + self.sc(up(x))


class SNGANGenerator(nn.Module):
  def __init__(self, widths=(256, 256, 256), z_dim=128, num_classes=10, out_channels=3):
    super().__init__()
    self.w0 = widths[0]
    self.fc = nn.Linear(z_dim, 16 * widths[0])
    self.blocks = nn.ModuleList(GBlock(a, b, num_classes)
                                for a, b in zip((widths[0],) + tuple(widths), widths))
    self.bn, self.out = nn.BatchNorm2d(widths[-1]), _conv(widths[-1], out_channels, 3, 1, 1)

  def forward(self, z, y):
    x = self.fc(z).view(len(z), 4, 4, self.w0).permute(0, 3, 1, 2)
    x = x.contiguous(memory_format=torch.channels_last)
    for block in self.blocks:
      x = block(x, y)
    return torch.tanh(self.out(F.relu(self.bn(x))))


def _sn(module):
  return nn.utils.parametrizations.spectral_norm(module)


class DBlock(nn.Module):
  """(ReLU) Conv3 ReLU Conv3 (avg-pool down), shortcut Conv1 (down), all
  spectrally normalised; the first block has no leading ReLU and pools first."""

  def __init__(self, cin, cout, down, first):
    super().__init__()
    self.down, self.first = down, first
    self.c1, self.c2 = _sn(_conv(cin, cout, 3, 1, 1)), _sn(_conv(cout, cout, 3, 1, 1))
    self.sc = _sn(_conv(cin, cout, 1)) if first or down or cin != cout else None

  def forward(self, x):
    pool = lambda t: F.avg_pool2d(t, 2) if self.down else t
    h = pool(self.c2(F.relu(self.c1(x if self.first else F.relu(x)))))
    if self.first:
      s = self.sc(pool(x))
    else:
      s = pool(self.sc(x)) if self.sc is not None else x
    return h + s


class SNGANDiscriminator(nn.Module):
  def __init__(self, widths=(128, 128, 128, 128), num_down=2, num_classes=10, channels=3):
    super().__init__()
    cins = (channels,) + tuple(widths[:-1])
    self.blocks = nn.Sequential(*(DBlock(a, b, i < num_down, i == 0)
                                  for i, (a, b) in enumerate(zip(cins, widths))))
    self.fc = _sn(nn.Linear(widths[-1], 1))
    self.embed = _sn(nn.Embedding(num_classes, widths[-1]))

  def forward(self, x, y):
    h = F.relu(self.blocks(x)).sum((2, 3))
    return self.fc(h)[:, 0] + (self.embed(y) * h).sum(1)


class UNet(nn.Module):
  """genjax.models.unet.UNet: pixel unshuffle by `patch`, [Conv3 ReLU Conv3
  ReLU] per level, Conv4 s2 down, ConvT4 s2 up with the skip concatenated,
  Conv3 to out * patch^2, pixel shuffle."""

  def __init__(self, in_channels, out_channels, widths, patch):
    super().__init__()
    block = lambda a, b: nn.Sequential(_conv(a, b, 3, 1, 1), nn.ReLU(), _conv(b, b, 3, 1, 1),
                                       nn.ReLU())
    self.patch, cin = patch, in_channels * patch * patch
    self.downs, self.enc = nn.ModuleList(), nn.ModuleList()
    for i, w in enumerate(widths):
      if i:
        self.downs.append(nn.Sequential(_conv(cin, w, 4, 2, 1), nn.ReLU()))
        cin = w
      self.enc.append(block(cin, w))
      cin = w
    self.ups, self.dec = nn.ModuleList(), nn.ModuleList()
    for w in widths[-2::-1]:
      self.ups.append(nn.Sequential(nn.ConvTranspose2d(cin, w, 4, 2, 1), nn.ReLU()))
      self.dec.append(block(2 * w, w))
      cin = w
    self.out = _conv(cin, out_channels * patch * patch, 3, 1, 1)
    nn.init.zeros_(self.out.weight)
    nn.init.zeros_(self.out.bias)

  def forward(self, x):
    x = F.pixel_unshuffle(x, self.patch) if self.patch > 1 else x
    skips = []
    for i, block in enumerate(self.enc):
      x = block(self.downs[i - 1](x) if i else x)
      skips.append(x)
    for up, block, skip in zip(self.ups, self.dec, skips[-2::-1]):
      x = block(torch.cat([up(x), skip], 1))
    x = self.out(x)
    return F.pixel_shuffle(x, self.patch) if self.patch > 1 else x


class PatchGAN(nn.Module):
  """4x4 convs, stride 2 but the last (stride 1), instance norm but the first,
  LeakyReLU 0.2, then a stride-1 conv to one channel."""

  def __init__(self, in_channels, widths=(64, 128, 256, 512)):
    super().__init__()
    layers, cin = [], in_channels
    for i, w in enumerate(widths):
      layers.append(_conv(cin, w, 4, 2 if i < len(widths) - 1 else 1, 1, bias=i == 0))
      if i:
        layers.append(nn.InstanceNorm2d(w, affine=True))
      layers.append(nn.LeakyReLU(0.2))
      cin = w
    layers.append(_conv(cin, 1, 4, 1, 1))
    self.net = nn.Sequential(*layers)

  def forward(self, x):
    return self.net(x)


class ResnetTranslator(nn.Module):
  """c7s1-64, Conv3 s2 128, 256, `blocks` residual blocks, ConvT4 s2 back,
  c7s1-out, tanh; reflection padding and instance norm (CycleGAN's)."""

  def __init__(self, widths=(64, 128, 256), blocks=6, channels=3):
    super().__init__()
    norm = lambda w: nn.InstanceNorm2d(w, affine=True)
    layers = [nn.ReflectionPad2d(3), _conv(channels, widths[0], 7, bias=False), norm(widths[0]),
              nn.ReLU()]
    for a, b in zip(widths, widths[1:]):
      layers += [_conv(a, b, 3, 2, 1, bias=False), norm(b), nn.ReLU()]
    w = widths[-1]
    self.head = nn.Sequential(*layers)
    self.blocks = nn.ModuleList(nn.Sequential(
        nn.ReflectionPad2d(1), _conv(w, w, 3, bias=False), norm(w), nn.ReLU(),
        nn.ReflectionPad2d(1), _conv(w, w, 3, bias=False), norm(w)) for _ in range(blocks))
    tail = []
    for a, b in zip(widths[::-1], widths[-2::-1]):
      tail += [nn.ConvTranspose2d(a, b, 4, 2, 1, bias=False), norm(b), nn.ReLU()]
    tail += [nn.ReflectionPad2d(3), _conv(widths[0], channels, 7), nn.Tanh()]
    self.tail = nn.Sequential(*tail)

  def forward(self, x):
    x = self.head(x)
    for block in self.blocks:
      x = x + block(x)
    return self.tail(x)


def _adam(module, lr, b1, b2):
  return torch.optim.Adam(module.parameters(), lr=lr, betas=(b1, b2))


def _update(opt, loss):
  """One step of `opt` on the gradients of `loss`."""
  opt.zero_grad(set_to_none=True)
  loss.backward()
  opt.step()


class _EMA:
  """An exponential moving average of a module's parameters (genjax's ema_params)."""

  def __init__(self, module, decay):
    self.params, self.decay = list(module.parameters()), decay
    self.avg = [p.detach().clone() for p in self.params]

  @torch.no_grad()
  def update(self):
    torch._foreach_lerp_(self.avg, [p.detach() for p in self.params], 1 - self.decay)


def _cl(x):
  return x.contiguous(memory_format=torch.channels_last)


def _images(n, size, channels):
  return _cl(torch.rand(n, channels, size, size) * 2 - 1)


class Twin:
  """A workload's models, optimisers and batch; step() is one train step."""
  images_per_step: int
  modules: dict

  def parameters(self) -> int:
    return sum(p.numel() for m in self.modules.values() for p in m.parameters())


class DCGAN(Twin):
  def __init__(self, size, channels, g_widths, d_widths, batch, ema):
    self.g = DCGANGenerator(g_widths, size // 2 ** len(g_widths), channels, 100)
    self.d = DCGANDiscriminator(d_widths, channels, size)
    self.modules = {"g": self.g, "d": self.d}
    self.opt_g, self.opt_d = _adam(self.g, 2e-4, 0.5, 0.999), _adam(self.d, 2e-4, 0.5, 0.999)
    self.ema = _EMA(self.g, ema)
    self.real, self.batch = _images(batch, size, channels), batch
    self.images_per_step = batch

  def step(self):
    fake = self.g(torch.randn(self.batch, 100))
    ones, zeros = torch.ones(self.batch), torch.zeros(self.batch)
    d_loss = (F.binary_cross_entropy_with_logits(self.d(self.real).float(), ones)
              + F.binary_cross_entropy_with_logits(self.d(fake.detach()).float(), zeros))
    _update(self.opt_d, d_loss)
    g_loss = F.binary_cross_entropy_with_logits(self.d(fake).float(), ones)
    _update(self.opt_g, g_loss)
    self.ema.update()


class VAE(Twin):
  def __init__(self, batch=128):
    self.vae = ConvVAE()
    self.modules = {"vae": self.vae}
    self.opt = _adam(self.vae, 1e-3, 0.9, 0.999)
    self.x, self.images_per_step = _images(batch, 28, 1), batch

  def step(self):
    target = (self.x > 0).float()
    logits, mean, logvar = self.vae(self.x)
    nll = F.binary_cross_entropy_with_logits(logits.float(), target, reduction="none").sum(
        (1, 2, 3))
    kl = 0.5 * (mean.float() ** 2 + logvar.float().exp() - 1 - logvar.float()).sum(1)
    loss = (nll + kl).mean()
    _update(self.opt, loss)


class SNGAN(Twin):
  def __init__(self, batch=64, n_critic=5, classes=10):
    self.g, self.d = SNGANGenerator(num_classes=classes), SNGANDiscriminator(num_classes=classes)
    self.modules = {"g": self.g, "d": self.d}
    self.opt_g, self.opt_d = _adam(self.g, 2e-4, 0.0, 0.9), _adam(self.d, 2e-4, 0.0, 0.9)
    self.ema = _EMA(self.g, 0.9999)
    self.batch, self.n_critic, self.classes = batch, n_critic, classes
    self.reals = [_images(batch, 32, 3) for _ in range(n_critic)]
    self.labels = [torch.randint(0, classes, (batch,)) for _ in range(n_critic)]
    self.images_per_step = batch * n_critic

  def step(self):
    for i in range(self.n_critic):
      y = torch.randint(0, self.classes, (self.batch,))
      z = torch.randn(self.batch, 128)
      last = i == self.n_critic - 1
      with torch.set_grad_enabled(last):  # the last fakes serve the G update too
        fake = self.g(z, y)
      # D on real and fake together, as genjax (gan.d_batches=auto: no batch norm in D)
      logits = self.d(torch.cat([self.reals[i], fake.detach()]), torch.cat([self.labels[i], y]))
      d_real, d_fake = logits.float().split(self.batch)
      d_loss = F.relu(1 - d_real).mean() + F.relu(1 + d_fake).mean()
      _update(self.opt_d, d_loss)
    g_loss = -self.d(fake, y).float().mean()
    _update(self.opt_g, g_loss)
    self.ema.update()


class Restore(Twin):
  """The default denoiser: U-Net on [prefilter, noisy input, noise map], a
  residual on the prefilter (non-local means), L1."""

  def __init__(self, batch=16, size=64):
    self.net = UNet(7, 3, (32, 64, 128), 2)
    self.modules = {"net": self.net}
    self.opt = _adam(self.net, 1e-3, 0.9, 0.999)
    self.ema = _EMA(self.net, 0.999)
    self.x = _cl(torch.cat([_images(batch, size, 3), _images(batch, size, 3),
                            torch.full((batch, 1, size, size), 0.2)], 1))
    self.target, self.images_per_step = _images(batch, size, 3), batch

  def step(self):
    out = self.x[:, :3] + self.net(self.x)
    loss = (out.float() - self.target).abs().mean()
    _update(self.opt, loss)
    self.ema.update()


class Pix2Pix(Twin):
  def __init__(self, batch=1, size=256):
    self.g, self.d = UNet(3, 3, (64, 128, 256, 512), 2), PatchGAN(6)
    self.modules = {"g": self.g, "d": self.d}
    self.opt_g, self.opt_d = _adam(self.g, 2e-4, 0.5, 0.999), _adam(self.d, 2e-4, 0.5, 0.999)
    self.ema = _EMA(self.g, 0.999)
    self.a, self.b, self.images_per_step = _images(batch, size, 3), _images(batch, size, 3), batch

  def step(self):
    fake = self.g(self.a)
    bce = lambda logits, v: F.binary_cross_entropy_with_logits(
        logits.float(), torch.full(logits.shape, v))
    d_loss = 0.5 * (bce(self.d(torch.cat([self.a, self.b], 1)), 1.0)
                    + bce(self.d(torch.cat([self.a, fake.detach()], 1)), 0.0))
    _update(self.opt_d, d_loss)
    g_loss = (bce(self.d(torch.cat([self.a, fake], 1)), 1.0)
              + 100 * (fake.float() - self.b).abs().mean())
    _update(self.opt_g, g_loss)
    self.ema.update()


class CycleGAN(Twin):
  def __init__(self, batch=1, size=128):
    self.g_ab, self.g_ba = ResnetTranslator(), ResnetTranslator()
    self.d_a, self.d_b = PatchGAN(3), PatchGAN(3)
    self.modules = {"g_ab": self.g_ab, "g_ba": self.g_ba, "d_a": self.d_a, "d_b": self.d_b}
    gen = nn.ModuleList([self.g_ab, self.g_ba])
    self.opt_g = _adam(gen, 2e-4, 0.5, 0.999)
    self.opt_d = _adam(nn.ModuleList([self.d_a, self.d_b]), 2e-4, 0.5, 0.999)
    self.ema = _EMA(gen, 0.999)
    self.a, self.b, self.images_per_step = _images(batch, size, 3), _images(batch, size, 3), batch

  def step(self):
    a, b = self.a, self.b
    l1 = lambda x, y: (x.float() - y).abs().mean()
    mse = lambda logits, v: ((logits.float() - v) ** 2).mean()
    fake_b, fake_a = self.g_ab(a), self.g_ba(b)
    adv = mse(self.d_b(fake_b), 1.0) + mse(self.d_a(fake_a), 1.0)
    cycle = l1(self.g_ba(fake_b), a) + l1(self.g_ab(fake_a), b)
    identity = l1(self.g_ab(b), b) + l1(self.g_ba(a), a)
    g_loss = 2.0 * adv + 10.0 * cycle + 0.5 * 10.0 * identity
    _update(self.opt_g, g_loss)
    d_loss = (mse(self.d_a(a), 1.0) + mse(self.d_a(fake_a.detach()), 0.0)
              + mse(self.d_b(b), 1.0) + mse(self.d_b(fake_b.detach()), 0.0))
    _update(self.opt_d, d_loss)
    self.ema.update()


def build(name: str) -> Twin:
  """The twin of experiments.benchmark's workload `name`, channels-last."""
  twin = {"dcgan64": lambda: DCGAN(64, 3, (512, 256, 128, 64), (64, 128, 256, 512), 64, 0.999),
          "dcgan28": lambda: DCGAN(28, 1, (128, 64), (64, 128), 128, 0.99),
          "vae28": VAE, "sngan32": SNGAN, "unet_restore": Restore, "pix2pix256": Pix2Pix,
          "cyclegan128": CycleGAN}[name]()
  for m in twin.modules.values():
    m.to(memory_format=torch.channels_last).train()
  return twin


def step_flops(name: str) -> float:
  """FLOPs of one train step of the twin by PyTorch's FLOP counter
  (torch.utils.flop_counter: 2 per multiply-add of the convolutions and
  matmuls, forward and backward, every tap counted, padding included)."""
  from torch.utils.flop_counter import FlopCounterMode
  torch.manual_seed(0)
  twin = build(name)
  with FlopCounterMode(display=False) as counter:
    twin.step()
  return float(counter.get_total_flops())


def time_twin(name: str, precision: str, block_seconds: float = 1.0, blocks: int = 8,
              device: str = "cpu") -> dict:
  """Median step time over `blocks` blocks of back-to-back steps on `device`
  (a CUDA device's queue is drained at the end of each block)."""
  torch.manual_seed(0)
  device = torch.device(device)
  with device:  # parameters, batches and every tensor a step makes live there
    twin = build(name)
  dtype = PRECISIONS[precision]
  sync = torch.cuda.synchronize if device.type == "cuda" else lambda: None

  def step():
    with device, torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
      twin.step()
  t = time.perf_counter()
  for _ in range(2):  # warm-up (first-call allocations, oneDNN / cuDNN choices)
    step()
  sync()
  per = (time.perf_counter() - t) / 2
  reps = max(2, round(block_seconds / per))
  times = []
  for _ in range(blocks):
    t = time.perf_counter()
    for _ in range(reps):
      step()
    sync()
    times.append((time.perf_counter() - t) / reps)
  s = statistics.median(times)
  return {"workload": name, "framework": f"torch {torch.__version__}", "precision": precision,
          "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
          "tf32": device.type == "cuda" and torch.backends.cuda.matmul.allow_tf32,
          "step_ms": 1e3 * s, "images_per_s": twin.images_per_step / s,
          "images_per_step": twin.images_per_step, "parameters": twin.parameters(),
          "threads": torch.get_num_threads()}


def main(argv):
  del argv
  torch.set_num_threads(os.cpu_count())
  if FLAGS.device.startswith("cuda"):  # float32 as JAX computes it there by default: TF32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
  names = WORKLOAD_NAMES if FLAGS.workload == "all" else FLAGS.workload.split(",")
  for name in names:
    for precision in FLAGS.precision.split(","):
      r = time_twin(name, precision, FLAGS.block_seconds, FLAGS.blocks, FLAGS.device)
      print(json.dumps(r) if FLAGS.json else
            f"{name:13s} {precision:9s} {r['step_ms']:9.1f} ms/step {r['images_per_s']:9.1f} "
            f"img/s  {r['parameters']:,} parameters", flush=True)


if __name__ == "__main__":
  flags.DEFINE_string("workload", "all", f"Comma-separated: {', '.join(WORKLOAD_NAMES)} or all.")
  flags.DEFINE_string("precision", "float32", "Comma-separated: float32, bfloat16 (autocast).")
  flags.DEFINE_float("block_seconds", 1.0, "Seconds of back-to-back steps per timed block.")
  flags.DEFINE_integer("blocks", 8, "Timed blocks; the median block's step time is reported.")
  flags.DEFINE_bool("json", False, "One JSON line per workload and precision.")
  flags.DEFINE_string("device", "cpu", "cpu, or cuda (float32 with TF32 matmuls and "
                      "convolutions, as JAX's default precision on NVIDIA GPUs; bfloat16 "
                      "under torch.autocast('cuda')).")
  app.run(main)
