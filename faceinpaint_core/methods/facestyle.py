"""The facial-style region-normalisation inpainter (patent CN113298736A) as a trainable method.

Generator loss, eq. (22): ``λ1·L_rec + λ2·L_perc + λ3·L_style + λ4·L_adv``. The patent calls the
reconstruction, perceptual and style losses and the PatchGAN "well known" ([0108]) and gives no λ,
learning rate or schedule. Region Normalization (Yu et al., AAAI 2020), the normalisation the patent
extends, released its code on top of EdgeConnect's (Nazeri et al. 2019; RN README: "The codes refer
to EdgeConnect"), so the recipe follows EdgeConnect's released inpainting model
(``config.yml.example``, ``src/models.py``, ``src/loss.py``) [EC]:

* ``λ = (1, 0.1, 250, 0.1)`` = ``L1_LOSS_WEIGHT, CONTENT_LOSS_WEIGHT, STYLE_LOSS_WEIGHT,
  INPAINT_ADV_LOSS_WEIGHT``                                                                  [EC]
* ``L_rec`` = ``l1(out, gt) / mean(mask)`` on [0, 1]: the batch's summed error over *all* pixels divided
  by its hole element count (``rec_normalization="hole_area"``, ``rec_range="[0,1]"``, hole and valid
  weight 1), on the raw output                                                               [EC]
* ``L_perc`` / ``L_style``: EdgeConnect uses VGG19 relu1_1…relu5_1 (perceptual) and relu2_2, relu3_4,
  relu4_4, relu5_2 (style, on ``out ⊙ m`` vs ``gt ⊙ m``), fed [0, 1] images without ImageNet
  normalisation. The project ships one VGG (VGG16), so we take VGG16's counterparts: relu1_1…relu5_1
  and relu2_2, relu3_3, relu4_3, relu5_2, fed [0, 1] (``perc_layers``, ``style_layers``,
  ``vgg_input="[0,1]"``), style on the whole images                                         [EC+ours]
* optimiser: Adam, lr_G = 1e-4, lr_D = 0.1 × lr_G = 1e-5 (``LR``, ``D2G_LR``; RN's ``main.py``
  uses the same ``d_lr = 0.1 * lr``), betas (0.0, 0.9), batch 8, constant rate (EdgeConnect has no
  schedule; RN multiplies both rates by 0.8 per epoch, not reproduced)                        [EC]

(Before issue 10 this method ran with the trainer's fallback lr_D = 4 × lr_G (SAGAN's two-time-scale
rule), betas (0.5, 0.999) and PConv's image-mean L1 with hole weight 6: none of them has a facestyle
source.) ``L_adv`` is the relativistic average loss of eq. (23) on a pix2pix PatchGAN (the patent's
"PatchGAN", Isola et al. 2017: 70 px receptive field).
Eq. (24) sets the discriminator's loss equal to the generator's ``L_adv``, which would have D and G
minimise the same objective; we use the ESRGAN form for both sides (the engine's
``AdversarialLoss("relativistic")``): D minimises ``−E[log D_ra(real, fake)] − E[log(1 − D_ra(fake, real))]``.

Parsing maps (eqs (2)-(3), (14)): ``parsing="gt"`` (the patent) uses the batch's ground-truth labels;
``parsing="predicted"`` runs the study's face parser (:mod:`faceinpaint_core.methods.parser`,
``parser_checkpoint``) on the broken face, so the method also works on photos without labels.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from ..config import TrainConfig
from ..nets.facestyle import FaceStyleGenerator
from .base import InpaintMethod, loss_option_problems

PARSING_MODES = ("gt", "predicted")


@dataclass(frozen=True)
class FaceStyleConfig:
    """Facial-style method settings; defaults are the patent's (256 px, 8 regions, 256-d styles)."""

    train: TrainConfig = field(default_factory=lambda: TrainConfig(lr_g=1e-4, lr_d=1e-5, betas=(0.0, 0.9),
                                                                    batch_size=8, lr_schedule="constant"))
    widths: tuple[int, ...] = (64, 128, 256, 512, 512)   # 5 encoder layers, eqs (8)-(10)
    style_widths: tuple[int, ...] = (64, 128, 256, 256)  # StyleExtractNet's 4 down-sampling layers, eq. (1)
    style_dim: int = 256                                  # rows of the style matrix, eq. (4)
    n_regions: int = 8
    mask_channel: bool = False                            # feed the mask too (not in the patent)
    hole_value: float = -1.0                              # the hole in the [-1, 1] input: -1 = black (patent)
    last_norm: bool = True                                # IN in the last up-sampling layer too (claim 3)
    full_res_skip: bool = False                           # input concatenated before to_rgb (not in the patent)
    full_res_head: bool = False                           # with full_res_skip: CLGN's two-conv FullResHead (ours)
    hole_init: str = "constant"                           # constant (hole_value) | harmonic | biharmonic (ours)
    residual: bool = False                                # output = input + a correction (nets/facestyle.py; ours)
    d_width: int = 64
    d_layers: int = 3
    lambda_rec: float = 1.0                               # λ1, eq. (22)
    lambda_perc: float = 0.1                              # λ2
    lambda_style: float = 250.0                           # λ3
    lambda_adv: float = 0.1                               # λ4
    hole_weight: float = 1.0                              # L_rec weight of hole pixels (EdgeConnect: 1)
    valid_weight: float = 1.0                             # L_rec weight of known pixels
    rec_normalization: str = "hole_area"                  # EdgeConnect: l1 / mean(mask) (losses/reconstruction.py)
    rec_range: str = "[0,1]"                              # EdgeConnect's image range
    perc_layers: tuple[str, ...] = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")  # VGG16 counterparts
    style_layers: tuple[str, ...] = ("relu2_2", "relu3_3", "relu4_3", "relu5_2")            # of EdgeConnect's VGG19
    vgg_input: str = "[0,1]"                              # EdgeConnect feeds [0, 1] without ImageNet mean/std
    parsing: str = "gt"                                   # gt | predicted
    parser_checkpoint: str = ""                           # a `faceinpaint train --method parser` checkpoint

    def __post_init__(self):
        problems = loss_option_problems(self)
        if self.full_res_head and not self.full_res_skip:
            problems.append("full_res_head=true needs full_res_skip=true (the head reads the network input)")
        if problems:
            raise ValueError("FaceStyleConfig: " + "; ".join(problems))

    def vgg_layers(self) -> tuple[str, ...]:
        """Every VGG16 layer the perceptual and style terms read (one extractor serves both)."""
        from ..losses.perceptual import check_layers

        return check_layers(self.perc_layers + self.style_layers)


