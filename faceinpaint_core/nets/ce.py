"""Context Encoders, Pathak et al. 2016 (CVPR), the generator: encoder → channel-wise fully-connected layer →
decoder (sec. 3.1, Fig. 2).

* Encoder: stride-2 4×4 convolutions with BN + LeakyReLU(0.2) down to 4×4 (the paper's AlexNet-derived encoder
  ends at 6×6×256 for 227 px; the released Torch code uses DCGAN-style 4×4 convs, as here).
* Channel-wise fully-connected layer: each feature map (H·W values) is connected to itself by its own full H·W×H·W
  matrix, no connections across channels (``C·(HW)² + C·HW`` parameters instead of ``(C·HW)²``), then a
  stride-1 1×1 convolution propagates information across channels.
* Decoder: 4×4 transposed convolutions with BN + ReLU back to the input size, tanh.

Deviation: the paper completes a central 64×64 square and outputs only that region; here the decoder outputs the
whole image, so the same network handles the study's free-form and rectangular holes (the loss is on the hole).
"""
from __future__ import annotations

import torch
from torch import nn


class ChannelwiseFC(nn.Module):
    """Per-channel fully-connected layer over the spatial positions (Pathak et al. 2016, sec. 3.1).

    Shapes: ``(N, C, H, W)`` → ``(N, C, H, W)``; parameters ``C·(HW)²`` weights + ``C·HW`` biases."""

    def __init__(self, channels: int, hw: int):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(channels, hw, hw) / hw ** 0.5)
        self.bias = nn.Parameter(torch.zeros(channels, hw))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        y = torch.einsum("ncp,cpq->ncq", x.reshape(n, c, h * w), self.weight) + self.bias
        return y.reshape(n, c, h, w)


class ContextEncoder(nn.Module):
    """Args: size: input resolution (power of two >= 16); width: channels of the first conv (paper: 64);
    bottleneck: encoder output channels (paper: 4000 in the Torch release; we cap at ``8·width``).

    Shapes: ``forward(x)``: ``(N, 4, S, S)`` (masked image in [-1, 1] + mask) → ``(N, 3, S, S)`` in [-1, 1]."""

    def __init__(self, size: int = 128, width: int = 64, in_ch: int = 4):
        super().__init__()
        if size < 16 or size & (size - 1):
            raise ValueError(f"ContextEncoder: size must be a power of two >= 16, got {size}")
        n_down = (size // 4).bit_length() - 1  # down to 4×4
        enc, ch = [nn.Conv2d(in_ch, width, 4, 2, 1), nn.LeakyReLU(0.2, True)], width
        for _ in range(n_down - 1):
            nxt = min(ch * 2, 8 * width)
            enc += [nn.Conv2d(ch, nxt, 4, 2, 1), nn.BatchNorm2d(nxt), nn.LeakyReLU(0.2, True)]
            ch = nxt
        self.encoder = nn.Sequential(*enc)
        self.fc = ChannelwiseFC(ch, 16)
        self.mix = nn.Sequential(nn.Conv2d(ch, ch, 1), nn.BatchNorm2d(ch), nn.ReLU(True))
        dec = []
        for _ in range(n_down - 1):
            nxt = max(ch // 2, width)
            dec += [nn.ConvTranspose2d(ch, nxt, 4, 2, 1), nn.BatchNorm2d(nxt), nn.ReLU(True)]
            ch = nxt
        dec += [nn.ConvTranspose2d(ch, 3, 4, 2, 1)]
        self.decoder = nn.Sequential(*dec)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.decoder(self.mix(self.fc(self.encoder(x)))))
