"""GFPGAN with a Wasserstein loss (source 003): blind face restoration with a generative facial prior.

Network: :class:`~faceinpaint_core.nets.gfpgan.GFPGAN` (degradation-removal U-Net, latent from its bottleneck,
CS-SFT into the frozen StyleGAN2 prior ``prior``) and a StyleGAN2 residual discriminator ``D``. Training pairs are
made on the fly by GFPGAN's degradation (:mod:`faceinpaint_core.degrade`, eq. (1)), seeded from torch's
stream (which the trainer seeds and checkpoints).

Generator loss (GFPGAN eq. (7), weights of its ``train_gfpgan_v1.yml``):
``pix·L1 + pyramid·Σ_s L1(rgb_s, gt↓s) + perc·L_perc + comp·L_comp + id·L_id + adv_weight·L_adv``, with
* ``L_perc``: the project's VGG16 perceptual loss (GFPGAN: VGG19; ImageNet weights or labelled random);
* ``L_comp``: facial-component loss on left eye, right eye and mouth ROIs — L1 + Gram-matrix style loss on
  the crops [ours: GFPGAN adds a discriminator per component; we keep its style term only]. The ROIs are
  **fixed canonical boxes** around the project's aligned-crop five points
  (:data:`~faceinpaint_core.data.face_alignment.CANONICAL_FIVE_POINTS`), not per-face dlib landmarks: the
  training faces are aligned crops and per-step dlib detection is too slow on a CPU; the crops are resampled to
  GFPGAN's ROI sizes (eyes 80 px, mouth 120 px on a 512-px face, :func:`component_out_sizes`);
* ``L_id``: :func:`~faceinpaint_core.losses.identity.identity_preserving_loss` under the study's identity
  network (``identity_checkpoint``; off, and logged as off, when none is given).

Adversarial switch ``adv`` (the source's change is ``wgan_clip``):
* ``wgan_clip`` — WGAN (Arjovsky et al. 2017) as source 003 lists it: the critic has no sigmoid, the losses no
  log (``E D(fake) − E D(real)``; G: ``−E D(fake)``), every critic weight is clipped to [−c, c] after each
  critic update (:meth:`after_discriminator_step`), RMSProp instead of Adam (:meth:`optimizer_name`),
  ``train.n_critic`` critic updates per generator update;
* ``wgan_gp`` — Gulrajani et al. 2017 (λ = 10), the standard fix of clipping;
* ``softplus_r1`` — GFPGAN's own non-saturating softplus loss with R1 (γ = 10).
The critic's estimate of the Wasserstein distance, ``E D(real) − E D(fake)``, is logged as ``D/wasserstein`` and the
spread of its scores over the step's faces as ``D/score_std``.

Measured (gfpgan smoke critic, 64 px, width 32, real vs degraded faces): clipping at c = 0.01 collapses this
critic, by the recipe's nature and not by a bug. 83 % of the critic's initial weights exceed 0.01, so the first
clip rescales every layer; the input-dependent part of the activations (std across faces) then falls
0.005 → 1.6e-4 → 6e-6 → 3e-7 → 9e-9 → 9e-10 through the residual blocks, while the biases (clipped to
±0.01 too) keep the activations at ~0.004: the score is a constant set by the biases (std across faces 0 in fp32,
‖∂D/∂x‖ ≈ 1e-12), so no RMSProp step at lr 5e-5, 1e-4 or 1e-3 moves W off 0 in 40 updates. c = 0.05 keeps a
signal (W ≈ 19, ‖∂D/∂x‖ ≈ 1.5). Wider critics shrink less per layer but still collapse: at width 128 / 512
(the full profile's) ‖∂D/∂x‖ ≈ 1e-10 / 3e-8 after the clip and a few RMSProp updates. WGAN-GP trains the same
width-32 critic (W ≈ 0.16 after 40 updates). Arjovsky et al.'s c = 0.01 was used with a BatchNorm DCGAN critic, whose
normalisation undoes the per-layer shrinkage; GFPGAN's StyleGAN2 critic has no normalisation layer. This is
the vanishing-gradient case of weight clipping in WGAN-GP (Gulrajani et al. 2017, sec. 3, Fig. 1b). The run
says so in its log (one warning when the scores stop depending on the input) and ``D/score_std`` records it.

``gfp=False`` is GFPGAN's "w/o GFP" ablation: the U-Net alone (same losses), no prior.
Not an inpainter: ``task = "restore"``; notebook 07 scores it on the frozen degradation sets.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..config import TrainConfig
from ..data.face_alignment import CANONICAL_FIVE_POINTS
from ..degrade.pipeline import TRAINING_SAMPLINGS, degrade_batch, sample_training_params
from ..losses.adversarial import AdversarialLoss
from ..nets.gfpgan import GFPGAN
from ..nets.stylegan2 import StyleGAN2Discriminator, StyleGAN2Generator, load_official_stylegan2
from .base import InpaintMethod

log = logging.getLogger(__name__)

ADV_KINDS = {"wgan_clip": "wgan", "wgan_gp": "wgan-gp", "softplus_r1": "nsgan"}


@dataclass(frozen=True)
class GFPGANConfig:
    """GFPGAN-WGAN settings; loss weights from GFPGAN's ``train_gfpgan_v1.yml`` unless marked."""

    train: TrainConfig = field(default_factory=lambda: TrainConfig(
        size=512, batch_size=12, steps=800_000, lr_g=5e-5, lr_d=5e-5, optimizer="rmsprop", n_critic=5,
        ema_decay=0.999, train_masks=("rect",), train_bins=("1-10",)))
    # GFPGAN: 512 px, batch 12 (3 x 4 GPUs), 800k iterations, Adam 2e-3; WGAN (Arjovsky et al. 2017, Alg. 1):
    # RMSProp lr 5e-5, n_critic 5, c = 0.01 -- the source's recipe is the default
    adv: str = "wgan_clip"        # wgan_clip | wgan_gp | softplus_r1
    clip: float = 0.01            # WGAN c
    gp_lambda: float = 10.0       # WGAN-GP λ
    r1_gamma: float = 10.0        # GFPGAN r1_reg_weight
    pix_weight: float = 0.1       # GFPGAN pixel_opt
    pyramid_weight: float = 1.0   # GFPGAN pyramid_loss_weight
    perc_weight: float = 1.0      # GFPGAN perceptual_opt
    comp_weight: float = 1.0      # facial-component loss [GFPGAN: comp_style_weight 200 on D features; ours on VGG]
    id_weight: float = 10.0       # GFPGAN identity_weight
    adv_weight: float = 0.1       # GFPGAN gan_opt loss_weight
    gfp: bool = True              # False = "w/o GFP" (U-Net alone)
    # [ours, not GFPGAN] the output is a correction to the degraded input (nets/gfpgan.py: a zero-initialised
    # FullResHead through refine_fill), so an untrained restorer returns its input; see the cpu profile
    residual: bool = False
    fix_decoder: bool = True      # GFPGAN's fix_decoder: the StyleGAN2 prior stays frozen; False fine-tunes it with G
    unet_width: int = 512
    d_width: int = 512
    prior_checkpoint: str = ""    # a faceinpaint stylegan2 checkpoint or an official StyleGAN2/GFPGAN .pth
    prior_style_dim: int = 512    # the prior's architecture (completed from a faceinpaint prior checkpoint)
    prior_n_mlp: int = 8
    prior_width: int = 512
    identity_checkpoint: str = ""  # the study's identity network (or an ArcFace backbone.pth); "" = L_id off
    degradation_sampling: str = "independent"  # training draws (degrade/pipeline.py): GFPGAN's, or "by_severity"

    def __post_init__(self):
        if self.adv not in ADV_KINDS:
            raise ValueError(f"gfpgan: adv must be one of {list(ADV_KINDS)}, got {self.adv!r}")
        if self.clip <= 0 or min(self.pix_weight, self.pyramid_weight, self.perc_weight, self.comp_weight,
                                 self.id_weight, self.adv_weight) < 0:
            raise ValueError("gfpgan: clip > 0 and every loss weight >= 0")
        if self.degradation_sampling not in TRAINING_SAMPLINGS:
            raise ValueError(f"gfpgan: degradation_sampling must be one of {list(TRAINING_SAMPLINGS)}, "
                             f"got {self.degradation_sampling!r}")


