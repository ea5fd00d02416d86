"""β schedules of the forward process: ``linear`` (Ho et al. 2020 sec. 4) and ``cosine`` (Nichol & Dhariwal 2021 eq. (17)).

Source 002 eq. (1) only asks for ``0 < β_1 < β_2 < ... < β_T < 1``; both schedules satisfy it.
Schedules are computed in float64 (the products ``ᾱ_t`` lose precision in float32 at large ``T``).
"""
from __future__ import annotations

import math

import torch


def linear_betas(T: int, beta_start: float = 1e-4, beta_end: float = 0.02) -> torch.Tensor:
    """DDPM's linear schedule, ``β_t`` evenly spaced from ``beta_start`` to ``beta_end`` (values for T = 1000).

    For ``T != 1000`` the end points are scaled by ``1000 / T`` (Nichol & Dhariwal's ``get_named_beta_schedule``),
    so the total noise added stays comparable. Returns ``(T,)`` float64.
    """
    scale = 1000.0 / T
    return torch.linspace(scale * beta_start, min(scale * beta_end, 0.999), T, dtype=torch.float64)


def cosine_betas(T: int, s: float = 0.008, max_beta: float = 0.999) -> torch.Tensor:
    """Improved-DDPM cosine schedule: ``ᾱ(t) = cos²((t/T + s)/(1 + s)·π/2)``, ``β_t = 1 − ᾱ(t)/ᾱ(t−1)`` clipped at 0.999.

    Returns ``(T,)`` float64.
    """
    steps = torch.arange(T + 1, dtype=torch.float64) / T
    abar = torch.cos((steps + s) / (1 + s) * math.pi / 2) ** 2
    return (1 - abar[1:] / abar[:-1]).clamp(max=max_beta)


SCHEDULES = {"linear": linear_betas, "cosine": cosine_betas}


def make_betas(kind: str, T: int, **kwargs) -> torch.Tensor:
    """The ``(T,)`` float64 β schedule named ``kind`` (``linear`` | ``cosine``)."""
    if kind not in SCHEDULES:
        raise ValueError(f"unknown beta schedule {kind!r}; known: {sorted(SCHEDULES)}")
    if T < 2:
        raise ValueError(f"diffusion needs T >= 2 timesteps, got {T}")
    betas = SCHEDULES[kind](T, **kwargs)
    if not (betas > 0).all() or not (betas < 1).all():
        raise ValueError(f"{kind} schedule with {kwargs}: every beta must lie in (0, 1)")
    return betas
