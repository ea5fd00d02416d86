"""Edge-guided diffusion face inpainter (source 002, "基于扩散模型的人脸图像修复技术") as a trainable method.

Two stages train in sequence in one run (source 002 abstract: "first train the edge model, then, from
the repaired edges, train the content model"):

1. generator updates ``0 .. edge_steps-1`` train the :class:`~faceinpaint_core.nets.edge_diffusion.EdgeGenerator`
   (eq. (4)) EdgeConnect-style: non-saturating adversarial loss (weight 1) plus discriminator feature
   matching (weight 10) against Canny edges of the whole face, with a spectral-norm PatchGAN that sees
   ``[edges; grayscale]`` (EdgeConnect's edge discriminator);
2. the remaining updates train the :class:`~faceinpaint_core.nets.edge_diffusion.CompletionNetwork` with
   the edge generator frozen. **Our reading**: the completion network is the conditional denoiser of the
   DDPM of sec. 1.1 (eqs (1)-(3)): ``x_t`` (the face noised to a uniform ``t``), the masked face, the mask,
   the completed edges and ``t`` in; ε out (``prediction="x0"`` for ``x_0``); loss
   ``mean(w · (out − target)²)`` with ``w = 1`` in the hole and ``valid_weight`` outside (1 = DDPM's
   simple loss). The source never says how its completion network sits inside the diffusion; the other
   reading — a one-step GAN generator whose output the source calls "diffusion" — is the ablation
   ``diffusion=False``: the same network without ``x_t``/``t``, trained with EdgeConnect's hole-weighted L1
   (weight 1, hole ×6) + adversarial loss (weight 0.1) on a spectral-norm PatchGAN.

Inference (:meth:`EdgeDiffusionMethod.inpaint`): Canny on the known pixels → edge generator → DDIM (or
DDPM) with ``sample_steps`` steps and RePaint-style replacement of the known pixels at every step, so the
output equals the input outside the hole. :meth:`EdgeDiffusionMethod.set_inference_options` changes
steps / sampler / η / seed / precision without retraining.

Training settings (source sec. 3.2): Adam, lr 2e-4, batch 64; "迭代次数 2000" is read as 2000 updates per
stage [ours]; the discriminators' lr is EdgeConnect's 0.1 × G's; Adam betas are PyTorch's defaults (the
source names no others); T = 1000 with DDPM's linear schedule (the source cites DDPM's T = 1000).

The stage counter is a buffer of the ``"clock"`` network (saved in every checkpoint, so a resumed run
continues in the right stage); all training and sampling noise comes from generators seeded by
``(train.seed, purpose, clock step)`` / ``sample_seed``.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from ..config import TrainConfig
from ..data.edges import canny_edges, rgb_to_gray
from ..diffusion import PREDICTIONS, SAMPLERS, SCHEDULES, GaussianDiffusion, inpaint_sample
from ..diffusion.sampling import randn, timestep_sequence
from ..losses.adversarial import KINDS as ADV_KINDS
from ..losses.adversarial import AdversarialLoss
from ..losses.feature_matching import feature_matching_loss, sequential_features
from ..losses.reconstruction import masked_l1
from ..nets.blocks.harmonic_fill import HOLE_INITS, fill_holes, refine_fill
from ..nets.discriminators import PatchGAN
from ..nets.edge_diffusion import CompletionNetwork, EdgeGenerator
from ..utils.seeding import torch_generator
from .base import InpaintMethod

INFERENCE_OPTIONS = ("steps", "sampler", "eta", "strength", "seed", "bf16", "channels_last", "compile")


def _paper_train() -> TrainConfig:
    """Source 002 sec. 3.2: Adam, lr 2e-4, batch 64 (256 px, our working size); D lr = 0.1 × G's (EdgeConnect)."""
    return TrainConfig(lr_g=2e-4, lr_d=2e-5, betas=(0.9, 0.999), batch_size=64, size=256, steps=4000)


