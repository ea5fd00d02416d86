"""CLGN: coarse–local–global inpainting generator with GAM; seed "人脸图像智能化处理研究" slides 02, 04, 07.

The seed (slides only) says: three generators in sequence — coarse, local refinement (small
receptive field, texture detail), global refinement (large receptive field, structure) — built from
CNN / residual blocks, with the Global Attention Mechanism (GAM) added "from deep to shallow"
(由深到浅), every stage completing the previous one (多次补全). Its strongest baseline LG-Net
(Quan et al., "Image Inpainting with Local and Global Refinement", IEEE TIP 31:2405-2420, 2022)
has the same three stages without GAM. Every choice the seed leaves open is taken from LG-Net's
public release (github.com/weizequan/LGNet: model ``pix2pixglg``, ``--netG1 unet_256 --netG2
resnet_4blocks --netG3 unet256 --netD snpatch --gan_mode lsgan``) where it has one, marked [LG]
below; our own choices are marked [ours].

Stage wiring (LG-Net release; seed "多次补全")
    x_k-input = cat(2*c_{k-1} - 1, m)  (4 channels, image part in [-1, 1])              [LG]
    c_0 = x ⊙ (1 - m) + 1 ⊙ m          (holes filled with white before stage 1)          [LG]
    y_k = G_k(x_k-input)                 (raw stage output, in [0, 1])
    c_k = x ⊙ (1 - m) + y_k ⊙ m          (composite: known pixels kept exactly)           [LG]
  Only ``x ⊙ (1 - m)`` and ``m`` are read, never hole pixels of the ground truth.

Stage 1, coarse network ``G_1``: U-Net (pix2pix "unet_256") with ``unet_depth`` stride-2 4x4
  convolutions (8 at 256 px: 1x1 bottleneck, receptive field > image), widths w, 2w, 4w, 8w, 8w...
  (capped at 8w), LeakyReLU(0.2) encoder, ReLU + transposed-conv decoder, skip concatenations,
  no norm on the outermost and innermost down convs.                                        [LG]
Stage 2, local refinement ``G_2``: ResNet generator ("resnet_4blocks"): 7x7 conv, ``local_downs``
  (=2) stride-2 3x3 convs, ``local_blocks`` (=4) residual blocks at 4w (dilation 1), 2 transposed
  convs, 7x7 conv. Its receptive field is 85 px (133 px with GAM's two 7x7 convs at 1/4 scale;
  measured by input gradients), i.e. local, whatever the image size. No dilation.           [LG]
Stage 3, global refinement ``G_3``: the same U-Net topology as ``G_1`` (whole-image receptive
  field). LG-Net puts its own attention modules after the decoder levels at 1/16, 1/8 and 1/4 of
  the input; CLGN puts GAM there (deep → shallow, the seed's "由深到浅").                   [LG+ours]
GAM sites (``gam=True``): in every stage listed in ``gam_stages`` (default all three, so that the
  ``gam`` flag is meaningful for the 1- and 2-stage ablations too): U-Nets after the decoder
  levels at scales 1/16, 1/8, 1/4 (those that exist at the chosen depth); ResNet after its
  residual trunk (1/4 scale). Reduction rate r = 4 (GAM paper).                             [ours]
CLGN without GAM (``gam=False``, the CLGN ablation ``no-gam``): identical network with GAM removed.
  LG-Net itself (method ``lgnet``, nets/lgnet.py) puts its own attention at the GAM sites of ``G_3``.
Normalisation: BatchNorm (``norm="batch"``; instance / none selectable); GAM keeps BatchNorm as
  in the GAM paper. Weights: N(0, 0.02) for conv/linear, N(1, 0.02) for norm scales.        [LG]
Output activation: ``(tanh(z) + 1) / 2`` — LG-Net's tanh output in [-1, 1] mapped to [0, 1].
Widths: w = 64 (``width``) in ``full``, as pix2pix / LG-Net's ``ngf``.                     [LG]
Full-resolution skip (``full_res_skip=True``, not in the seed nor LG-Net; default off): every stage's first
  layer is stride 2 (U-Net) or its trunk runs at 1/4 (ResNet), and its output comes from a 2x up-sampling, so no
  layer sees the input at full resolution next to the output, and a 1-2 px hole is filled from features at 1/2 scale.
  With the flag, the stage input ``cat(2c - 1, m)`` is concatenated to the last full-resolution features and
  a two-layer 3x3 head (conv, ReLU, conv) makes the output, as PConv's U-Net (Liu et al., ECCV 2018) feeds its
  last layer the input image and mask.                                                       [ours]
Input size: H and W must be divisible by ``2**unet_depth`` (and ``2**local_downs``).
Size (``full``, 256 px): G 133.2 M parameters (G_1 63.0 M, G_2 7.1 M, G_3 63.0 M), 109 GFLOPs per
  forward; without GAM (LG-Net) 114.3 M and 75 GFLOPs — the 7x7 spatial convs of GAM cost the rest.
"""
from __future__ import annotations

