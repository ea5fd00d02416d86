"""Global Attention Mechanism (GAM), Liu, Shao & Hoffmann 2021, eqs (1)-(2); seed slide 04 ("GAM全局注意力模块").

GAM gates a feature map twice, channel first, then spatial::

    F2 = M_c(F1) ⊙ F1                       (eq. 1)
    F3 = M_s(F2) ⊙ F2                       (eq. 2)

* ``M_c`` (channel sub-module): permute ``(N, C, H, W) -> (N, H, W, C)``, a two-layer MLP
  ``C -> C/r -> C`` applied at every pixel (no pooling: the 3-D information is kept), permute
  back, sigmoid.
* ``M_s`` (spatial sub-module): 7x7 conv ``C -> C/r``, BN, ReLU, 7x7 conv ``C/r -> C``, BN,
  sigmoid (no max-pooling, which the paper drops because it discards information).

The paper's optional group convolution + channel shuffle variant (for very wide ResNet stages)
is not used here. Both gates lie in ``(0, 1)``, so GAM only rescales its input:
``GAM(x) = x ⊙ M_c(x) ⊙ M_s(x ⊙ M_c(x))``.
"""
from __future__ import annotations

import torch
from torch import nn


def _reduced(channels: int, rate: int) -> int:
    if channels < 1 or rate < 1:
        raise ValueError(f"GAM needs channels >= 1 and rate >= 1, got channels={channels}, rate={rate}")
    return max(1, channels // rate)


class ChannelAttention(nn.Module):
    """GAM channel sub-module ``M_c``, Liu et al. 2021 eq. (1): per-pixel MLP over channels, sigmoid.

    Args:
        channels: C of the input ``(N, C, H, W)``.
        rate: reduction ratio r of the hidden layer (``C / r`` units).
    """

    def __init__(self, channels: int, rate: int = 4):
        super().__init__()
        hidden = _reduced(channels, rate)
        self.mlp = nn.Sequential(nn.Linear(channels, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Gate ``(N, C, H, W)`` in ``(0, 1)`` for input ``x`` ``(N, C, H, W)``."""
        return torch.sigmoid(self.mlp(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2))


class SpatialAttention(nn.Module):
    """GAM spatial sub-module ``M_s``, Liu et al. 2021 eq. (2): two 7x7 convs with reduction r, BN, sigmoid.

    Args:
        channels: C of the input ``(N, C, H, W)``.
        rate: reduction ratio r (the middle feature map has ``C / r`` channels).
    """

    def __init__(self, channels: int, rate: int = 4):
        super().__init__()
        hidden = _reduced(channels, rate)
        self.body = nn.Sequential(
            nn.Conv2d(channels, hidden, 7, padding=3), nn.BatchNorm2d(hidden), nn.ReLU(inplace=True),
            nn.Conv2d(hidden, channels, 7, padding=3), nn.BatchNorm2d(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Gate ``(N, C, H, W)`` in ``(0, 1)`` for input ``x`` ``(N, C, H, W)``."""
        return torch.sigmoid(self.body(x))


class GlobalAttentionModule(nn.Module):
    """Global Attention Mechanism, Liu et al. 2021 eqs (1)-(2): ``x ⊙ M_c(x)`` then ``⊙ M_s(.)``.

    Args:
        channels: C of the feature map ``(N, C, H, W)``; the output has the same shape.
        rate: reduction ratio r shared by both sub-modules (the paper uses 4).
    """

    def __init__(self, channels: int, rate: int = 4):
        super().__init__()
        self.channels, self.rate = channels, rate
        self.channel = ChannelAttention(channels, rate)
        self.spatial = SpatialAttention(channels, rate)

    def gates(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The two gates ``(M_c(x), M_s(x ⊙ M_c(x)))``, each ``(N, C, H, W)`` in ``(0, 1)``."""
        mc = self.channel(x)
        return mc, self.spatial(x * mc)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, C, H, W) -> (N, C, H, W)``: the input rescaled by both gates."""
        if x.dim() != 4 or x.shape[1] != self.channels:
            raise ValueError(f"GlobalAttentionModule({self.channels}) expects (N, {self.channels}, H, W), "
                             f"got {tuple(x.shape)}")
        mc, ms = self.gates(x)
        return x * mc * ms

    def extra_repr(self) -> str:
        return f"channels={self.channels}, rate={self.rate}"
