"""Perceptual and style losses on VGG16 features, Johnson et al. 2016 / Gatys et al. 2016 as used by PConv (Liu et al. 2018) eqs (3)-(5).

VGG16 (Simonyan & Zisserman 2015) relu1_2, relu2_2, relu3_3, relu4_3 features. The ImageNet weights
are torchvision's ``vgg16-397923af.pth`` found with :func:`faceinpaint_core.paths.find_weights`
(never downloaded here); ``weights="random"`` gives a seeded, frozen random-init network for tests
and smoke runs — its numbers are *not* perceptual and are labelled so in run provenance.
"""
from __future__ import annotations

import torch
from torch import nn

from ..paths import find_weights
from ..utils.seeding import torch_generator

VGG16_FILE = "vgg16-397923af.pth"
LAYERS = {"relu1_2": 3, "relu2_2": 8, "relu3_3": 15, "relu4_3": 22}  # indices in torchvision's vgg16().features
WEIGHTS = ("imagenet", "random")
_MEAN = (0.485, 0.456, 0.406)
_STD = (0.229, 0.224, 0.225)


def _vgg16_trunk() -> nn.Sequential:
    """torchvision's VGG16 ``features`` up to relu4_3, built without weights (no download, no classifier)."""
    from torchvision.models.vgg import cfgs, make_layers

    return make_layers(cfgs["D"], batch_norm=False)[: LAYERS["relu4_3"] + 1]


def _init_random(trunk: nn.Sequential, seed: int) -> None:
    """torchvision's VGG init (Kaiming-normal fan-out, zero bias) from an explicit generator."""
    g = torch_generator(seed, "vgg16-random-init")
    for m in trunk.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu", generator=g)
            nn.init.zeros_(m.bias)


def _load_imagenet(trunk: nn.Sequential) -> None:
    path = find_weights(VGG16_FILE, "VGG16 ImageNet weights (perceptual/style losses)")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a torn or foreign file
        raise ValueError(f"{path}: cannot read VGG16 weights ({exc})") from exc
    keep = {k[len("features."):]: v for k, v in state.items() if k.startswith("features.")}
    keep = {k: v for k, v in keep.items() if int(k.split(".")[0]) < len(trunk)}
    missing, unexpected = trunk.load_state_dict(keep, strict=False)
    if missing or unexpected:
        raise ValueError(f"{path}: not a torchvision VGG16 state dict (missing {missing}, unexpected {unexpected})")


class VGG16Features(nn.Module):
    """Frozen VGG16 returning ``[relu1_2, relu2_2, relu3_3, relu4_3]`` for images in [0, 1].

    Args:
        weights: ``"imagenet"`` (torchvision file via ``find_weights``; raises
            :class:`~faceinpaint_core.paths.WeightsMissing` naming ``vgg16-397923af.pth`` when absent)
            or ``"random"`` (seeded random init: tests / smoke only).
        seed: seed of the random init.
    """

    def __init__(self, weights: str = "imagenet", seed: int = 0):
        super().__init__()
        if weights not in WEIGHTS:
            raise ValueError(f"unknown VGG16 weights {weights!r}; known: {list(WEIGHTS)}")
        self.weights = weights
        self.trunk = _vgg16_trunk()
        _init_random(self.trunk, seed) if weights == "random" else _load_imagenet(self.trunk)
        self.register_buffer("mean", torch.tensor(_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(_STD).view(1, 3, 1, 1), persistent=False)
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True):
        return super().train(False)  # always frozen, always eval

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Args: x ``(N, 3, H, W)`` in [0, 1]. Returns the four relu feature maps."""
        h = (x - self.mean.to(x.dtype)) / self.std.to(x.dtype)
        feats, stops = [], set(LAYERS.values())
        for i, layer in enumerate(self.trunk):
            h = layer(h)
            if i in stops:
                feats.append(h)
        return feats


def _features(vgg: VGG16Features, pred: torch.Tensor, target: torch.Tensor):
    with torch.no_grad():
        f_t = vgg(target)
    return vgg(pred), f_t


def gram(f: torch.Tensor) -> torch.Tensor:
    """Gram matrix normalised by ``C·H·W`` (PConv's ``K_p``), in fp32. ``(N, C, H, W)`` → ``(N, C, C)``."""
    n, c, h, w = f.shape
    f = f.float().reshape(n, c, h * w)
    return f @ f.transpose(1, 2) / (c * h * w)


def perceptual_loss(vgg: VGG16Features, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """PConv eq (3): ``Σ_p mean|Ψ_p(pred) - Ψ_p(target)|`` over the four relu layers (L1, mean per layer).

    Args:
        vgg: a :class:`VGG16Features`.
        pred, target: ``(N, 3, H, W)`` in [0, 1]; no gradient flows into ``target``.
    """
    f_p, f_t = _features(vgg, pred, target)
    return sum((a.float() - b.float()).abs().mean() for a, b in zip(f_p, f_t))


def style_loss(vgg: VGG16Features, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """PConv eqs (4)-(5): ``Σ_p mean|G(Ψ_p(pred)) - G(Ψ_p(target))|`` with Grams normalised by ``C·H·W``.

    Args:
        vgg: a :class:`VGG16Features`.
        pred, target: ``(N, 3, H, W)`` in [0, 1]; no gradient flows into ``target``.
    """
    f_p, f_t = _features(vgg, pred, target)
    return sum((gram(a) - gram(b)).abs().mean() for a, b in zip(f_p, f_t))


def perceptual_and_style(vgg: VGG16Features, pred: torch.Tensor, target: torch.Tensor):
    """Both losses from one VGG pass each of ``pred`` and ``target``: ``(perceptual, style)``."""
    f_p, f_t = _features(vgg, pred, target)
    perc = sum((a.float() - b.float()).abs().mean() for a, b in zip(f_p, f_t))
    style = sum((gram(a) - gram(b)).abs().mean() for a, b in zip(f_p, f_t))
    return perc, style
