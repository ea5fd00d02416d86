"""A tiny InpaintMethod for the engine's tests (random-init, 32 px, seconds on CPU).

``ToyMethod``: a 2-conv generator + a 1-layer PatchGAN (or no D with ``adversarial=""``), masked L1
+ a small adversarial term. ``StubMaskSampler`` stands in for ``faceinpaint_core.masks.TrainMaskSampler``
when that module is absent (same call signature: ``sampler(global_sample_index) -> (S, S) float``).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from faceinpaint_core.config import TrainConfig
from faceinpaint_core.losses.adversarial import AdversarialLoss
from faceinpaint_core.losses.reconstruction import masked_l1
from faceinpaint_core.methods.base import InpaintMethod
from faceinpaint_core.nets.discriminators import PatchGAN
from faceinpaint_core.utils.seeding import rng


@dataclass(frozen=True)
class ToyConfig:
    train: TrainConfig = field(default_factory=TrainConfig)
    width: int = 8
    adversarial: str = "nsgan"  # "" = no discriminator (like the face parser)
    lambda_adv: float = 0.1


TINY = {"train.size": 32, "train.batch_size": 2, "train.steps": 6, "train.dataset": "synthetic",
        "train.num_workers": 0, "train.pin_memory": False, "train.log_every": 1, "train.ckpt_every": 3,
        "train.sample_every": 3, "train.keep_checkpoints": 2, "train.perceptual_weights": "random",
        "train.ema_decay": 0.9, "train.grad_clip": 1.0, "train.deterministic": True, "train.lr_g": 1e-3,
        "train.lr_d": 1e-3}


class ToyGenerator(nn.Module):
    def __init__(self, width: int):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(4, width, 3, padding=1), nn.ReLU(), nn.Dropout2d(0.1),
                                 nn.Conv2d(width, 3, 3, padding=1), nn.Sigmoid())

    def forward(self, image, mask):
        return self.net(torch.cat([image, mask], 1))


class ToyMethod(InpaintMethod):
    name = "toy"
    config_cls = ToyConfig
    PROFILES = {"tiny": TINY, "full": {}}

    def __init__(self, cfg):
        super().__init__(cfg)
        self.adv = AdversarialLoss(cfg.adversarial) if cfg.adversarial else None

    def build_networks(self):
        nets = {"G": ToyGenerator(self.cfg.width)}
        if self.adv is not None:
            nets["D"] = PatchGAN(in_ch=3, width=4, n_layers=1, norm="none")
        return nets

    def forward(self, nets, batch):
        return {"pred": nets["G"](batch["image"] * (1 - batch["mask"]), batch["mask"])}

    def generator_loss(self, nets, batch, out):
        terms = {"rec": masked_l1(out["pred"], batch["image"], batch["mask"])}
        total = terms["rec"]
        if self.adv is not None:
            terms["adv"] = self.adv.g_loss(nets["D"], batch["image"], out["pred"])
            total = total + self.cfg.lambda_adv * terms["adv"]
        return total, terms

    def discriminator_loss(self, nets, batch, out):
        if self.adv is None:
            return super().discriminator_loss(nets, batch, out)
        return self.adv.d_loss(nets["D"], batch["image"], out["pred"])

    def after_discriminator_step(self, nets):
        if self.adv is not None:
            self.adv.clip_weights(nets["D"])


class StubMaskSampler:
    """A seeded random rectangle per global sample index (stand-in for TrainMaskSampler)."""

    def __init__(self, kinds, bins, size, seed):
        self.size, self.seed = size, seed

    def __call__(self, g: int) -> np.ndarray:
        r = rng(self.seed, "stub-mask", g)
        s = self.size
        h, w = r.integers(s // 4, s // 2, size=2)
        y, x = r.integers(0, s - h), r.integers(0, s - w)
        m = np.zeros((s, s), np.float32)
        m[y:y + h, x:x + w] = 1
        return m


def ensure_mask_sampler(monkeypatch=None):
    """Use the stub when faceinpaint_core.masks has no TrainMaskSampler yet (returns True if stubbed)."""
    import faceinpaint_core.masks as masks

    if hasattr(masks, "TrainMaskSampler"):
        return False
    if monkeypatch is not None:
        monkeypatch.setattr(masks, "TrainMaskSampler", StubMaskSampler, raising=False)
    else:
        masks.TrainMaskSampler = StubMaskSampler
    return True


def ddp_worker(rank: int, world: int, port: int, out: str, sets: dict) -> None:
    """Entry of one spawned rank of the 2-process CPU (gloo) test: train_main, then dump this rank's G."""
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world),
                      LOCAL_RANK=str(rank), CUDA_VISIBLE_DEVICES="")
    torch.set_num_threads(1)
    ensure_mask_sampler()
    from faceinpaint_core.train import trainer as tr

    fit = tr.Trainer.fit

    def fit_and_dump(self, resume_from=None):
        final = fit(self, resume_from)
        torch.save(self.nets["G"].state_dict(), os.path.join(out, f"rank{rank}-G.pt"))
        return final

    tr.Trainer.fit = fit_and_dump
    tr.train_main("toy_method:ToyMethod", "tiny", out=out, sets=sets)
