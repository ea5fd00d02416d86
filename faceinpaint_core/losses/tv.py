"""Total-variation loss, Liu et al. 2018 (Partial Convolutions) eq (6), optionally on the hole's 1-px dilation."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def hole_region(mask: torch.Tensor) -> torch.Tensor:
    """The region ``P`` of PConv eq (6): the hole dilated by one pixel (3×3 max-pool).

    Args:
        mask: ``(N, 1, H, W)`` float, 1 = hole.
    """
    return F.max_pool2d(mask, kernel_size=3, stride=1, padding=1)


def total_variation(x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Anisotropic L1 total variation, PConv eq (6).

    Sum of ``|x[i, j+1] - x[i, j]|`` and ``|x[i+1, j] - x[i, j]|`` over neighbour pairs, divided by the
    number of elements ``N·C·H·W`` (PConv's ``N_Icomp``). With ``mask`` only pairs whose two pixels
    both lie in the hole's 1-pixel dilation count (PConv applies it to the composited output there).

    Args:
        x: ``(N, C, H, W)`` image.
        mask: optional ``(N, 1, H, W)`` float, 1 = hole.

    Returns:
        scalar tensor.
    """
    dx = (x[..., :, 1:] - x[..., :, :-1]).abs()
    dy = (x[..., 1:, :] - x[..., :-1, :]).abs()
    if mask is not None:
        if mask.dim() != 4 or mask.shape[-2:] != x.shape[-2:]:
            raise ValueError(f"total_variation: mask {tuple(mask.shape)} does not match x {tuple(x.shape)}")
        region = hole_region(mask.to(x.dtype))
        dx = dx * (region[..., :, 1:] * region[..., :, :-1])
        dy = dy * (region[..., 1:, :] * region[..., :-1, :])
    return (dx.sum() + dy.sum()) / x.numel()
