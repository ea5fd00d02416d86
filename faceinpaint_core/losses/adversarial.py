"""Adversarial losses behind one switch: non-saturating (+R1), hinge, relativistic average (patent eq. (23)), WGAN, WGAN-GP.

* ``nsgan`` — Goodfellow et al. 2014 non-saturating form with softplus; optional R1 penalty
  (Mescheder et al. 2018, eq. (9)): ``γ/2 · E‖∇_x D(x_real)‖²``.
* ``hinge`` — Lim & Ye 2017 / SN-GAN: ``E[relu(1 - D(real))] + E[relu(1 + D(fake))]``; G: ``-E[D(fake)]``.
* ``relativistic`` — relativistic average GAN (Jolicoeur-Martineau 2018), the patent's eq. (23), in
  the ESRGAN form (Wang et al. 2018, eqs (1)-(2)) for *both* D and G, each side averaged over its two
  BCE terms: ``D_ra(a, b) = σ(C(a) - E[C(b)])``.
* ``wgan`` — Arjovsky et al. 2017: ``E[D(fake)] - E[D(real)]``; weight clipping via
  :meth:`AdversarialLoss.clip_weights` after each D step (pair with RMSProp).
* ``wgan-gp`` — Gulrajani et al. 2017 eq. (3): WGAN + ``λ E[(‖∇ D(x̂)‖₂ - 1)²]`` on random
  interpolates.

Scores of any shape are averaged (a PatchGAN's map counts each patch once). ``D`` may be any callable
``x -> scores``; a conditioned discriminator is passed as a closure, e.g.
``functools.partial(global_local_D, mask=mask)``.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

KINDS = ("nsgan", "hinge", "relativistic", "lsgan", "wgan", "wgan-gp")


def _input_grad(D: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(D(x), ∇_x ΣD(x))`` with a graph kept for the penalty's backward."""
    x = x.detach().requires_grad_(True)
    score = D(x)
    (grad,) = torch.autograd.grad(score.float().sum(), x, create_graph=True)
    return score, grad


