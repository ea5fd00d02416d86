"""LaMa (Suvorov et al. 2022, "Resolution-robust Large Mask Inpainting with Fourier Convolutions", WACV), the
modern reference none of the sources compared with.

Network: :class:`~faceinpaint_core.nets.lama.LaMaGenerator` (FFC residual blocks). Losses (paper sec. 3.2-3.4,
release config ``lama-fourier``): L1 on the known region weight 10 and 0 in the hole (``weight_known 10``,
``weight_missing 0``); the high-receptive-field perceptual loss weight 30 (paper: a dilated ResNet-50 trained on
ADE20k; its weights cannot be downloaded here, so the project's VGG16 perceptual loss stands in: ImageNet weights
when installed, else the labelled random init); non-saturating adversarial loss weight 10 on a PatchGAN with
R1 γ = 0.001; (the discriminator feature-matching term, weight 100, is not implemented).
Full profile, from the release (github.com/advimman/lama ``configs/training``, read for this profile):
``lama-fourier.yaml`` (losses above; ``adversarial.kind r1, weight 10, gp_coef 0.001``), ``optimizers/
default_optimizers.yaml`` (Adam, G lr 0.001, D lr 0.0001, torch's default betas (0.9, 0.999)), ``data/
abl-04-256-mh-dist.yaml`` (``batch_size: 8`` per GPU under DDP, 256 px; the profile keeps the per-process value 8, so the
effective batch grows with the number of processes as in the release), ``generator/ffc_resnet_075.yaml``
(``ngf 64, n_downsampling 3, n_blocks 9``, global ratio 0.75, sigmoid output).
Smoke deviation: the random VGG gives the hole no meaningful signal, so the smoke profile also puts L1 in the
hole (``w_l1_missing = 1``); 64 px, width 16, two downsamplings, 3 blocks.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..config import TrainConfig
from ..losses.adversarial import AdversarialLoss
from ..losses.perceptual import PCONV_LAYERS, perceptual_loss
from ..nets.lama import LaMaGenerator
from .gan_inpaint import GANInpaintConfig, GANInpaintMethod, composite, smoke_train, tiny_train


def _paper_train() -> TrainConfig:
    # default_optimizers.yaml: Adam G 1e-3, D 1e-4, default betas; abl-04-256-mh-dist.yaml: batch 8 per GPU, 256 px
    return TrainConfig(size=256, batch_size=8, lr_g=1e-3, lr_d=1e-4, betas=(0.9, 0.999), steps=1_000_000)


@dataclass(frozen=True)
class LaMaConfig(GANInpaintConfig):
    train: TrainConfig = field(default_factory=_paper_train)
    width: int = 64
    n_down: int = 3
    n_blocks: int = 9
    ratio: float = 0.75
    disc: str | None = "patchgan"
    adv_kind: str = "nsgan"
    r1_gamma: float = 0.001
    use_vgg: bool = True
    w_l1_known: float = 10.0
    w_l1_missing: float = 0.0
    w_perc: float = 30.0
    w_adv: float = 10.0

    def __post_init__(self):
        problems = self.check_gan()
        if self.train.size % 2 ** self.n_down:
            problems.append(f"train.size must be divisible by 2**n_down = {2 ** self.n_down} (got {self.train.size})")
        if not 0 <= self.ratio < 1:
            problems.append(f"ratio must be in [0, 1) (got {self.ratio})")
        if problems:
            raise ValueError("LaMaConfig: " + "; ".join(problems))


PROFILES: dict[str, dict[str, Any]] = {
    "tiny": {"width": 4, "n_down": 2, "n_blocks": 1, "disc_width": 4, "use_vgg": False, "w_l1_missing": 1.0,
             "train": tiny_train()},
    "smoke": {"width": 16, "n_down": 2, "n_blocks": 3, "disc_width": 16, "use_vgg": False, "w_l1_missing": 1.0,
              "train": smoke_train(300, batch_size=8, lr_g=1e-3, lr_d=1e-4)},
    "full": {},
}


class LaMaMethod(GANInpaintMethod):
    """LaMa with fast Fourier convolutions (see the module docstring)."""

    name = "lama"
    label = "LaMa"
    config_cls = LaMaConfig
    PROFILES = PROFILES

    def vgg_layers(self):
        return PCONV_LAYERS if self.cfg.use_vgg else ()

    def adversarial(self):
        if self._adv is None:
            self._adv = AdversarialLoss("nsgan", r1_gamma=self.cfg.r1_gamma)
        return self._adv

    def build_generator(self):
        c = self.cfg
        return LaMaGenerator(c.width, c.n_down, c.n_blocks, c.ratio)

    def forward(self, nets, batch):
        x, m = batch["image"], batch["mask"]
        pred = nets["G"](x, m)
        return {"pred": pred, "comp": composite(pred, x, m)}

    def loss_terms(self, nets, batch, out):
        x, m = batch["image"], batch["mask"]
        err = (out["pred"] - x).abs()
        terms = {"l1_known": (err * (1 - m)).mean(), "l1_missing": (err * m).mean()}
        if self.cfg.use_vgg:
            terms["perc"] = perceptual_loss(self.vgg(x.device), out["pred"], x)
        terms.update(self.adv_term(nets, batch, out))
        return terms


__all__ = ["LaMaConfig", "LaMaMethod", "PROFILES"]
