"""Harmonic (Laplace) hole filling in torch: a classical initial fill a network can refine.

Push-pull (coarse-to-fine) initialisation followed by Jacobi iterations of the discrete Laplace equation with the
known pixels as boundary values: each hole pixel tends to the mean of its four neighbours. At every scale the
image and its known-pixel weights are average-pooled 2x (a coarse pixel is known when any of its fine pixels is),
the coarser level is filled first, and its nearest up-sampling starts the finer level's iterations, so large holes
converge in a few iterations per level. Differentiable and batched; at 64 px it costs milliseconds. Close to (not
identical with) skimage's biharmonic inpainting, which solves the fourth-order equation.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def harmonic_fill(image: torch.Tensor, mask: torch.Tensor, iters: int = 20) -> torch.Tensor:
    """``image`` with its holes filled harmonically; known pixels are returned unchanged.

    Args:
        image: ``(N, C, H, W)``; hole pixels are ignored.
        mask: ``(N, 1, H, W)``, 1 = hole.
        iters: Jacobi iterations per pyramid level.
    Returns:
        ``(N, C, H, W)``.
    """
    if image.dim() != 4 or mask.shape != (image.shape[0], 1, *image.shape[2:]):
        raise ValueError(f"harmonic_fill expects image (N, C, H, W) and mask (N, 1, H, W), got "
                         f"{tuple(image.shape)} and {tuple(mask.shape)}")
    known = 1 - mask
    h, w = image.shape[2:]
    if h > 1 or w > 1:
        weight = F.avg_pool2d(known, 2, ceil_mode=True)
        coarse = F.avg_pool2d(image * known, 2, ceil_mode=True) / weight.clamp_min(1e-8)
        coarse = harmonic_fill(coarse, (weight == 0).to(image.dtype), iters)
        start = F.interpolate(coarse, size=(h, w), mode="nearest")
    else:  # a single pixel: nothing known at this level means nothing known at all
        start = torch.zeros_like(image)
    x = image * known + start * mask
    for _ in range(iters if min(h, w) > 1 else 0):
        p = F.pad(x, (1, 1, 1, 1), mode="replicate")
        avg = (p[..., :-2, 1:-1] + p[..., 2:, 1:-1] + p[..., 1:-1, :-2] + p[..., 1:-1, 2:]) / 4
        x = image * known + avg * mask
    return x


__all__ = ["harmonic_fill"]
