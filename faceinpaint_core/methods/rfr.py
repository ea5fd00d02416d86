"""RFR-Net (Li et al. 2020, "Recurrent Feature Reasoning for Image Inpainting", CVPR) as a trainable method.

Network: :class:`~faceinpaint_core.nets.rfr.RFRNet` (partial convs, RFR loop with KCA, feature merging).
Losses: RFR-Net trains with PConv's losses (paper sec. 3.5: "we use the same loss functions as PConv"): per-image
``valid + 6·hole`` L1 (PConv eqs (1)-(2), ``image_mean`` normalisation on [0, 1]), perceptual 0.05 and style 120
on VGG16 pool1-3 (PConv eqs (3)-(5)), TV 0.1 on the hole (PConv eq. (6)); no adversarial term.
Optimiser (paper sec. 4.1 / release ``run.py`` defaults as recalled, not re-read here): Adam (PyTorch default
betas), lr 2e-4, batch 6; the paper fine-tunes at 5e-5 with frozen BatchNorm after the first stage (not
modelled: one constant rate). ``steps`` = 450k is our choice of the order the paper trains for, not a quoted
number.
Smoke: width 16, 64 px, 3 iterations, no perceptual/style (a random-init VGG has no perceptual signal).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..config import TrainConfig
from ..losses.perceptual import PCONV_LAYERS, perceptual_and_style
from ..losses.reconstruction import masked_l1
from ..losses.tv import total_variation
from ..nets.rfr import RFRNet
from .gan_inpaint import GANInpaintConfig, GANInpaintMethod, composite, smoke_train, tiny_train


def _paper_train() -> TrainConfig:
    return TrainConfig(size=256, batch_size=6, lr_g=2e-4, lr_d=2e-4, betas=(0.9, 0.999), steps=450_000)


@dataclass(frozen=True)
class RFRConfig(GANInpaintConfig):
    train: TrainConfig = field(default_factory=_paper_train)
    width: int = 64
    iterations: int = 6           # RFR loop length (paper sec. 4.4)
    disc: str | None = None       # RFR-Net has no discriminator
    use_vgg: bool = True
    w_rec: float = 1.0
    w_perc: float = 0.05
    w_style: float = 120.0
    w_tv: float = 0.1

    def __post_init__(self):
        problems = self.check_gan()
        if self.iterations < 1:
            problems.append(f"iterations must be >= 1 (got {self.iterations})")
        if self.train.size % 8:
            problems.append(f"train.size must be divisible by 8 (got {self.train.size})")
        if problems:
            raise ValueError("RFRConfig: " + "; ".join(problems))


PROFILES: dict[str, dict[str, Any]] = {
    "tiny": {"width": 4, "iterations": 2, "train": tiny_train()},
    "smoke": {"width": 16, "iterations": 3, "use_vgg": False, "train": smoke_train(300)},
    "full": {},
}


class RFRMethod(GANInpaintMethod):
    """RFR-Net, Li et al. 2020 (see the module docstring)."""

    name = "rfr"
    label = "RFR"
    reported_as = ("RFR",)
    config_cls = RFRConfig
    PROFILES = PROFILES

    def vgg_layers(self):
        return PCONV_LAYERS if self.cfg.use_vgg else ()

    def build_generator(self):
        return RFRNet(width=self.cfg.width, iterations=self.cfg.iterations)

    def forward(self, nets, batch):
        m = batch["mask"]
        y = nets["G"](batch["image"] * (1 - m), m)
        return {"pred": y, "comp": composite(y, batch["image"], m)}

    def loss_terms(self, nets, batch, out):
        x, m = batch["image"], batch["mask"]
        terms = {"rec": masked_l1(out["pred"], x, m, 6.0, 1.0, normalization="image_mean", value_range="[0,1]"),
                 "tv": total_variation(out["comp"], m)}
        if self.cfg.use_vgg:
            vgg = self.vgg(x.device)
            p1, s1 = perceptual_and_style(vgg, out["pred"], x)
            p2, s2 = perceptual_and_style(vgg, out["comp"], x)
            terms.update(perc=p1 + p2, style=s1 + s2)
        return terms


__all__ = ["RFRConfig", "RFRMethod", "PROFILES"]
