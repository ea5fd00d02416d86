"""Grayscale conversion and Canny edge maps (scikit-image), the edge inputs of source 002 eq. (4).

``B_canny`` of eq. (4) is "the masked edge image obtained by the Canny operator". We compute it from the
known pixels only: :func:`skimage.feature.canny` with its ``mask`` argument smooths with a normalised
(mask-aware) Gaussian and never reads the hole, and the result is zeroed inside the hole. The same map is
computable at test time from the masked input alone, so training and inference see identical inputs
(EdgeConnect's test-time convention, applied to training too). The ground-truth edge map of the edge
discriminator is Canny on the whole face.
"""
from __future__ import annotations

import numpy as np
import torch
from skimage.feature import canny

# ITU-R BT.709 luma, the weights of skimage.color.rgb2gray (EdgeConnect converts with rgb2gray)
GRAY_WEIGHTS = (0.2125, 0.7154, 0.0721)


def rgb_to_gray(image: torch.Tensor) -> torch.Tensor:
    """``(N, 3, H, W)`` in [0, 1] → ``(N, 1, H, W)`` luma in [0, 1] (skimage's ``rgb2gray`` weights)."""
    if image.dim() != 4 or image.shape[1] != 3:
        raise ValueError(f"rgb_to_gray expects (N, 3, H, W), got {tuple(image.shape)}")
    w = torch.tensor(GRAY_WEIGHTS, dtype=image.dtype, device=image.device).view(1, 3, 1, 1)
    return (image * w).sum(dim=1, keepdim=True)


def canny_edges(gray: torch.Tensor, sigma: float = 2.0, hole: torch.Tensor | None = None) -> torch.Tensor:
    """Canny edge maps of a batch (scikit-image, default hysteresis thresholds 0.1 / 0.2).

    Args:
        gray: ``(N, 1, H, W)`` in [0, 1].
        sigma: Gaussian σ of Canny (EdgeConnect's default: 2).
        hole: optional ``(N, 1, H, W)``, 1 = hole: Canny is restricted to the known pixels (hole pixels are
            never read) and the result is 0 inside the hole.
    Returns:
        ``(N, 1, H, W)`` float {0, 1} on ``gray``'s device.
    """
    if gray.dim() != 4 or gray.shape[1] != 1:
        raise ValueError(f"canny_edges expects a grayscale batch (N, 1, H, W), got {tuple(gray.shape)}")
    if sigma <= 0:
        raise ValueError(f"canny sigma must be > 0, got {sigma}")
    g = gray.detach().float().cpu().numpy()[:, 0].astype(np.float64)
    known = None if hole is None else hole.detach().cpu().numpy()[:, 0] < 0.5
    out = np.stack([canny(g[i], sigma=sigma, mask=None if known is None else known[i]) for i in range(len(g))])
    edges = torch.from_numpy(out[:, None].astype(np.float32)).to(gray.device)
    return edges if hole is None else edges * (1 - hole.to(edges.dtype))