import torch
from torch import nn

from .blocks.full_res_head import FullResHead
from .blocks.gam import GlobalAttentionModule
from .blocks.harmonic_fill import HOLE_INITS, fill_holes, refine_fill  # constant: hole_fill (LG-Net: white)
from .blocks.residual import ResidualBlock, norm_layer
from .blocks.upsample import upsample_conv

GAM_SCALES = (16, 8, 4)  # decoder scales (1/16, 1/8, 1/4) that get GAM, deep → shallow


def unet_widths(width: int, depth: int) -> list[int]:
    """Encoder output channels per level, pix2pix style: w, 2w, 4w, 8w, 8w, ... (capped at 8w)."""
    return [width * min(2 ** i, 8) for i in range(depth)]


def stage_input(composite: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Network input of a CLGN stage (LG-Net release): ``cat(2*c - 1, m)``.

    Args:
        composite: ``(N, 3, H, W)`` in [0, 1], previous composite (or hole-filled input).
        mask: ``(N, 1, H, W)``, 1 = hole.
    Returns:
        ``(N, 4, H, W)``.
    """
    return torch.cat([composite * 2 - 1, mask], dim=1)


def to_unit(z: torch.Tensor) -> torch.Tensor:
    """Output activation: ``(tanh(z) + 1) / 2`` in [0, 1]."""
    return (torch.tanh(z) + 1) / 2


class UNetStage(nn.Module):
    """U-Net stage (coarse ``G_1`` / global ``G_3``) of CLGN, seed slide 04; LG-Net unet_256 / Unet256.

    Args:
        width: w, channels of the first encoder level.
        depth: number of stride-2 levels; inputs need H, W divisible by ``2**depth``.
        norm: batch | instance | none.
        gam_rate: GAM reduction r, or None for no GAM; GAM sits after decoder levels at 1/16, 1/8, 1/4.
        attention: ``channels -> nn.Module`` put at those sites instead of GAM (LG-Net's global stage), or None.
        in_channels, out_channels: 4 (RGB in [-1, 1] + mask) and 3 by default.
        full_res_skip: the last up-sampling makes ``width`` features, concatenated with the input and turned
            into the output by :class:`FullResHead` (module docstring).
    """

    def __init__(self, width: int, depth: int, norm: str = "batch", gam_rate: int | None = None,
                 in_channels: int = 4, out_channels: int = 3, attention=None, upsample: str = "deconv",
                 full_res_skip: bool = False):
        super().__init__()
        if depth < 2:
            raise ValueError(f"UNetStage needs depth >= 2, got {depth}")
        self.depth, ch, make_norm = depth, unet_widths(width, depth), norm_layer(norm)
        bias = norm != "batch"
        self.down = nn.ModuleList([nn.Conv2d(in_channels, ch[0], 4, 2, 1)])
        for i in range(1, depth):
            last = i == depth - 1
            self.down.append(nn.Sequential(nn.LeakyReLU(0.2), nn.Conv2d(ch[i - 1], ch[i], 4, 2, 1, bias=bias or last),
                                           nn.Identity() if last else make_norm(ch[i])))
        self.up = nn.ModuleList()
        self.gam = nn.ModuleDict()
        for i in range(depth - 1, 0, -1):  # decoder level producing scale 2**i with ch[i-1] channels
            cin = ch[i] if i == depth - 1 else 2 * ch[i]
            self.up.append(nn.Sequential(nn.ReLU(), upsample_conv(upsample, cin, ch[i - 1], 4, bias=bias),
                                         make_norm(ch[i - 1])))
            if attention is not None and 2 ** i in GAM_SCALES:  # LG-Net's own attention at the same sites
                self.gam[str(2 ** i)] = attention(ch[i - 1])
            elif gam_rate is not None and 2 ** i in GAM_SCALES:
                self.gam[str(2 ** i)] = GlobalAttentionModule(ch[i - 1], gam_rate)
        if full_res_skip:
            self.out = nn.Sequential(nn.ReLU(), upsample_conv(upsample, 2 * ch[0], ch[0], 4), nn.ReLU())
            self.head = FullResHead(ch[0], in_channels, out_channels)
        else:
            self.out = nn.Sequential(nn.ReLU(), upsample_conv(upsample, 2 * ch[0], out_channels, 4))
            self.head = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, 4, H, W)`` -> pre-activation ``(N, 3, H, W)``."""
        stage_in, skips = x, []
        for layer in self.down:
            x = layer(x)
            skips.append(x)
        h = skips.pop()
        for k, layer in enumerate(self.up):
            scale = 2 ** (self.depth - 1 - k)
            h = layer(h)
            if str(scale) in self.gam:
                h = self.gam[str(scale)](h)
            h = torch.cat([skips.pop(), h], dim=1)
        h = self.out(h)
        return h if self.head is None else self.head(h, stage_in)


class LocalStage(nn.Module):
    """Local refinement stage ``G_2`` of CLGN (small receptive field), seed slide 04; LG-Net resnet_4blocks.

    Args:
        width: w; the residual trunk runs at ``w * 2**downs`` channels and 1/``2**downs`` scale.
        blocks: number of residual blocks.
        downs: number of stride-2 convolutions before the trunk.
        norm: batch | instance | none.
        gam_rate: GAM reduction r after the trunk, or None for no GAM.
        full_res_skip: the input joins the last full-resolution features in a :class:`FullResHead` instead of
            the final 7x7 convolution (module docstring).
    """

    def __init__(self, width: int, blocks: int = 4, downs: int = 2, norm: str = "batch",
                 gam_rate: int | None = None, in_channels: int = 4, out_channels: int = 3, upsample: str = "deconv",
                 full_res_skip: bool = False):
        super().__init__()
        make_norm, bias = norm_layer(norm), norm != "batch"
        layers = [nn.Conv2d(in_channels, width, 7, padding=3, padding_mode="reflect", bias=bias),
                  make_norm(width), nn.ReLU()]
        for i in range(downs):
            c = width * 2 ** i
            layers += [nn.Conv2d(c, 2 * c, 3, 2, 1, bias=bias), make_norm(2 * c), nn.ReLU()]
        trunk = width * 2 ** downs
        layers += [ResidualBlock(trunk, norm=norm) for _ in range(blocks)]
        if gam_rate is not None:
            layers.append(GlobalAttentionModule(trunk, gam_rate))
        for i in range(downs, 0, -1):
            c = width * 2 ** i
            layers += [upsample_conv(upsample, c, c // 2, 3, bias=bias), make_norm(c // 2), nn.ReLU()]
        if full_res_skip:
            self.head = FullResHead(width, in_channels, out_channels)
        else:
            layers.append(nn.Conv2d(width, out_channels, 7, padding=3, padding_mode="reflect"))
            self.head = None
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, 4, H, W)`` -> pre-activation ``(N, 3, H, W)``."""
        h = self.body(x)
        return h if self.head is None else self.head(h, x)


class CLGN(nn.Module):
    """Coarse–local–global generator with GAM, seed slide 04 (LG-Net + GAM); ablations are flags.

    Args:
        stages: 1 (coarse), 2 (+ local) or 3 (+ global).
        gam: put GlobalAttentionModule blocks in the stages listed in ``gam_stages``.
        width: w (64 in the paper); unet_depth: stride-2 levels of the U-Nets (8 at 256 px).
        local_blocks, local_downs: residual blocks / downsamplings of the local stage.
        norm: batch | instance | none; gam_rate: GAM reduction r; hole_fill: value put in holes
        before stage 1 (1 = white, LG-Net); upsample: deconv (transposed convolutions, LG-Net's pix2pix U-Net) |
        resize (nearest 2x + 3x3 convolution, :mod:`.blocks.upsample`); full_res_skip: every stage ends in a
        :class:`FullResHead` that also reads the stage input at full resolution (not in the seed / LG-Net);
        hole_init: constant (holes = ``hole_fill`` before stage 1, LG-Net) | harmonic | biharmonic (holes filled by
        :func:`.blocks.harmonic_fill.fill_holes`, so stage 1 refines a classical fill; not in the seed / LG-Net).
        residual: each stage outputs its input composite plus a correction, ``clamp(c_{k-1} + tanh(z), 0, 1)``,
            instead of ``(tanh(z) + 1) / 2`` (not in the seed / LG-Net; with a classical ``hole_init`` stage 1
            starts from that fill and learns what it gets wrong).
    """

    def __init__(self, stages: int = 3, gam: bool = True, width: int = 64, unet_depth: int = 8,
                 local_blocks: int = 4, local_downs: int = 2, norm: str = "batch", gam_rate: int = 4,
                 gam_stages: tuple[int, ...] = (1, 2, 3), hole_fill: float = 1.0, upsample: str = "deconv",
                 full_res_skip: bool = False, hole_init: str = "constant", residual: bool = False):
        super().__init__()
        if stages not in (1, 2, 3):
            raise ValueError(f"CLGN stages must be 1, 2 or 3, got {stages!r}")
        if hole_init not in HOLE_INITS:
            raise ValueError(f"CLGN hole_init must be one of {list(HOLE_INITS)}, got {hole_init!r}")
        self.stages, self.hole_fill, self.hole_init, self.residual = stages, float(hole_fill), hole_init, residual
        self.multiple = 2 ** max(unet_depth, local_downs if stages >= 2 else 0)
        rate = lambda k: gam_rate if gam and k in gam_stages else None
        nets = [UNetStage(width, unet_depth, norm, rate(1), upsample=upsample, full_res_skip=full_res_skip),
                LocalStage(width, local_blocks, local_downs, norm, rate(2), upsample=upsample,
                           full_res_skip=full_res_skip),
                UNetStage(width, unet_depth, norm, rate(3), upsample=upsample, full_res_skip=full_res_skip)]
        self.nets = nn.ModuleList(nets[:stages])

    def _check(self, image: torch.Tensor, mask: torch.Tensor) -> None:
        if image.dim() != 4 or image.shape[1] != 3 or mask.shape != (image.shape[0], 1, *image.shape[2:]):
            raise ValueError(f"CLGN expects image (N, 3, H, W) and mask (N, 1, H, W), got {tuple(image.shape)} "
                             f"and {tuple(mask.shape)}")
        h, w = image.shape[2:]
        if h % self.multiple or w % self.multiple:
            raise ValueError(f"CLGN (unet_depth / local_downs) needs H and W divisible by {self.multiple}, "
                             f"got {h}x{w}; resize the input or lower unet_depth")

    def forward(self, masked_image: torch.Tensor, mask: torch.Tensor) -> dict[str, torch.Tensor]:
        """Run the stages; each completes the previous composite (seed "多次补全").

        Args:
            masked_image: ``(N, 3, H, W)`` in [0, 1]; hole pixels are ignored (multiplied by 1 - mask).
            mask: ``(N, 1, H, W)``, 1 = hole.
        Returns:
            ``{"stage1": y_1, "comp1": c_1, ...}``: raw outputs ``y_k`` and composites ``c_k``,
            each ``(N, 3, H, W)`` in [0, 1]; ``"pred"`` is the last raw output.
        """
        self._check(masked_image, mask)
        known = masked_image * (1 - mask)
        comp = fill_holes(self.hole_init, known, mask, self.hole_fill)
        out: dict[str, torch.Tensor] = {}
        for k, net in enumerate(self.nets, start=1):
            z = net(stage_input(comp, mask))
            y = refine_fill(comp, z) if self.residual else to_unit(z)
            comp = known + y * mask
            out[f"stage{k}"], out[f"comp{k}"] = y, comp
        out["pred"] = out[f"stage{self.stages}"]
        return out


def count_parameters(net: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in net.parameters() if p.requires_grad)


__all__ = ["CLGN", "FullResHead", "UNetStage", "LocalStage", "GAM_SCALES", "stage_input", "to_unit", "unet_widths",
           "count_parameters"]
