"""MEDFE (Liu et al. 2020, "Rethinking Image Inpainting via a Mutual Encoder-Decoder with Feature
Equalizations", ECCV) as a trainable method.

Network: :class:`~faceinpaint_core.nets.medfe.MEDFE`. Losses (paper sec. 3.3, eq. (8); weights as the paper):

* ``rec``    = L1 of the output, weight 1 (λ_re);
* ``branch`` = L1 of the texture branch's image to the ground truth + L1 of the structure branch's image to the
  smoothed ground truth (paper: RTV smoothing; here a Gaussian blur, deviation), weight 1;
* ``perc`` weight 0.1 (λ_p) and ``style`` weight 250 (λ_s) on VGG16 pool1-3;
* ``adv`` weight 0.2 (λ_adv), on the composite, with the pix2pix PatchGAN and LSGAN (the release builds on the
  pix2pix code base; exact critic not re-read here).

Optimiser: Adam lr 2e-4, betas (0.5, 0.999) (the pix2pix-based release's defaults, as recalled; not re-read
here), 256 px (paper sec. 4); batch 8 and 200k steps are our choices, not quoted numbers.
Smoke: width 8, 64 px, no perceptual/style (random VGG).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch.nn.functional as F

from ..config import TrainConfig
from ..losses.perceptual import PCONV_LAYERS, perceptual_and_style
from ..nets.gmcnn import gaussian_kernel
from ..nets.medfe import MEDFE
from .gan_inpaint import GANInpaintConfig, GANInpaintMethod, composite, smoke_train, tiny_train


def _paper_train() -> TrainConfig:
    return TrainConfig(size=256, batch_size=8, lr_g=2e-4, lr_d=2e-4, betas=(0.5, 0.999), steps=200_000)


@dataclass(frozen=True)
class MEDFEConfig(GANInpaintConfig):
    train: TrainConfig = field(default_factory=_paper_train)
    width: int = 64
    depth: int = 6                # encoder levels (paper: 6 at 256 px)
    disc: str | None = "patchgan"
    adv_kind: str = "lsgan"
    use_vgg: bool = True
    w_rec: float = 1.0
    w_branch: float = 1.0
    w_perc: float = 0.1
    w_style: float = 250.0
    w_adv: float = 0.2

    def __post_init__(self):
        problems = self.check_gan()
        if self.depth < 5:
            problems.append(f"depth must be >= 5 (got {self.depth})")
        if self.train.size % 2 ** self.depth:
            problems.append(f"train.size must be divisible by 2**depth = {2 ** self.depth} (got {self.train.size})")
        if problems:
            raise ValueError("MEDFEConfig: " + "; ".join(problems))


PROFILES: dict[str, dict[str, Any]] = {
    "tiny": {"width": 4, "depth": 5, "disc_width": 4, "train": tiny_train()},
    "smoke": {"width": 8, "disc_width": 16, "use_vgg": False, "train": smoke_train(350)},
    "full": {},
}


def smoothed(x, size: int = 5, sigma: float = 1.5):
    """The structure branch's target: a Gaussian blur of ``x`` ``(N, 3, H, W)`` (MEDFE uses RTV smoothing)."""
    k = gaussian_kernel(size, sigma).to(x).expand(3, 1, size, size)
    return F.conv2d(F.pad(x, (size // 2,) * 4, mode="replicate"), k, groups=3)


class MEDFEMethod(GANInpaintMethod):
    """MEDFE, Liu et al. 2020 (see the module docstring)."""

    name = "medfe"
    label = "MEDFE"
    reported_as = ("MEDFE",)
    config_cls = MEDFEConfig
    PROFILES = PROFILES

    def vgg_layers(self):
        return PCONV_LAYERS if self.cfg.use_vgg else ()

    def build_generator(self):
        return MEDFE(width=self.cfg.width, depth=self.cfg.depth)

    def forward(self, nets, batch):
        m = batch["mask"]
        out = nets["G"](batch["image"] * (1 - m), m)
        return {**out, "comp": composite(out["pred"], batch["image"], m)}

    def loss_terms(self, nets, batch, out):
        x = batch["image"]
        terms = {"rec": (out["pred"] - x).abs().mean(),
                 "branch": (out["texture"] - x).abs().mean() + (out["structure"] - smoothed(x)).abs().mean()}
        if self.cfg.use_vgg:
            terms["perc"], terms["style"] = perceptual_and_style(self.vgg(x.device), out["comp"], x)
        terms.update(self.adv_term(nets, batch, out))
        return terms

    def sample_images(self, batch, out):
        return {**super().sample_images(batch, out), "texture": out["texture"], "structure": out["structure"]}


__all__ = ["MEDFEConfig", "MEDFEMethod", "PROFILES"]
