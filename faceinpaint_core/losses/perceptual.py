"""Perceptual and style losses on VGG16 features, Johnson et al. 2016 / Gatys et al. 2016 as used by PConv (Liu et al. 2018) eqs (3)-(5).

Layers are named as in the VGG papers (``relu1_2``, ``pool1``, ...; :data:`VGG16_LAYERS`). The default,
:data:`PCONV_LAYERS` = ``pool1, pool2, pool3``, is what PConv (sec. 3.3) and LG-Net (public code
``models/loss.py: VGG16FeatureExtractor`` = ``features[:5]``, ``[5:10]``, ``[10:17]``) use and what
their weights (perceptual 0.05, style 120) were tuned for. The network is truncated after the
deepest requested layer.

The ImageNet weights are torchvision's ``vgg16-397923af.pth`` found with
:func:`faceinpaint_core.paths.find_weights` (never downloaded here); ``weights="random"`` gives a
seeded, frozen random-init network for tests and smoke runs — its numbers are *not* perceptual and are
labelled so in run provenance.

Input scaling (``input_norm``), images arrive in [0, 1]: ``imagenet`` = torchvision's mean/std (what
the ImageNet weights were trained on); ``[-1,1]`` = ``2x - 1`` unnormalised (LG-Net feeds its [-1, 1]
images straight in); ``[0,1]`` = unchanged (EdgeConnect feeds its [0, 1] images straight in).
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ..paths import find_weights
from ..utils.seeding import torch_generator

VGG16_FILE = "vgg16-397923af.pth"
# names of torchvision's vgg16().features[i], i = 0..30
VGG16_LAYERS = ("conv1_1", "relu1_1", "conv1_2", "relu1_2", "pool1",
                "conv2_1", "relu2_1", "conv2_2", "relu2_2", "pool2",
                "conv3_1", "relu3_1", "conv3_2", "relu3_2", "conv3_3", "relu3_3", "pool3",
                "conv4_1", "relu4_1", "conv4_2", "relu4_2", "conv4_3", "relu4_3", "pool4",
                "conv5_1", "relu5_1", "conv5_2", "relu5_2", "conv5_3", "relu5_3", "pool5")
PCONV_LAYERS = ("pool1", "pool2", "pool3")               # PConv sec. 3.3, LG-Net release
JOHNSON_LAYERS = ("relu1_2", "relu2_2", "relu3_3", "relu4_3")  # Johnson et al. 2016 (the old default)
WEIGHTS = ("imagenet", "random")
INPUT_NORMS = ("imagenet", "[-1,1]", "[0,1]")
_MEAN = (0.485, 0.456, 0.406)
_STD = (0.229, 0.224, 0.225)


def check_layers(layers: Sequence[str], what: str = "VGG16 layers") -> tuple[str, ...]:
    """``layers`` as a tuple in network order; ``ValueError`` naming unknown names and the known ones."""
    layers = tuple(layers)
    bad = [n for n in layers if n not in VGG16_LAYERS]
    if bad or not layers:
        raise ValueError(f"{what}: unknown or empty {bad or list(layers)}; known: {list(VGG16_LAYERS)}")
    return tuple(sorted(set(layers), key=VGG16_LAYERS.index))


def _vgg16_trunk(depth: int) -> nn.Sequential:
    """torchvision's VGG16 ``features[:depth]``, built without weights, ReLUs not in place (a feature
    read at ``convK_L`` must not be overwritten by the ReLU after it)."""
    from torchvision.models.vgg import cfgs, make_layers

    layers = [nn.ReLU(inplace=False) if isinstance(m, nn.ReLU) else m for m in make_layers(cfgs["D"])[:depth]]
    return nn.Sequential(*layers)


def _init_random(trunk: nn.Sequential, seed: int) -> None:
    """torchvision's VGG init (Kaiming-normal fan-out, zero bias) from an explicit generator."""
    g = torch_generator(seed, "vgg16-random-init")
    for m in trunk.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu", generator=g)
            nn.init.zeros_(m.bias)


