"""Context Encoders (Pathak et al. 2016, CVPR) as a trainable method: CE in source 001's table.

Network: :class:`~faceinpaint_core.nets.ce.ContextEncoder` (encoder, channel-wise FC, decoder). Loss (paper
eq. (3)-(5)): ``L = λ_rec·L_rec + λ_adv·L_adv`` with λ_rec = 0.999, λ_adv = 0.001; L_rec is the masked L2
of the hole (the paper's overlap weighting of the hole border is not used: our holes are free-form);
L_adv the standard GAN loss on the composite, here with the pix2pix PatchGAN critic (paper: a DCGAN critic on
the hole region).

Full profile, from the release (github.com/pathak22/context-encoder ``train.lua``, read for this profile): Adam
``lr = 0.0002`` for D and 10× that for G whenever ``0 < wtl2 < 1`` (the script's "LR of Gen is 10 times Adv"),
``beta1 = 0.5`` (β2 = optim.adam's default 0.999), ``batchSize = 64``, ``fineSize = 128`` (128 px crops; the study's
256 px here), ``niter = 25`` epochs (~390k steps of 64 on ImageNet's 1M images; our 100k steps is our choice).
The release's ``overlapPred = 4`` (10× L2 weight on a 4 px border of the hole) has no analogue for free-form holes.
Smoke: width 16 at 64 px.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..config import TrainConfig
from ..nets.ce import ContextEncoder
from .gan_inpaint import GANInpaintConfig, GANInpaintMethod, composite, smoke_train, tiny_train


def _paper_train() -> TrainConfig:
    # train.lua: batchSize 64; lr 0.0002 (D), 10x for G when 0 < wtl2 < 1; beta1 0.5, optim.adam's beta2 0.999
    return TrainConfig(size=256, batch_size=64, lr_g=2e-3, lr_d=2e-4, betas=(0.5, 0.999), steps=100_000)


@dataclass(frozen=True)
class CEConfig(GANInpaintConfig):
    train: TrainConfig = field(default_factory=_paper_train)
    width: int = 64
    disc: str | None = "patchgan"
    adv_kind: str = "nsgan"
    w_rec: float = 0.999   # paper sec. 3.2: λ_rec (train.lua README command: wtl2=0.999)
    w_adv: float = 0.001   # paper sec. 3.2: λ_adv

    def __post_init__(self):
        problems = self.check_gan()
        if problems:
            raise ValueError("CEConfig: " + "; ".join(problems))


PROFILES: dict[str, dict[str, Any]] = {
    "tiny": {"width": 4, "disc_width": 4, "train": tiny_train()},
    "smoke": {"width": 16, "disc_width": 16, "train": smoke_train(800, batch_size=8, lr_g=1e-3)},
    "full": {},
}


class CEMethod(GANInpaintMethod):
    """Context Encoders, Pathak et al. 2016 (see the module docstring)."""

    name = "ce"
    label = "CE"
    reported_as = ("CE",)
    config_cls = CEConfig
    PROFILES = PROFILES

    def build_generator(self):
        return ContextEncoder(size=self.cfg.train.size, width=self.cfg.width)

    def forward(self, nets, batch):
        x, m = batch["image"], batch["mask"]
        import torch

        pred = (nets["G"](torch.cat([(2 * x - 1) * (1 - m), m], dim=1)) + 1) / 2
        return {"pred": pred, "comp": composite(pred, x, m)}

    def loss_terms(self, nets, batch, out):
        m = batch["mask"]
        rec = ((out["pred"] - batch["image"]) ** 2 * m).sum() / (3 * m.sum()).clamp_min(1)
        return {"rec": rec, **self.adv_term(nets, batch, out)}


__all__ = ["CEConfig", "CEMethod", "PROFILES"]
