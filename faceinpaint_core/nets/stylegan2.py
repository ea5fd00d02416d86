"""A compact StyleGAN2 (Karras et al. CVPR 2020), in the "clean" form GFPGAN uses as its facial prior.

* mapping network (pixel norm + MLP, :class:`MappingNetwork`), sec. 2 of StyleGAN (Karras et al. 2019);
* modulated convolution with weight demodulation, StyleGAN2 eqs (1)-(3) (:class:`ModulatedConv2d`);
* per-pixel noise inputs with learnt per-layer strengths (:class:`StyledConv`);
* skip generator: an RGB output per resolution, upsampled and summed (StyleGAN2 Fig. 7b, :class:`ToRGB`);
* residual discriminator with minibatch standard deviation (StyleGAN2 Fig. 7c, :class:`StyleGAN2Discriminator`).

"Clean" (GFPGAN's ``StyleGAN2GeneratorClean``): plain ``nn.Linear``/weights with 1/sqrt(fan-in) scaling instead of
equalised learning rate, bilinear upsampling instead of the FIR blur kernels. Module names follow GFPGAN's
clean generator so that :func:`load_official_stylegan2` maps official files with few renames.
Optionally the generator takes CS-SFT conditions (GFPGAN eq. (3), :mod:`.blocks.cs_sft`) after the first
convolution of each resolution above 4x4.
"""
from __future__ import annotations

import math
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .blocks.cs_sft import channel_split_sft


def default_channels(size: int, width: int = 512, max_channels: int = 512) -> dict[int, int]:
    """Channels per resolution 4..size: ``width`` up to 32 px, halving above (StyleGAN2 config-f with
    ``channel_multiplier`` 1 at width 512)."""
    return {2 ** k: min(max_channels, int(width * min(1.0, 32 / 2 ** k))) for k in range(2, int(math.log2(size)) + 1)}


class NormStyleCode(nn.Module):
    """Pixel norm of the latent code z (StyleGAN sec. 2)."""

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + 1e-8)


class MappingNetwork(nn.Sequential):
    """z -> w: pixel norm then ``n_mlp`` linear + LeakyReLU(0.2) layers (StyleGAN: 8 layers, 512-d)."""

    def __init__(self, style_dim: int, n_mlp: int):
        layers: list[nn.Module] = [NormStyleCode()]
        for _ in range(n_mlp):
            layers += [nn.Linear(style_dim, style_dim), nn.LeakyReLU(0.2, inplace=True)]
        super().__init__(*layers)