def _load_imagenet(trunk: nn.Sequential, path) -> None:
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
    """Frozen VGG16 returning the feature maps of ``layers`` (in network order) for images in [0, 1].

    Args:
        weights: ``"imagenet"`` (torchvision file via ``find_weights``; raises
            :class:`~faceinpaint_core.paths.WeightsMissing` naming ``vgg16-397923af.pth`` when absent)
            or ``"random"`` (seeded random init: tests / smoke only).
        seed: seed of the random init.
        layers: names from :data:`VGG16_LAYERS` (default :data:`PCONV_LAYERS`).
        input_norm: ``imagenet``, ``[-1,1]`` or ``[0,1]`` (see the module docstring).

    Shapes: ``(N, 3, H, W)`` → list of ``(N, C_l, H_l, W_l)``, e.g. pool1/2/3 = 64/128/256 channels at
    H/2, H/4, H/8.
    """

    def __init__(self, weights: str = "imagenet", seed: int = 0, layers: Sequence[str] = PCONV_LAYERS,
                 input_norm: str = "imagenet"):
        super().__init__()
        if weights not in WEIGHTS:
            raise ValueError(f"unknown VGG16 weights {weights!r}; known: {list(WEIGHTS)}")
        if input_norm not in INPUT_NORMS:
            raise ValueError(f"unknown VGG16 input_norm {input_norm!r}; known: {list(INPUT_NORMS)}")
        self.weights, self.input_norm = weights, input_norm
        self.layers = check_layers(layers)
        self._stops = {VGG16_LAYERS.index(n) for n in self.layers}
        path = None  # look the file up first: a missing file fails before any work
        if weights == "imagenet":
            path = find_weights(VGG16_FILE, "VGG16 ImageNet weights (perceptual/style losses)")
        self.trunk = _vgg16_trunk(max(self._stops) + 1)
        _init_random(self.trunk, seed) if path is None else _load_imagenet(self.trunk, path)
        self.register_buffer("mean", torch.tensor(_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(_STD).view(1, 3, 1, 1), persistent=False)
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True):
        return super().train(False)  # always frozen, always eval

    def _scale(self, x: torch.Tensor) -> torch.Tensor:
        if self.input_norm == "imagenet":
            return (x - self.mean.to(x.dtype)) / self.std.to(x.dtype)
        return 2 * x - 1 if self.input_norm == "[-1,1]" else x

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Args: x ``(N, 3, H, W)`` in [0, 1]. Returns the maps of ``self.layers``, in that order."""
        h, feats = self._scale(x), []
        for i, layer in enumerate(self.trunk):
            h = layer(h)
            if i in self._stops:
                feats.append(h)
        return feats


def _features(vgg: VGG16Features, pred: torch.Tensor, target: torch.Tensor):
    with torch.no_grad():
        f_t = vgg(target)
    return vgg(pred), f_t


def _pick(vgg: VGG16Features, feats: list[torch.Tensor], layers: Sequence[str] | None) -> list[torch.Tensor]:
    """The maps of ``layers`` (None = all the extractor's layers) out of ``vgg(x)``'s list."""
    if layers is None:
        return feats
    missing = [n for n in layers if n not in vgg.layers]
    if missing:
        raise ValueError(f"VGG16 layers {missing} were not extracted (the extractor has {list(vgg.layers)})")
    return [feats[vgg.layers.index(n)] for n in check_layers(layers)]


def gram(f: torch.Tensor) -> torch.Tensor:
    """Gram matrix normalised by ``C·H·W`` (PConv's ``K_p``), in fp32. ``(N, C, H, W)`` → ``(N, C, C)``."""
    n, c, h, w = f.shape
    f = f.float().reshape(n, c, h * w)
    return f @ f.transpose(1, 2) / (c * h * w)


def _perc(f_p, f_t) -> torch.Tensor:
    return sum((a.float() - b.float()).abs().mean() for a, b in zip(f_p, f_t))


def _style(f_p, f_t) -> torch.Tensor:
    return sum((gram(a) - gram(b)).abs().mean() for a, b in zip(f_p, f_t))


def perceptual_loss(vgg: VGG16Features, pred: torch.Tensor, target: torch.Tensor,
                    layers: Sequence[str] | None = None) -> torch.Tensor:
    """PConv eq (3): ``Σ_p mean|Ψ_p(pred) - Ψ_p(target)|`` over ``layers`` (L1, mean per layer).

    Args:
        vgg: a :class:`VGG16Features`.
        pred, target: ``(N, 3, H, W)`` in [0, 1]; no gradient flows into ``target``.
        layers: a subset of ``vgg.layers`` (None = all of them).
    """
    f_p, f_t = _features(vgg, pred, target)
    return _perc(_pick(vgg, f_p, layers), _pick(vgg, f_t, layers))


def style_loss(vgg: VGG16Features, pred: torch.Tensor, target: torch.Tensor,
               layers: Sequence[str] | None = None) -> torch.Tensor:
    """PConv eqs (4)-(5): ``Σ_p mean|G(Ψ_p(pred)) - G(Ψ_p(target))|`` with Grams normalised by ``C·H·W``.

    Args: as :func:`perceptual_loss`.
    """
    f_p, f_t = _features(vgg, pred, target)
    return _style(_pick(vgg, f_p, layers), _pick(vgg, f_t, layers))


def perceptual_and_style(vgg: VGG16Features, pred: torch.Tensor, target: torch.Tensor,
                         perc_layers: Sequence[str] | None = None, style_layers: Sequence[str] | None = None):
    """Both losses from one VGG pass each of ``pred`` and ``target``: ``(perceptual, style)``.

    Args: as :func:`perceptual_loss`; ``perc_layers`` / ``style_layers`` are subsets of ``vgg.layers``.
    """
    f_p, f_t = _features(vgg, pred, target)
    perc = _perc(_pick(vgg, f_p, perc_layers), _pick(vgg, f_t, perc_layers))
    style = _style(_pick(vgg, f_p, style_layers), _pick(vgg, f_t, style_layers))
    return perc, style
