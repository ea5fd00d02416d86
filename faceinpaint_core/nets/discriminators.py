"""Discriminators: PatchGAN (Isola et al. 2017), SN-PatchGAN (Yu et al. 2019, DeepFill v2), LG-Net's
SN-PatchGAN (Quan et al. 2022 release), global+local (Iizuka et al. 2017).

All return raw scores (logits); the adversarial loss (:mod:`faceinpaint_core.losses.adversarial`)
averages them over every position. :func:`geometry` gives a discriminator's output shape and the
receptive field of one output (analytic, from its conv stack) at a resolution:

=================  =======================  ==========================
name               output at 256 px (w=64)  receptive field
=================  =======================  ==========================
``patchgan``       1 × 30 × 30              70 px (n_layers=3)
``lgnet-patchgan`` 1 × 27 × 27              93 px
``sn-patchgan``    256 × 4 × 4              253 px
``global-local``   1                        whole image + hole crop
=================  =======================  ==========================
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn.utils import spectral_norm

NORMS = ("instance", "none")


def _conv(cin: int, cout: int, k: int, s: int, p: int, spectral: bool) -> nn.Conv2d:
    conv = nn.Conv2d(cin, cout, k, s, p)
    return spectral_norm(conv) if spectral else conv


def _norm(kind: str, ch: int) -> nn.Module:
    return nn.InstanceNorm2d(ch) if kind == "instance" else nn.Identity()


class PatchGAN(nn.Module):
    """pix2pix PatchGAN (Isola et al. 2017, appendix 6.1.2): one logit per overlapping patch.

    ``n_layers`` stride-2 4×4 convs (the first without norm), one stride-1 4×4 conv, then a 4×4 conv to
    one channel; LeakyReLU(0.2). With ``n_layers=3`` each output sees a 70×70 receptive field.

    Args:
        in_ch: input channels (3 for an image; more for conditioned inputs).
        width: channels of the first conv (doubled per layer, capped at 8×).
        n_layers: number of stride-2 convs.
        norm: ``"instance"`` or ``"none"``.
        spectral: wrap every conv in spectral normalisation (Miyato et al. 2018).

    Shapes: ``(N, in_ch, H, W)`` → ``(N, 1, H', W')``.
    """

    def __init__(self, in_ch: int = 3, width: int = 64, n_layers: int = 3, norm: str = "instance",
                 spectral: bool = False):
        super().__init__()
        if norm not in NORMS:
            raise ValueError(f"unknown PatchGAN norm {norm!r}; known: {list(NORMS)}")
        layers: list[nn.Module] = [_conv(in_ch, width, 4, 2, 1, spectral), nn.LeakyReLU(0.2, True)]
        ch = width
        for n in range(1, n_layers + 1):
            out = width * min(2 ** n, 8)
            stride = 2 if n < n_layers else 1
            layers += [_conv(ch, out, 4, stride, 1, spectral), _norm(norm, out), nn.LeakyReLU(0.2, True)]
            ch = out
        layers.append(_conv(ch, 1, 4, 1, 1, spectral))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class LGNetPatchGAN(nn.Module):
    """LG-Net's spectral-norm PatchGAN (Quan et al. 2022, public code ``models/networks.py:
    SNDiscriminator``, ``--netD snpatch``): four 5×5 spectral-normed convs without bias, strides
    2, 2, 2, 1, padding 1, channels ``width·(1, 2, 4, 8)``, LeakyReLU(0.2); then a plain 5×5 conv
    (stride 1, padding 1, with bias) to one channel. Receptive field 93 px (DeepFill v2's SN-PatchGAN:
    253 px).

    Args:
        in_ch: input channels (LG-Net: 3, the image only).
        width: channels of the first conv (LG-Net: 64).

    Shapes: ``(N, in_ch, H, W)`` → ``(N, 1, H', W')``; 256 → 27, 64 → 3; inputs need
    ``H, W >= MIN_SIZE`` (47).
    """

    MIN_SIZE = 47

    def __init__(self, in_ch: int = 3, width: int = 64):
        super().__init__()
        chans = [in_ch] + [width * m for m in (1, 2, 4, 8)]
        layers: list[nn.Module] = []
        for cin, cout, stride in zip(chans[:-1], chans[1:], (2, 2, 2, 1)):
            layers += [spectral_norm(nn.Conv2d(cin, cout, 5, stride, 1, bias=False)), nn.LeakyReLU(0.2, True)]
        self.net = nn.Sequential(*layers, nn.Conv2d(chans[-1], 1, 5, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if min(x.shape[-2:]) < self.MIN_SIZE:
            raise ValueError(f"LGNetPatchGAN needs images of at least {self.MIN_SIZE} px, got {tuple(x.shape[-2:])}; "
                             "use disc=patchgan or sn-patchgan below that")
        return self.net(x)


class SNPatchGAN(nn.Module):
    """SN-PatchGAN, Yu et al. 2019 (DeepFill v2) sec. 3.2: six 5×5 stride-2 spectral-normed convs.

    Channels ``width·(1, 2, 4, 4, 4, 4)``, LeakyReLU(0.2); the whole final feature map is the output
    (each element is one GAN "patch" score, used with the hinge loss in the paper).

    Args:
        in_ch: input channels: image (3) + mask (1) = 4 by default.
        width: channels of the first conv.

    Shapes: ``forward(x, mask=None)``: ``x`` ``(N, in_ch, H, W)``, or ``(N, in_ch - 1, H, W)`` with
    ``mask`` ``(N, 1, H, W)`` concatenated here → ``(N, 4·width, H/64, W/64)``.
    """

    def __init__(self, in_ch: int = 4, width: int = 64):
        super().__init__()
        chans = [in_ch] + [width * m for m in (1, 2, 4, 4, 4, 4)]
        layers: list[nn.Module] = []
        for cin, cout in zip(chans[:-1], chans[1:]):
            layers += [_conv(cin, cout, 5, 2, 2, spectral=True), nn.LeakyReLU(0.2, True)]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Runs in float32 even under autocast: spectral normalisation's power iteration (``mv``/``dot``) in bf16
        can drive σ to 0 and the scores to NaN (seen with bf16 autocast on CPU)."""
        if mask is not None:
            x = torch.cat([x, mask.to(x.dtype)], dim=1)
        with torch.autocast(x.device.type, enabled=False):
            return self.net(x.float())


