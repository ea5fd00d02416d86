"""The study's face recogniser as a trainable method: a small ResNet trained with ArcFace's loss.

The identity losses of TSGAN (source 004, identity-preserving loss) and GFPGAN (source 003, ``L_id``)
need a differentiable face recogniser, and ArcFace / LightCNN weights cannot be downloaded here, so the
study trains one: :class:`~faceinpaint_core.nets.identity.IdentityResNet` -> unit embedding, trained
with the additive angular margin loss (ArcFace, Deng et al. 2019, eq. (3); paper s = 64, m = 0.5) on
the **training identities only** (:func:`faceinpaint_core.data.identities.identity_split`): the held-out
identities are the verification pairs of notebook 05. Optionally distilled from dlib's descriptor
(``distill_weight``, :func:`~faceinpaint_core.losses.identity.relational_distillation_loss`; the teacher
sees the clean face). With probability ``occlusion_prob`` a training face is occluded by the trainer's
mask (zeroed hole) and with ``flip_prob`` mirrored [ours: occlusion robustness for the de-occlusion
study]. A user with pretrained ArcFace weights uses them instead through ``identity_weights``
(:func:`~faceinpaint_core.losses.identity.load_recogniser`).

Optimiser: AdamW, lr 1e-3, betas (0.9, 0.999), cosine decay [ours; ArcFace: SGD lr 0.1, momentum 0.9].
No discriminator. Not an inpainter: ``evaluated_by_protocol = False``, scored by verification.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import torch
from torch import nn

from ..config import TrainConfig
from ..losses.identity import additive_angular_margin_loss, relational_distillation_loss
from ..nets.identity import ArcFaceHead, IdentityResNet
from .base import InpaintMethod


@dataclass(frozen=True)
class IdentityConfig:
    """Identity-network settings (ArcFace's loss values; the network is the study's own)."""

    train: TrainConfig = field(default_factory=lambda: TrainConfig(
        size=112, batch_size=128, steps=40_000, lr_g=1e-3, betas=(0.9, 0.999), optimizer="adamw",
        lr_schedule="cosine", dataset="celeba", train_bins=("10-20", "20-30", "30-40")))
    widths: tuple[int, ...] = (32, 64, 128, 256)
    blocks: tuple[int, ...] = (1, 2, 2, 1)
    emb_dim: int = 128            # dlib's descriptor size [ours]; ArcFace: 512
    dropout: float = 0.0
    stem_stride: int = 1          # 2 = halve the resolution in the stem (CPU profiles)
    scale: float = 64.0           # ArcFace s
    margin: float = 0.5           # ArcFace m (radians)
    n_classes: int = 0            # training identities; 0 = set from the training data
    held_out_fraction: float = 0.2  # identities kept out of training (verification pairs come from them)
    min_images: int = 2           # train on identities with at least this many images
    occlusion_prob: float = 0.5   # share of training faces occluded by the trainer's mask [ours]
    flip_prob: float = 0.5        # horizontal flips
    distill_weight: float = 0.0   # weight of the dlib relational distillation term (0 = off)
    distill_cache: str = "results/cache/dlib_descriptors"  # dlib descriptor cache of the teacher

    def __post_init__(self):
        if not 0 <= self.margin < math.pi / 2 or self.scale <= 0:
            raise ValueError(f"identity: margin must be in [0, pi/2) and scale > 0, got {self.margin}, {self.scale}")
        for name in ("occlusion_prob", "flip_prob"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"identity: {name} must be in [0, 1], got {getattr(self, name)!r}")
        if not 0 < self.held_out_fraction < 1 or self.distill_weight < 0 or self.n_classes < 0:
            raise ValueError("identity: held_out_fraction must be in (0, 1), distill_weight and n_classes >= 0")


_FAST = {"train.num_workers": 0, "train.pin_memory": False, "train.perceptual_weights": "random",
         "train.val_images": 4}

PROFILES: dict[str, dict] = {
    "tiny": {**_FAST, "train.size": 32, "train.batch_size": 8, "train.steps": 4, "train.dataset": "synthetic",
             "train.ckpt_every": 4, "train.log_every": 1, "train.sample_every": 4, "widths": (8, 16, 32),
             "blocks": (1, 1, 1), "scale": 16.0, "margin": 0.2, "held_out_fraction": 0.5},
    "smoke": {**_FAST, "train.size": 64, "train.batch_size": 64, "train.steps": 200, "train.dataset": "celeba",
              "train.ckpt_every": 200, "train.log_every": 20, "train.sample_every": 200, "train.lr_g": 3e-3,
              "widths": (16, 32, 64, 128), "blocks": (1, 1, 1, 1), "stem_stride": 2, "scale": 16.0,
              "margin": 0.1},
    "full": {},
}


def augment(image: torch.Tensor, mask: torch.Tensor, occlusion_prob: float, flip_prob: float) -> torch.Tensor:
    """Training views: each face occluded by its mask (hole zeroed) with ``occlusion_prob``, mirrored with
    ``flip_prob``. image ``(N, 3, H, W)``, mask ``(N, 1, H, W)`` 1 = hole; torch's seeded global stream."""
    n = image.shape[0]
    occ = (torch.rand(n, 1, 1, 1, device=image.device) < occlusion_prob).to(image.dtype)
    out = image * (1 - mask * occ)
    flip = torch.rand(n, device=image.device) < flip_prob
    return torch.where(flip[:, None, None, None], out.flip(-1), out)


