"""DDPM and DDIM sampling for inpainting with RePaint-style known-pixel replacement.

One reverse step goes from timestep ``t`` to ``s < t`` of a respaced sequence
(:func:`timestep_sequence`; ``steps = T`` is the full chain). With ``x̂_0, ε̂`` from the network:

* ``ddim`` (Song et al. 2021 eq. (12)): ``x_s = √ᾱ_s x̂_0 + √(1 − ᾱ_s − σ²) ε̂ + σ z`` with
  ``σ = η √((1 − ᾱ_s)/(1 − ᾱ_t)) √(1 − ᾱ_t/ᾱ_s)``; ``η = 0`` is deterministic.
* ``ddpm`` (Ho et al. 2020 eqs (6)-(7), the learnt reverse step of source 002 eq. (3)): ancestral
  sampling from the posterior ``q(x_s | x_t, x̂_0)`` of the respaced chain, mean
  ``√ᾱ_s β'/(1 − ᾱ_t) x̂_0 + √α' (1 − ᾱ_s)/(1 − ᾱ_t) x_t``, variance ``β' (1 − ᾱ_s)/(1 − ᾱ_t)`` with
  ``α' = ᾱ_t/ᾱ_s = 1 − β'``; it coincides with DDIM at ``η = 1`` given the same ``z``.

``strength < 1`` starts the reverse process part-way (SDEdit, Meng et al. 2022): from ``init`` noised to
timestep ``t0 = round(strength · (T − 1))`` instead of pure noise at ``T − 1``, running only the respaced
steps at or below ``t0``; the sample then stays near ``init`` (a classical fill, say) and keeps less of the
posterior's spread. ``strength = 1`` is the usual sampler, bit for bit.

Known pixels (``mask = 0``) are replaced after every step by the input noised to the new timestep,
``q(x_s | x_0^known)`` with fresh noise (RePaint, Lugmayr et al. 2022, eq. (8), without resampling
jumps), and the final image is composited against the input **in [0, 1]** so that the output equals
the input bit for bit outside the hole. Everything is batched tensor arithmetic; noise comes only
from ``generator``.
"""
from __future__ import annotations

from typing import Callable

import torch

from .gaussian import GaussianDiffusion, _expand

SAMPLERS = ("ddim", "ddpm")
Denoiser = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (x_t (N,3,H,W), t (N,) long) -> output


def timestep_sequence(T: int, steps: int) -> list[int]:
    """``steps`` timesteps from ``T − 1`` down to ``0``, evenly spaced (rounded), strictly decreasing."""
    if not 1 <= steps <= T:
        raise ValueError(f"sampler steps must be in [1, {T}] (the diffusion has T={T}), got {steps}")
    if steps == 1:
        return [T - 1]
    seq = torch.linspace(T - 1, 0, steps, dtype=torch.float64).round().long().tolist()
    return sorted(set(seq), reverse=True)