_FAST = {"train.num_workers": 0, "train.pin_memory": False, "train.perceptual_weights": "random",
         "train.val_images": 4}

PROFILES: dict[str, dict] = {
    # synthetic faces, 32 px, seconds: tests and the tiny study
    "tiny": {**_FAST, "train.size": 32, "train.batch_size": 2, "train.steps": 4, "train.dataset": "synthetic",
             "train.ckpt_every": 4, "train.log_every": 1, "train.sample_every": 4,
             "widths": (8, 16, 16, 32, 32), "style_widths": (8, 16, 16, 16), "style_dim": 16,
             "d_width": 8, "d_layers": 2},
    # CelebAMask-HQ 1k at 64 px on a 2-core CPU in under 3 minutes (random-init VGG: labelled smoke numbers)
    # lr_g 5e-4 (not the full profile's 1e-4): measured on irregular 20-30 % after 300 steps,
    # PSNR 18.1 at 1e-4 vs 20.9 at 5e-4 (and 20.9 at 1e-3), with the pre-EdgeConnect losses and lr_d;
    # lr_d keeps EdgeConnect's ratio lr_D = 0.1 × lr_G
    "smoke": {**_FAST, "train.size": 64, "train.batch_size": 4, "train.steps": 300, "train.lr_g": 5e-4,
              "train.lr_d": 5e-5,
              "train.dataset": "celebamask-hq", "train.ckpt_every": 300, "train.log_every": 10,
              "train.sample_every": 150, "train.num_workers": 1,
              "widths": (16, 32, 64, 64, 64), "style_widths": (16, 32, 64, 64), "style_dim": 64,
              "d_width": 16, "d_layers": 3},
    # the `cpu` study (issue 17): the smoke network trained <= 20 min on the 2-core CPU: 3000 steps of batch 4
    # (2400 before the residual head: 0.41 s/step on one loaded thread then; ~0.29 now), lr_g 5e-4 (smoke's
    # measured rate) with 100 warm-up steps and a linear decay over the second half, generator EMA 0.995
    # (0.999^3000 would leave 5 % of the initial network in the EMA), mask_channel on (measured in
    # issue 17 after 3000 steps, irregular 1-10 / 20-30 / 40-50 %: PSNR 29.8 / 23.1 / 20.1 with vs 28.3 / 21.8 /
    # 19.1 without). No instance norm in the last (full-resolution) up-sampling layer and the hole entering as 0
    # (mid-grey) instead of -1: measured (results/cpu/diagnostics.csv: smoke network + mask channel, 250 steps,
    # seed 0, 32 held-out val faces, training mask mix) PSNR / SSIM 21.99 / 0.740 vs 20.00 / 0.722 as committed
    # (last_norm=false alone 21.73 / 0.736, hole_value=0 alone 20.65 / 0.726, a full-resolution input skip 20.49 /
    # 0.727; as committed after 500 steps 21.47 / 0.728); the speckle (checkerboard energy on synthetic faces)
    # 5.3 -> 3.3. The patent's network (full profile) keeps IN in every layer and the black hole
    "cpu": {**_FAST, "train.size": 64, "train.batch_size": 4, "train.steps": 3000, "train.lr_g": 5e-4,
            "train.lr_d": 5e-5, "train.lr_warmup": 100, "train.lr_schedule": "linear_decay",
            "train.ema_decay": 0.995, "train.val_every": 200, "train.val_curve_images": 32,
            "train.dataset": "celebamask-hq", "train.ckpt_every": 600, "train.log_every": 25,
            "train.sample_every": 1200, "train.num_workers": 1,
            "widths": (16, 32, 64, 64, 64), "style_widths": (16, 32, 64, 64), "style_dim": 64,
            "d_width": 16, "d_layers": 3, "mask_channel": True, "last_norm": False, "hole_value": 0.0,
            # full_res_skip (the input concatenated before to_rgb; not in the patent): facestyle lost every thin-hole
            # cell to biharmonic (NVIDIA 1-10 % 30.84 vs 38.15 dB); measured (results/cpu/
            # diagnostics_facestyle_full_res_skip.csv: this profile at 800 steps, the cpu study's protocol) +0.2-0.75
            # dB PSNR and +0.003-0.012 SSIM in all 9 cells (the 250-step test above was too short to show it).
            # hole_init=biharmonic (the hole enters as the biharmonic fill, the study's classical floor, instead of
            # grey; not in the patent): measured (results/cpu/diagnostics_facestyle_hole_init.csv: this profile at
            # 800 steps, the cpu study's protocol) +0.6-5.1 dB PSNR in all 9 cells, losing cells of 18: 14 -> 8.
            # residual (output = the filled input + a correction whose layer starts at zero, so the untrained network
            # is the fill): 8 -> 4 losing cells at 800 steps, thin holes +0.8..+1.7 dB (same csv; a first residual arm
            # with PyTorch's default init of that layer started 6 dB below its own fill and left 8). 3000 steps: the
            # residual run is ~0.29 s/step on one loaded thread (~15 min). full_res_head (CLGN's two-convolution
            # FullResHead over [features, input] instead of one to_rgb convolution; not in the patent): 4 -> 1 losing
            # cells at 800 steps, thin holes +0.46..+0.80 dB (NVIDIA 1-10 % 37.36 -> 38.16; same csv)
            "full_res_skip": True, "hole_init": "biharmonic", "residual": True, "full_res_head": True},
    "full": {},
}