@dataclass(frozen=True)
class EdgeDiffusionConfig:
    """Edge-guided diffusion settings; defaults = the source / DDPM / EdgeConnect values (``full`` profile)."""

    train: TrainConfig = field(default_factory=_paper_train)
    edge_steps: int = 2000            # generator updates of stage 1; the rest train the completion network
    # networks (ablation flags: use_edges, dilation, attention)
    width: int = 64
    edge_width: int = 64
    res_blocks: int = 4
    edge_attention: bool = True
    use_edges: bool = True
    dilation: bool = True
    attention: bool = True
    canny_sigma: float = 2.0
    disc_width: int = 64
    # diffusion (ablation flag: diffusion=False → one-step GAN completion with the same network)
    diffusion: bool = True
    timesteps: int = 1000
    schedule: str = "linear"
    prediction: str = "eps"
    valid_weight: float = 1.0
    # the hole in the conditioning image: constant (0 in [-1, 1], our reading of the source's masked face) |
    # harmonic | biharmonic (a classical fill for the network to refine, nets/blocks/harmonic_fill.py; not in
    # the source)
    hole_init: str = "constant"
    # the completion network's output read as a correction to the conditioning image (nets/blocks/harmonic_fill.py
    # refine_fill): x0 = refine(masked, G(.)) -- x0-prediction or the one-step GAN only; not in the source
    residual: bool = False
    # sampling (defaults of inpaint(); set_inference_options overrides them without retraining)
    sampler: str = "ddim"
    sample_steps: int = 25
    eta: float = 0.0
    # < 1: start the reverse process from the conditioning image (the hole_init fill) noised to strength · T
    # (SDEdit, diffusion/sampling.py), not from pure noise; 1 = the source's sampler. Not in the source
    sample_strength: float = 1.0
    sample_seed: int = 0
    infer_bf16: bool = True           # CUDA only
    infer_channels_last: bool = True  # CUDA only
    # losses
    edge_adv_kind: str = "nsgan"
    w_edge_adv: float = 1.0
    w_edge_fm: float = 10.0
    adv_kind: str = "nsgan"
    w_rec: float = 1.0
    w_adv: float = 0.1
    hole_weight: float = 6.0

    def __post_init__(self):
        problems = [msg for bad, msg in (
            (self.schedule not in SCHEDULES, f"schedule must be one of {sorted(SCHEDULES)} (got {self.schedule!r})"),
            (self.prediction not in PREDICTIONS, f"prediction must be one of {list(PREDICTIONS)} (got {self.prediction!r})"),
            (self.sampler not in SAMPLERS, f"sampler must be one of {list(SAMPLERS)} (got {self.sampler!r})"),
            (not 1 <= self.sample_steps <= self.timesteps,
             f"sample_steps must be in [1, timesteps={self.timesteps}] (got {self.sample_steps})"),
            (self.eta < 0, f"eta must be >= 0 (got {self.eta})"),
            (not 0 < self.sample_strength <= 1, f"sample_strength must be in (0, 1] (got {self.sample_strength})"),
            (self.hole_init not in HOLE_INITS, f"hole_init must be one of {list(HOLE_INITS)} (got {self.hole_init!r})"),
            (self.residual and self.diffusion and self.prediction != "x0",
             f"residual needs prediction='x0' (a correction to the conditioning image is an x0; got {self.prediction!r})"),
            (self.width < 1 or self.edge_width < 1, "width and edge_width must be >= 1"),
            (self.train.size % 4, f"train.size must be divisible by 4 (got {self.train.size})"),
            (self.use_edges and not 0 < self.edge_steps < self.train.steps,
             f"edge_steps must be in (0, train.steps={self.train.steps}) so both stages train (got {self.edge_steps})"),
            (self.edge_adv_kind not in ADV_KINDS or self.adv_kind not in ADV_KINDS,
             f"edge_adv_kind / adv_kind must be in {list(ADV_KINDS)}"),
            (self.canny_sigma <= 0, f"canny_sigma must be > 0 (got {self.canny_sigma})"),
        ) if bad]
        if problems:
            raise ValueError("EdgeDiffusionConfig: " + "; ".join(problems))


_SMALL = {"train.num_workers": 0, "train.pin_memory": False, "train.bf16": False, "train.channels_last": False}

