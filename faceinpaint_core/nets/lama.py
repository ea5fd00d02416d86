"""LaMa's generator, Suvorov et al. 2022 ("Resolution-robust Large Mask Inpainting with Fourier Convolutions",
WACV), sec. 3.1 and the release's ``FFCResNetGenerator``: reflection-padded 7×7 conv, stride-2 downsamplings,
a stack of FFC residual blocks (global share 0.75), transposed-convolution upsampling, 7×7 conv, sigmoid.

Input: the masked image (hole set to 0) and the mask, 4 channels, in [0, 1]. Big LaMa at 256 px uses 3
downsamplings, width 64 and 18 blocks (LaMa-Fourier: 9); the smoke profile uses fewer.
"""
from __future__ import annotations

import torch
from torch import nn

from .blocks.ffc import FFCResBlock


class LaMaGenerator(nn.Module):
    """Args: width: first conv's channels (64); n_down: stride-2 downsamplings (3); n_blocks: FFC residual blocks
    (9 LaMa-Fourier, 18 Big LaMa); ratio: global share of the FFC channels (0.75).

    Shapes: ``forward(x, mask)``: ``(N, 3, H, W)`` in [0, 1], ``(N, 1, H, W)`` 1 = hole → ``(N, 3, H, W)`` in [0, 1]."""

    def __init__(self, width: int = 64, n_down: int = 3, n_blocks: int = 9, ratio: float = 0.75):
        super().__init__()
        layers = [nn.ReflectionPad2d(3), nn.Conv2d(4, width, 7), nn.BatchNorm2d(width), nn.ReLU(True)]
        ch = width
        for _ in range(n_down):
            layers += [nn.Conv2d(ch, 2 * ch, 3, 2, 1), nn.BatchNorm2d(2 * ch), nn.ReLU(True)]
            ch *= 2
        self.down = nn.Sequential(*layers)
        self.blocks = nn.Sequential(*[FFCResBlock(ch, ratio) for _ in range(n_blocks)])
        up = []
        for _ in range(n_down):
            up += [nn.ConvTranspose2d(ch, ch // 2, 3, 2, 1, output_padding=1), nn.BatchNorm2d(ch // 2), nn.ReLU(True)]
            ch //= 2
        up += [nn.ReflectionPad2d(3), nn.Conv2d(ch, 3, 7)]
        self.up = nn.Sequential(*up)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.up(self.blocks(self.down(torch.cat([x * (1 - mask), mask], dim=1)))))
