"""StyleGAN2 (Karras et al. CVPR 2020) trained on the study's faces: GFPGAN's generative facial prior.

Pretrained StyleGAN2 / GFPGAN weights cannot be downloaded here, so the study trains a compact prior
(:mod:`faceinpaint_core.nets.stylegan2`); a user with official weights gives ``official_weights`` (loaded with
:func:`~faceinpaint_core.nets.stylegan2.load_official_stylegan2`, a key mapping and a one-line error).

Losses: non-saturating logistic loss (Goodfellow et al. 2014) with R1 (Mescheder et al. 2018, γ = 10 for FFHQ
in StyleGAN2 config-f), optional path-length regularisation (StyleGAN2 eq. (4), weight 2, EMA decay 0.01 of the
target length a), generator EMA. Optimiser Adam, lr 0.002, betas (0, 0.99) (StyleGAN2 config-f).
R1 is lazy as in StyleGAN2 (sec. 4 "lazy regularization"): computed on every ``r1_every``-th critic update
(config-f: 16) with γ scaled by ``r1_every``; the other updates skip the input-gradient double backward
(smoke, 1 thread: a critic update with R1 costs 181 ms of CPU, without 102 ms, of a 314 ms step).
[ours: path length every step instead of lazily every 4; the R1 phase counter and the running path-length
mean live on the method and restart at 0 on resume.]
Not an inpainter: ``task = "generate"``, ``evaluated_by_protocol = False``; notebook 07 shows its samples.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import nn

from ..config import TrainConfig
from ..losses.adversarial import AdversarialLoss
from ..nets.stylegan2 import StyleGAN2Discriminator, StyleGAN2Generator, load_official_stylegan2
from .base import InpaintMethod


@dataclass(frozen=True)
class StyleGAN2Config:
    """StyleGAN2 settings (config-f values; the smoke profile shrinks the network)."""

    train: TrainConfig = field(default_factory=lambda: TrainConfig(
        size=512, batch_size=32, steps=800_000, lr_g=0.002, lr_d=0.002, betas=(0.0, 0.99), ema_decay=0.999,
        train_masks=("rect",), train_bins=("1-10",)))  # GFPGAN's prior: 512 px FFHQ, 800k iterations
    style_dim: int = 512          # StyleGAN2: z, w in R^512
    n_mlp: int = 8                # StyleGAN2: 8 mapping layers
    width: int = 512              # channels up to 32 px (config-f, channel multiplier 1: GFPGAN's "Cmul1")
    r1_gamma: float = 10.0        # StyleGAN2 FFHQ γ
    r1_every: int = 16            # lazy R1 interval (StyleGAN2 config-f d_reg_every = 16; 1 = every update)
    pl_weight: float = 0.0        # path-length regulariser weight (StyleGAN2: 2; 0 = off, our default on CPU)
    pl_decay: float = 0.01        # EMA of the path-length target a (StyleGAN2)
    official_weights: str = ""    # optional official StyleGAN2/GFPGAN generator .pth to start from

    def __post_init__(self):
        if (self.style_dim < 1 or self.n_mlp < 1 or self.width < 1 or self.r1_every < 1 or self.r1_gamma < 0
                or self.pl_weight < 0):
            raise ValueError("stylegan2: style_dim, n_mlp, width, r1_every >= 1 and r1_gamma, pl_weight >= 0")


_FAST = {"train.num_workers": 0, "train.pin_memory": False, "train.perceptual_weights": "random",
         "train.val_images": 4}
PROFILES: dict[str, dict] = {
    "tiny": {**_FAST, "train.size": 16, "train.batch_size": 4, "train.steps": 2, "train.dataset": "synthetic",
             "train.ckpt_every": 2, "train.log_every": 1, "train.sample_every": 2, "style_dim": 16, "n_mlp": 2,
             "width": 16},
    "smoke": {**_FAST, "train.size": 64, "train.batch_size": 8, "train.steps": 200, "train.ckpt_every": 200,
              "train.log_every": 10, "train.sample_every": 200, "style_dim": 64, "n_mlp": 2, "width": 32,
              "train.ema_decay": 0.97},
    # the `cpu` study (issue 17): smoke's prior trained 4x longer (~3 of GFPGAN's 20 CPU minutes), EMA 0.99.
    # Both short profiles keep the EMA decay d with d^steps < 1e-2: the EMA starts from the initial weights, so after the run a share d^steps of it is still the untrained network
    # (0.999 over 800 steps had left 45 %, 0.99 over smoke's 200 steps 13 %)
    "cpu": {**_FAST, "train.size": 64, "train.batch_size": 8, "train.steps": 800, "train.ckpt_every": 400,
            "train.log_every": 20, "train.sample_every": 800, "style_dim": 64, "n_mlp": 2, "width": 32,
            "train.ema_decay": 0.99},
    "full": {},
}


class StyleGAN2Method(InpaintMethod):
    """StyleGAN2 generator ``G`` (+ EMA) and discriminator ``D``."""

    name = "stylegan2"
    label = "StyleGAN2 (facial prior)"
    task = "generate"
    evaluated_by_protocol = False  # an unconditional generator: notebook 07 shows its samples
    config_cls = StyleGAN2Config
    PROFILES = PROFILES
    batch_keys = ("image",)

    def __init__(self, cfg: StyleGAN2Config):
        super().__init__(cfg)
        # lazy R1 (StyleGAN2): γ·r1_every on every r1_every-th critic update, plain logistic loss otherwise
        self.adv_r1 = AdversarialLoss("nsgan", r1_gamma=cfg.r1_gamma * cfg.r1_every)
        self.adv = AdversarialLoss("nsgan")
        self.d_updates = 0
        self.pl_mean = torch.zeros(())

    def build_generator(self) -> StyleGAN2Generator:
        c = self.cfg
        g = StyleGAN2Generator(c.train.size, c.style_dim, c.n_mlp, c.width)
        if c.official_weights:
            load_official_stylegan2(c.official_weights, g)
        return g

    def build_networks(self) -> dict[str, nn.Module]:
        return {"G": self.build_generator(), "D": StyleGAN2Discriminator(self.cfg.train.size, self.cfg.width)}

    def build_inference_networks(self) -> dict[str, nn.Module]:
        c = self.cfg
        return {"G": StyleGAN2Generator(c.train.size, c.style_dim, c.n_mlp, c.width)}

    def forward(self, nets, batch):
        """``fake`` in [-1, 1] from fresh z (torch's seeded stream); ``pred`` = ``fake`` mapped to [0, 1]."""
        z = torch.randn(batch["image"].shape[0], self.cfg.style_dim, device=batch["image"].device)
        fake = nets["G"](z)
        return {"fake": fake, "pred": (fake + 1) / 2}

    def discriminator_loss(self, nets, batch, out):
        """Logistic loss; R1 (γ·r1_every) on every ``r1_every``-th update, starting with the first."""
        adv = self.adv_r1 if self.cfg.r1_gamma > 0 and self.d_updates % self.cfg.r1_every == 0 else self.adv
        self.d_updates += 1
        return adv.d_loss(nets["D"], batch["image"] * 2 - 1, out["fake"])

    def generator_loss(self, nets, batch, out):
        adv = self.adv.g_loss(nets["D"], batch["image"] * 2 - 1, out["fake"])
        terms, total = {"g_adv": adv}, adv
        if self.cfg.pl_weight > 0:
            pl = self._path_length_penalty(nets["G"], batch["image"].shape[0], batch["image"].device)
            terms["path_length"] = pl
            total = total + self.cfg.pl_weight * pl
        return total, terms

    def _path_length_penalty(self, g, n: int, device) -> torch.Tensor:
        """StyleGAN2 eq. (4): ``E (‖J_wᵀ y‖₂ − a)²``, y ~ N(0, I)/sqrt(HW), a an EMA of the lengths."""
        core = getattr(g, "module", g)
        w = core.style_mlp(torch.randn(max(1, n // 2), self.cfg.style_dim, device=device))
        img = g(w, input_is_latent=True)
        y = torch.randn_like(img) / math.sqrt(img.shape[2] * img.shape[3])
        (grad,) = torch.autograd.grad((img * y).sum(), w, create_graph=True)
        lengths = grad.pow(2).sum(1).sqrt()
        self.pl_mean = (self.pl_mean.to(device) + self.cfg.pl_decay * (lengths.mean().detach()
                                                                       - self.pl_mean.to(device)))
        return (lengths - self.pl_mean).pow(2).mean()

    def sample_images(self, batch, out):
        return {"samples": out["pred"].clamp(0, 1), "training faces": batch["image"]}

    @torch.no_grad()
    def generate(self, nets, n: int, seed: int = 0, truncation: float = 1.0) -> torch.Tensor:
        """``n`` seeded samples ``(n, 3, S, S)`` in [0, 1] (truncation ψ around the mean w when < 1)."""
        g = nets["G"]
        gen = torch.Generator().manual_seed(int(seed))
        z = torch.randn(n, self.cfg.style_dim, generator=gen).to(g.constant_input.device)
        mean = g.mean_latent() if truncation < 1 else None
        return ((g(z, truncation=truncation, truncation_latent=mean) + 1) / 2).clamp(0, 1)

    def inpaint(self, nets, image, mask, parsing=None):
        raise ValueError("method 'stylegan2' is an unconditional face generator (GFPGAN's prior), not an "
                         "inpainter: use its checkpoint as gfpgan's prior_checkpoint")
