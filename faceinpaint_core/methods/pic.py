"""Pluralistic Image Completion (PIC; Zheng et al. 2019, CVPR) as a trainable method.

Network: :class:`~faceinpaint_core.nets.pic.Pluralistic`. Losses (paper sec. 3.4, eqs (5)-(9); weights from
the release's ``options/train_options.py`` as recalled: ``lambda_rec`` 20, ``lambda_kl`` 20, ``lambda_g`` 1):

* ``kl_rec`` = KL(q(z|I_c) || N(0, 1)) (reconstructive path), ``kl_g`` = KL(p(z|I_m) || q(z|I_c)) with q held
  fixed (generative path), both weighted 20 as ``kl``;
* ``rec`` = L1 of the reconstructive output to the image + L1 of the generative output on the *visible* region
  only (the generative path is not tied to the ground-truth hole), weight 20;
* ``adv`` = LSGAN on the composites of both paths, PatchGAN critic, weight 1 (the paper uses a residual critic;
  deviation).

L1 terms are per-element means and each KL is averaged per latent element (the release sums; scale differs).
Optimiser: Adam lr 1e-4, betas (0, 0.999) (release), 256 px; batch 8 and 400k steps are our choices.

Inference: the generative path with ``z = μ_p + σ_p ε``, ε from a seeded generator
(:meth:`PICMethod.set_inference_options`: ``samples`` K and ``seed``); :meth:`PICMethod.sample` gives all K
completions, :meth:`PICMethod.inpaint` the first (the protocol scores one output per image).
Smoke: width 16, zdim 16, 64 px.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from ..config import TrainConfig
from ..nets.pic import Pluralistic, kl_normal
from ..utils.seeding import torch_generator
from .gan_inpaint import GANInpaintConfig, GANInpaintMethod, composite, smoke_train, tiny_train

INFERENCE_OPTIONS = ("samples", "seed")


def _paper_train() -> TrainConfig:
    return TrainConfig(size=256, batch_size=8, lr_g=1e-4, lr_d=1e-4, betas=(0.0, 0.999), steps=400_000)


@dataclass(frozen=True)
class PICConfig(GANInpaintConfig):
    train: TrainConfig = field(default_factory=_paper_train)
    width: int = 32
    zdim: int = 64
    disc: str | None = "patchgan"
    adv_kind: str = "lsgan"
    w_rec: float = 20.0
    w_kl: float = 20.0
    w_adv: float = 1.0
    samples: int = 1      # inference default: completions per input
    sample_seed: int = 0  # inference default seed

    def __post_init__(self):
        problems = self.check_gan()
        if self.train.size % 8:
            problems.append(f"train.size must be divisible by 8 (got {self.train.size})")
        if self.samples < 1:
            problems.append(f"samples must be >= 1 (got {self.samples})")
        if problems:
            raise ValueError("PICConfig: " + "; ".join(problems))


PROFILES: dict[str, dict[str, Any]] = {
    "tiny": {"width": 4, "zdim": 4, "disc_width": 4, "train": tiny_train()},
    "smoke": {"width": 16, "zdim": 16, "disc_width": 16, "train": smoke_train(120)},
    "full": {},
}


class PICMethod(GANInpaintMethod):
    """PIC, Zheng et al. 2019 (see the module docstring)."""

    name = "pic"
    label = "PIC"
    reported_as = ("PIC",)
    config_cls = PICConfig
    PROFILES = PROFILES

    def __init__(self, cfg):
        super().__init__(cfg)
        self.inference = {"samples": cfg.samples, "seed": cfg.sample_seed}

    def build_generator(self):
        return Pluralistic(width=self.cfg.width, zdim=self.cfg.zdim)

    def forward(self, nets, batch):
        x, m = batch["image"], batch["mask"]
        G = nets["G"]
        if torch.is_grad_enabled() or G.training:  # training: both paths (the trainer's RNG draws ε)
            out = G(x * (1 - m), m, image=x)
            return {**out, "pred": out["gen"], "comp": composite(out["gen"], x, m),
                    "comp_rec": composite(out["rec"], x, m)}
        out = G(x * (1 - m), m)
        return {**out, "pred": out["gen"], "comp": composite(out["gen"], x, m)}

    def fake_for_critic(self, out):
        return torch.cat([out["comp"], out["comp_rec"]]) if "comp_rec" in out else out["comp"]

    def loss_terms(self, nets, batch, out):
        x, m = batch["image"], batch["mask"]
        q = (out["mu_q"].detach(), out["sigma_q"].detach())
        zeros, ones = torch.zeros_like(out["mu_q"]), torch.ones_like(out["sigma_q"])
        terms = {"rec": (out["rec"] - x).abs().mean() + ((out["gen"] - x).abs() * (1 - m)).mean(),
                 "kl": kl_normal(out["mu_q"], out["sigma_q"], zeros, ones) / out["mu_q"][0].numel()
                 + kl_normal(out["mu_p"], out["sigma_p"], *q) / out["mu_p"][0].numel()}
        if "D" in nets:
            fake = self.fake_for_critic(out)
            terms["adv"] = self.adversarial().g_loss(self.critic(nets, m), x, fake)
        return terms

    def discriminator_loss(self, nets, batch, out):
        if "D" not in nets:
            return super().discriminator_loss(nets, batch, out)
        return self.adversarial().d_loss(self.critic(nets, batch["mask"]), batch["image"], self.fake_for_critic(out))

    def sample_images(self, batch, out):
        cols = super().sample_images(batch, out)
        if "rec" in out:
            cols["reconstructive"] = out["rec"]
        return cols

    # -- inference --------------------------------------------------------------------------
    def set_inference_options(self, **opts) -> dict[str, Any]:
        """``samples`` (completions per input, >= 1) and ``seed`` (of the latent draws); returns the options."""
        unknown = sorted(k for k, v in opts.items() if v is not None and k not in INFERENCE_OPTIONS)
        if unknown:
            raise ValueError(f"method 'pic' has no inference option(s) {unknown}; known: {list(INFERENCE_OPTIONS)}")
        new = {**self.inference, **{k: int(v) for k, v in opts.items() if v is not None}}
        if new["samples"] < 1:
            raise ValueError(f"samples must be >= 1, got {new['samples']}")
        self.inference = new
        return dict(new)

    @torch.no_grad()
    def sample(self, nets, image: torch.Tensor, mask: torch.Tensor, samples: int | None = None,
               seed: int | None = None) -> torch.Tensor:
        """``(K, N, 3, H, W)`` raw completions in [0, 1] of ``image`` ``(N, 3, H, W)`` where ``mask`` is 1; sample k
        draws its latent from ``(seed, "pic:sample", k)``, so a seed fixes every sample."""
        k = int(samples or self.inference["samples"])
        seed = int(self.inference["seed"] if seed is None else seed)
        G = nets["G"]
        shape = G.latent_shape(image)
        outs = []
        for i in range(k):
            eps = torch.randn(shape, generator=torch_generator(seed, "pic:sample", i)).to(image.device)
            outs.append(G(image * (1 - mask), mask, noise=eps)["gen"].clamp(0, 1))
        return torch.stack(outs)

    @torch.no_grad()
    def inpaint(self, nets, image, mask, parsing=None) -> torch.Tensor:
        """The first seeded sample ``(N, 3, H, W)`` (the caller composites)."""
        return self.sample(nets, image, mask, samples=1)[0]


__all__ = ["PICConfig", "PICMethod", "PROFILES"]