PROFILES: dict[str, dict[str, Any]] = {
    # synthetic 32 px faces, a handful of steps (seconds): tests and the tiny study
    "tiny": {**_SMALL, "train.size": 32, "train.batch_size": 2, "train.steps": 4, "train.dataset": "synthetic",
             "train.log_every": 1, "train.sample_every": 4, "train.ckpt_every": 4, "train.val_images": 4,
             "edge_steps": 2, "width": 4, "edge_width": 4, "res_blocks": 1, "disc_width": 8, "canny_sigma": 1.0,
             "sample_steps": 5},
    # CelebAMask-HQ at 64 px, both stages (100 + 300 updates) on a 2-core CPU in ~2 minutes including data
    # loading. x0-prediction, not the full profile's ε: measured after these 400 updates (irregular 20-30 %,
    # 24 test faces, DDIM-25), PSNR 19.7 with x0 vs 13.9 with ε (ε 13.4 with the cosine schedule): an
    # ε-model this young leaves visible noise in the hole. lr 2e-4 (the source's) beat 1e-3 (18.2 with x0).
    "smoke": {**_SMALL, "train.size": 64, "train.batch_size": 8, "train.steps": 400, "prediction": "x0",
              "train.log_every": 20, "train.sample_every": 400, "train.ckpt_every": 400, "train.val_images": 8,
              "edge_steps": 100, "width": 16, "edge_width": 8, "disc_width": 16, "canny_sigma": 1.0},
    # the `cpu` study (issue 17): the smoke networks trained <= 20 min on the 2-core CPU: 800 edge + 2400 completion
    # updates (smoke's 400 updates took ~2 min, so ~16 min), 200 warm-up steps, cosine decay, generator EMA 0.998
    # (0.998^3200 = 2e-3 of the initial network left in the EMA; 0.999 would leave 4 %)
    # (the usual DDPM practice), a learning-curve point every 400 steps on 32 validation faces (DDIM sampling)
    "cpu": {**_SMALL, "train.size": 64, "train.batch_size": 8, "train.steps": 3200, "prediction": "x0",
            "train.lr_warmup": 200, "train.lr_schedule": "cosine", "train.ema_decay": 0.998,
            "train.val_every": 400, "train.val_curve_images": 32,
            "train.log_every": 50, "train.sample_every": 1600, "train.ckpt_every": 800, "train.val_images": 8,
            "edge_steps": 800, "width": 16, "edge_width": 8, "disc_width": 16, "canny_sigma": 1.0,
            # hole_init=biharmonic + residual (the denoiser is conditioned on the biharmonic fill, the study's
            # classical floor, and predicts x0 as a correction to it; not in the source): edge-diffusion lost every
            # cell by 2-7 dB with a flat learning curve. Measured (results/cpu/diagnostics_edge_diffusion_hole_init.csv:
            # this profile at 2000 steps, the cpu study's protocol, 4 cells): PSNR strokes 1-10 % 28.65 -> 30.88,
            # NVIDIA 1-10 % 31.53 -> 35.36 (biharmonic fill alone: 30.24, 33.61)
            "hole_init": "biharmonic", "residual": True},
    # the source's settings: 256 px, batch 64, Adam 2e-4, 2000 updates per stage (GPU)
    "full": {},
}


class TrainingClock(nn.Module):
    """Counts generator updates in a buffer, so the stage survives checkpoints and resumes (no parameters)."""

    def __init__(self):
        super().__init__()
        self.register_buffer("step", torch.zeros((), dtype=torch.long))

    @torch.no_grad()
    def tick(self) -> None:
        self.step += 1


#: The study's ablations of source 002's design (issue 12): ``{slug: (row label, config overrides)}``; each is a
#: flag of the one method, trained by its own workflow job for the profile's ``ablation_sets``.
ABLATIONS: dict[str, tuple[str, dict]] = {
    "full": ("edge-guided diffusion (edges, dilation, attention)", {}),
    "one-step-gan": ("one-step GAN (no diffusion)", {"diffusion": False}),
    "no-edges": ("without edges", {"use_edges": False}),
    "no-dilation": ("without dilated fusion", {"dilation": False}),
    "no-attention": ("without mixed attention", {"attention": False}),
}