def randn(like: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Standard normal noise shaped like ``like`` from ``generator`` (drawn on the generator's device)."""
    return torch.randn(like.shape, generator=generator, device=generator.device, dtype=torch.float32).to(like.device)


def reverse_step(diff: GaussianDiffusion, x_t, x0, eps, t: int, s: int, sampler: str, eta: float,
                 generator: torch.Generator) -> torch.Tensor:
    """One reverse step ``x_t → x_s`` (see the module docstring); ``s = -1`` returns ``x̂_0``."""
    if s < 0:
        return x0
    n = x_t.shape[0]
    a_t = diff.abar(torch.full((n,), t, device=x_t.device))
    a_s = diff.abar(torch.full((n,), s, device=x_t.device))
    a_t, a_s = _expand(a_t, x_t), _expand(a_s, x_t)
    if sampler == "ddpm":
        beta = 1 - a_t / a_s
        mean = a_s.sqrt() * beta / (1 - a_t) * x0 + (1 - beta).sqrt() * (1 - a_s) / (1 - a_t) * x_t
        return mean + (beta * (1 - a_s) / (1 - a_t)).sqrt() * randn(x_t, generator)
    sigma = eta * ((1 - a_s) / (1 - a_t) * (1 - a_t / a_s)).sqrt()
    x_s = a_s.sqrt() * x0 + (1 - a_s - sigma ** 2).clamp(min=0).sqrt() * eps
    return x_s + sigma * randn(x_t, generator) if eta > 0 else x_s


def replace_known(diff: GaussianDiffusion, x_s, known, mask, s: int, generator: torch.Generator) -> torch.Tensor:
    """RePaint: keep ``x_s`` in the hole (``mask = 1``), put ``q(x_s | x_0^known)`` elsewhere."""
    t = torch.full((x_s.shape[0],), s, device=x_s.device)
    return mask * x_s + (1 - mask) * diff.q_sample(known, t, randn(x_s, generator))


@torch.no_grad()
def inpaint_sample(diff: GaussianDiffusion, denoiser: Denoiser, image: torch.Tensor, mask: torch.Tensor,
                   steps: int = 25, sampler: str = "ddim", eta: float = 0.0,
                   generator: torch.Generator | None = None,
                   callback: Callable[[int, int, torch.Tensor, torch.Tensor], None] | None = None,
                   init: torch.Tensor | None = None, strength: float = 1.0) -> torch.Tensor:
    """Fill the hole of ``image`` by reverse diffusion; known pixels are returned unchanged (bit-identical).

    Args:
        diff: the diffusion the denoiser was trained with.
        denoiser: ``(x_t (N, 3, H, W) in ~[-1, 1], t (N,) long) -> prediction`` (ε or x0, per ``diff``);
            it closes over its conditioning (masked image, mask, edges).
        image: ``(N, 3, H, W)`` in [0, 1]; hole pixels are ignored.
        mask: ``(N, 1, H, W)`` float, 1 = hole.
        steps: network evaluations (respaced timesteps; ``diff.T`` = the full chain).
        sampler: ``"ddim"`` or ``"ddpm"``.
        eta: DDIM's η (0 = deterministic; ignored by ``ddpm``).
        generator: source of every noise draw (default: a fresh CPU generator seeded 0).
        callback: called at each step, before it, with ``(i, t, x_t, x̂_0)`` (``[-1, 1]`` tensors) — for figures.
        init: ``(N, 3, H, W)`` in [-1, 1], where a ``strength < 1`` run starts (required then).
        strength: in ``(0, 1]``; the share of the chain that is run (module docstring).
    Returns:
        ``(N, 3, H, W)`` in [0, 1], equal to ``image`` wherever ``mask == 0``.
    """
    if sampler not in SAMPLERS:
        raise ValueError(f"unknown sampler {sampler!r}; known: {list(SAMPLERS)}")
    if eta < 0:
        raise ValueError(f"DDIM eta must be >= 0, got {eta}")
    if not 0 < strength <= 1:
        raise ValueError(f"sampler strength must be in (0, 1], got {strength}")
    if strength < 1 and (init is None or init.shape != image.shape):
        raise ValueError(f"strength {strength} < 1 needs an init image shaped like the input {tuple(image.shape)}, "
                         f"got {None if init is None else tuple(init.shape)}")
    generator = generator if generator is not None else torch.Generator().manual_seed(0)
    mask = mask.to(image.dtype)
    known = image * 2 - 1
    seq = timestep_sequence(diff.T, steps)
    if strength < 1:
        t0 = int(round(strength * (diff.T - 1)))
        seq = [t0] + [t for t in seq if t < t0]
        start = diff.q_sample(init.to(image.dtype), torch.full((image.shape[0],), t0, device=image.device),
                              randn(image, generator))
    else:
        start = randn(image, generator)
    x = replace_known(diff, start, known, mask, seq[0], generator)
    for i, t in enumerate(seq):
        s = seq[i + 1] if i + 1 < len(seq) else -1
        tt = torch.full((x.shape[0],), t, device=x.device, dtype=torch.long)
        x0, eps = diff.split(denoiser(x, tt), x, tt)
        if callback is not None:
            callback(i, t, x, x0)
        x = reverse_step(diff, x, x0, eps, t, s, sampler, eta, generator)
        if s >= 0:
            x = replace_known(diff, x, known, mask, s, generator)
    filled = ((x + 1) / 2).clamp(0, 1)
    return mask * filled + (1 - mask) * image
