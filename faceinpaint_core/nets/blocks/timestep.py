"""Sinusoidal timestep embedding (Vaswani et al. 2017 sec. 3.5, as in DDPM, Ho et al. 2020 appendix B)."""
from __future__ import annotations

import math

import torch
from torch import nn


def sinusoidal_embedding(t: torch.Tensor, dim: int, max_period: float = 10_000.0) -> torch.Tensor:
    """``(N,)`` timesteps → ``(N, dim)``: ``[sin(t·f_i), cos(t·f_i)]`` with ``f_i = max_period^(−i/(dim/2))``."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    args = t.float()[:, None] * freqs[None]
    emb = torch.cat([torch.sin(args), torch.cos(args)], dim=1)
    return torch.nn.functional.pad(emb, (0, dim % 2))


class TimestepEmbedding(nn.Module):
    """Sinusoidal embedding → Linear → SiLU → Linear (DDPM's ``temb``), ``(N,)`` → ``(N, out_dim)``.

    Args:
        dim: sinusoid channels; out_dim: embedding size fed to the network's layers.
    """

    def __init__(self, dim: int, out_dim: int):
        super().__init__()
        self.dim = dim
        self.mlp = nn.Sequential(nn.Linear(dim, out_dim), nn.SiLU(), nn.Linear(out_dim, out_dim))

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        return self.mlp(sinusoidal_embedding(t, self.dim))
