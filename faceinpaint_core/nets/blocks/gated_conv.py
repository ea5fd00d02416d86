"""Gated convolution, Yu et al. 2019 ("Free-Form Image Inpainting with Gated Convolution", DeepFill v2) eq. (3).

``O = φ(W_f · I) ⊙ σ(W_g · I)``: one convolution gives the features and the gate (split channel-wise), the gate
is a sigmoid in [0, 1] learned per pixel and channel (a soft, learned version of partial convolution's mask).
:class:`GatedDeconv2d` is the release's ``gen_deconv``: nearest ×2 upsampling then a gated conv.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class GatedConv2d(nn.Module):
    """Gated convolution (DeepFill v2 eq. (3)); ``activation`` φ = ELU as in the release (None = linear output).

    Shapes: ``(N, in_ch, H, W)`` → ``(N, out_ch, H/stride, W/stride)``; ``forward(x, return_gate=True)`` also
    returns the gate ``(N, out_ch, H', W')`` in [0, 1].
    """

    def __init__(self, in_ch: int, out_ch: int, kernel: int = 3, stride: int = 1, dilation: int = 1,
                 activation: str | None = "elu"):
        super().__init__()
        pad = dilation * (kernel - 1) // 2
        self.conv = nn.Conv2d(in_ch, 2 * out_ch, kernel, stride, pad, dilation=dilation)
        self.activation = activation

    def forward(self, x: torch.Tensor, return_gate: bool = False):
        feat, gate = self.conv(x).chunk(2, dim=1)
        gate = torch.sigmoid(gate)
        if self.activation == "elu":
            feat = F.elu(feat)
        out = feat * gate
        return (out, gate) if return_gate else out


class GatedDeconv2d(nn.Module):
    """DeepFill's ``gen_deconv``: nearest-neighbour ×2 upsampling, then a 3×3 gated convolution."""

    def __init__(self, in_ch: int, out_ch: int):
        super().__init__()
        self.conv = GatedConv2d(in_ch, out_ch, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=2, mode="nearest"))
