"""GMCNN generator: generative multi-column CNN, Wang et al. 2018 ("Image Inpainting via Generative
Multi-column Convolutional Neural Networks", NeurIPS) sec. 3.1, Fig. 2, and the confidence-driven
reconstruction weights of sec. 3.2.

Three parallel encoder-decoder columns with 7x7, 5x5 and 3x3 kernels (large to small receptive fields)
each: a conv, two stride-2 downsamplings, dilated convs (rates 2, 4, 8, 16) at 1/4 scale, two convs; the
columns' features are upsampled to full resolution, concatenated and merged by two 3x3 convs into RGB
(ELU activations, tanh output in [-1, 1] mapped to [0, 1]). Input: ``cat(2x - 1 (hole = 0), mask)``.

Deviations: the paper's columns decode at 1/4, 1/2 and 1/1 with their own upsampling convs; here each
column keeps its kernel size throughout and is bilinearly upsampled from 1/4 before the merge (fewer layers);
``width`` scales every column (paper widths 32/32/64 at 256 px; smoke: 8).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

DILATIONS = (2, 4, 8, 16)


def _conv(cin: int, cout: int, k: int, stride: int = 1, dilation: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, dilation * (k - 1) // 2, dilation), nn.ELU())


class Column(nn.Module):
    """One GMCNN column with a single kernel size ``k``: ``(N, 4, H, W)`` -> ``(N, 2w, H/4, W/4)``."""

    def __init__(self, k: int, width: int, dilations=DILATIONS):
        super().__init__()
        w = width
        layers = [_conv(4, w, k), _conv(w, 2 * w, k, 2), _conv(2 * w, 2 * w, k), _conv(2 * w, 4 * w, k, 2)]
        layers += [_conv(4 * w, 4 * w, k, dilation=d) for d in dilations]
        layers += [_conv(4 * w, 4 * w, k), _conv(4 * w, 2 * w, k)]
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class GMCNN(nn.Module):
    """Multi-column generator, GMCNN sec. 3.1.

    Args:
        width: channels of each column's first conv; kernels: the columns' kernel sizes (paper 7, 5, 3).

    Shapes: ``forward(masked, mask)``: ``(N, 3, H, W)`` in [0, 1], ``(N, 1, H, W)`` (1 = hole) ->
    ``(N, 3, H, W)`` in [0, 1]; H, W divisible by 4.
    """

    def __init__(self, width: int = 32, kernels: tuple[int, ...] = (7, 5, 3)):
        super().__init__()
        self.columns = nn.ModuleList([Column(k, width) for k in kernels])
        merged = 2 * width * len(kernels)
        self.merge = nn.Sequential(_conv(merged, merged // 2, 3), nn.Conv2d(merged // 2, 3, 3, padding=1))

    def forward(self, masked: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        if masked.shape[-1] % 4 or masked.shape[-2] % 4:
            raise ValueError(f"GMCNN needs H and W divisible by 4, got {tuple(masked.shape[-2:])}")
        x = torch.cat([(2 * masked - 1) * (1 - mask), mask], dim=1)
        size = x.shape[-2:]
        feats = [F.interpolate(c(x), size=size, mode="bilinear", align_corners=False) for c in self.columns]
        return (torch.tanh(self.merge(torch.cat(feats, dim=1))) + 1) / 2


def gaussian_kernel(size: int, sigma: float) -> torch.Tensor:
    """Normalised 2-D Gaussian ``(1, 1, size, size)``."""
    ax = torch.arange(size, dtype=torch.float32) - (size - 1) / 2
    g = torch.exp(-ax ** 2 / (2 * sigma ** 2))
    k = g[:, None] * g[None, :]
    return (k / k.sum())[None, None]


@torch.no_grad()
def confidence_weights(mask: torch.Tensor, size: int = 64, sigma: float = 40.0, iterations: int = 7) -> torch.Tensor:
    """Confidence-driven reconstruction weights, GMCNN sec. 3.2: ``M_w^i = (g * M̄^i) ⊙ M`` with
    ``M̄^i = 1 - M + M_w^{i-1}``, ``M_w^0 = 0``, ``g`` a ``size``x``size`` Gaussian (paper: 64, σ = 40 at 256 px;
    scale both with the image), repeated ``iterations`` times (release: 7). Known pixels get weight 1; hole
    pixels get the propagated confidence, highest next to the boundary.

    Args: mask ``(N, 1, H, W)`` float, 1 = hole. Returns ``(N, 1, H, W)`` in [0, 1].
    """
    size = max(3, size | 1)  # odd, so the filter is centred
    g = gaussian_kernel(size, sigma).to(mask)
    pad = size // 2
    w = torch.zeros_like(mask)
    for _ in range(iterations):
        src = F.pad(1 - mask + w, (pad, pad, pad, pad), mode="replicate")
        w = F.conv2d(src, g) * mask
    return (1 - mask) + w


def scaled_gaussian(image_size: int, size256: int = 64, sigma256: float = 40.0) -> tuple[int, float]:
    """The paper's Gaussian (64, σ 40 at 256 px) scaled to ``image_size``."""
    s = image_size / 256
    return max(3, int(math.ceil(size256 * s))), max(1.0, sigma256 * s)


__all__ = ["GMCNN", "Column", "confidence_weights", "gaussian_kernel", "scaled_gaussian"]
