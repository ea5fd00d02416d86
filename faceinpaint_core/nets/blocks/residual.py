"""Residual block, He et al. 2016 eq. (1) ``y = x + F(x)``; seed slide 02 ("残差网络ReNet") for CLGN's local stage.

``F`` is pad -> 3x3 conv -> norm -> ReLU -> pad -> 3x3 conv -> norm, with no activation after
the sum (the pix2pix/CycleGAN generator block that LG-Net's local refinement network uses).
``dilation > 1`` widens the receptive field without downsampling (not used by CLGN's local stage,
whose receptive field is kept small on purpose).
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn

NORMS = ("batch", "instance", "none")


def norm_layer(kind: str) -> Callable[[int], nn.Module]:
    """A factory ``channels -> nn.Module`` for the normalisation ``kind`` (batch | instance | none)."""
    if kind == "batch":
        return nn.BatchNorm2d
    if kind == "instance":
        return lambda c: nn.InstanceNorm2d(c, affine=True)
    if kind == "none":
        return lambda c: nn.Identity()
    raise ValueError(f"unknown normalisation {kind!r}; known: {list(NORMS)}")


class ResidualBlock(nn.Module):
    """Residual block ``y = x + F(x)``, He et al. 2016 eq. (1), with two 3x3 convolutions.

    Args:
        channels: C of the input ``(N, C, H, W)``; the output has the same shape.
        dilation: dilation of both convolutions (padding matches, so H and W are kept).
        norm: batch | instance | none.
        padding: reflect | zeros (padding mode of both convolutions).
    """

    def __init__(self, channels: int, dilation: int = 1, norm: str = "batch", padding: str = "reflect"):
        super().__init__()
        make_norm = norm_layer(norm)
        bias = norm != "batch"
        conv = lambda: nn.Conv2d(channels, channels, 3, padding=dilation, dilation=dilation,
                                 padding_mode=padding, bias=bias)
        self.body = nn.Sequential(conv(), make_norm(channels), nn.ReLU(inplace=True), conv(), make_norm(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, C, H, W) -> (N, C, H, W)``."""
        return x + self.body(x)
