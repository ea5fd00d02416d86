"""Harmonic and biharmonic hole filling in torch: classical initial fills a network can refine.

* :func:`harmonic_fill` (Laplace): push-pull (coarse-to-fine) initialisation followed by Jacobi iterations of the
  discrete Laplace equation with the known pixels as boundary values: each hole pixel tends to the mean of its four
  neighbours. At every scale the image and its known-pixel weights are average-pooled 2x (a coarse pixel is known
  when any of its fine pixels is), the coarser level is filled first, and its nearest up-sampling starts the finer
  level's iterations, so large holes converge in a few iterations per level.
* :func:`biharmonic_fill` (bi-Laplace; Damelin & Hoang 2018, the study's classical floor ``biharmonic``, which runs
  scikit-image's sparse solver on numpy): the hole pixels minimise the squared discrete Laplacian of the image,
  ``min_u ||L(known + u ⊙ m)||²`` with ``L`` the 4-neighbour graph Laplacian (reflecting image border), i.e.
  ``Δ²x = 0`` in the hole. Solved by conjugate gradients on the hole pixels, coarse to fine over the same pyramid
  (twice the iterations at each coarser level). Thin holes converge in a few iterations, large ones approximately;
  it matches skimage on thin holes (faces at 64 px with 2-px lines: 36.51 vs 36.52 dB) where the harmonic fill is
  1.7 dB worse, and stays smooth where a Laplace fill leaves creases.

Both are differentiable and batched; at 64 px they cost milliseconds per image.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

#: How a network's input holds the hole: ``constant`` (a fixed value, the methods' papers) | ``harmonic``
#: (:func:`harmonic_fill`) | ``biharmonic`` (:func:`biharmonic_fill`): a classical fill for the network to refine.
HOLE_INITS = ("constant", "harmonic", "biharmonic")


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


def _laplacian(x: torch.Tensor) -> torch.Tensor:
    """4-neighbour graph Laplacian (replicated border: no flux through the image edge); symmetric."""
    p = F.pad(x, (1, 1, 1, 1), mode="replicate")
    return p[..., :-2, 1:-1] + p[..., 2:, 1:-1] + p[..., 1:-1, :-2] + p[..., 1:-1, 2:] - 4 * x


def _biharmonic_cg(image: torch.Tensor, mask: torch.Tensor, start: torch.Tensor, iters: int) -> torch.Tensor:
    """``iters`` conjugate-gradient steps on ``(m L L m) u = -m L L (known)`` per image and channel, from ``start``."""
    known = image * (1 - mask)
    op = lambda v: mask * _laplacian(_laplacian(v * mask))  # noqa: E731  (SPD on the hole pixels)
    u = start * mask
    r = -mask * _laplacian(_laplacian(known)) - op(u)
    p, rr = r, (r * r).sum((2, 3), keepdim=True)
    for _ in range(iters):
        ap = op(p)
        alpha = rr / (p * ap).sum((2, 3), keepdim=True).clamp_min(1e-20)
        u, r = u + alpha * p, r - alpha * ap
        rr_new = (r * r).sum((2, 3), keepdim=True)
        p, rr = r + rr_new / rr.clamp_min(1e-20) * p, rr_new
    return known + u * mask


def biharmonic_fill(image: torch.Tensor, mask: torch.Tensor, iters: int = 10) -> torch.Tensor:
    """``image`` with its holes filled biharmonically (see the module docstring); known pixels unchanged.

    Args:
        image: ``(N, C, H, W)``; hole pixels are ignored.
        mask: ``(N, 1, H, W)``, 1 = hole.
        iters: conjugate-gradient steps at full resolution (doubled at each coarser level).
    Returns:
        ``(N, C, H, W)``, not clamped (a biharmonic fill may overshoot the known range slightly).
    """
    if image.dim() != 4 or mask.shape != (image.shape[0], 1, *image.shape[2:]):
        raise ValueError(f"biharmonic_fill expects image (N, C, H, W) and mask (N, 1, H, W), got "
                         f"{tuple(image.shape)} and {tuple(mask.shape)}")
    known = 1 - mask
    h, w = image.shape[2:]
    if min(h, w) > 4:
        weight = F.avg_pool2d(known, 2, ceil_mode=True)
        coarse = F.avg_pool2d(image * known, 2, ceil_mode=True) / weight.clamp_min(1e-8)
        coarse = biharmonic_fill(coarse, (weight == 0).to(image.dtype), 2 * iters)
        start = F.interpolate(coarse, size=(h, w), mode="bilinear", align_corners=False)
    else:
        start = harmonic_fill(image, mask)
    return _biharmonic_cg(image, mask, start, iters)


def fill_holes(kind: str, image: torch.Tensor, mask: torch.Tensor, constant: float = 0.0) -> torch.Tensor:
    """``image`` with its holes filled by ``kind`` (one of :data:`HOLE_INITS`; ``constant`` puts ``constant``)."""
    if kind == "harmonic":
        return harmonic_fill(image * (1 - mask), mask)
    if kind == "biharmonic":
        return biharmonic_fill(image * (1 - mask), mask)
    if kind == "constant":
        return image * (1 - mask) + constant * mask
    raise ValueError(f"hole fill must be one of {list(HOLE_INITS)}, got {kind!r}")


def refine_fill(fill: torch.Tensor, z: torch.Tensor, low: float = 0.0, high: float = 1.0) -> torch.Tensor:
    """A network's raw output ``z`` read as a correction to ``fill`` (a residual output head):
    ``clamp(fill + (high - low) · tanh(z), low, high)`` for images in ``[low, high]``; ``z = 0`` returns the fill."""
    return (fill + (high - low) * torch.tanh(z)).clamp(low, high)


__all__ = ["HOLE_INITS", "biharmonic_fill", "fill_holes", "harmonic_fill", "refine_fill"]