class IdentityMethod(InpaintMethod):
    """ArcFace-trained identity network; networks ``G`` (the embedding net) and ``head`` (class centres)."""

    name = "identity"
    label = "identity network"
    task = "recognise"
    evaluated_by_protocol = False  # a recogniser: scored by verification in notebook 05, not by the protocol
    config_cls = IdentityConfig
    PROFILES = PROFILES
    batch_keys = ("image", "mask", "label")
    study_dataset = "celeba"       # the study's faces with identity labels
    is_recogniser = True           # its G embeds faces: the identity losses may load it (losses/identity.py)

    @classmethod
    def training_faces(cls, cfg, data_root=None):
        """Faces of the training identities with class labels; sets ``n_classes`` from them."""
        from ..data.identities import open_identity_faces

        tc = cfg.train
        faces = open_identity_faces(tc.dataset, tc.size, "train", data_root, tc.split_seed, cfg.held_out_fraction,
                                    cfg.min_images)
        if cfg.n_classes not in (0, faces.n_classes):
            raise ValueError(f"identity: n_classes={cfg.n_classes} but the training data has {faces.n_classes} "
                             f"identities (leave n_classes=0 to take it from the data)")
        return faces, replace(cfg, n_classes=faces.n_classes)

    def _embedding_net(self) -> IdentityResNet:
        c = self.cfg
        return IdentityResNet(c.train.size, c.widths, c.blocks, c.emb_dim, c.dropout, c.stem_stride)

    def build_networks(self) -> dict[str, nn.Module]:
        nets = {"G": self._embedding_net()}
        if self.cfg.n_classes:  # 0 before the data is known (describe): the head needs the class count
            nets["head"] = ArcFaceHead(self.cfg.emb_dim, self.cfg.n_classes)
        return nets

    def build_inference_networks(self) -> dict[str, nn.Module]:
        return {"G": self._embedding_net()}

    def generator_names(self) -> list[str]:
        return ["G", "head"]

    def prepare_training(self) -> None:
        self.teacher = None
        if self.cfg.distill_weight > 0:
            from ..metrics.embedders import DlibEmbedder

            self.teacher = DlibEmbedder(cache_dir=self.cfg.distill_cache or None)

    def forward(self, nets, batch):
        """``embedding`` ``(N, emb_dim)`` unit vectors; ``pred`` = the face the network saw (augmented in training)."""
        image = batch["image"]
        if nets["G"].training and "mask" in batch:
            image = augment(image, batch["mask"], self.cfg.occlusion_prob, self.cfg.flip_prob)
        return {"embedding": nets["G"](image), "pred": image}

    def generator_loss(self, nets, batch, out):
        """ArcFace loss on the class labels (+ distillation); logs the training top-1 accuracy."""
        if "head" not in nets or "label" not in batch:
            raise ValueError("identity: training needs the class head and batch['label'] (use train_main, which "
                             "opens identity-labelled faces)")
        cos = nets["head"](out["embedding"])
        arc = additive_angular_margin_loss(cos, batch["label"], self.cfg.scale, self.cfg.margin)
        terms = {"arcface": arc, "train_top1": (cos.detach().argmax(1) == batch["label"]).float().mean()}
        total = arc
        if getattr(self, "teacher", None) is not None:
            emb = self.teacher.embed(batch["image"])
            teacher = torch.as_tensor(emb.vectors, dtype=torch.float32, device=arc.device)
            valid = ~teacher.isnan().any(1)  # rows dlib described (a missed face is described from the full box)
            terms["distill"] = relational_distillation_loss(out["embedding"], teacher.nan_to_num(), valid)
            terms["teacher_detected"] = torch.as_tensor(emb.found, dtype=torch.float32).mean()
            total = total + self.cfg.distill_weight * terms["distill"]
        return total, terms

    def sample_images(self, batch, out):
        return {"network input": out["pred"], "ground truth": batch["image"]}

    def inpaint(self, nets, image, mask, parsing=None):
        raise ValueError("method 'identity' is a face recogniser, not an inpainter: use it with "
                         "`faceinpaint verify --embedder identity --checkpoint <run>/checkpoints/final.pt`")