_FAST = {"train.num_workers": 0, "train.pin_memory": False, "train.perceptual_weights": "random",
         "train.val_images": 4}
PROFILES: dict[str, dict] = {
    "tiny": {**_FAST, "train.size": 16, "train.batch_size": 4, "train.steps": 2, "train.dataset": "synthetic",
             "train.ckpt_every": 2, "train.log_every": 1, "train.sample_every": 2, "train.n_critic": 1,
             "unet_width": 16, "d_width": 16, "prior_style_dim": 16, "prior_n_mlp": 2, "prior_width": 16},
    # smoke [ours]: one critic update per G update and pix_weight 1 so that ~150 steps on a CPU restore at all.
    # A 20-step warm-up for RMSProp (see cpu below): without it the smoke restorer's pixel L1 reached 1.4e8 at
    # step 5 and stayed at ~5.8 (saturated output, smoke PSNR 5.6 dB); with it, from the same prior, 0.58 at step 5
    # falling to 0.31 at step 100 (measured on the smoke study's prior and identity checkpoints)
    "smoke": {**_FAST, "train.size": 64, "train.batch_size": 8, "train.steps": 100, "train.ckpt_every": 100,
              "train.lr_warmup": 20,
              "train.log_every": 5, "train.sample_every": 100, "train.n_critic": 1, "train.lr_g": 1e-3,
              "train.lr_d": 1e-4, "train.ema_decay": 0.9, "pix_weight": 1.0, "unet_width": 32, "d_width": 32,
              "prior_style_dim": 64, "prior_n_mlp": 2, "prior_width": 32, "degradation_sampling": "by_severity",
              "residual": True},
    # the `cpu` study (issue 17): smoke's restorer trained 16x longer (1600 steps, ~15 min; with the prior's ~3 min,
    # <= 20 min), a 100-step linear warm-up, a linear decay over the second half and EMA 0.99 (0.99^800 = 3e-4 of
    # the initial restorer left in the EMA; 0.999 had left 45 % and scored PSNR 13.9 mild at 800 steps). The
    # warm-up is for RMSProp (wgan_clip's optimiser): it has no bias correction, so its first updates are
    # lr / sqrt(1 - 0.99^k) -- 10x the rate at k = 1, 3x at k = 10 -- which in smoke (lr 1e-3, no warm-up) threw
    # the restorer's output to a pixel L1 of 222 at step 5 before it recovered
    # No identity loss (id_weight 0): the only recogniser here is the study's own 64-px network
    # (verification ACC 0.61 on clean frontal pairs, near chance), and its loss cost 0.7-1.6 dB at every severity
    # (results/cpu/diagnostics_gfpgan.csv, this profile at 800 steps: 21.95 / 18.98 / 17.05 dB without it, 20.30 /
    # 18.10 / 16.38 with it; dropping the random-VGG perceptual and component losses instead changed -0.2..-0.3).
    # With real ArcFace weights (identity_checkpoint) the full profile keeps GFPGAN's identity loss
    # 1600 steps, not 800 (fourth session; same csv, no identity loss): 22.77 / 19.41 / 17.20 dB against 21.95 /
    # 18.98 / 17.05, 15 min on one loaded thread (+ the prior's ~3 min)
    # lr_G 1e-3 is the largest rate that trains (sixth session, same csv, mild / medium / severe): 1e-4 20.67 / 18.66 /
    # 16.84, 3e-4 21.79 / 19.02 / 17.07, 1e-3 22.77 / 19.41 / 17.20; 2e-3 diverged at the end of the warm-up and 3e-3
    # stopped with non-finite losses at step 100. Mild loses to bicubic because the restorer's fidelity ceiling (its
    # PSNR on CLEAN faces, notebook 07's restoration_curve) is 24.9 dB after 1600 steps (21.6 / 23.4 / 24.6 / 24.9 at
    # 400 / 800 / 1200 / 1600), 1 dB above the mild input (23.9). Twice the steps (3200, 24 min: over the budget) lift
    # it to 25.9 and mild to 23.22 (still -0.7 dB), and the ceiling flattens from 2400 steps on (25.88 / 25.96 / 25.95):
    # at this width the restorer saturates (results/cpu/diagnostics_gfpgan_ceiling.csv).
    # degradation_sampling "by_severity" (seventh session; smoke too): GFPGAN draws the four degradation parameters
    # independently over its full ranges, so only ~0.4 % of training faces have all four in the `mild` set's ranges
    # (each of the three evaluated severities is such a corner); a severity drawn first, then its ranges, makes
    # that a third, every parameter still spanning its full range. Same 1600 steps (diagnostics_gfpgan.csv): mild
    # 22.77 -> 24.05 dB (SSIM 0.712 -> 0.768; bicubic input 23.93 / 0.731), medium 19.41 -> 19.35, severe 17.20 -> 17.29.
    # With it the fidelity ceiling no longer flattens (clean faces 22.7 / 24.8 / 26.0 / 26.8 dB at 400-1600 steps), so
    # 2000 steps, not 1600: ~15 min with 2 threads on the idle CPU, + the prior's ~4 min. A 2400-step diagnostic
    # (17.8 min: over the budget) scored mild 24.71 dB, +0.78 [+0.50, +1.05] over the input face by face
    # No perceptual or facial-component loss (eighth session): their VGG has random weights here (ImageNet's cannot
    # be downloaded), so they are not GFPGAN's losses, and they were ~40 % of a step (0.45 -> 0.26 s once
    # zero-weighted terms are skipped). At equal steps they had been worth +0.2..0.3 dB (800 steps, above); at equal
    # time the steps they cost are worth more: 3600 steps without them (14.7 min, diagnostics_gfpgan.csv) scored
    # 25.13 / 19.80 / 17.62 dB against 2000 steps with them, 24.43 / 19.48 / 17.35. A step takes ~0.24 s on the
    # idle CPU with 2 threads: 3800 steps, ~15 min (~19 min with the prior's ~4). The full profile keeps both
    # losses (with ImageNet VGG weights)
    # residual (ninth session; not in GFPGAN): the restoration is the degraded input plus a zero-initialised
    # correction, so an untrained restorer is the bicubic input (23.93 dB mild) instead of a StyleGAN2 face. Without it
    # mild tied the oracle deblur (Richardson-Lucy with the true kernel) and the restorer could not even reproduce a
    # clean face (29.3 dB on clean test faces at 3800 steps). Same prior, same 3800 steps (diagnostics_gfpgan.csv):
    # 25.05 / 19.79 / 17.65 dB without, 25.46 / 19.83 / 17.61 with it (SSIM +0.008 / +0.005 / +0.001), clean
    # faces 35.0 dB; mild now beats the oracle deblur by +0.28 [+0.13, +0.43] dB. smoke uses it too
    "cpu": {**_FAST, "train.size": 64, "train.batch_size": 8, "train.steps": 3800, "train.ckpt_every": 400,
            "train.log_every": 10, "train.sample_every": 800, "train.n_critic": 1, "train.lr_g": 1e-3,
            "train.lr_d": 1e-4, "train.lr_warmup": 100, "train.lr_schedule": "linear_decay",
            "train.ema_decay": 0.99, "pix_weight": 1.0, "unet_width": 32, "d_width": 32,
            "prior_style_dim": 64, "prior_n_mlp": 2, "prior_width": 32, "id_weight": 0.0, "perc_weight": 0.0,
            "comp_weight": 0.0, "degradation_sampling": "by_severity", "residual": True},
    "full": {},
}