def r1_penalty(D: nn.Module, real: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """R1 regulariser, Mescheder et al. 2018 eq. (9) without γ/2: ``(D(real), E‖∇_x D(real)‖²)``."""
    score, grad = _input_grad(D, real)
    return score, grad.float().pow(2).flatten(1).sum(1).mean()


def gradient_penalty(D: nn.Module, real: torch.Tensor, fake: torch.Tensor,
                     generator: torch.Generator | None = None) -> torch.Tensor:
    """WGAN-GP penalty, Gulrajani et al. 2017 eq. (3) without λ: ``E[(‖∇ D(x̂)‖₂ - 1)²]``.

    ``x̂ = ε·real + (1-ε)·fake`` with ``ε ~ U[0, 1]`` per sample, drawn from ``generator`` (a CPU
    generator) or, when None, from torch's default generator (the trainer seeds it per rank and
    stores its state in every checkpoint).
    """
    eps = torch.rand((real.shape[0],) + (1,) * (real.dim() - 1), generator=generator)
    eps = eps.to(device=real.device, dtype=real.dtype)
    _, grad = _input_grad(D, eps * real.detach() + (1 - eps) * fake.detach())
    return (grad.float().flatten(1).norm(dim=1) - 1).pow(2).mean()


class AdversarialLoss:
    """One adversarial objective, chosen by ``kind`` (see the module docstring for the equations).

    Args:
        kind: one of ``nsgan``, ``hinge``, ``relativistic``, ``wgan``, ``wgan-gp``.
        r1_gamma: R1 weight γ for ``nsgan`` (0 = off).
        gp_lambda: gradient-penalty weight λ for ``wgan-gp``.
        clip: weight-clipping bound for ``wgan``.
        generator: optional CPU ``torch.Generator`` for the WGAN-GP interpolation weights.
    """

    def __init__(self, kind: str = "nsgan", r1_gamma: float = 0.0, gp_lambda: float = 10.0, clip: float = 0.01,
                 generator: torch.Generator | None = None):
        if kind not in KINDS:
            raise ValueError(f"unknown adversarial loss kind {kind!r}; known: {list(KINDS)}")
        self.kind, self.r1_gamma, self.gp_lambda, self.clip = kind, r1_gamma, gp_lambda, clip
        self.generator = generator

    def __repr__(self) -> str:
        return f"AdversarialLoss({self.kind!r}, r1_gamma={self.r1_gamma}, gp_lambda={self.gp_lambda}, clip={self.clip})"

    # -- discriminator ----------------------------------------------------------------------
    def d_loss(self, D: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, dict]:
        """Discriminator loss and its terms.

        Args:
            D: the discriminator (called on ``real`` and ``fake``; also on interpolates / with input
                gradients for the penalties).
            real: ``(N, C, H, W)`` real images (or D's conditioned input).
            fake: ``(N, C, H, W)`` generated images; detached here.

        Returns:
            ``(total, {"d_adv", "d_real", "d_fake"[, "r1" | "gp"]})``; ``d_real``/``d_fake`` are mean raw scores.
        """
        fake = fake.detach()
        use_r1 = self.kind == "nsgan" and self.r1_gamma > 0
        if use_r1:
            s_real, r1 = r1_penalty(D, real)
        else:
            s_real = D(real)
        s_fake = D(fake)
        adv = self._d_adv(s_real.float(), s_fake.float())
        terms = {"d_adv": adv.detach(), "d_real": s_real.detach().float().mean(), "d_fake": s_fake.detach().float().mean()}
        total = adv
        if use_r1:
            total = total + 0.5 * self.r1_gamma * r1
            terms["r1"] = r1.detach()
        if self.kind == "wgan-gp":
            gp = gradient_penalty(D, real, fake, self.generator)
            total = total + self.gp_lambda * gp
            terms["gp"] = gp.detach()
        return total, terms

    def _d_adv(self, s_real: torch.Tensor, s_fake: torch.Tensor) -> torch.Tensor:
        if self.kind == "nsgan":
            return F.softplus(-s_real).mean() + F.softplus(s_fake).mean()
        if self.kind == "hinge":
            return F.relu(1 - s_real).mean() + F.relu(1 + s_fake).mean()
        if self.kind == "relativistic":
            return relativistic_average_loss(s_real, s_fake)
        if self.kind == "lsgan":  # Mao et al. 2017 eq. (2), a=0, b=c=1 (LG-Net's gan_mode=lsgan)
            return 0.5 * ((s_real - 1).pow(2).mean() + s_fake.pow(2).mean())
        return s_fake.mean() - s_real.mean()  # wgan, wgan-gp

    # -- generator --------------------------------------------------------------------------
    def g_loss(self, D: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """Generator loss (scalar); gradients flow into ``fake`` only.

        Args:
            D: the discriminator (its parameters are not updated from this loss).
            real: ``(N, C, H, W)`` real images; only the relativistic loss scores them (without grad).
            fake: ``(N, C, H, W)`` generated images, with grad.
        """
        s_fake = D(fake).float()
        if self.kind == "relativistic":
            with torch.no_grad():
                s_real = D(real).float()
            return relativistic_average_loss(s_fake, s_real)
        if self.kind == "nsgan":
            return F.softplus(-s_fake).mean()
        if self.kind == "lsgan":
            return (s_fake - 1).pow(2).mean()
        return -s_fake.mean()  # hinge, wgan, wgan-gp

    # -- WGAN weight clipping ---------------------------------------------------------------
    @torch.no_grad()
    def clip_weights(self, D: nn.Module) -> None:
        """Clamp every parameter of ``D`` to ``[-clip, clip]`` (WGAN, Arjovsky et al. 2017 Alg. 1); a no-op for other kinds."""
        if self.kind != "wgan":
            return
        for p in D.parameters():
            p.clamp_(-self.clip, self.clip)


def relativistic_average_loss(s_a: torch.Tensor, s_b: torch.Tensor) -> torch.Tensor:
    """Relativistic average BCE, patent eq. (23) / ESRGAN eqs (1)-(2): push ``a`` above ``b`` on average.

    ``½·(BCE(C(a) - E[C(b)], 1) + BCE(C(b) - E[C(a)], 0))``. D calls it with ``(real, fake)``,
    G with ``(fake, real)``.

    Args:
        s_a: raw scores ``C(a)`` of any shape (logits).
        s_b: raw scores ``C(b)``, same shape.
    """
    ones, zeros = torch.ones_like(s_a), torch.zeros_like(s_b)
    la = F.binary_cross_entropy_with_logits(s_a - s_b.mean(), ones)
    lb = F.binary_cross_entropy_with_logits(s_b - s_a.mean(), zeros)
    return 0.5 * (la + lb)