def _branch(in_ch: int, width: int, size: int) -> tuple[nn.Sequential, int]:
    """5×5 stride-2 convs down to 4×4 (Iizuka: 6 layers at 256, 5 on the 128 crop), then flatten."""
    depth = int(math.log2(size)) - 2
    layers: list[nn.Module] = []
    ch = in_ch
    for i in range(depth):
        out = width * min(2 ** i, 8)
        layers += [nn.Conv2d(ch, out, 5, 2, 2), nn.BatchNorm2d(out), nn.ReLU(True)]
        ch = out
    return nn.Sequential(*layers, nn.Flatten()), ch * 16


def hole_crop_boxes(mask: torch.Tensor, crop: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Top-left corners ``(top, left)`` (each ``(N,)`` long) of ``crop``×``crop`` windows centred on each
    hole's bounding box, clamped inside the image; an empty mask gives the centre crop.

    Args:
        mask: ``(N, 1, H, W)`` float, 1 = hole.
    """
    h, w = mask.shape[-2:]
    hole = mask[:, 0] > 0.5
    rows, cols = hole.any(dim=2), hole.any(dim=1)

    def centre(any_: torch.Tensor, n: int) -> torch.Tensor:
        idx = torch.arange(n, device=mask.device)
        first = torch.where(any_, idx, n).amin(dim=1)
        last = torch.where(any_, idx, -1).amax(dim=1)
        return torch.where(last >= 0, (first + last) // 2, torch.full_like(first, n // 2))

    top = (centre(rows, h) - crop // 2).clamp(0, h - crop)
    left = (centre(cols, w) - crop // 2).clamp(0, w - crop)
    return top, left


def crop_batch(x: torch.Tensor, top: torch.Tensor, left: torch.Tensor, crop: int) -> torch.Tensor:
    """Per-sample crops ``(N, C, crop, crop)`` (differentiable gather, no host sync)."""
    ar = torch.arange(crop, device=x.device)
    iy = (top[:, None] + ar)[:, :, None]       # (N, crop, 1)
    ix = (left[:, None] + ar)[:, None, :]      # (N, 1, crop)
    n = torch.arange(x.shape[0], device=x.device)[:, None, None]
    return x.permute(0, 2, 3, 1)[n, iy, ix].permute(0, 3, 1, 2)


class GlobalLocalDiscriminator(nn.Module):
    """Global and local context discriminators, Iizuka et al. 2017 sec. 3.2 (Fig. 2).

    The global branch sees the whole ``size``×``size`` image, the local branch a ``size/2`` crop
    centred on the hole's bounding box (clamped inside the image). Each branch is a stack of 5×5
    stride-2 convs down to 4×4 (6 and 5 layers at 256 px, as in the paper) and a 1024-d FC layer;
    the two 1024-d vectors are **concatenated** and a final FC gives one logit per image (the paper's
    design, not an average of two scores).

    Args:
        width: channels of the first conv (paper: 64; doubled per layer, capped at 8×).
        size: input resolution, a power of two ≥ 16.

    Shapes: ``forward(x, mask)``: ``(N, 3, size, size)``, ``(N, 1, size, size)`` → ``(N, 1)``.
    """

    def __init__(self, width: int = 64, size: int = 256):
        super().__init__()
        if size < 16 or size & (size - 1):
            raise ValueError(f"GlobalLocalDiscriminator: size must be a power of two >= 16, got {size}")
        self.size, self.crop = size, size // 2
        self.global_branch, g_ch = _branch(3, width, size)
        self.local_branch, l_ch = _branch(3, width, self.crop)
        self.global_fc, self.local_fc = nn.Linear(g_ch, 1024), nn.Linear(l_ch, 1024)
        self.head = nn.Linear(2048, 1)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        if x.shape[-2:] != (self.size, self.size) or mask.shape[-2:] != x.shape[-2:]:
            raise ValueError(f"GlobalLocalDiscriminator(size={self.size}): got image {tuple(x.shape)}, "
                             f"mask {tuple(mask.shape)}")
        top, left = hole_crop_boxes(mask, self.crop)
        local = crop_batch(x, top, left, self.crop)
        g = torch.relu(self.global_fc(self.global_branch(x)))
        loc = torch.relu(self.local_fc(self.local_branch(local)))
        return self.head(torch.cat([g, loc], dim=1))


DISCRIMINATORS = {"patchgan": PatchGAN, "lgnet-patchgan": LGNetPatchGAN, "sn-patchgan": SNPatchGAN,
                  "global-local": GlobalLocalDiscriminator}


def receptive_field(net: nn.Module) -> int | None:
    """Receptive field (px) of one output of a plain conv/pool stack, from its layers in order:
    ``r = 1 + Σ_l (k_l - 1)·d_l·Π_{i<l} s_i``. None when ``net`` has a fully connected layer (each
    output sees the whole input)."""
    r, jump = 1, 1
    for m in net.modules():
        if isinstance(m, nn.Linear):
            return None
        if isinstance(m, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)):
            k, s, d = (_pair(getattr(m, a, 1))[0] for a in ("kernel_size", "stride", "dilation"))
            r += (k - 1) * d * jump
            jump *= s
    return r


def _pair(v) -> tuple:
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def _input_channels(net: nn.Module) -> int:
    first = next(m for m in net.modules() if isinstance(m, nn.Conv2d))
    return first.in_channels


@torch.no_grad()
def geometry(net: nn.Module, size: int) -> dict:
    """``{"output_shape": (C, H', W') or (1,), "receptive_field": px or None (whole image)}`` at
    ``size``×``size`` for one input image (random-init net, eval mode; the global-local D gets a centre hole).
    """
    was_training = net.training
    net.eval()
    x = torch.zeros(1, _input_channels(net), size, size)
    try:
        if isinstance(net, GlobalLocalDiscriminator):
            mask = torch.zeros(1, 1, size, size)
            out = net(x, mask)
        else:
            out = net(x)
    finally:
        net.train(was_training)
    return {"output_shape": tuple(out.shape[1:]), "receptive_field": receptive_field(net)}
