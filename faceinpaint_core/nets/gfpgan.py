"""GFPGAN (Wang et al. CVPR 2021): degradation-removal U-Net + generative facial prior through CS-SFT.

* :class:`DegradationRemovalUNet` — sec. 3.2: an encoder of residual down blocks to 4x4, a latent code
  (``num_latent`` w vectors) from the bottleneck by a linear layer, and a decoder of residual up blocks with
  skip connections whose features at each scale give (a) the CS-SFT scale/shift maps (eq. (3)) and
  (b) an RGB image for the multi-scale restoration (pyramid) loss.
* :class:`GFPGAN` — the U-Net drives the frozen StyleGAN2 prior (:mod:`.stylegan2`): latent -> w+ codes,
  decoder features -> CS-SFT conditions. ``gfp=False`` is the paper's "w/o GFP" ablation: the U-Net alone,
  its full-resolution RGB output is the restoration.
Images are in [-1, 1].
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .blocks.full_res_head import FullResHead
from .blocks.harmonic_fill import refine_fill
from .stylegan2 import ResBlockDown, StyleGAN2Generator, default_channels


class ResBlockUp(nn.Module):
    """Residual block with 2x bilinear upsampling (GFPGAN clean's ``ResUpBlock``)."""

    def __init__(self, in_ch: int, out_ch: int):
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, in_ch, 3, padding=1)
        self.conv2 = nn.Conv2d(in_ch, out_ch, 3, padding=1)
        self.skip = nn.Conv2d(in_ch, out_ch, 1, bias=False)

    def forward(self, x):
        x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        out = F.leaky_relu(self.conv2(F.leaky_relu(self.conv1(x), 0.2)), 0.2)
        return out + self.skip(x)


class DegradationRemovalUNet(nn.Module):
    """Sec. 3.2 of GFPGAN; ``forward(x) -> (latent (N, num_latent, style_dim), [feature per scale 8..size],
    [RGB per scale 8..size])``."""

    def __init__(self, size: int, channels: dict[int, int], num_latent: int, style_dim: int):
        super().__init__()
        self.num_latent, self.style_dim = num_latent, style_dim
        res = [2 ** k for k in range(2, int(math.log2(size)) + 1)]  # 4..size
        self.conv_body_first = nn.Conv2d(3, channels[size], 1)
        self.conv_body_down = nn.ModuleList(ResBlockDown(channels[r], channels[r // 2]) for r in reversed(res[1:]))
        self.final_conv = nn.Conv2d(channels[4], channels[4], 3, padding=1)
        self.final_linear = nn.Linear(channels[4] * 16, num_latent * style_dim)
        self.conv_body_up = nn.ModuleList(ResBlockUp(channels[r // 2], channels[r]) for r in res[1:])
        self.toRGB = nn.ModuleList(nn.Conv2d(channels[r], 3, 1) for r in res[1:])

    def forward(self, x):
        feat = F.leaky_relu(self.conv_body_first(x), 0.2)
        skips = []
        for block in self.conv_body_down:
            skips.insert(0, feat)
            feat = block(feat)
        feat = F.leaky_relu(self.final_conv(feat), 0.2)
        latent = self.final_linear(feat.flatten(1)).view(-1, self.num_latent, self.style_dim)
        feats, rgbs = [], []
        for block, skip, to_rgb in zip(self.conv_body_up, skips, self.toRGB):
            feat = block(feat) + skip
            feats.append(feat)
            rgbs.append(to_rgb(feat))
        return latent, feats, rgbs


class SFTConditions(nn.Module):
    """Per scale, the CS-SFT maps α, β (eq. (3)) from the U-Net's decoder features; the last layer starts at
    zero so an untrained restorer passes the prior's features through unchanged."""

    def __init__(self, size: int, unet_channels: dict[int, int], prior_channels: dict[int, int]):
        super().__init__()
        self.scales, self.shifts = nn.ModuleList(), nn.ModuleList()
        for r in (2 ** k for k in range(3, int(math.log2(size)) + 1)):
            half = prior_channels[r] - prior_channels[r] // 2
            for heads in (self.scales, self.shifts):
                head = nn.Sequential(nn.Conv2d(unet_channels[r], unet_channels[r], 3, padding=1),
                                     nn.LeakyReLU(0.2, True), nn.Conv2d(unet_channels[r], half, 3, padding=1))
                nn.init.zeros_(head[-1].weight)
                nn.init.zeros_(head[-1].bias)
                heads.append(head)

    def forward(self, feats: list[torch.Tensor]) -> list[torch.Tensor]:
        out = []
        for f, scale, shift in zip(feats, self.scales, self.shifts):
            out += [scale(f), shift(f)]
        return out


class GFPGAN(nn.Module):
    """The restorer: U-Net + CS-SFT conditions (trained) driving ``prior`` (frozen, passed at call time so
    that it stays a separate, untrained network).

    Args:
        size: face side.  prior_channels / style_dim / num_latent: those of the prior generator.
        unet_width: U-Net channels up to 32 px.  gfp: False = "w/o GFP" (U-Net alone).
        residual: read the output as a correction to the degraded input (not in GFPGAN): a
            :class:`FullResHead` over [U-Net full-resolution features, the restoration] and the input, last
            layer zero-initialised, through :func:`refine_fill` -- an untrained restorer returns its input.
    """

    def __init__(self, size: int, prior_channels: dict[int, int], style_dim: int, num_latent: int,
                 unet_width: int = 512, gfp: bool = True, residual: bool = False):
        super().__init__()
        self.gfp = gfp
        uch = default_channels(size, unet_width, unet_width)
        self.unet = DegradationRemovalUNet(size, uch, num_latent, style_dim)
        self.conditions = SFTConditions(size, uch, prior_channels) if gfp else None
        self.head = FullResHead(uch[size] + 3, 3, 3, zero_last=True) if residual else None

    def forward(self, x: torch.Tensor, prior: StyleGAN2Generator | None = None):
        """``(restored (N, 3, S, S), [pyramid RGB 8..S])`` for a degraded face ``x`` in [-1, 1]."""
        latent, feats, rgbs = self.unet(x)
        if not self.gfp:
            out = rgbs[-1]
        elif prior is None:
            raise ValueError("GFPGAN: the facial prior (a StyleGAN2 generator) is required when gfp=True")
        else:
            out = prior(latent, input_is_latent=True, conditions=self.conditions(feats))
        if self.head is not None:
            out = refine_fill(x, self.head(torch.cat([feats[-1], out], 1), x), -1.0, 1.0)
        return out, rgbs
