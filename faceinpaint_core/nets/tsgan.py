"""TSGAN generators (source 004 section A): U-Net de-occlusion ``G_d`` and frontalisation ``G_f`` with MAM.

Source: both modules are U-Net encoder-decoder generators (``G_d^enc / G_d^dec``, ``G_f^enc /
G_f^dec``) with batch normalisation and Leaky ReLU; the mask-attention module sits on the U-shaped
(skip) connections of the generators (section B, "带U型连接的掩模关注模块"). Layer counts and widths
are not given in the slides [ours: pix2pix-style 4×4 stride-2 convolutions, widths doubling to
``max_width``, MAM on the skips whose map has at most ``mam_max_positions`` positions, output sigmoid].

``TSGANGenerator`` input: image channels + the hole mask (1 channel); output ``(N, 3, H, W)`` in [0, 1]
(with ``residual``: the input image plus a learnt correction).
"""
from __future__ import annotations

import torch
from torch import nn

from .blocks.harmonic_fill import refine_fill
from .blocks.mam import MaskAttentionModule
from .blocks.upsample import upsample_conv


def _down(cin: int, cout: int, norm: bool) -> nn.Sequential:
    layers = [nn.Conv2d(cin, cout, 4, 2, 1, bias=not norm)]
    if norm:
        layers.append(nn.BatchNorm2d(cout))
    return nn.Sequential(*layers, nn.LeakyReLU(0.2, True))


def _up(cin: int, cout: int, upsample: str = "deconv") -> nn.Sequential:
    return nn.Sequential(upsample_conv(upsample, cin, cout, 4, bias=False), nn.BatchNorm2d(cout),
                         nn.LeakyReLU(0.2, True))


class TSGANGenerator(nn.Module):
    """U-Net with MAM on its skip connections (see the module docstring).

    Args:
        in_ch: image channels (3); the mask is appended as one more.  width: first-level channels.
        depth: stride-2 levels (input side must be divisible by ``2**depth``).  max_width: channel cap.
        mam: MAM on the skips (ablation flag).  mam_max_positions: only skips with ``H·W`` at most this.
        size: the input side (to place MAM by position count).
        upsample: ``deconv`` (4x4 transposed convolutions, pix2pix) | ``resize`` (nearest 2x + 3x3 convolution,
            :mod:`.blocks.upsample`); the slides do not name the layer.
        residual: the output is a correction to the input image (:func:`~.blocks.harmonic_fill.refine_fill`, the
            last convolution zero-initialised, so the untrained generator returns its input) instead of a sigmoid
            image [ours; not in the slides].
    """

    def __init__(self, in_ch: int = 3, width: int = 64, depth: int = 5, max_width: int = 512, mam: bool = True,
                 mam_max_positions: int = 256, size: int = 128, upsample: str = "deconv", residual: bool = False):
        super().__init__()
        if size % 2 ** depth:
            raise ValueError(f"TSGANGenerator: size {size} must be divisible by 2**depth = {2 ** depth}")
        chs = [min(width * 2 ** k, max_width) for k in range(depth)]
        self.downs = nn.ModuleList(_down(in_ch + 1 if k == 0 else chs[k - 1], chs[k], k > 0) for k in range(depth))
        self.ups = nn.ModuleList(_up(chs[k] * (1 if k == depth - 1 else 2), chs[k - 1] if k else width, upsample)
                                 for k in range(depth - 1, -1, -1))
        sides = [size // 2 ** (k + 1) for k in range(depth - 1)]  # skip k's side
        self.mam = nn.ModuleDict({str(k): MaskAttentionModule(chs[k]) for k in range(depth - 1)
                                  if mam and sides[k] ** 2 <= mam_max_positions})
        self.residual = residual
        self.out = nn.Conv2d(width, 3, 3, 1, 1) if residual else nn.Sequential(nn.Conv2d(width, 3, 3, 1, 1),
                                                                                nn.Sigmoid())

    def zero_residual_head(self) -> None:
        """Zero the last convolution of a ``residual`` generator (after any weight initialisation)."""
        if self.residual:
            nn.init.zeros_(self.out.weight)
            nn.init.zeros_(self.out.bias)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        skips, h = [], torch.cat([x, mask.to(x.dtype)], 1)
        for down in self.downs:
            h = down(h)
            skips.append(h)
        h = self.ups[0](skips[-1])
        for j, up in enumerate(self.ups[1:]):
            k = len(skips) - 2 - j
            s = self.mam[str(k)](skips[k], mask) if str(k) in self.mam else skips[k]
            h = up(torch.cat([h, s], 1))
        return refine_fill(x, self.out(h)) if self.residual else self.out(h)


def init_weights(net: nn.Module, generator: torch.Generator) -> nn.Module:
    """DCGAN initialisation: conv weights N(0, 0.02), BN scales N(1, 0.02), biases 0 (seeded)."""
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Conv1d)):
            with torch.no_grad():
                m.weight.copy_(torch.randn(m.weight.shape, generator=generator) * 0.02)
                if m.bias is not None:
                    m.bias.zero_()
        elif isinstance(m, nn.BatchNorm2d):
            with torch.no_grad():
                m.weight.copy_(1 + torch.randn(m.weight.shape, generator=generator) * 0.02)
                m.bias.zero_()
    return net