ABLATIONS: dict[str, tuple[str, dict]] = {
    "wgan_clip": ("GFPGAN-WGAN: clipping c=0.01, RMSProp (source 003)", {"adv": "wgan_clip",
                                                                          "train.optimizer": "rmsprop"}),
    "wgan_gp": ("GFPGAN + WGAN-GP (λ=10, Adam)", {"adv": "wgan_gp", "train.optimizer": "adam",
                                                  "train.betas": (0.0, 0.9)}),
    "softplus_r1": ("GFPGAN: softplus + R1 (its own loss)", {"adv": "softplus_r1", "train.optimizer": "adam",
                                                             "train.betas": (0.0, 0.99)}),
    "no-gfp": ("w/o GFP (U-Net alone)", {"gfp": False}),
}


def component_boxes(size: int) -> dict[str, tuple[int, int, int, int]]:
    """Fixed ROIs (top, left, side, side) of the left eye, right eye and mouth on a canonical aligned crop."""
    pts = CANONICAL_FIVE_POINTS * size
    eye = max(4, int(round(0.18 * size)))
    mouth = max(4, int(round(0.30 * size)))
    centres = {"left_eye": (pts[0], eye), "right_eye": (pts[1], eye), "mouth": ((pts[3] + pts[4]) / 2, mouth)}
    boxes = {}
    for name, ((x, y), side) in centres.items():
        top = int(min(max(round(y - side / 2), 0), size - side))
        left = int(min(max(round(x - side / 2), 0), size - side))
        boxes[name] = (top, left, side, side)
    return boxes


