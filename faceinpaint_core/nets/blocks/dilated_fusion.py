"""Dilated-convolution fusion block with mixed attention, source 002 sec. 2.2 and figs 3-4 (its ref. [9]).

Four 3×3 convolutions with dilation rates 1, 2, 4, 8. The source says they "become" 3×3, 7×7, 15×15 and
31×31 kernels; a single 3×3 convolution of rate ``d`` covers only ``2d + 1`` pixels (3, 5, 9, 17), and
3/7/15/31 are the receptive fields of the four rates applied **in sequence**. We keep the four branches
parallel (each reads the block's input) and give branch ``k`` the previous branch's output as well, as in
the dense multi-scale fusion block of Hui et al. 2020 (DMFB)::

    u   = conv1×1(x)                     (C → C/4)
    y_1 = conv3×3,d=1(u)
    y_k = conv3×3,d=r_k(u + y_{k−1})     k = 2, 3, 4
    out = x + conv1×1(A(act([y_1; y_2; y_3; y_4])))

so branch ``k`` sees exactly the source's 3, 7, 15, 31 pixels and the block's receptive field is 31
(the test probes it with input gradients; the block has no normalisation layer, whose image-wide
statistics would make every output depend on every input). ``A`` is :class:`~.attention.MixedAttention` (or the
identity with ``attention=False``); ``dilation=False`` sets every rate to 1 (receptive field 9): the
ablation of the source's multi-scale context.
"""
from __future__ import annotations

import torch
from torch import nn

from .attention import MixedAttention

RATES = (1, 2, 4, 8)


class DilatedFusionBlock(nn.Module):
    """Four hierarchical dilated 3×3 branches + mixed attention + 1×1 fusion, residual (see the module docstring).

    Args:
        channels: C of the input ``(N, C, H, W)`` (divisible by the number of branches); output same shape.
        rates: dilation rate of each branch (source: 1, 2, 4, 8).
        dilation: False replaces every rate by 1 (ablation).
        attention: apply :class:`MixedAttention` to the concatenated branches (ablation flag).
    """

    def __init__(self, channels: int, rates: tuple[int, ...] = RATES, dilation: bool = True, attention: bool = True):
        super().__init__()
        if channels % len(rates):
            raise ValueError(f"DilatedFusionBlock: channels={channels} must divide by the {len(rates)} branches")
        self.rates = tuple(rates) if dilation else (1,) * len(rates)
        branch = channels // len(rates)
        self.reduce = nn.Conv2d(channels, branch, 1)
        self.branches = nn.ModuleList(nn.Conv2d(branch, branch, 3, padding=r, dilation=r)
                                      for r in self.rates)
        self.act = nn.SiLU()
        self.attention = MixedAttention(channels) if attention else nn.Identity()
        self.fuse = nn.Conv2d(channels, channels, 1)

    def receptive_fields(self) -> list[int]:
        """Receptive field (pixels, one side) of each branch: ``1 + 2·Σ_{j≤k} r_j`` → 3, 7, 15, 31."""
        out, rf = [], 1
        for r in self.rates:
            rf += 2 * r
            out.append(rf)
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, C, H, W) -> (N, C, H, W)``."""
        u = self.reduce(x)
        ys, prev = [], None
        for conv in self.branches:
            prev = conv(u if prev is None else u + prev)
            ys.append(prev)
        return x + self.fuse(self.attention(self.act(torch.cat(ys, dim=1))))
