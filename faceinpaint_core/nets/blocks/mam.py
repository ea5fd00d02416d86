"""Mask-attention module (MAM), source 004 section B ("掩模注意力模块").

Source: the occlusion-masked feature map ``Xm`` goes through two different 1-D convolutions giving
``K, Q ∈ R^{B×C}`` (``B`` = positions); ``K Qᵀ`` is a ``B×B`` attention map normalised by softmax,
which re-weights the features, and the result is merged with ``Xm`` by element-wise sum.

Here ``Xm = X ⊙ (1 − m↓)`` with ``m↓`` the hole mask area-resized to the feature map (1 = hole): the
occlusion prior enters by suppressing hole features, so the attention (computed from ``Xm``) depends
on where the hole is and hole positions are filled from valid ones. Output
``Xm + γ · (Xm A)`` (``A = softmax_j(K_i · Q_j)``), ``γ`` learned from 0 (SAGAN's residual
gate, Zhang et al. 2019) [ours: the slides give neither the value path nor the gate].
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class MaskAttentionModule(nn.Module):
    """MAM on ``(N, C, H, W)`` features with a ``(N, 1, H', W')`` hole mask (1 = hole); shape kept.

    Args:
        channels: C.  reduction: K / Q have ``C // reduction`` channels (at least 1).
    """

    def __init__(self, channels: int, reduction: int = 8):
        super().__init__()
        inner = max(1, channels // reduction)
        self.key = nn.Conv1d(channels, inner, 1)
        self.query = nn.Conv1d(channels, inner, 1)
        self.gamma = nn.Parameter(torch.zeros(1))

    def attention(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(Xm (N, C, B), A (N, B, B))``: the masked features and the softmax attention map."""
        m = F.adaptive_avg_pool2d(mask.to(x.dtype), x.shape[-2:])
        xm = (x * (1 - m)).flatten(2)
        k, q = self.key(xm), self.query(xm)
        return xm, torch.softmax(k.transpose(1, 2) @ q, dim=-1)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        xm, att = self.attention(x, mask)
        out = xm + self.gamma * (xm @ att.transpose(1, 2))
        return out.view_as(x)