def parser_from_checkpoint(path: str, device) -> nn.Module:
    """The face-parser network of a ``parser`` checkpoint, in eval mode, on ``device``."""
    from ..train.checkpoint import load_for_inference

    method, nets = load_for_inference(path, device=device)
    if method.name != "parser":
        raise ValueError(f"{path}: parser_checkpoint holds method {method.name!r}, not 'parser'")
    return nets["G"].eval()


class FaceStyleMethod(InpaintMethod):
    """Facial-style GAN: :class:`~faceinpaint_core.nets.facestyle.FaceStyleGenerator` + PatchGAN, eqs (1)-(24)."""

    name = "facestyle"
    label = "facial-style"
    reported_as = ("facial-style (patent)",)
    config_cls = FaceStyleConfig
    PROFILES = PROFILES
    needs_parsing = True
    infers_with_tasks = ("parse",)  # the study's face parser, for faces without parsing labels (identity pairs)

    def __init__(self, cfg: FaceStyleConfig):
        super().__init__(cfg)
        if cfg.parsing not in PARSING_MODES:
            raise ValueError(f"unknown parsing mode {cfg.parsing!r}; known: {list(PARSING_MODES)}")
        self._parser: nn.Module | None = None
        self._vgg = None
        self._adv = None

    # -- networks ---------------------------------------------------------------------------
    def build_generator(self) -> FaceStyleGenerator:
        c = self.cfg
        return FaceStyleGenerator(c.widths, c.style_widths, c.style_dim, c.n_regions, c.mask_channel,
                                  c.hole_value, c.last_norm, c.full_res_skip, c.hole_init, c.residual,
                                  c.full_res_head)

    def build_networks(self) -> dict[str, nn.Module]:
        """``{"G": FaceStyleGenerator, "D": PatchGAN}`` (the face parser and the loss VGG are not trained here)."""
        from ..nets.discriminators import PatchGAN

        c = self.cfg
        return {"G": self.build_generator(), "D": PatchGAN(in_ch=3, width=c.d_width, n_layers=c.d_layers)}

    def build_inference_networks(self) -> dict[str, nn.Module]:
        """``{"G"}`` only (the parser, when needed, comes from ``parser_checkpoint``; never the VGG)."""
        return {"G": self.build_generator()}

    def prepare_training(self) -> None:
        """Build the loss VGG before step 0 so that missing ImageNet weights fail before training."""
        self._losses("cpu")

    def set_parser(self, parser: nn.Module) -> None:
        """Use ``parser`` (a :class:`~faceinpaint_core.nets.parser.FaceParser`) for predicted parsing maps."""
        self._parser = parser.eval()

    def load_parser(self, path: str, device="cpu") -> None:
        """Load the parser of a ``parser`` checkpoint (see :func:`parser_from_checkpoint`)."""
        self.set_parser(parser_from_checkpoint(path, device))

    def _predict_parsing(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        if self._parser is None:
            if not self.cfg.parser_checkpoint:
                raise ValueError("facestyle needs a parsing map: this batch has no labels and no face parser is "
                                 "loaded; set parser_checkpoint=<runs/...-parser-.../checkpoints/final.pt>")
            self.load_parser(self.cfg.parser_checkpoint, image.device)
        self._parser.to(image.device).eval()
        with torch.no_grad():
            return self._parser.predict(image, mask)

    def parsing_for(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """The parsing map ``(N, H, W)`` long the generator uses: ground truth or the parser's prediction."""
        if self.cfg.parsing == "gt" and "parsing" in batch:
            parsing = batch["parsing"]
            if parsing.shape[-2:] != batch["image"].shape[-2:]:
                raise ValueError(f"parsing {tuple(parsing.shape)} and image {tuple(batch['image'].shape)} differ in size")
            return parsing
        return self._predict_parsing(batch["image"] * (1 - batch["mask"]), batch["mask"])

    # -- training ---------------------------------------------------------------------------
    def forward(self, nets, batch):
        """Generator pass on ``image * (1 - mask)``, ``mask`` and the parsing map; ``pred`` in [0, 1]."""
        from ..data.parsing import regions_onehot

        regions = regions_onehot(self.parsing_for(batch), self.cfg.n_regions)
        out = nets["G"](batch["image"] * (1 - batch["mask"]), batch["mask"], regions)
        return {"pred": (out + 1) / 2}

    def _losses(self, device):
        from ..losses.adversarial import AdversarialLoss
        from ..losses.perceptual import VGG16Features

        if self._vgg is None:
            c = self.cfg
            self._vgg = VGG16Features(weights=c.train.perceptual_weights, layers=c.vgg_layers(), input_norm=c.vgg_input)
            self._adv = AdversarialLoss("relativistic")
        self._vgg.to(device)
        return self._vgg, self._adv

    def generator_loss(self, nets, batch, out):
        """Eq. (22): ``λ1·L_rec + λ2·L_perc + λ3·L_style + λ4·L_adv`` on the raw prediction."""
        from ..losses.perceptual import perceptual_and_style
        from ..losses.reconstruction import masked_l1

        c, real, fake = self.cfg, batch["image"], out["pred"]
        vgg, adv = self._losses(real.device)
        perc, style = perceptual_and_style(vgg, fake, real, c.perc_layers, c.style_layers)  # one VGG pass per image
        rec = masked_l1(fake, real, batch["mask"], hole_weight=c.hole_weight, valid_weight=c.valid_weight,
                        normalization=c.rec_normalization, value_range=c.rec_range)
        terms = {"rec": rec,
                 "perc": perc, "style": style, "adv": adv.g_loss(nets["D"], real, fake)}
        total = (c.lambda_rec * terms["rec"] + c.lambda_perc * terms["perc"] + c.lambda_style * terms["style"]
                 + c.lambda_adv * terms["adv"])
        return total, terms

    def discriminator_loss(self, nets, batch, out):
        """Relativistic average D loss, eq. (23) in ESRGAN form (eq. (24) resolved, see module docstring)."""
        _, adv = self._losses(batch["image"].device)
        return adv.d_loss(nets["D"], batch["image"], out["pred"].detach())

    def sample_images(self, batch, out):
        from ..data.parsing import colorize

        cols = super().sample_images(batch, out)
        parsing = self.parsing_for(batch)
        cols["parsing"] = torch.from_numpy(colorize(parsing)).permute(0, 3, 1, 2).float().div(255).to(out["pred"].device)
        return cols

    # inference: InpaintMethod.inpaint; with parsing=None (or cfg.parsing="predicted") forward() asks the
    # parser for the map (see parsing_for)
