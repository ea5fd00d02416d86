"""Reconstruction loss: hole/valid-weighted L1, Liu et al. 2018 (Partial Convolutions) eqs (1)-(2)."""
from __future__ import annotations

import torch


def masked_l1(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor,
              hole_weight: float = 6.0, valid_weight: float = 1.0) -> torch.Tensor:
    """Hole/valid-weighted L1, PConv eqs (1)-(2): ``valid_weight·L_valid + hole_weight·L_hole``.

    Normalisation (as in PConv): each term is the sum of absolute errors over its pixels divided by
    the number of elements of the whole tensor ``N·C·H·W``, *not* by the hole area; so the total is
    ``mean(|pred - target| · (hole_weight·mask + valid_weight·(1 - mask)))`` and the hole term grows
    with the hole's size.

    Args:
        pred: ``(N, C, H, W)`` prediction (any range; the package uses [0, 1]).
        target: ``(N, C, H, W)`` ground truth, same range.
        mask: ``(N, 1, H, W)`` or ``(N, C, H, W)`` float, 1 = hole.
        hole_weight: weight of hole pixels (PConv: 6).
        valid_weight: weight of known pixels (PConv: 1).

    Returns:
        scalar tensor.
    """
    if pred.shape != target.shape:
        raise ValueError(f"masked_l1: pred {tuple(pred.shape)} and target {tuple(target.shape)} differ")
    if mask.dim() != pred.dim() or mask.shape[-2:] != pred.shape[-2:]:
        raise ValueError(f"masked_l1: mask {tuple(mask.shape)} does not match pred {tuple(pred.shape)}")
    weight = hole_weight * mask + valid_weight * (1 - mask)
    return ((pred - target).abs() * weight).mean()
