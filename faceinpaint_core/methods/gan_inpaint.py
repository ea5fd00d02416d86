"""Shared plumbing of the compared GAN inpainters (GMCNN, PIC, RFR, MEDFE, LG-Net): one generator ``G``, one
critic ``D`` from :mod:`faceinpaint_core.nets.discriminators`, one :class:`AdversarialLoss`, an optional frozen
VGG16 for feature losses, and ``(total, terms)`` from weighted loss terms.

A subclass gives :meth:`build_generator`, :meth:`forward` and :meth:`loss_terms` (unweighted, by name); the
weight of term ``t`` is ``cfg.w_<t>``; the critic is ``cfg.disc`` (``None`` = no adversarial term) trained with
``cfg.adv_kind`` on :meth:`fake_for_critic` (default: ``out["comp"]``, the composite).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from ..config import TrainConfig
from ..losses.adversarial import KINDS as ADV_KINDS
from ..losses.adversarial import AdversarialLoss
from ..losses.perceptual import VGG16Features
from ..nets.blocks.init import init_weights
from ..nets.discriminators import DISCRIMINATORS, GlobalLocalDiscriminator, LGNetPatchGAN
from ..utils.seeding import torch_generator
from .base import InpaintMethod

#: train settings every small profile shares (CPU, random VGG labelled as such)
SMALL_TRAIN = dict(perceptual_weights="random", num_workers=0, pin_memory=False, bf16=False, channels_last=False)


def tiny_train(**extra) -> dict:
    """The ``tiny`` profile's train block: synthetic 32 px faces, a few steps (tests, tiny study)."""
    return {**SMALL_TRAIN, "size": 32, "batch_size": 2, "steps": 2, "dataset": "synthetic", "log_every": 1,
            "sample_every": 2, "ckpt_every": 2, "val_images": 4, **extra}


def smoke_train(steps: int, **extra) -> dict:
    """The ``smoke`` profile's train block: real faces at 64 px, ``steps`` chosen for <= 60 s on the 2-core CPU."""
    return {**SMALL_TRAIN, "size": 64, "batch_size": 4, "steps": steps, "log_every": max(1, steps // 10),
            "sample_every": steps, "ckpt_every": steps, "val_images": 16, **extra}


@dataclass(frozen=True)
class GANInpaintConfig:
    """Fields every compared GAN inpainter has; subclasses add their architecture and loss weights."""

    train: TrainConfig = field(default_factory=TrainConfig)
    disc: str | None = "patchgan"   # a name in nets.discriminators.DISCRIMINATORS, or None (no adversarial term)
    disc_width: int = 64
    adv_kind: str = "lsgan"
    gp_lambda: float = 10.0

    def check_gan(self) -> list[str]:
        """Messages for bad critic settings (subclasses add theirs and raise once)."""
        problems = []
        if self.disc is not None and self.disc not in DISCRIMINATORS:
            problems.append(f"disc must be one of {list(DISCRIMINATORS)} or None (got {self.disc!r})")
        if self.adv_kind not in ADV_KINDS:
            problems.append(f"adv_kind must be one of {list(ADV_KINDS)} (got {self.adv_kind!r})")
        if self.disc == "lgnet-patchgan" and self.train.size < LGNetPatchGAN.MIN_SIZE:
            problems.append(f"disc=lgnet-patchgan needs train.size >= {LGNetPatchGAN.MIN_SIZE} (got {self.train.size})")
        return problems


class GANInpaintMethod(InpaintMethod):
    """Generator ``G`` + optional critic ``D``; weighted terms; frozen VGG16 built before step 0 when needed."""

    def vgg_layers(self) -> tuple[str, ...]:
        """VGG16 layers the method's feature losses read (empty = no VGG is built)."""
        return ()

    def __init__(self, cfg):
        super().__init__(cfg)
        self._vgg: nn.Module | None = None
        self._adv: AdversarialLoss | None = None

    # -- networks ---------------------------------------------------------------------------
    def build_generator(self) -> nn.Module:
        raise NotImplementedError

    def _init(self, net: nn.Module, purpose: str) -> nn.Module:
        return init_weights(net, torch_generator(self.cfg.train.seed, f"init:{self.name}:{purpose}"))

    def build_discriminator(self) -> nn.Module:
        cls, c = DISCRIMINATORS[self.cfg.disc], self.cfg
        d = cls(width=c.disc_width, size=c.train.size) if cls is GlobalLocalDiscriminator else cls(in_ch=3, width=c.disc_width)
        return self._init(d, "D")

    def build_networks(self) -> dict[str, nn.Module]:
        nets = {"G": self._init(self.build_generator(), "G")}
        if self.cfg.disc is not None:
            nets["D"] = self.build_discriminator()
        return nets

    def build_inference_networks(self) -> dict[str, nn.Module]:
        return {"G": self._init(self.build_generator(), "G")}

    def prepare_training(self) -> None:
        if self.vgg_layers():
            self.vgg("cpu")

    def vgg(self, device) -> nn.Module:
        """The frozen VGG16 of the feature losses (ImageNet file or the labelled random init, per
        ``cfg.train.perceptual_weights``), built once."""
        if self._vgg is None:
            self._vgg = VGG16Features(weights=self.cfg.train.perceptual_weights, layers=self.vgg_layers(),
                                      input_norm="imagenet").eval().requires_grad_(False)
        return self._vgg.to(device)

    # -- adversarial ------------------------------------------------------------------------
    def adversarial(self) -> AdversarialLoss:
        if self._adv is None:
            self._adv = AdversarialLoss(self.cfg.adv_kind, gp_lambda=self.cfg.gp_lambda)
        return self._adv

    @staticmethod
    def critic(nets, mask: torch.Tensor):
        """``x -> D(x)``; the global-local critic also reads the hole mask (for its local crop)."""
        D = nets["D"]
        return (lambda x: D(x, mask)) if isinstance(D, GlobalLocalDiscriminator) else D

    def fake_for_critic(self, out) -> torch.Tensor:
        return out["comp"]

    def adv_term(self, nets, batch, out) -> dict[str, torch.Tensor]:
        """``{"adv": G's adversarial loss}`` when a critic exists, else ``{}``."""
        if "D" not in nets:
            return {}
        return {"adv": self.adversarial().g_loss(self.critic(nets, batch["mask"]), batch["image"],
                                                 self.fake_for_critic(out))}

    # -- losses -----------------------------------------------------------------------------
    def loss_terms(self, nets, batch, out) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def generator_loss(self, nets, batch, out):
        terms = self.loss_terms(nets, batch, out)
        total = sum(getattr(self.cfg, f"w_{k}") * v for k, v in terms.items())
        return total, terms

    def discriminator_loss(self, nets, batch, out):
        if "D" not in nets:
            return super().discriminator_loss(nets, batch, out)
        return self.adversarial().d_loss(self.critic(nets, batch["mask"]), batch["image"], self.fake_for_critic(out))


def composite(pred: torch.Tensor, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Known pixels of ``image`` outside the hole, ``pred`` inside (all ``(N, 3, H, W)`` in [0, 1], mask 1 = hole)."""
    return image * (1 - mask) + pred * mask


def to_unit(z: torch.Tensor) -> torch.Tensor:
    """``tanh`` output in [-1, 1] mapped to [0, 1] (every compared release ends in tanh)."""
    return (torch.tanh(z) + 1) / 2


__all__ = ["GANInpaintConfig", "GANInpaintMethod", "SMALL_TRAIN", "tiny_train", "smoke_train", "composite", "to_unit"]
