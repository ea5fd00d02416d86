"""LG-Net (Quan et al. 2022, "Image Inpainting with Local and Global Refinement", IEEE TIP 31:2405-2420) as a
trainable method, per its public release (github.com/weizequan/LGNet, ``models/pix2pixglg_model.py``).

Networks: :class:`~faceinpaint_core.nets.lgnet.LGNet` (coarse U-Net -> local ResNet -> global U-Net with
attention) and the release's spectral-norm PatchGAN (``--netD snpatch``:
:class:`~faceinpaint_core.nets.discriminators.LGNetPatchGAN`).

Losses, as the release's ``backward_G`` (every number from there):

* ``rec``   = sum over stages 1-3 of ``valid_mean|y_k - x| + 6 hole_mean|y_k - x|`` on [-1, 1] (``l1_loss_mask``);
* ``perc``  = stages 2 and 3 only: ``perceptual(y_k) + perceptual(c_k)`` (VGG16 pool1-3), weight 0.05;
* ``style`` = stages 2 and 3 only, same features, weight 120;
* ``tv``    = stages 2 and 3 only, TV of ``c_k ⊙ m``, weight 0.1;
* ``adv``   = LSGAN on the **stage-1 composite** ``c_1`` (``netD(merged_images1)``), weight 0.1; D sees real
  faces vs ``c_1``.

Optimiser: Adam lr 2e-4 for G and D, betas (0.5, 0.999), batch 4, constant then linear decay to 0 over the
second half (``--n_epochs 100 --n_epochs_decay 100``) -- :func:`~faceinpaint_core.methods.clgn._paper_train`.
Differences from CLGN (the study's method, built on the same stages): no GAM, attention in ``G_3`` only,
perceptual/style/TV on stages 2-3 only, D on the stage-1 composite. Deviations from the release: its
``attention.AttentionModule`` is replaced by SAGAN self-attention (see nets/lgnet.py); smoke/tiny sizes below.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..losses.reconstruction import masked_l1
from ..losses.tv import total_variation
from ..nets.blocks.init import init_weights
from ..nets.lgnet import LGNet
from ..utils.seeding import torch_generator
from .clgn import PROFILES as CLGN_PROFILES
from .clgn import CLGNConfig, CLGNMethod


@dataclass(frozen=True)
class LGNetConfig(CLGNConfig):
    """LG-Net config: CLGN's fields (release defaults) with three stages and no GAM; ``stages``/``gam`` are fixed."""

    gam: bool = False

    def __post_init__(self):
        super().__post_init__()
        if self.stages != 3 or self.gam:
            raise ValueError(f"LGNetConfig: LG-Net has three stages and no GAM (got stages={self.stages}, gam={self.gam})")


PROFILES: dict[str, dict[str, Any]] = {
    "tiny": {**CLGN_PROFILES["tiny"], "train": {**CLGN_PROFILES["tiny"]["train"], "steps": 2, "sample_every": 2,
                                                 "ckpt_every": 2}},
    # 64 px, 2-core CPU, <= 60 s: perceptual/style off for the same reason as CLGN's smoke (random VGG)
    "smoke": {**CLGN_PROFILES["smoke"], "train": {**CLGN_PROFILES["smoke"]["train"], "steps": 200,
                                                   "log_every": 20, "sample_every": 200, "ckpt_every": 200}},
    "full": {},  # the release: 256 px, ngf 64, ImageNet VGG16 (GPU)
}


class LGNetMethod(CLGNMethod):
    """LG-Net, Quan et al. 2022 (see the module docstring)."""

    name = "lgnet"
    label = "LG-Net"
    reported_as = ("LG-Net",)
    stand_in_for = ()
    config_cls = LGNetConfig
    PROFILES = PROFILES
    ABLATIONS: dict = {}

    def build_generator(self) -> LGNet:
        c = self.cfg
        g = LGNet(width=c.width, unet_depth=c.unet_depth, local_blocks=c.local_blocks, local_downs=c.local_downs,
                  norm=c.norm, hole_fill=c.hole_fill)
        return init_weights(g, torch_generator(c.train.seed, f"init:{self.name}:G"))

    def loss_terms(self, nets, batch, out):
        c, x, m = self.cfg, batch["image"], batch["mask"]
        pairs = self.stage_pairs(out)
        refined = pairs[1:]  # stages 2 and 3 carry the perceptual, style and TV terms (release)
        terms = {}
        if c.use_rec:
            terms["rec"] = sum(masked_l1(y, x, m, hole_weight=c.hole_weight, valid_weight=c.valid_weight,
                                         normalization=c.rec_normalization, value_range=c.rec_range) for y, _ in pairs)
        if c.use_adv:
            terms["adv"] = self.adversarial().g_loss(self.critic(nets, m), x, out["comp1"])
        if c.use_tv:
            terms["tv"] = sum(total_variation(comp, m) for _, comp in refined)
        if c.use_perc or c.use_style:
            perc, style = self.vgg_terms(refined, x)
            terms.update({k: v for k, v in (("perc", perc), ("style", style)) if getattr(c, f"use_{k}")})
        return terms

    def discriminator_loss(self, nets, batch, out):
        """LSGAN D loss: real faces vs the stage-1 composite ``c_1`` (the release's ``backward_D``)."""
        if "D" not in nets:
            return super(CLGNMethod, self).discriminator_loss(nets, batch, out)
        return self.adversarial().d_loss(self.critic(nets, batch["mask"]), batch["image"], out["comp1"])


__all__ = ["LGNetConfig", "LGNetMethod", "PROFILES"]