def component_out_sizes(size: int) -> dict[str, int]:
    """Side each ROI is resampled to: GFPGAN's ``roi_align`` output, eyes 80 px and mouth 120 px on a 512-px face
    (``face_ratio = size / 512``), at least 8 px (VGG's pool3 needs 8). The crops stay at about their own
    resolution: resampling a 12-px eye to 32 px (what this loss did before) made the VGG pass on the ROIs ~7x
    dearer for no detail."""
    eye, mouth = max(8, round(80 * size / 512)), max(8, round(120 * size / 512))
    return {"left_eye": eye, "right_eye": eye, "mouth": mouth}


class GFPGANMethod(InpaintMethod):
    """Restorer ``G`` (U-Net + CS-SFT), frozen prior ``prior``, critic/discriminator ``D``."""

    name = "gfpgan"
    label = "GFPGAN-WGAN"
    task = "restore"
    evaluated_by_protocol = False  # a restorer: scored on the frozen degradation sets in notebook 07
    config_cls = GFPGANConfig
    PROFILES = PROFILES
    ABLATIONS = ABLATIONS
    batch_keys = ("image",)
    builds_on_tasks = ("generate", "recognise")  # the study's prior and identity network

    def __init__(self, cfg: GFPGANConfig):
        super().__init__(cfg)
        self.adv = AdversarialLoss(ADV_KINDS[cfg.adv], r1_gamma=cfg.r1_gamma, gp_lambda=cfg.gp_lambda,
                                   clip=cfg.clip)
        self.vgg = self.recogniser = None
        self._collapse_said = False  # the clipped critic's collapse is reported once per run

    # -- study wiring -------------------------------------------------------------------------
    @classmethod
    def sets_from_checkpoints(cls, checkpoints: dict[str, str]) -> dict:
        """``--set`` overrides from the study's checkpoints by task: the prior and the identity network."""
        sets = {}
        if "generate" in checkpoints:
            sets["prior_checkpoint"] = checkpoints["generate"]
        if "recognise" in checkpoints:
            sets["identity_checkpoint"] = checkpoints["recognise"]
        return sets

    @classmethod
    def training_faces(cls, cfg, data_root=None):
        """The default faces; the prior's architecture is completed from a faceinpaint prior checkpoint."""
        faces, cfg = super().training_faces(cfg, data_root)
        return faces, complete_prior_config(cfg)

    # -- networks -----------------------------------------------------------------------------
    def _prior(self) -> StyleGAN2Generator:
        c = self.cfg
        return StyleGAN2Generator(c.train.size, c.prior_style_dim, c.prior_n_mlp, c.prior_width)

    def _restorer(self, prior: StyleGAN2Generator) -> GFPGAN:
        c = self.cfg
        return GFPGAN(c.train.size, prior.channels, prior.style_dim, prior.num_latent, c.unet_width, c.gfp,
                      c.residual)

    def build_networks(self) -> dict[str, nn.Module]:
        prior = load_prior(self._prior(), self.cfg.prior_checkpoint) if self.cfg.gfp else None
        nets = {"G": self._restorer(prior or self._prior()), "D": StyleGAN2Discriminator(self.cfg.train.size,
                                                                                         self.cfg.d_width)}
        if prior is not None:
            nets["prior"] = prior.requires_grad_(False)
        return nets

    def generator_names(self) -> list[str]:
        """``G``; with ``fix_decoder=False`` also the prior, which is then trained (and EMA-averaged) with it."""
        return ["G"] if self.cfg.fix_decoder or not self.cfg.gfp else ["G", "prior"]

    def build_inference_networks(self) -> dict[str, nn.Module]:
        prior = self._prior()
        nets = {"G": self._restorer(prior)}
        if self.cfg.gfp:
            nets["prior"] = prior  # weights come from the checkpoint, which stores the prior (EMA'd if fine-tuned)
        return nets

    def optimizer_name(self, side: str) -> str:
        """RMSProp for both sides under ``wgan_clip`` (WGAN: momentum-based optimisers destabilise clipping)."""
        if self.cfg.adv == "wgan_clip" and self.cfg.train.optimizer != "rmsprop":
            log.warning("gfpgan: adv=wgan_clip trains with RMSProp (source 003), not train.optimizer=%s",
                        self.cfg.train.optimizer)
            return "rmsprop"
        return self.cfg.train.optimizer

    def prepare_training(self) -> None:
        from ..losses.identity import load_recogniser
        from ..losses.perceptual import VGG16Features

        tc = self.cfg.train
        self.vgg = (VGG16Features(tc.perceptual_weights, seed=tc.seed) if self.cfg.perc_weight or self.cfg.comp_weight
                    else None)
        self.recogniser = None
        if self.cfg.identity_checkpoint and self.cfg.id_weight > 0:
            self.recogniser = load_recogniser(self.cfg.identity_checkpoint).eval().requires_grad_(False)

    # -- training -----------------------------------------------------------------------------
    def forward(self, nets, batch):
        """Degrade ``image`` on the fly (or take ``batch["degraded"]``), restore it; ``pred`` in [0, 1]."""
        image = batch["image"]
        degraded = batch.get("degraded")
        if degraded is None:
            seeds = torch.randint(0, 2**31 - 1, (image.shape[0],)).tolist()  # torch's seeded stream
            params = [sample_training_params(np.random.default_rng(s), self.cfg.degradation_sampling) for s in seeds]
            degraded = degrade_batch(image, params)
        restored, pyramid = nets["G"](degraded * 2 - 1, nets.get("prior"))
        return {"pred": (restored + 1) / 2, "restored": restored, "pyramid": pyramid, "degraded": degraded}

    def discriminator_loss(self, nets, batch, out):
        """The adversarial loss; for the WGAN critics also the Wasserstein estimate and ``score_std``, the spread of
        the critic's scores over the step's real and restored faces (0 = the critic ignores its input)."""
        scores: list[torch.Tensor] = []

        def critic(x):  # records the scores of the real and the fake call (WGAN-GP's third call scores x̂)
            s = nets["D"](x)
            scores.append(s.detach().float())
            return s
        total, terms = self.adv.d_loss(critic, batch["image"] * 2 - 1, out["restored"])
        if self.cfg.adv != "softplus_r1":
            terms["wasserstein"] = terms["d_real"] - terms["d_fake"]  # the critic's W estimate
            terms["score_std"] = torch.cat(scores[:2]).std()
            if self.cfg.adv == "wgan_clip":
                self._check_collapse(float(terms["score_std"]), float(terms["d_real"]))
        return total, terms

    def _check_collapse(self, spread: float, level: float) -> None:
        """Say once per run when the clipped critic's scores no longer depend on its input."""
        if self._collapse_said or spread > 1e-6 * max(1.0, abs(level)):
            return
        self._collapse_said = True
        log.warning("gfpgan adv=wgan_clip: the critic's scores do not depend on its input (score std %.2g around "
                    "%.4g): with every weight clipped to ±%g the input signal shrinks at each layer of this "
                    "normalisation-free residual critic and the biases alone set the score, so D/wasserstein "
                    "carries no signal -- weight clipping's known vanishing-gradient failure (Gulrajani et al. "
                    "2017, Fig. 1b); the source's recipe (c = %g, RMSProp) is kept as given", spread, level,
                    self.cfg.clip, self.cfg.clip)

    def after_discriminator_step(self, nets) -> None:
        """WGAN weight clipping (a no-op unless ``adv=wgan_clip``)."""
        if self.cfg.adv == "wgan_clip":
            self.adv.clip_weights(nets["D"])

    def generator_loss(self, nets, batch, out):
        c, gt = self.cfg, batch["image"]
        terms = {"pix": F.l1_loss(out["restored"], gt * 2 - 1)}
        terms["pyramid"] = sum(F.l1_loss(rgb, F.interpolate(gt * 2 - 1, size=rgb.shape[-2:], mode="bilinear",
                                                            align_corners=False, antialias=True))
                               for rgb in out["pyramid"])
        weights = {"pix": c.pix_weight, "pyramid": c.pyramid_weight, "perc": c.perc_weight,
                   "components": c.comp_weight, "g_adv": c.adv_weight}
        if c.perc_weight or c.comp_weight:  # both off: no VGG passes (they were ~40 % of a 64-px cpu step)
            terms.update(self._vgg_terms(out["pred"], gt))
        else:
            del weights["perc"], weights["components"]
        terms["g_adv"] = self.adv.g_loss(nets["D"], gt * 2 - 1, out["restored"])
        if self.recogniser is not None:
            from ..losses.identity import identity_preserving_loss

            terms["identity"] = identity_preserving_loss(self.recogniser.to(gt.device), out["pred"].clamp(0, 1), gt)
            weights["identity"] = c.id_weight
        total = sum(weights[k] * terms[k] for k in weights)
        return total, terms

    def _vgg_terms(self, pred: torch.Tensor, gt: torch.Tensor) -> dict[str, torch.Tensor]:
        """Perceptual loss and the facial-component loss (ROI L1 + Gram style, summed over the three components)
        on fixed canonical ROIs resampled to GFPGAN's ROI sizes; components of one size share a VGG pass."""
        from ..losses.perceptual import perceptual_loss, style_loss

        if self.vgg is None:
            self.prepare_training()
        vgg = self.vgg.to(gt.device)
        boxes, sides = component_boxes(gt.shape[-1]), component_out_sizes(gt.shape[-1])
        groups: dict[int, list[tuple[int, int, int, int]]] = {}
        for name, box in boxes.items():
            groups.setdefault(sides[name], []).append(box)

        def rois(x, side, group):  # the ROIs of one size of every face, batched for one VGG pass
            return torch.cat([F.interpolate(x[..., top:top + h, left:left + w], size=(side, side), mode="bilinear",
                                            align_corners=False, antialias=True) for top, left, h, w in group])
        comp = pred.new_zeros(())
        for side, group in groups.items():
            p, t = rois(pred, side, group), rois(gt, side, group)
            comp = comp + len(group) * (F.l1_loss(p, t) + style_loss(vgg, p, t))  # mean over the group x its size
        return {"perc": perceptual_loss(vgg, pred, gt), "components": comp}

    def sample_images(self, batch, out):
        return {"degraded": out["degraded"], "restored": out["pred"].clamp(0, 1), "ground truth": batch["image"]}

    # -- inference ------------------------------------------------------------------------------
    @torch.no_grad()
    def restore(self, nets, degraded: torch.Tensor, seed: int = 0) -> torch.Tensor:
        """Restored faces ``(N, 3, S, S)`` in [0, 1] from degraded aligned faces ``(N, 3, S, S)`` in [0, 1];
        the prior's noise inputs are drawn from a ``seed``-ed stream (repeatable output)."""
        devices = [degraded.device] if degraded.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(int(seed))
            out = self.forward(nets, {"image": degraded, "degraded": degraded})
        return out["pred"].clamp(0, 1)

    def inpaint(self, nets, image, mask, parsing=None):
        raise ValueError("method 'gfpgan' restores degraded faces, it is not an inpainter: use "
                         "`faceinpaint restore --image PHOTO --out OUT --checkpoint <run>/checkpoints/final.pt`")


