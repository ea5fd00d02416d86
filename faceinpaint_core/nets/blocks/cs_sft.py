"""Channel-split spatial feature transform (CS-SFT), GFPGAN (Wang et al. CVPR 2021) eq. (3).

``F_out = Concat[F_split0, α ⊙ F_split1 + β]``: half of the prior's channels pass unchanged (fidelity to the
prior), the other half is modulated by the spatial maps ``α`` (scale) and ``β`` (shift) predicted from the
degradation-removal features. We parameterise the scale as ``1 + α`` (SFT-GAN's code, Wang et al. 2018), so
zero modulation (α = β = 0) is exactly the identity.
"""
from __future__ import annotations

import torch


def channel_split_sft(x: torch.Tensor, scale: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """CS-SFT, eq. (3).

    Args:
        x: ``(N, C, H, W)`` prior features.  scale, shift: ``(N, C - C // 2, H, W)`` spatial modulation (α, β).
    Returns: ``(N, C, H, W)``.
    """
    keep = x.shape[1] // 2
    if scale.shape[1] != x.shape[1] - keep or shift.shape != scale.shape:
        raise ValueError(f"channel_split_sft: x has {x.shape[1]} channels, so scale/shift need "
                         f"{x.shape[1] - keep}; got {tuple(scale.shape)}, {tuple(shift.shape)}")
    same, sft = x[:, :keep], x[:, keep:]
    return torch.cat([same, sft * (1 + scale) + shift], dim=1)
