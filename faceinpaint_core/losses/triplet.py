"""TSGAN's dual triplet loss (source 004 section C) in its softplus form.

Source: ``L_d`` (de-occlusion) and ``L_f`` (frontalisation) are triplet losses on the generated face
(anchor), ``C_r^+`` (a face of the same identity) and ``C_r^-`` (a face of another identity), with a
distance ``d(x, y)`` between recogniser features and the monotonic Softplus in place of the hinge;
``L_dtri = L_d + L_f``. The slides' formulas are images; here ``d`` = Euclidean distance of the
unit-normalised embeddings, and the softplus is shifted so a met margin costs exactly 0:

``T(a, p, n) = max(softplus(d(a, p) − d(a, n) + α) − log 2, 0)``

(zero iff ``d(a, p) + α <= d(a, n)``, positive and smooth-then-linear otherwise) [ours: the shift].
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def softplus_triplet_loss(anchor: torch.Tensor, positive: torch.Tensor, negative: torch.Tensor,
                          margin: float = 0.2, valid: torch.Tensor | None = None) -> torch.Tensor:
    """Mean ``T(a, p, n)`` over rows of ``(N, D)`` embeddings (see the module docstring).

    ``valid`` ``(N,)`` bool keeps rows with a real negative (another identity); none valid -> 0.
    """
    a, p, n = (F.normalize(t.float(), dim=1) for t in (anchor, positive, negative))
    x = (a - p).norm(dim=1) - (a - n).norm(dim=1) + margin
    t = (F.softplus(x) - math.log(2.0)).clamp_min(0)
    if valid is not None:
        t = t[valid]
    return t.mean() if t.numel() else anchor.sum() * 0.0


def other_identity(labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(index (N,), valid (N,))``: for each row, the nearest following row (cyclically) of another identity."""
    n = labels.shape[0]
    idx = torch.arange(n, device=labels.device)
    out, valid = idx.clone(), torch.zeros(n, dtype=torch.bool, device=labels.device)
    for shift in range(n - 1, 0, -1):  # the smallest shift wins: it is written last
        cand = (idx + shift) % n
        ok = labels[cand] != labels
        out = torch.where(ok, cand, out)
        valid |= ok
    return out, valid


def dual_triplet_loss(recogniser, pairs, labels: torch.Tensor, margin: float = 0.2) -> tuple[torch.Tensor, dict]:
    """``L_dtri = Σ_stage T(emb(generated), emb(positive), emb(negative))``.

    Args:
        recogniser: frozen ``(N, 3, H, W) -> (N, D)``.
        pairs: ``{stage: (generated, positive)}`` image batches ``(N, 3, H, W)``; the negative of row ``i`` is
            the positive of a row of another identity (:func:`other_identity`).
        labels: ``(N,)`` identity classes.
    Returns: ``(total, {stage: loss})``.
    """
    neg, valid = other_identity(labels)
    terms = {}
    for stage, (gen, pos) in pairs.items():
        with torch.no_grad():
            ep = recogniser(pos)
        terms[stage] = softplus_triplet_loss(recogniser(gen), ep, ep[neg], margin, valid)
    return sum(terms.values()), terms
