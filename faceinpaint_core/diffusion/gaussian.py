"""The forward process and the prediction parameterisations, source 002 eqs (1)-(3) / Ho et al. 2020 eqs (4), (11)-(12).

Forward (eq. (1) iterated): ``q(x_t | x_0) = N(√ᾱ_t x_0, (1 − ᾱ_t) I)`` with ``ᾱ_t = Π_{s≤t} (1 − β_s)``,
so ``x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε`` in closed form (:meth:`GaussianDiffusion.q_sample`). Timesteps are
0-based: index ``t`` in ``0 .. T-1`` is the paper's ``t + 1``.

The network predicts ``ε`` (``prediction="eps"``, DDPM's simple loss) or ``x_0`` (``"x0"``); either way
:meth:`GaussianDiffusion.split` returns both, which is all the samplers need.
"""
from __future__ import annotations

import torch

from .schedules import make_betas

PREDICTIONS = ("eps", "x0")


def _expand(values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """``(N,)`` per-sample coefficients → ``(N, 1, 1, 1)`` broadcastable against ``like``."""
    return values.view(-1, *([1] * (like.dim() - 1)))


class GaussianDiffusion:
    """A discrete Gaussian diffusion with ``T`` steps.

    Args:
        betas: ``(T,)`` schedule (see :func:`~faceinpaint_core.diffusion.schedules.make_betas`).
        prediction: what the network outputs: ``"eps"`` (default) or ``"x0"``.
        clip_x0: clamp predicted ``x_0`` to ``[-1, 1]`` before the sampler uses it.
    """

    def __init__(self, betas: torch.Tensor, prediction: str = "eps", clip_x0: bool = True):
        if prediction not in PREDICTIONS:
            raise ValueError(f"unknown diffusion prediction {prediction!r}; known: {list(PREDICTIONS)}")
        self.betas = betas.double()
        self.alphas_cumprod = torch.cumprod(1 - self.betas, dim=0)
        self.T, self.prediction, self.clip_x0 = len(betas), prediction, clip_x0
        self._cache: dict[str, torch.Tensor] = {}

    @classmethod
    def from_config(cls, schedule: str, T: int, prediction: str = "eps", **kwargs) -> "GaussianDiffusion":
        return cls(make_betas(schedule, T, **kwargs), prediction)

    def abar(self, t: torch.Tensor) -> torch.Tensor:
        """``ᾱ_t`` as float32 on ``t``'s device for integer timesteps ``t`` ``(N,)``; ``t = -1`` gives 1 (clean data)."""
        key = str(t.device)
        if key not in self._cache:
            self._cache[key] = torch.cat([self.alphas_cumprod, torch.ones(1, dtype=torch.float64)]).float().to(t.device)
        return self._cache[key][t.long()]  # index -1 hits the appended 1.0

    def q_sample(self, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """``x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε`` (closed form of eq. (1)).

        Args:
            x0: ``(N, C, H, W)`` in ``[-1, 1]``; t: ``(N,)`` long in ``[-1, T)``; noise: like ``x0``.
        """
        a = _expand(self.abar(t), x0)
        return a.sqrt() * x0 + (1 - a).sqrt() * noise

    def split(self, model_out: torch.Tensor, x_t: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(x0_hat, eps_hat)`` from the network output; ``eps_hat`` is recomputed from a clipped ``x0_hat``
        so that the two stay consistent (as guided-diffusion's DDIM does)."""
        a = _expand(self.abar(t), x_t)
        out = model_out.float()
        x0 = (x_t - (1 - a).sqrt() * out) / a.sqrt() if self.prediction == "eps" else out
        if self.clip_x0:
            x0 = x0.clamp(-1, 1)
        eps = out if self.prediction == "eps" and not self.clip_x0 else (x_t - a.sqrt() * x0) / (1 - a).sqrt()
        return x0, eps

    def target(self, x0: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """The regression target of the training loss: ``ε`` or ``x_0``."""
        return noise if self.prediction == "eps" else x0

    def sample_timesteps(self, n: int, generator: torch.Generator, device=None) -> torch.Tensor:
        """``(n,)`` timesteps uniform in ``[0, T)`` drawn from ``generator``."""
        return torch.randint(0, self.T, (n,), generator=generator, device=generator.device).to(device)
