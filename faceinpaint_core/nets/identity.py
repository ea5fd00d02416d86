"""Face-recognition networks: the project's small identity ResNet, ArcFace's head, and ArcFace's IResNet.

* :class:`IdentityResNet` — the study's own recogniser [ours, small enough to train on a CPU]: a
  ResNet (He et al. 2016) of pre-activation basic blocks with ArcFace's "E" output (BN, dropout,
  fully connected, BN; Deng et al. 2019, sec. 3.2) and an L2-normalised embedding.
* :class:`ArcFaceHead` — the class centres ``W`` of ArcFace eq. (3): cosine logits
  ``cos θ_j = <x/|x|, W_j/|W_j|>``; the additive angular margin is applied by
  :func:`faceinpaint_core.losses.arcface.additive_angular_margin_loss`.
* :class:`IResNet` — insightface's ``arcface_torch`` backbone (iresnet18/34/50/100/200), so that a
  user's pretrained ArcFace ``backbone.pth`` loads with :func:`load_arcface_backbone` and drives the
  identity losses instead of the project's network (``identity_weights``; nothing is downloaded).
"""
from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

#: insightface arcface_torch depths -> blocks per stage
IRESNET_LAYERS = {18: (2, 2, 2, 2), 34: (3, 4, 6, 3), 50: (3, 4, 14, 3), 100: (3, 13, 30, 3), 200: (6, 26, 60, 6)}
ARCFACE_INPUT = 112  # ArcFace's aligned crop side


