"""Reconstruction loss: hole/valid-weighted L1 with the normalisation of the recipe it follows.

Three recipes, one function (:func:`masked_l1`), named by what each divides by:

* ``region_mean`` — LG-Net (Quan et al. 2022, public code ``models/loss.py: l1_loss_mask``): each
  term is the mean absolute error over *its own region* of each image (hole elements for
  ``L_hole``, known elements for ``L_valid``), then averaged over the batch; images in [-1, 1].
* ``image_mean`` — Partial Convolutions (Liu et al. 2018) eqs (1)-(2): both terms divided by
  ``N_{I_gt} = C·H·W``, the element count of the *whole* image, so a term shrinks with its region.
* ``hole_area`` — EdgeConnect (Nazeri et al. 2019, public code ``src/models.py``:
  ``l1_loss(outputs, images) / mean(masks)``): the summed error over the batch divided by the number
  of hole elements in the batch; images in [0, 1].

With hole ratio ``r``, ``region_mean``'s hole term is ``1/r`` times ``image_mean``'s (4× at 25 %).
The package keeps images in [0, 1]; ``value_range="[-1,1]"`` scores errors as the [-1, 1]-range
recipes see them (``|2a - 2b| = 2|a - b|``).
"""
from __future__ import annotations

import torch

NORMALIZATIONS = ("region_mean", "image_mean", "hole_area")
VALUE_RANGES = {"[0,1]": 1.0, "[-1,1]": 2.0}


def _check(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, normalization: str, value_range: str) -> None:
    if pred.shape != target.shape:
        raise ValueError(f"masked_l1: pred {tuple(pred.shape)} and target {tuple(target.shape)} differ")
    if mask.dim() != pred.dim() or mask.shape[-2:] != pred.shape[-2:]:
        raise ValueError(f"masked_l1: mask {tuple(mask.shape)} does not match pred {tuple(pred.shape)}")
    if normalization not in NORMALIZATIONS:
        raise ValueError(f"masked_l1: unknown normalization {normalization!r}; known: {list(NORMALIZATIONS)}")
    if value_range not in VALUE_RANGES:
        raise ValueError(f"masked_l1: unknown value_range {value_range!r}; known: {list(VALUE_RANGES)}")


def _region_mean(err: torch.Tensor, region: torch.Tensor) -> torch.Tensor:
    """Per-image mean of ``err`` over ``region`` (0 for an empty region), averaged over the batch."""
    region = region.expand_as(err)
    count = region.flatten(1).sum(1)
    return ((err * region).flatten(1).sum(1) / count.clamp_min(1e-12)).mean()


def masked_l1(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, hole_weight: float = 6.0,
              valid_weight: float = 1.0, normalization: str = "region_mean",
              value_range: str = "[-1,1]") -> torch.Tensor:
    """``valid_weight·L_valid + hole_weight·L_hole``, normalised as in the module docstring.

    Defaults are LG-Net's (``region_mean`` on [-1, 1], weights 6 and 1, as in PConv).

    Args:
        pred: ``(N, C, H, W)`` prediction in [0, 1].
        target: ``(N, C, H, W)`` ground truth in [0, 1].
        mask: ``(N, 1, H, W)`` or ``(N, C, H, W)`` float, 1 = hole.
        hole_weight: weight of the hole term (PConv / LG-Net: 6; EdgeConnect: 1).
        valid_weight: weight of the known-pixel term (1 in all three recipes).
        normalization: ``region_mean`` (LG-Net), ``image_mean`` (PConv eqs (1)-(2)) or ``hole_area``
            (EdgeConnect).
        value_range: ``"[-1,1]"`` (errors ×2, LG-Net) or ``"[0,1]"`` (PConv / EdgeConnect as written).

    Returns:
        scalar tensor.
    """
    _check(pred, target, mask, normalization, value_range)
    err = (pred - target).abs() * VALUE_RANGES[value_range]
    mask = mask.to(err.dtype)
    if normalization == "region_mean":
        return valid_weight * _region_mean(err, 1 - mask) + hole_weight * _region_mean(err, mask)
    weighted = err * (hole_weight * mask + valid_weight * (1 - mask))
    if normalization == "image_mean":
        return weighted.mean()
    hole_elements = mask.expand_as(err).sum()
    return weighted.sum() / hole_elements.clamp_min(1.0)  # no hole at all: the plain error sum


def spatial_discount(mask: torch.Tensor, gamma: float = 0.99) -> torch.Tensor:
    """Spatially discounted weights of DeepFill v1 (Yu et al. 2018, sec. 3.1): ``γ^d`` for a hole pixel at
    (chessboard) distance ``d`` from the nearest known pixel, 1 outside the hole; ``mask`` ``(N, 1, H, W)``,
    1 = hole. Pixels far inside a large hole, whose content is the most ambiguous, weigh less."""
    import torch.nn.functional as F

    known = (mask < 0.5).float()
    dist = torch.zeros_like(mask)
    reached = known
    for d in range(1, max(mask.shape[-2:])):
        if bool(reached.min() > 0):
            break
        grown = F.max_pool2d(reached, 3, stride=1, padding=1)
        dist = dist + (grown - reached) * d
        reached = grown
    weights = gamma ** dist
    return torch.where(known > 0, torch.ones_like(weights), weights)


def discounted_l1(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, gamma: float = 0.99) -> torch.Tensor:
    """DeepFill v1's reconstruction loss: mean of ``|pred - target|`` weighted by :func:`spatial_discount` in the
    hole, plus the plain L1 of the known region (the release's ``l1_loss`` + ``ae_loss`` on the two regions)."""
    w = spatial_discount(mask, gamma)
    err = (pred - target).abs()
    hole = (err * w * mask).mean() / mask.mean().clamp_min(1e-8)
    known = (err * (1 - mask)).mean() / (1 - mask).mean().clamp_min(1e-8)
    return hole + known


def charbonnier(pred: torch.Tensor, target: torch.Tensor, eps: float = 1e-3, per_sample: bool = False) -> torch.Tensor:
    """Mean robust Charbonnier penalty ``sqrt((pred − target)² + ε²)`` — the ``Ψ(s²) = sqrt(s² + ε²)`` of
    Brox & Malik, "Large displacement optical flow computation without warping" (ICCV 2009), which TSGAN's
    pixel-level loss cites (source 004 section D; ε = 1e-3 [ours]). ``per_sample``: one mean per image ``(N,)``."""
    pen = torch.sqrt((pred.float() - target.float()) ** 2 + eps * eps)
    return pen.flatten(1).mean(1) if per_sample else pen.mean()
