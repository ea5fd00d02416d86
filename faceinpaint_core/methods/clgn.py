"""CLGN as a trainable method (LG-Net itself: methods/lgnet.py): config, profiles and the five losses; seed slides 04 and 07.

Losses (seed slide 07 "损失函数影响对比": reconstruction, adversarial, total variation, perceptual,
style — each switchable; every stage's output is supervised). Definitions, normalisations and weights
follow LG-Net's release [LG] (github.com/weizequan/LGNet, ``models/pix2pixglg_model.py``,
``models/loss.py``), applied to every stage k = 1..``stages`` (LG-Net puts perceptual/style/TV on
stages 2 and 3 only; the seed says every stage is supervised) [ours]:

* ``rec``   = sum_k valid_mean|y_k - x| + 6·hole_mean|y_k - x|: per-image means over each region,
  errors on [-1, 1] (``rec_normalization="region_mean"``, ``rec_range="[-1,1]"``; LG-Net's
  ``l1_loss_mask``). PConv's eqs (1)-(2) divide by the whole image's size instead
  (``"image_mean"``, this package's previous default), which makes the hole term 1/hole-ratio times
  weaker.                                                                                   [LG]
* ``perc``  = sum_k perceptual(y_k, x) + perceptual(c_k, x), weight 0.05, VGG16 pool1-pool3 fed
  ``2x - 1`` without ImageNet normalisation (``perc_layers``, ``vgg_input``)                [LG]
* ``style`` = sum_k style(y_k, x) + style(c_k, x), weight 120, same layers (``style_layers``)  [LG]
* ``tv``    = sum_k TV(c_k restricted to the hole), weight 0.1 (PConv eq (6); LG-Net takes the TV of
  ``c_k ⊙ m`` over the whole image)                                                    [LG+ours]
* ``adv``   = adversarial G loss on the final composite c_S, weight 0.1, LSGAN with LG-Net's
  spectral-norm PatchGAN (``disc="lgnet-patchgan"``, receptive field 93 px; DeepFill v2's
  ``sn-patchgan`` stays available). LG-Net trains D on its stage-1 composite; we use the final
  one, the image the method is judged on                                                 [LG+ours]

Optimiser and schedule (LG-Net release, ``options/*.py`` and README command): Adam, lr 2e-4 for G
*and* D (lr_D = lr_G), betas (0.5, 0.999), batch size 4 (``--batch_size`` default; the README
command does not override it); the rate is constant for the first half of training and decays
linearly to zero over the second (``--n_epochs 100 --n_epochs_decay 100``, ``lr_policy=linear``):
``train.lr_schedule="linear_decay"``, ``lr_decay_start`` = steps // 2.                      [LG]

The VGG-16 of the perceptual/style losses is frozen, built by :meth:`CLGNMethod.prepare_training`
(or lazily) from ``cfg.train.perceptual_weights`` and held on the method instance, never in the
trained ``nets`` dict; inference (:meth:`~CLGNMethod.build_inference_networks`) builds only ``G``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from ..config import TrainConfig
from ..losses.adversarial import KINDS as ADV_KINDS
from ..losses.adversarial import AdversarialLoss
from ..losses.perceptual import PCONV_LAYERS, VGG16Features, check_layers, perceptual_and_style
from ..losses.reconstruction import masked_l1
from ..losses.tv import total_variation
from ..nets.blocks.residual import NORMS
from ..nets.blocks.init import init_weights
from ..nets.clgn import CLGN
from ..nets.discriminators import DISCRIMINATORS, GlobalLocalDiscriminator, LGNetPatchGAN
from ..utils.seeding import torch_generator
from .base import InpaintMethod, loss_option_problems

LOSSES = ("rec", "adv", "tv", "perc", "style")


def _paper_train() -> TrainConfig:
    """LG-Net's recipe: Adam, lr 2e-4 for G and D, betas (0.5, 0.999), batch 4, 256 px, constant rate for
    the first half and linear decay to zero over the second half."""
    return TrainConfig(lr_g=2e-4, lr_d=2e-4, betas=(0.5, 0.999), size=256, batch_size=4,
                       lr_schedule="linear_decay", lr_decay_start=None)


@dataclass(frozen=True)
class CLGNConfig:
    """CLGN config; defaults = the paper / LG-Net values (the ``full`` profile). See nets/clgn.py."""

    train: TrainConfig = field(default_factory=_paper_train)
    # architecture (ablation flags: stages, gam)
    stages: int = 3
    gam: bool = True
    gam_rate: int = 4
    gam_stages: tuple[int, ...] = (1, 2, 3)
    width: int = 64
    unet_depth: int = 8
    local_blocks: int = 4
    local_downs: int = 2
    norm: str = "batch"
    hole_fill: float = 1.0
    upsample: str = "deconv"        # deconv (LG-Net's pix2pix U-Net: transposed convs) | resize (nearest 2x + 3x3
                                    # conv, Odena et al. 2016); the seed slides do not name the layer
    full_res_skip: bool = False     # every stage also reads its input at full resolution (nets/clgn.py; not LG-Net)
    hole_init: str = "constant"     # constant (hole_fill, LG-Net) | harmonic | biharmonic (a classical fill to refine)
    residual: bool = False          # each stage corrects its input composite (nets/clgn.py; not LG-Net)
    # losses (ablation flags: use_*)
    use_rec: bool = True
    use_adv: bool = True
    use_tv: bool = True
    use_perc: bool = True
    use_style: bool = True
    hole_weight: float = 6.0
    valid_weight: float = 1.0
    rec_normalization: str = "region_mean"  # LG-Net; "image_mean" = PConv eqs (1)-(2) (losses/reconstruction.py)
    rec_range: str = "[-1,1]"               # LG-Net's image range (errors x2); "[0,1]"
    perc_layers: tuple[str, ...] = PCONV_LAYERS   # VGG16 pool1, pool2, pool3 (PConv / LG-Net)
    style_layers: tuple[str, ...] = PCONV_LAYERS
    vgg_input: str = "[-1,1]"               # LG-Net feeds 2x-1 without ImageNet mean/std; "imagenet" | "[0,1]"
    w_rec: float = 1.0
    w_adv: float = 0.1
    w_tv: float = 0.1
    w_perc: float = 0.05
    w_style: float = 120.0
    adv_kind: str = "lsgan"
    disc: str = "lgnet-patchgan"  # a name in nets.discriminators.DISCRIMINATORS; sees the image only (LG-Net)
    disc_width: int = 64

    def __post_init__(self):
        problems = []
        if self.stages not in (1, 2, 3):
            problems.append(f"stages must be 1, 2 or 3 (got {self.stages!r})")
        if self.norm not in NORMS:
            problems.append(f"norm must be one of {list(NORMS)} (got {self.norm!r})")
        if self.disc not in DISCRIMINATORS:
            problems.append(f"disc must be one of {list(DISCRIMINATORS)} (got {self.disc!r})")
        if not set(self.gam_stages) <= {1, 2, 3}:
            problems.append(f"gam_stages must be a subset of (1, 2, 3) (got {self.gam_stages!r})")
        if self.adv_kind not in ADV_KINDS:
            problems.append(f"adv_kind must be one of {list(ADV_KINDS)} (got {self.adv_kind!r})")
        if self.disc == "lgnet-patchgan" and self.use_adv and self.train.size < LGNetPatchGAN.MIN_SIZE:
            problems.append(f"disc=lgnet-patchgan needs train.size >= {LGNetPatchGAN.MIN_SIZE} "
                            f"(got {self.train.size}); use disc=patchgan or sn-patchgan")
        problems += loss_option_problems(self)
        if not any(self.losses_on()):
            problems.append("at least one of use_rec/use_adv/use_tv/use_perc/use_style must be on")
        if self.train.size % 2 ** self.unet_depth:
            problems.append(f"train.size={self.train.size} must be divisible by 2**unet_depth={2 ** self.unet_depth}")
        if problems:
            raise ValueError("CLGNConfig: " + "; ".join(problems))

    def vgg_layers(self) -> tuple[str, ...]:
        """Every VGG16 layer the perceptual and style terms read (one extractor serves both)."""
        return check_layers(self.perc_layers + self.style_layers)

    def losses_on(self) -> list[str]:
        """Names of the switched-on loss terms, in LOSSES order."""
        return [n for n in LOSSES if getattr(self, f"use_{n}")]

    def weight(self, term: str) -> float:
        return getattr(self, f"w_{term}")


_SMALL_TRAIN = dict(perceptual_weights="random", num_workers=0, pin_memory=False, bf16=False, channels_last=False)

PROFILES: dict[str, dict[str, Any]] = {
    # synthetic 32 px faces, a handful of steps: the test / study pipeline (< 20 s); LG-Net's D needs
    # >= 47 px, so tiny uses the pix2pix PatchGAN
    "tiny": {"width": 4, "unet_depth": 5, "local_blocks": 1, "disc_width": 8, "disc": "patchgan",
             "train": {**_SMALL_TRAIN, "size": 32, "batch_size": 2, "steps": 4, "dataset": "synthetic",
                       "log_every": 1, "sample_every": 4, "ckpt_every": 4, "val_images": 4}},
    # real faces at 64 px on a 2-core CPU in <= 3 minutes including data loading. Perceptual and style
    # are off: with no ImageNet VGG here they would use a random-init VGG (no perceptual signal) at
    # ~6 s/step on 2 cores (60x the rest of the step); tiny and the tests exercise them.
    "smoke": {"width": 16, "unet_depth": 6, "local_blocks": 2, "disc_width": 16,
              "use_perc": False, "use_style": False,
              "train": {**_SMALL_TRAIN, "size": 64, "batch_size": 4, "steps": 500,
                        "log_every": 25, "sample_every": 250, "ckpt_every": 250, "val_images": 16}},
    # the `cpu` study (issue 17): the smoke network trained <= 20 min on the 2-core CPU. 6000 steps of batch 4
    # (smoke's 500-step recipe x 12; bench: 0.157 s/step on one thread of the loaded CPU -> ~16 min, ~8 min on two
    # idle cores), 250 warm-up steps, LG-Net's cited schedule (constant, then linear decay over the second half),
    # generator EMA 0.999, a learning-curve point every 500 steps on 32 validation faces. Up-sampling by
    # resize-convolution (upsample=resize), measured (results/cpu/diagnostics.csv: smoke network, 1000 steps, seed 0,
    # 32 held-out val faces, training mask mix): PSNR / SSIM 23.56 / 0.768 vs 22.90 / 0.757 with transposed convs
    # (biharmonic 23.36 / 0.751), checkerboard energy of the fills 0.29 vs 1.28; the seed slides do not name the
    # layer, so the full profile keeps LG-Net's transposed convolutions. full_res_skip (nets/clgn.py; not in the seed
    # nor LG-Net): CLGN lost every thin-hole cell to biharmonic (NVIDIA 1-10 % 35.17 vs 38.15 dB) and training
    # length was not the cause (8000 steps: +0.1-0.3 dB); measured (results/cpu/diagnostics_clgn_full_res_skip.csv:
    # this profile at 2000 steps, the cpu study's protocol) +0.5-0.8 dB PSNR in every one of the 9 cells.
    # hole_init=biharmonic + residual (stage 1 starts from the biharmonic fill, the study's classical floor, and each
    # stage outputs its input plus a correction; not in the seed nor LG-Net): with the skip on, CLGN still lost
    # strokes 1-10 % and every NVIDIA cell. Measured (results/cpu/diagnostics_clgn_hole_init.csv: this profile at
    # 2000 steps, EMA warm-up, the cpu study's protocol): harmonic fill +0.17-1.01 dB PSNR over white holes in all 9
    # cells, biharmonic fill -0.01..+0.23 over harmonic, biharmonic + residual +0.2-2.7 over harmonic (losing cells of
    # 18: 8, 8, 1)
    "cpu": {"width": 16, "unet_depth": 6, "local_blocks": 2, "disc_width": 16, "upsample": "resize",
            "full_res_skip": True, "hole_init": "biharmonic", "residual": True,
            "use_perc": False, "use_style": False,
            "train": {**_SMALL_TRAIN, "size": 64, "batch_size": 4, "steps": 6000, "lr_warmup": 250,
                      "lr_schedule": "linear_decay", "ema_decay": 0.999, "val_every": 500, "val_curve_images": 32,
                      "log_every": 50, "sample_every": 3000, "ckpt_every": 1000, "val_images": 16}},
    # the paper: 256 px, width 64, ImageNet VGG-16 (GPU)
    "full": {},
}


def _only(loss: str) -> dict[str, bool]:
    return {f"use_{k}": k == loss for k in LOSSES}


#: The study's CLGN ablations (seed slides section 07): ``{slug: (row label, config overrides)}``; each is a
#: flag of the one CLGN class, trained by its own workflow job.
ABLATIONS: dict[str, tuple[str, dict]] = {
    "stages1": ("stages=1 (coarse)", {"stages": 1}),
    "stages2": ("stages=2 (coarse+local)", {"stages": 2}),
    "no-gam": ("GAM off (stages=3)", {"gam": False}),
    "rec-only": ("reconstruction loss only", _only("rec")),
    "adv-only": ("adversarial loss only", _only("adv")),
    "tv-only": ("total variation loss only", _only("tv")),
    "perc-only": ("perceptual loss only", _only("perc")),
    "style-only": ("style loss only", _only("style")),
    "full": ("CLGN: stages=3, GAM, all five losses", {}),
}


class CLGNMethod(InpaintMethod):
    """CLGN (coarse–local–global + GAM), seed slides 04/07: networks, forward pass and five losses."""

    name = "clgn"
    label = "CLGN"
    reported_as = ("CLGN", "Ours")
    config_cls = CLGNConfig
    PROFILES = PROFILES
    ABLATIONS = ABLATIONS

    def __init__(self, cfg: CLGNConfig):
        super().__init__(cfg)
        self._vgg: nn.Module | None = None
        self._adv = None

    # -- networks ---------------------------------------------------------------------------
    def build_generator(self) -> CLGN:
        c = self.cfg
        g = CLGN(stages=c.stages, gam=c.gam, width=c.width, unet_depth=c.unet_depth, local_blocks=c.local_blocks,
                 local_downs=c.local_downs, norm=c.norm, gam_rate=c.gam_rate, gam_stages=c.gam_stages,
                 hole_fill=c.hole_fill, upsample=c.upsample, full_res_skip=c.full_res_skip,
                 hole_init=c.hole_init, residual=c.residual)
        return init_weights(g, torch_generator(c.train.seed, f"init:{self.name}:G"))

    def build_discriminator(self) -> nn.Module:
        """``cfg.disc`` on RGB images (LG-Net's D is not mask-conditioned), initialised as LG-Net's
        ``init_net``: N(0, 0.02) plain convs / linears, N(1, 0.02) norm scales; spectral-normed convs keep
        PyTorch's default init (LG-Net's init writes the derived ``weight``, which spectral norm recomputes
        from ``weight_orig``, so it has no effect there either)."""
        cls = DISCRIMINATORS[self.cfg.disc]
        if cls is GlobalLocalDiscriminator:
            d = cls(width=self.cfg.disc_width, size=self.cfg.train.size)
        else:
            d = cls(in_ch=3, width=self.cfg.disc_width)
        return init_weights(d, torch_generator(self.cfg.train.seed, f"init:{self.name}:D"))

    @staticmethod
    def critic(nets, mask: torch.Tensor):
        """``x -> D(x)`` as the adversarial loss calls it (the global-local D also needs the hole mask)."""
        D = nets["D"]
        return (lambda x: D(x, mask)) if isinstance(D, GlobalLocalDiscriminator) else D

    def build_networks(self) -> dict[str, nn.Module]:
        """``{"G": CLGN, "D": ...}`` (no D when ``use_adv`` is off); never the loss VGG."""
        nets: dict[str, nn.Module] = {"G": self.build_generator()}
        if self.cfg.use_adv:
            nets["D"] = self.build_discriminator()
        return nets

    def build_inference_networks(self) -> dict[str, nn.Module]:
        """``{"G": CLGN}`` only: inference needs neither D nor the VGG (nor its ImageNet file)."""
        return {"G": self.build_generator()}

    def prepare_training(self) -> None:
        """Build the loss VGG before step 0, so that missing ImageNet weights fail before training
        (WeightsMissing naming the file), not at the first step."""
        if self.cfg.use_perc or self.cfg.use_style:
            self.vgg("cpu")

    # -- training ---------------------------------------------------------------------------
    def forward(self, nets, batch):
        """``{"pred", "stage1".., "comp1"..}``, all ``(N, 3, H, W)`` in [0, 1]; reads only image*(1-mask), mask."""
        mask = batch["mask"]
        return nets["G"](batch["image"] * (1 - mask), mask)

    def stage_pairs(self, out) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """``[(y_k, c_k)]`` raw output and composite of every stage."""
        return [(out[f"stage{k}"], out[f"comp{k}"]) for k in range(1, self.cfg.stages + 1)]

    def vgg(self, device) -> nn.Module:
        """The frozen VGG-16 feature extractor of the perceptual/style losses (built once, lazily)."""
        if self._vgg is None:
            c = self.cfg
            self._vgg = VGG16Features(weights=c.train.perceptual_weights, layers=c.vgg_layers(),
                                      input_norm=c.vgg_input).eval().requires_grad_(False)
        return self._vgg.to(device)

    def adversarial(self):
        """The adversarial objective ``cfg.adv_kind`` (default LSGAN, as LG-Net)."""
        if self._adv is None:
            self._adv = AdversarialLoss(self.cfg.adv_kind)
        return self._adv

    def vgg_terms(self, pairs, target) -> tuple[torch.Tensor, torch.Tensor]:
        """Perceptual and style terms summed over every ``(y_k, c_k)``, from one batched VGG pass."""
        preds = torch.cat([t for pair in pairs for t in pair])
        perc, style = perceptual_and_style(self.vgg(target.device), preds, target.repeat(2 * len(pairs), 1, 1, 1),
                                           self.cfg.perc_layers, self.cfg.style_layers)
        return perc * 2 * len(pairs), style * 2 * len(pairs)  # the losses average over the batch

    def loss_terms(self, nets, batch, out) -> dict[str, torch.Tensor]:
        """Unweighted switched-on terms, each summed over stages (see the module docstring)."""
        c, x, m, pairs = self.cfg, batch["image"], batch["mask"], self.stage_pairs(out)
        terms = {}
        if c.use_rec:
            terms["rec"] = sum(masked_l1(y, x, m, hole_weight=c.hole_weight, valid_weight=c.valid_weight,
                                         normalization=c.rec_normalization, value_range=c.rec_range)
                               for y, _ in pairs)
        if c.use_adv:
            terms["adv"] = self.adversarial().g_loss(self.critic(nets, m), x, pairs[-1][1])
        if c.use_tv:
            terms["tv"] = sum(total_variation(comp, m) for _, comp in pairs)
        if c.use_perc or c.use_style:
            perc, style = self.vgg_terms(pairs, x)
            terms.update({k: v for k, v in (("perc", perc), ("style", style)) if getattr(c, f"use_{k}")})
        return {k: terms[k] for k in LOSSES if k in terms}

    def generator_loss(self, nets, batch, out):
        terms = self.loss_terms(nets, batch, out)
        total = sum(self.cfg.weight(k) * v for k, v in terms.items())
        return total, terms

    def discriminator_loss(self, nets, batch, out):
        """Adversarial D loss: real faces vs the final composite ``c_S`` (``out`` is detached)."""
        if "D" not in nets:
            return super().discriminator_loss(nets, batch, out)
        fake = out[f"comp{self.cfg.stages}"]
        return self.adversarial().d_loss(self.critic(nets, batch["mask"]), batch["image"], fake)


__all__ = ["CLGNConfig", "CLGNMethod", "PROFILES", "LOSSES"]