class EdgeDiffusionMethod(InpaintMethod):
    """Edge generator + completion network (conditional DDPM denoiser), source 002; see the module docstring."""

    name = "edge-diffusion"
    label = "edge-guided diffusion"
    reported_as = ("edge-guided diffusion",)
    ABLATIONS = ABLATIONS
    config_cls = EdgeDiffusionConfig
    PROFILES = PROFILES
    ddp_find_unused_parameters = True  # a stage leaves the other stage's networks unused

    def __init__(self, cfg: EdgeDiffusionConfig):
        super().__init__(cfg)
        self.diffusion = GaussianDiffusion.from_config(cfg.schedule, cfg.timesteps, cfg.prediction)
        self.inference: dict[str, Any] = {"steps": cfg.sample_steps, "sampler": cfg.sampler, "eta": cfg.eta,
                                          "strength": cfg.sample_strength, "seed": cfg.sample_seed,
                                          "bf16": cfg.infer_bf16,
                                          "channels_last": cfg.infer_channels_last, "compile": False}
        self._edge_adv, self._adv = AdversarialLoss(cfg.edge_adv_kind), AdversarialLoss(cfg.adv_kind)
        self._compiled: dict[int, nn.Module] = {}

    # -- networks ---------------------------------------------------------------------------
    def build_networks(self) -> dict[str, nn.Module]:
        """``G`` (completion), ``clock``; with edges ``E`` + ``D_edge``; in the GAN ablation also ``D``."""
        c = self.cfg
        nets: dict[str, nn.Module] = {
            "G": CompletionNetwork(c.width, edges=c.use_edges, diffusion=c.diffusion, dilation=c.dilation,
                                   attention=c.attention),
            "clock": TrainingClock()}
        if c.use_edges:
            nets["E"] = EdgeGenerator(c.edge_width, c.res_blocks, c.edge_attention)
            nets["D_edge"] = PatchGAN(in_ch=2, width=c.disc_width, norm="none", spectral=True)
        if not c.diffusion:
            nets["D"] = PatchGAN(in_ch=3, width=c.disc_width, norm="none", spectral=True)
        return nets

    def generator_names(self) -> list[str]:
        return ["E", "G"] if self.cfg.use_edges else ["G"]

    def phase(self, nets) -> str:
        """``"edge"`` during the first ``edge_steps`` generator updates (with edges), else ``"completion"``."""
        if self.cfg.use_edges and int(nets["clock"].step) < self.cfg.edge_steps:
            return "edge"
        return "completion"

    # -- inputs -----------------------------------------------------------------------------
    def edge_inputs(self, image: torch.Tensor, mask: torch.Tensor, with_target: bool = False) -> dict:
        """Eq. (4)'s inputs: masked grayscale ``M_g``, masked Canny ``B_canny`` (known pixels only) and, for
        training, Canny of the whole face (the edge discriminator's real sample). All ``(N, 1, H, W)``."""
        gray = rgb_to_gray(image)
        out = {"gray": gray, "gray_in": gray * (1 - mask),
               "edges_in": canny_edges(gray, self.cfg.canny_sigma, hole=mask)}
        if with_target:
            out["edges_gt"] = canny_edges(gray, self.cfg.canny_sigma)
        return out

    def predict_edges(self, nets, image: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(completed edges, known-pixel Canny)``: the generator's edges in the hole, Canny elsewhere (EdgeConnect)."""
        inp = self.edge_inputs(image, mask)
        with torch.no_grad():
            pred = nets["E"](inp["gray_in"], inp["edges_in"], mask).float()
        return pred * mask + inp["edges_in"] * (1 - mask), inp["edges_in"]

    def condition(self, nets, image: torch.Tensor, mask: torch.Tensor) -> dict:
        """The completion network's conditioning: masked face in [-1, 1] (the hole 0, or filled by ``hole_init``),
        mask, edges (or None)."""
        edges, edges_in = self.predict_edges(nets, image, mask) if self.cfg.use_edges else (None, None)
        masked = fill_holes(self.cfg.hole_init, image * 2 - 1, mask)  # constant: 0 in [-1, 1]
        return {"masked": masked, "mask": mask, "edges": edges, "edges_in": edges_in}

    def _noise_generator(self, nets, device) -> torch.Generator:
        rank = torch.distributed.get_rank() if torch.distributed.is_initialized() else 0
        return torch_generator(self.cfg.train.seed, f"edge-diffusion:train-noise:{rank}", int(nets["clock"].step),
                               device=str(device))

    # -- training ---------------------------------------------------------------------------
    def forward(self, nets, batch):
        """Training pass of the current stage; in eval mode (sample grids, ``describe``) full inference."""
        image, mask = batch["image"], batch["mask"]
        if not nets["G"].training:
            return self.sample(nets, image * (1 - mask), mask)
        if self.phase(nets) == "edge":
            return self._edge_forward(nets, image, mask)
        return self._diffusion_forward(nets, image, mask) if self.cfg.diffusion else self._gan_forward(nets, image, mask)

    def _completion(self, G, cond: dict, *x_t_and_t) -> torch.Tensor:
        """The completion network's output (``x_t, t`` for the diffusion reading, nothing for the one-step GAN); with
        ``residual`` it is read as a correction to the conditioning image (:func:`refine_fill`, in [-1, 1])."""
        out = G(cond["masked"], cond["mask"], cond["edges"], *x_t_and_t)
        return refine_fill(cond["masked"], out, -1.0, 1.0) if self.cfg.residual else out

    def _edge_forward(self, nets, image, mask) -> dict:
        inp = self.edge_inputs(image, mask, with_target=True)
        edges = nets["E"](inp["gray_in"], inp["edges_in"], mask)
        return {"pred": edges.expand(-1, 3, -1, -1), "edges": edges, "edges_gt": inp["edges_gt"],
                "gray": inp["gray"], "edges_in": inp["edges_in"], "phase": "edge"}

    def _diffusion_forward(self, nets, image, mask) -> dict:
        x0, cond = image * 2 - 1, self.condition(nets, image, mask)
        g = self._noise_generator(nets, image.device)
        t = self.diffusion.sample_timesteps(image.shape[0], g, image.device)
        noise = randn(x0, g)
        x_t = self.diffusion.q_sample(x0, t, noise)
        out = self._completion(nets["G"], cond, x_t, t)
        x0_hat, _ = self.diffusion.split(out, x_t, t)
        return {"pred": ((x0_hat + 1) / 2).clamp(0, 1), "model_out": out, "target": self.diffusion.target(x0, noise),
                "edges": cond["edges"], "phase": "completion"}

    def _gan_forward(self, nets, image, mask) -> dict:
        cond = self.condition(nets, image, mask)
        pred = (self._completion(nets["G"], cond) + 1) / 2
        return {"pred": pred, "comp": pred * mask + image * (1 - mask), "edges": cond["edges"], "phase": "completion"}

    def _edge_critic(self, nets, gray: torch.Tensor):
        D = nets["D_edge"]
        return lambda e: D(torch.cat([e, gray], dim=1))

    def generator_loss(self, nets, batch, out):
        c, image, mask = self.cfg, batch["image"], batch["mask"]
        if out["phase"] == "edge":
            gray = out["gray"]
            feats = lambda e: sequential_features(nets["D_edge"].net, torch.cat([e, gray], dim=1))  # noqa: E731
            terms = {"edge_adv": self._edge_adv.g_loss(self._edge_critic(nets, gray), out["edges_gt"], out["edges"]),
                     "edge_fm": feature_matching_loss(feats, out["edges_gt"], out["edges"])}
            total = c.w_edge_adv * terms["edge_adv"] + c.w_edge_fm * terms["edge_fm"]
        elif c.diffusion:
            w = mask + c.valid_weight * (1 - mask)
            terms = {"diffusion_mse": ((out["model_out"].float() - out["target"]) ** 2 * w).mean()}
            total = terms["diffusion_mse"]
        else:
            terms = {"rec": masked_l1(out["pred"], image, mask, hole_weight=c.hole_weight),
                     "adv": self._adv.g_loss(nets["D"], image, out["comp"])}
            total = c.w_rec * terms["rec"] + c.w_adv * terms["adv"]
        nets["clock"].tick()
        return total, terms

    def discriminator_loss(self, nets, batch, out):
        """Edge stage: ``D_edge`` on ``[edges; gray]``; GAN ablation: ``D`` on the composite; diffusion: no D update
        (a leaf zero, so the trainer's backward is a no-op and Adam skips every D parameter)."""
        if out["phase"] == "edge":
            return self._edge_adv.d_loss(self._edge_critic(nets, out["gray"]), out["edges_gt"], out["edges"])
        if not self.cfg.diffusion:
            return self._adv.d_loss(nets["D"], batch["image"], out["comp"])
        return torch.zeros((), device=batch["image"].device, requires_grad=True), {}

    def sample_images(self, batch, out) -> dict[str, torch.Tensor]:
        cols = super().sample_images(batch, out)
        for key, name in (("edges_in", "canny (known)"), ("edges", "edges")):
            if torch.is_tensor(out.get(key)):
                cols[name] = out[key].expand(-1, 3, -1, -1)
        return cols

    # -- inference --------------------------------------------------------------------------
    def set_inference_options(self, **opts) -> dict[str, Any]:
        """Change sampling without retraining: ``steps``, ``sampler`` (ddim | ddpm), ``eta``, ``strength`` (where
        the chain starts, SDEdit: 1 = pure noise), ``seed``, ``bf16``,
        ``channels_last``, ``compile`` (CUDA-only speed options). Returns the options now in force."""
        unknown = sorted(set(opts) - set(INFERENCE_OPTIONS))
        if unknown:
            raise ValueError(f"unknown inference option(s) {unknown}; known: {list(INFERENCE_OPTIONS)}")
        new = {**self.inference, **{k: v for k, v in opts.items() if v is not None}}
        if new["sampler"] not in SAMPLERS:
            raise ValueError(f"sampler must be one of {list(SAMPLERS)}, got {new['sampler']!r}")
        timestep_sequence(self.diffusion.T, int(new["steps"]))  # validates 1 <= steps <= T
        if float(new["eta"]) < 0:
            raise ValueError(f"eta must be >= 0, got {new['eta']}")
        if not 0 < float(new["strength"]) <= 1:
            raise ValueError(f"strength must be in (0, 1], got {new['strength']}")
        self.inference = {**new, "steps": int(new["steps"]), "eta": float(new["eta"]),
                          "strength": float(new["strength"]), "seed": int(new["seed"])}
        return dict(self.inference)

    def _denoiser(self, nets, cond: dict, opts: dict):
        """``(x_t, t) -> G(x_t, cond, t)`` with the CUDA speed options (bf16 autocast, channels-last, compile)."""
        G, cuda = nets["G"], cond["masked"].is_cuda
        fmt = torch.channels_last if cuda and opts["channels_last"] else torch.contiguous_format
        if cuda and opts["channels_last"]:
            G = G.to(memory_format=fmt)
        if opts["compile"]:
            G = self._compiled.setdefault(id(G), torch.compile(G))
        amp = torch.autocast("cuda", dtype=torch.bfloat16) if cuda and opts["bf16"] else contextlib.nullcontext()
        cond = {**cond, "masked": cond["masked"].contiguous(memory_format=fmt)}

        def denoise(x_t, t):
            with amp:
                return self._completion(G, cond, x_t.contiguous(memory_format=fmt), t).float()
        return denoise

    @torch.no_grad()
    def sample(self, nets, image: torch.Tensor, mask: torch.Tensor, callback=None, **overrides) -> dict:
        """Inpaint ``image`` ``(N, 3, H, W)`` in [0, 1] (hole pixels ignored) where ``mask`` ``(N, 1, H, W)`` is 1.

        Returns ``{"pred": (N, 3, H, W) in [0, 1] equal to ``image`` outside the hole, "edges": completed edge
        map or None, "edges_in": known-pixel Canny or None}``. ``overrides`` are one-call inference options;
        ``callback(i, t, x_t, x0_hat)`` sees every sampler step (figures).
        """
        opts = {**self.inference, **overrides}
        mask = mask.to(image.dtype)
        cond = self.condition(nets, image, mask)
        out = {"edges": cond["edges"], "edges_in": cond["edges_in"]}
        if not self.cfg.diffusion:
            pred = (self._completion(nets["G"], cond).float() + 1) / 2
            return {**out, "pred": mask * pred.clamp(0, 1) + (1 - mask) * image}
        gen = torch_generator(int(opts["seed"]), "edge-diffusion:sample", 0, device=str(image.device))
        pred = inpaint_sample(self.diffusion, self._denoiser(nets, cond, opts), image, mask, steps=int(opts["steps"]),
                              sampler=opts["sampler"], eta=float(opts["eta"]), generator=gen, callback=callback,
                              init=cond["masked"], strength=float(opts["strength"]))
        return {**out, "pred": pred}

    @torch.no_grad()
    def inpaint(self, nets, image, mask, parsing=None) -> torch.Tensor:
        """``(N, 3, H, W)`` in [0, 1], the input outside the hole; sampler settings from :meth:`set_inference_options`."""
        return self.sample(nets, image, mask)["pred"]

    @torch.no_grad()
    def denoise_from_truth(self, nets, image: torch.Tensor, mask: torch.Tensor, t: int,
                           generator: torch.Generator) -> dict:
        """Diagnostic: the denoiser's ``x̂_0`` when it is given the *true* face noised to timestep ``t``
        (``x_t ~ q(x_t | x_0)``, exactly what training shows it), not a sampler's own ``x_t``.

        At ``t = T − 1`` the input carries no information about the face, so ``x̂_0`` is the network's estimate of
        the posterior mean ``E[x_0 | masked face, edges]``, the distortion-optimal read-out of the same network.

        Args:
            image: ``(N, 3, H, W)`` in [0, 1], the whole face (its hole pixels are the ground truth).
            mask: ``(N, 1, H, W)``, 1 = hole. generator: the noise draw.
        Returns: ``{"x0_hat": (N, 3, H, W) in [0, 1], "fill": the conditioning image (the ``hole_init`` fill) in
        [0, 1]}``; both equal ``image`` outside the hole.
        """
        if not self.cfg.diffusion:
            raise ValueError("denoise_from_truth needs the diffusion reading (diffusion=True)")
        if not 0 <= t < self.diffusion.T:
            raise ValueError(f"timestep must be in [0, {self.diffusion.T}), got {t}")
        mask = mask.to(image.dtype)
        cond = self.condition(nets, image * (1 - mask), mask)
        tt = torch.full((image.shape[0],), t, device=image.device, dtype=torch.long)
        x_t = self.diffusion.q_sample(image * 2 - 1, tt, randn(image, generator))
        x0, _ = self.diffusion.split(self._denoiser(nets, cond, self.inference)(x_t, tt), x_t, tt)

        def paste(x):
            return mask * ((x + 1) / 2).clamp(0, 1) + (1 - mask) * image
        return {"x0_hat": paste(x0), "fill": paste(cond["masked"])}

    @torch.no_grad()
    def trajectory(self, nets, image: torch.Tensor, mask: torch.Tensor, frames: int = 6, **overrides) -> list[dict]:
        """Snapshots of the reverse process for figures: ``frames`` evenly spaced steps (the last is t = 0), each
        ``{"t": int, "x_t": (N, 3, H, W) [0, 1], "x0_hat": (N, 3, H, W) [0, 1]}``, plus the final output."""
        steps = int(overrides.get("steps", self.inference["steps"]))
        keep = set(torch.linspace(0, steps - 1, min(frames, steps)).round().long().tolist())
        shots: list[dict] = []

        def grab(i, t, x, x0):
            if i in keep:
                shots.append({"t": t, "x_t": ((x + 1) / 2).clamp(0, 1).cpu(), "x0_hat": ((x0 + 1) / 2).clamp(0, 1).cpu()})
        final = self.sample(nets, image, mask, callback=grab, **overrides)["pred"]
        return shots + [{"t": -1, "x_t": final.cpu(), "x0_hat": final.cpu()}]


__all__ = ["EdgeDiffusionConfig", "EdgeDiffusionMethod", "PROFILES", "TrainingClock"]
