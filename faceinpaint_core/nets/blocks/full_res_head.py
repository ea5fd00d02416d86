"""Full-resolution output head: the network's input joins its last full-resolution features before the output.

Used by CLGN's stages (``full_res_skip``) and by the facial-style inpainter (``full_res_head``); in neither source.
A decoder whose last layer is a stride-2 up-sampling has to rebuild every full-resolution detail (a 1-2 px stroke
of the hole, the known pixels beside it) from half-resolution features; this head gives it the input itself at
full resolution, through two 3x3 convolutions.
"""
from __future__ import annotations

import torch
from torch import nn


class FullResHead(nn.Module):
    """``conv3x3(ReLU(conv3x3(cat(f, x_in))))``.

    Args:
        features: channels of the full-resolution features ``f``.
        in_channels: channels of the network input ``x_in``.
        out_channels: output channels.
        zero_last: start the last convolution at zero (an untrained head outputs 0: for residual outputs, where
            the output is a correction to the input).
    """

    def __init__(self, features: int, in_channels: int, out_channels: int, zero_last: bool = False):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(features + in_channels, features, 3, 1, 1), nn.ReLU(),
                                  nn.Conv2d(features, out_channels, 3, 1, 1))
        if zero_last:
            nn.init.zeros_(self.body[-1].weight)
            nn.init.zeros_(self.body[-1].bias)

    def forward(self, features: torch.Tensor, stage_in: torch.Tensor) -> torch.Tensor:
        return self.body(torch.cat([features, stage_in], dim=1))


__all__ = ["FullResHead"]