class ModulatedConv2d(nn.Module):
    """Modulated convolution, StyleGAN2 eqs (1)-(3): ``w'_ijk = s_i·w_ijk``, demodulated by
    ``1/sqrt(Σ w'^2 + ε)``; run as one grouped convolution over the batch."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int, style_dim: int, demodulate: bool = True,
                 upsample: bool = False):
        super().__init__()
        self.in_ch, self.out_ch, self.kernel = in_ch, out_ch, kernel
        self.demodulate, self.upsample = demodulate, upsample
        self.modulation = nn.Linear(style_dim, in_ch)
        nn.init.ones_(self.modulation.bias)  # styles start at 1: the layer starts as a plain convolution
        self.weight = nn.Parameter(torch.randn(1, out_ch, in_ch, kernel, kernel) / math.sqrt(in_ch * kernel ** 2))

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        s = self.modulation(style).view(n, 1, c, 1, 1)
        weight = self.weight * s
        if self.demodulate:
            weight = weight * torch.rsqrt(weight.pow(2).sum([2, 3, 4], keepdim=True) + 1e-8)
        weight = weight.view(n * self.out_ch, c, self.kernel, self.kernel)
        if self.upsample:
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
            h, w = h * 2, w * 2
        out = F.conv2d(x.reshape(1, n * c, h, w), weight, padding=self.kernel // 2, groups=n)
        return out.view(n, self.out_ch, h, w)


class StyledConv(nn.Module):
    """Modulated 3x3 conv + scaled per-pixel noise + bias + LeakyReLU(0.2)·sqrt(2) (StyleGAN2 Fig. 2c)."""

    def __init__(self, in_ch: int, out_ch: int, style_dim: int, upsample: bool = False):
        super().__init__()
        self.modulated_conv = ModulatedConv2d(in_ch, out_ch, 3, style_dim, True, upsample)
        self.weight = nn.Parameter(torch.zeros(1))  # noise strength (GFPGAN's key name)
        self.bias = nn.Parameter(torch.zeros(1, out_ch, 1, 1))

    def forward(self, x, style, noise=None):
        out = self.modulated_conv(x, style)
        if noise is None:
            noise = out.new_empty(out.shape[0], 1, *out.shape[2:]).normal_()
        out = out + self.weight * noise + self.bias
        return F.leaky_relu(out, 0.2) * math.sqrt(2)


class ToRGB(nn.Module):
    """1x1 modulated conv (no demodulation) to RGB, plus the upsampled skip (StyleGAN2 Fig. 7b)."""

    def __init__(self, in_ch: int, style_dim: int):
        super().__init__()
        self.modulated_conv = ModulatedConv2d(in_ch, 3, 1, style_dim, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(1, 3, 1, 1))

    def forward(self, x, style, skip=None):
        out = self.modulated_conv(x, style) + self.bias
        if skip is not None:
            out = out + F.interpolate(skip, scale_factor=2, mode="bilinear", align_corners=False)
        return out


class StyleGAN2Generator(nn.Module):
    """Skip generator 4x4 -> ``size``; output in [-1, 1] (unbounded, as StyleGAN2).

    Args:
        size: output side (power of 2, >= 8).  style_dim: z / w size.  n_mlp: mapping layers.
        channels: channels per resolution (default :func:`default_channels` with ``width``).
    """

    def __init__(self, size: int = 64, style_dim: int = 512, n_mlp: int = 8, width: int = 512,
                 channels: dict[int, int] | None = None):
        super().__init__()
        if size < 8 or size & (size - 1):
            raise ValueError(f"StyleGAN2Generator: size must be a power of 2 >= 8, got {size}")
        ch = channels or default_channels(size, width, width)
        self.size, self.style_dim, self.channels = size, style_dim, ch
        self.log_size = int(math.log2(size))
        self.num_latent = self.log_size * 2 - 2
        self.style_mlp = MappingNetwork(style_dim, n_mlp)
        self.constant_input = nn.Parameter(torch.randn(1, ch[4], 4, 4))
        self.style_conv1 = StyledConv(ch[4], ch[4], style_dim)
        self.to_rgb1 = ToRGB(ch[4], style_dim)
        self.style_convs, self.to_rgbs = nn.ModuleList(), nn.ModuleList()
        prev = ch[4]
        for k in range(3, self.log_size + 1):
            c = ch[2 ** k]
            self.style_convs.append(StyledConv(prev, c, style_dim, upsample=True))
            self.style_convs.append(StyledConv(c, c, style_dim))
            self.to_rgbs.append(ToRGB(c, style_dim))
            prev = c

    def mean_latent(self, n: int = 4096) -> torch.Tensor:
        """Mean w over ``n`` random z (for truncation), ``(1, style_dim)``."""
        z = torch.randn(n, self.style_dim, device=self.constant_input.device)
        return self.style_mlp(z).mean(0, keepdim=True)

    def forward(self, styles: torch.Tensor, input_is_latent: bool = False, truncation: float = 1.0,
                truncation_latent: torch.Tensor | None = None, conditions: list[torch.Tensor] | None = None,
                noise: list[torch.Tensor | None] | None = None) -> torch.Tensor:
        """Image ``(N, 3, size, size)``.

        Args:
            styles: z ``(N, style_dim)``, or w ``(N, style_dim)`` / w+ ``(N, num_latent, style_dim)`` with
                ``input_is_latent``.
            conditions: CS-SFT ``[scale_8, shift_8, scale_16, shift_16, ...]`` (GFPGAN), one pair per resolution.
            noise: per-layer noise maps (None = fresh Gaussian noise from torch's seeded stream).
        """
        w = styles if input_is_latent else self.style_mlp(styles)
        if truncation < 1 and truncation_latent is not None:
            w = truncation_latent + truncation * (w - truncation_latent)
        if w.dim() == 2:
            w = w[:, None].expand(-1, self.num_latent, -1)
        noise = noise or [None] * (self.num_latent - 1)
        out = self.style_conv1(self.constant_input.repeat(w.shape[0], 1, 1, 1), w[:, 0], noise[0])
        skip = self.to_rgb1(out, w[:, 1])
        for j, to_rgb in enumerate(self.to_rgbs):
            i = 1 + 2 * j
            out = self.style_convs[2 * j](out, w[:, i], noise[i])
            if conditions is not None and 2 * j + 1 < len(conditions):
                out = channel_split_sft(out, conditions[2 * j], conditions[2 * j + 1])
            out = self.style_convs[2 * j + 1](out, w[:, i + 1], noise[i + 1])
            skip = to_rgb(out, w[:, i + 2], skip)
        return skip


class ResBlockDown(nn.Module):
    """Residual block with 2x average-pool downsampling (StyleGAN2 Fig. 7c), scaled by 1/sqrt(2)."""

    def __init__(self, in_ch: int, out_ch: int):
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, in_ch, 3, padding=1)
        self.conv2 = nn.Conv2d(in_ch, out_ch, 3, padding=1)
        self.skip = nn.Conv2d(in_ch, out_ch, 1, bias=False)

    def forward(self, x):
        out = F.leaky_relu(self.conv1(x), 0.2)
        out = F.avg_pool2d(F.leaky_relu(self.conv2(out), 0.2), 2)
        return (out + self.skip(F.avg_pool2d(x, 2))) / math.sqrt(2)


class StyleGAN2Discriminator(nn.Module):
    """Residual discriminator with minibatch stddev; returns raw scores ``(N, 1)`` (no sigmoid: usable as a
    WGAN critic)."""

    def __init__(self, size: int = 64, width: int = 512, channels: dict[int, int] | None = None,
                 stddev_group: int = 4):
        super().__init__()
        ch = channels or default_channels(size, width, width)
        self.stddev_group = stddev_group
        self.conv_first = nn.Conv2d(3, ch[size], 1)
        blocks, res = [], size
        while res > 4:
            blocks.append(ResBlockDown(ch[res], ch[res // 2]))
            res //= 2
        self.blocks = nn.Sequential(*blocks)
        self.final_conv = nn.Conv2d(ch[4] + 1, ch[4], 3, padding=1)
        self.final_linear = nn.Sequential(nn.Linear(ch[4] * 16, ch[4]), nn.LeakyReLU(0.2), nn.Linear(ch[4], 1))

    def _stddev(self, x):
        n, c, h, w = x.shape
        g = min(n, self.stddev_group)
        while n % g:
            g -= 1
        std = x.view(g, -1, c, h, w).var(0, unbiased=False).add(1e-8).sqrt().mean([1, 2, 3])
        return torch.cat([x, std.view(-1, 1, 1, 1).repeat(g, 1, h, w)], 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x ``(N, 3, size, size)`` in [-1, 1] -> scores ``(N, 1)``."""
        out = self.blocks(F.leaky_relu(self.conv_first(x), 0.2))
        out = F.leaky_relu(self.final_conv(self._stddev(out)), 0.2)
        return self.final_linear(out.flatten(1))


# -- official weights ------------------------------------------------------------------------------------------
# rosinality's stylegan2-pytorch names -> ours (GFPGAN's clean names are ours already)
_ROSINALITY = (("conv1.conv.", "style_conv1.modulated_conv."), ("conv1.noise.weight", "style_conv1.weight"),
               ("conv1.activate.bias", "style_conv1.bias"), ("convs.", "style_convs."),
               (".conv.", ".modulated_conv."), (".noise.weight", ".weight"), (".activate.bias", ".bias"),
               ("input.input", "constant_input.weight"), ("style.", "style_mlp."))
_CONTAINERS = ("params_ema", "g_ema", "params", "state_dict")
_PREFIXES = ("stylegan_decoder.", "module.")


def map_official_keys(state: dict) -> dict:
    """Rename an official StyleGAN2 / GFPGAN generator state dict to :class:`StyleGAN2Generator`'s keys:
    drops GFPGAN's ``stylegan_decoder.`` prefix and the fixed ``noises.*`` buffers, renames rosinality's keys,
    and reshapes the ToRGB/conv ``bias`` and ``constant_input`` forms they differ in."""
    out = {}
    for key, value in state.items():
        for p in _PREFIXES:
            key = key[len(p):] if key.startswith(p) else key
        if key.startswith("noises.") or key.startswith("modulated_conv.blur"):
            continue
        if "modulated_conv" not in key and not key.startswith(("style_", "constant_input")):
            for old, new in _ROSINALITY:
                key = key.replace(old, new)
        if key == "constant_input.weight":
            key = "constant_input"
        out[key] = value
    return out


def load_official_stylegan2(path: str | Path, generator: StyleGAN2Generator) -> StyleGAN2Generator:
    """Load official StyleGAN2 / GFPGAN-clean generator weights (e.g. GFPGAN's
    ``StyleGAN2_512_Cmul1_FFHQ_B12G4_scratch_800k.pth``) into ``generator`` (built with the file's size and
    channels). One-line ``FileNotFoundError`` / ``ValueError`` naming the file otherwise."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"StyleGAN2 weights {path} do not exist: put an official StyleGAN2/GFPGAN "
                                f"generator .pth there (e.g. GFPGAN's StyleGAN2_512_Cmul1_FFHQ_B12G4_scratch_800k.pth)")
    try:
        raw = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - unreadable file: one line naming it
        raise ValueError(f"{path}: not a readable torch weight file ({type(exc).__name__})") from None
    for name in _CONTAINERS:
        if isinstance(raw, dict) and isinstance(raw.get(name), dict):
            raw = raw[name]
            break
    state = map_official_keys(raw)
    own = generator.state_dict()
    missing = sorted(set(own) - set(state))
    bad = [k for k in own if k in state and state[k].numel() != own[k].numel()]
    if missing or bad:
        raise ValueError(f"{path}: does not fit a {generator.size}-px StyleGAN2 generator with channels "
                         f"{generator.channels} ({len(missing)} missing keys e.g. {missing[:2]}, "
                         f"{len(bad)} shape mismatches e.g. {bad[:2]})")
    generator.load_state_dict({k: state[k].reshape(own[k].shape) for k in own})
    return generator