class IBasicBlock(nn.Module):
    """ArcFace's improved residual unit: BN-conv-BN-PReLU-conv-BN (Deng et al. 2019, fig. 7 / insightface)."""

    def __init__(self, cin: int, cout: int, stride: int = 1):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(cin, eps=1e-5)
        self.conv1 = nn.Conv2d(cin, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout, eps=1e-5)
        self.prelu = nn.PReLU(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, stride, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(cout, eps=1e-5)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                            nn.BatchNorm2d(cout, eps=1e-5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn3(self.conv2(self.prelu(self.bn2(self.conv1(self.bn1(x))))))
        return out + (x if self.downsample is None else self.downsample(x))


def _stage(cin: int, cout: int, blocks: int) -> nn.Sequential:
    return nn.Sequential(IBasicBlock(cin, cout, 2), *[IBasicBlock(cout, cout) for _ in range(blocks - 1)])


class IResNet(nn.Module):
    """insightface ``arcface_torch`` IResNet: 112x112 RGB in ``[-1, 1]`` -> 512-d feature (not normalised).

    Parameter names match the published ``backbone.pth`` files (conv1, bn1, prelu, layer1..4, bn2, fc,
    features), so their state dicts load strictly.
    """

    def __init__(self, layers=(3, 4, 14, 3), emb_dim: int = 512, dropout: float = 0.0):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(64, eps=1e-5)
        self.prelu = nn.PReLU(64)
        widths = (64, 64, 128, 256, 512)
        for i, n in enumerate(layers):
            setattr(self, f"layer{i + 1}", _stage(widths[i], widths[i + 1], n))
        self.bn2 = nn.BatchNorm2d(512, eps=1e-5)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(512 * 7 * 7, emb_dim)
        self.features = nn.BatchNorm1d(emb_dim, eps=1e-5)
        nn.init.constant_(self.features.weight, 1.0)
        self.features.weight.requires_grad = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: ``(N, 3, 112, 112)`` RGB in ``[-1, 1]`` -> ``(N, emb_dim)``."""
        x = self.prelu(self.bn1(self.conv1(x)))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.features(self.fc(self.dropout(torch.flatten(self.bn2(x), 1))))


class ArcFaceRecogniser(nn.Module):
    """A pretrained :class:`IResNet` behind the project's interface: ``(N, 3, H, W)`` in [0, 1] -> unit embedding."""

    def __init__(self, backbone: IResNet):
        super().__init__()
        self.backbone = backbone
        self.input_size = ARCFACE_INPUT

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(image, size=(ARCFACE_INPUT, ARCFACE_INPUT), mode="bilinear", align_corners=False,
                          antialias=True) if image.shape[-1] != ARCFACE_INPUT else image
        return F.normalize(self.backbone(x * 2 - 1), dim=1)


def iresnet_depth(state: dict) -> int:
    """The IResNet depth whose blocks-per-stage match a ``backbone.pth`` state dict."""
    counts = tuple(1 + max((int(k.split(".")[1]) for k in state if k.startswith(f"layer{i}.")), default=-1)
                   for i in range(1, 5))
    for depth, layers in IRESNET_LAYERS.items():
        if layers == counts:
            return depth
    raise ValueError(f"state dict has {counts} blocks per stage, not an insightface IResNet "
                     f"({', '.join(f'r{d}={v}' for d, v in IRESNET_LAYERS.items())})")


def load_arcface_backbone(path: str | Path, device: str = "cpu") -> ArcFaceRecogniser:
    """A pretrained ArcFace recogniser from an insightface ``arcface_torch`` ``backbone.pth`` (frozen, eval).

    The file is a plain state dict (``torch.load(..., weights_only=True)``); its depth is read from
    its keys. Errors are one line naming the file: missing file, not a state dict, wrong architecture.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"identity weights {path} do not exist: give an insightface arcface_torch "
                                f"backbone.pth (iresnet18/34/50/100/200)")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - torch raises several kinds for a non-checkpoint file
        raise ValueError(f"{path}: cannot read as a torch state dict ({str(err).splitlines()[0]})") from None
    state = state.get("state_dict", state) if isinstance(state, dict) else state
    if not isinstance(state, dict) or not all(torch.is_tensor(v) for v in state.values()):
        raise ValueError(f"{path}: not a state dict of tensors (an insightface backbone.pth is expected)")
    state = {k.removeprefix("module."): v for k, v in state.items()}
    emb_dim = int(state["fc.weight"].shape[0]) if "fc.weight" in state else 512
    net = IResNet(IRESNET_LAYERS[iresnet_depth(state)], emb_dim)
    try:
        net.load_state_dict(state)
    except RuntimeError as err:
        raise ValueError(f"{path}: weights do not fit IResNet ({str(err).splitlines()[0]})") from None
    return ArcFaceRecogniser(net).to(device).eval().requires_grad_(False)


class IdentityResNet(nn.Module):
    """The project's identity network: ``(N, 3, S, S)`` in [0, 1] -> ``(N, emb_dim)`` unit embedding.

    Args:
        input_size: the side S it is trained at (the fully connected output layer fixes it; other
            sizes are resized to it).
        widths: channels of the stem and of each stage (each stage halves the resolution).
        blocks: residual blocks per stage.
        emb_dim: embedding size (128 like dlib's descriptor [ours]; ArcFace: 512).
        dropout: before the fully connected layer (ArcFace "E" output).
        stem_stride: 2 halves the resolution in the stem (cheaper, for CPU profiles).
    """

    def __init__(self, input_size: int = 112, widths=(32, 64, 128, 256), blocks=(1, 2, 2, 1), emb_dim: int = 128,
                 dropout: float = 0.0, stem_stride: int = 1):
        super().__init__()
        if len(blocks) != len(widths):
            raise ValueError(f"IdentityResNet: {len(widths)} widths but {len(blocks)} block counts")
        self.input_size = int(input_size)
        if self.input_size < 2 ** len(widths):
            raise ValueError(f"IdentityResNet: input_size {input_size} too small for {len(widths)} stages")
        side = -(-self.input_size // stem_stride)
        for _ in widths:  # a 3x3 stride-2 convolution with padding 1 gives ceil(n / 2)
            side = -(-side // 2)
        self.stem = nn.Sequential(nn.Conv2d(3, widths[0], 3, stem_stride, 1, bias=False), nn.BatchNorm2d(widths[0]),
                                  nn.PReLU(widths[0]))
        chans = (widths[0], *widths)
        self.stages = nn.Sequential(*[_stage(chans[i], chans[i + 1], n) for i, n in enumerate(blocks)])
        self.out = nn.Sequential(nn.BatchNorm2d(widths[-1]), nn.Flatten(), nn.Dropout(dropout),
                                 nn.Linear(widths[-1] * side * side, emb_dim), nn.BatchNorm1d(emb_dim))

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        if image.shape[-2:] != (self.input_size, self.input_size):
            image = F.interpolate(image, size=(self.input_size, self.input_size), mode="bilinear",
                                  align_corners=False, antialias=True)
        return F.normalize(self.out(self.stages(self.stem(image * 2 - 1))), dim=1)


class ArcFaceHead(nn.Module):
    """Class centres of ArcFace eq. (3): ``(N, D)`` embeddings -> ``(N, n_classes)`` cosines ``cos θ_j``."""

    def __init__(self, emb_dim: int, n_classes: int):
        super().__init__()
        if n_classes < 2:
            raise ValueError(f"ArcFaceHead needs at least 2 classes (training identities), got {n_classes}")
        self.weight = nn.Parameter(torch.empty(n_classes, emb_dim))
        nn.init.normal_(self.weight, std=0.01)

    def forward(self, emb: torch.Tensor) -> torch.Tensor:
        return F.linear(F.normalize(emb, dim=1), F.normalize(self.weight, dim=1))