def complete_prior_config(cfg: GFPGANConfig) -> GFPGANConfig:
    """``cfg`` with the prior's architecture read from a faceinpaint prior checkpoint (unchanged otherwise)."""
    from pathlib import Path

    path = Path(cfg.prior_checkpoint) if cfg.prior_checkpoint else None
    if path is None or not cfg.gfp:
        return cfg
    if not path.is_file():
        raise FileNotFoundError(f"gfpgan prior_checkpoint {path} does not exist: train the prior "
                                f"(notebook 07) or give an official StyleGAN2/GFPGAN generator .pth")
    ckpt = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    if not (isinstance(ckpt, dict) and "nets" in ckpt and "config" in ckpt):
        return cfg  # an official file: the prior_* fields must describe it
    from ..train.checkpoint import resolve_method_class

    task = getattr(resolve_method_class(ckpt.get("method_class") or ckpt["method"]), "task", "inpaint")
    if task != "generate":  # the contract's task, not a method name
        raise ValueError(f"{path}: a checkpoint of method {ckpt['method']!r} (task {task!r}), not of a face generator")
    pc = ckpt["config"]
    if pc["train"]["size"] != cfg.train.size:
        raise ValueError(f"{path}: prior trained at {pc['train']['size']} px but gfpgan trains at "
                         f"train.size={cfg.train.size}")
    return replace(cfg, prior_style_dim=pc["style_dim"], prior_n_mlp=pc["n_mlp"], prior_width=pc["width"])


def load_prior(prior: StyleGAN2Generator, path: str) -> StyleGAN2Generator:
    """The prior's weights from a faceinpaint checkpoint of a ``generate`` method (its EMA generator) or an
    official StyleGAN2/GFPGAN file; with no path the prior stays random (logged: a random prior is no prior)."""
    if not path:
        log.warning("gfpgan: no prior_checkpoint: the StyleGAN2 prior is RANDOM (untrained) -- tests only")
        return prior
    from ..train.checkpoint import load_for_inference

    ckpt = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    if isinstance(ckpt, dict) and "nets" in ckpt and "method" in ckpt:
        method, nets = load_for_inference(path)
        if getattr(method, "task", "") != "generate":  # the contract's task, not a method name
            raise ValueError(f"{path}: a checkpoint of method {method.name!r} (task {method.task!r}), "
                             f"not of a face generator")
        prior.load_state_dict(nets["G"].state_dict())
        return prior
    return load_official_stylegan2(path, prior)
