"""Self-attention (SAGAN, Zhang et al. 2019 eqs (1)-(3)) and mixed channel + spatial attention (CBAM, Woo et al. 2018 eqs (1)-(4)).

Source 002 uses one of each: a self-attention block in the edge generator (sec. 2.1, "自注意力模块")
and a mixed attention module (sec. 2.2, "混合注意力模块", its ref. [10]) over the concatenated branches of
the dilated-convolution fusion block. The source gives no equations for either; we use the standard
forms named above.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class SelfAttention(nn.Module):
    """SAGAN self-attention, Zhang et al. 2019 eqs (1)-(3): ``y = x + γ · softmax(qᵀk) v`` over all positions.

    ``q, k`` are 1×1 convolutions to ``C/8`` channels, ``v`` keeps ``C``; ``γ`` starts at 0 so the block
    begins as the identity. Uses :func:`torch.nn.functional.scaled_dot_product_attention` (memory-efficient
    kernels on GPU; the ``1/√d`` scaling is a harmless difference from SAGAN's unscaled product).

    Args:
        channels: C of the input ``(N, C, H, W)``; the output has the same shape.
    """

    def __init__(self, channels: int):
        super().__init__()
        inner = max(1, channels // 8)
        self.q, self.k = nn.Conv2d(channels, inner, 1), nn.Conv2d(channels, inner, 1)
        self.v = nn.Conv2d(channels, channels, 1)
        self.gamma = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, C, H, W) -> (N, C, H, W)``."""
        n, c, h, w = x.shape
        q, k = (f(x).flatten(2).transpose(1, 2).unsqueeze(1) for f in (self.q, self.k))  # (N, 1, HW, C/8)
        v = self.v(x).flatten(2).transpose(1, 2).unsqueeze(1)                              # (N, 1, HW, C)
        attn = F.scaled_dot_product_attention(q, k, v)
        return x + self.gamma * attn.squeeze(1).transpose(1, 2).reshape(n, c, h, w)


class ChannelGate(nn.Module):
    """CBAM channel attention, Woo et al. 2018 eq. (2): ``σ(MLP(AvgPool(x)) + MLP(MaxPool(x)))``, ``(N, C, 1, 1)``.

    Args:
        channels: C; reduction: hidden units ``max(1, C / reduction)`` of the shared MLP.
    """

    def __init__(self, channels: int, reduction: int = 16):
        super().__init__()
        hidden = max(1, channels // reduction)
        self.mlp = nn.Sequential(nn.Conv2d(channels, hidden, 1), nn.ReLU(inplace=True), nn.Conv2d(hidden, channels, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        avg = x.mean(dim=(2, 3), keepdim=True)
        mx = x.amax(dim=(2, 3), keepdim=True)
        return torch.sigmoid(self.mlp(avg) + self.mlp(mx))


class SpatialGate(nn.Module):
    """CBAM spatial attention, Woo et al. 2018 eq. (3): ``σ(conv7×7([mean_c(x); max_c(x)]))``, ``(N, 1, H, W)``."""

    def __init__(self, kernel: int = 7):
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel, padding=kernel // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = torch.cat([x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)], dim=1)
        return torch.sigmoid(self.conv(pooled))


class MixedAttention(nn.Module):
    """Mixed (channel then spatial) attention, CBAM eq. (1): ``x' = M_c(x) ⊙ x``, ``y = M_s(x') ⊙ x'``.

    Source 002 sec. 2.2: weights "different channels and different regions" of the concatenated
    dilated branches so that the four receptive fields are fused coherently.

    Args:
        channels: C of the input ``(N, C, H, W)``; reduction: the channel MLP's reduction ratio.
    """

    def __init__(self, channels: int, reduction: int = 16):
        super().__init__()
        self.channel, self.spatial = ChannelGate(channels, reduction), SpatialGate()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, C, H, W) -> (N, C, H, W)``."""
        x = x * self.channel(x)
        return x * self.spatial(x)
