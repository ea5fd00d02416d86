"""DeepFill v1 (``ca``, Yu et al. 2018, "Generative Image Inpainting with Contextual Attention", CVPR) and
DeepFill v2 (``deepfill2``, Yu et al. 2019, "Free-Form Image Inpainting with Gated Convolution", ICCV) as
trainable methods: one generator (:class:`~faceinpaint_core.nets.deepfill.DeepFillGenerator`) with vanilla or
gated convolutions and the same contextual attention layer.

``ca`` (v1; "CA" in sources 000 and 001):
  * losses: spatially discounted L1 (γ = 0.99) on the coarse and the refined output, weight 1.2 each
    (release ``inpaint.yml``: ``L1_LOSS_ALPHA 1.2``, ``AE_LOSS_ALPHA 1.2``); WGAN-GP with the global + local
    critics, G weight 0.001 (``GAN_LOSS_ALPHA``), λ_gp = 10 (``WGAN_GP_LAMBDA``);
  * Adam lr 1e-4, β = (0.5, 0.9), one optimiser setting for G and D (v1 release ``train.py``:
    ``AdamOptimizer(lr, beta1=0.5, beta2=0.9)``, lr initialised 1e-4), batch 16 (``inpaint.yml`` ``BATCH_SIZE``);
    width 32 (``cnum``).
``deepfill2`` (v2; "DeepFill v2 (gated conv)" in source 001):
  * gated convolutions everywhere; L1 on both stages (weight 1 each) and the SN-PatchGAN hinge loss on image +
    mask (paper sec. 3.2, weight 1); free-form masks (the study's);
  * Adam lr 1e-4, β = (0.5, 0.999) for G and D (v2 release ``train.py``: ``AdamOptimizer(lr, beta1=0.5,
    beta2=0.999)``, lr 1e-4), batch 16 (``inpaint.yml``, as recalled: the v2 yml was not re-read); width 48 (``cnum``).
Deviation (both): the study's free-form masks and 64 px in smoke (the dilation rates adapt to the size).
Ablation flag: ``attention`` (the contextual attention branch; ``--set attention=false``; no ablation job in the
study: the sources do not ablate these baselines).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from ..config import TrainConfig
from ..losses.reconstruction import discounted_l1
from ..nets.deepfill import CONVS, DeepFillGenerator
from ..nets.discriminators import SNPatchGAN
from .gan_inpaint import GANInpaintConfig, GANInpaintMethod, composite, smoke_train, tiny_train


def _v1_train() -> TrainConfig:
    # v1 train.py: Adam(1e-4, beta1=0.5, beta2=0.9) for G and D; inpaint.yml BATCH_SIZE 16; 1M steps [ours]
    return TrainConfig(size=256, batch_size=16, lr_g=1e-4, lr_d=1e-4, betas=(0.5, 0.9), steps=1_000_000)


def _v2_train() -> TrainConfig:
    # v2 train.py: Adam(1e-4, beta1=0.5, beta2=0.999) for G and D; batch 16; 1M steps [ours]
    return TrainConfig(size=256, batch_size=16, lr_g=1e-4, lr_d=1e-4, betas=(0.5, 0.999), steps=1_000_000)


@dataclass(frozen=True)
class DeepFillConfig(GANInpaintConfig):
    train: TrainConfig = field(default_factory=_v2_train)
    conv: str = "gated"
    width: int = 48
    attention: bool = True
    softmax_scale: float = 10.0
    disc: str | None = "sn-patchgan"
    adv_kind: str = "hinge"
    discount_gamma: float = 0.0   # > 0: spatially discounted L1 (v1); 0: plain L1 (v2)
    w_coarse: float = 1.0
    w_refined: float = 1.0
    w_adv: float = 1.0

    def __post_init__(self):
        problems = self.check_gan()
        if self.conv not in CONVS:
            problems.append(f"conv must be one of {CONVS} (got {self.conv!r})")
        if self.train.size % 4:
            problems.append(f"train.size must be divisible by 4 (got {self.train.size})")
        if not 0 <= self.discount_gamma < 1:
            problems.append(f"discount_gamma must be in [0, 1) (got {self.discount_gamma})")
        if problems:
            raise ValueError(f"{type(self).__name__}: " + "; ".join(problems))


@dataclass(frozen=True)
class CAConfig(DeepFillConfig):
    train: TrainConfig = field(default_factory=_v1_train)
    conv: str = "vanilla"
    width: int = 32
    disc: str | None = "global-local"
    adv_kind: str = "wgan-gp"
    gp_lambda: float = 10.0
    discount_gamma: float = 0.99
    w_coarse: float = 1.2      # inpaint.yml COARSE_L1_ALPHA 1.2
    w_refined: float = 1.2     # inpaint.yml L1_LOSS_ALPHA / AE_LOSS_ALPHA 1.2
    w_adv: float = 0.001       # inpaint.yml GAN_LOSS_ALPHA 0.001 (WGAN_GP_LAMBDA 10 = gp_lambda)


def _profiles(smoke_steps: int) -> dict[str, dict[str, Any]]:
    """tiny / smoke / full of both DeepFill versions (they differ only in smoke length: a gated step costs more)."""
    return {"tiny": {"width": 4, "disc_width": 4, "train": tiny_train()},
            "smoke": {"width": 12, "disc_width": 16,
                      "train": smoke_train(smoke_steps, batch_size=8, lr_g=4e-4, lr_d=4e-4)},
            "full": {}}


class _DeepFill(GANInpaintMethod):
    def build_generator(self):
        c = self.cfg
        return DeepFillGenerator(c.conv, c.width, c.train.size, c.attention, c.softmax_scale)

    def forward(self, nets, batch):
        x, m = batch["image"], batch["mask"]
        out = nets["G"](2 * x - 1, m)
        coarse, refined = (out["coarse"] + 1) / 2, (out["refined"] + 1) / 2
        return {"pred": refined, "stage1": coarse, "comp": composite(refined, x, m)}

    def _rec(self, pred, batch):
        x, m = batch["image"], batch["mask"]
        if self.cfg.discount_gamma > 0:
            return discounted_l1(pred, x, m, self.cfg.discount_gamma)
        return (pred - x).abs().mean()

    def loss_terms(self, nets, batch, out):
        return {"coarse": self._rec(out["stage1"], batch), "refined": self._rec(out["pred"], batch),
                **self.adv_term(nets, batch, out)}


class CAMethod(_DeepFill):
    """DeepFill v1 with contextual attention (see the module docstring)."""

    name = "ca"
    label = "CA (DeepFill v1)"
    reported_as = ("CA",)
    config_cls = CAConfig
    PROFILES = _profiles(smoke_steps=120)


class DeepFill2Method(_DeepFill):
    """DeepFill v2 with gated convolutions (see the module docstring)."""

    name = "deepfill2"
    label = "DeepFill v2"
    reported_as = ("DeepFill v2 (gated conv)",)
    config_cls = DeepFillConfig
    PROFILES = _profiles(smoke_steps=100)

    def build_discriminator(self):
        return self._init(SNPatchGAN(in_ch=4, width=self.cfg.disc_width), "D")  # image + mask (paper sec. 3.2)

    @staticmethod
    def critic(nets, mask: torch.Tensor):
        return lambda x: nets["D"](x, mask)


__all__ = ["CAConfig", "CAMethod", "DeepFillConfig", "DeepFill2Method"]
