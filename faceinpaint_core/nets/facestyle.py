"""Facial-style generator, patent CN113298736A eqs (1)-(21): style extraction, style fusion and a U-Net
whose skip connections are repaired by region normalisation.

Slips in the patent text and how this code resolves them (so the network is consistent):

* the down-sampling layer is written "3×3 conv, stride 1" (claim 3, [0013]), which cannot
  down-sample; we keep the 3×3 kernel and use stride 2 (padding 1);
* the claims say 5 down-sampling and 4 up-sampling layers, but eqs (19)-(20) apply one up-sampling
  to ``F^m`` and then ``N_d = 4`` more (``k = 2..N_d+1``), which is what returns the 1/32 bottleneck
  to full size; we use the 5 up-sampling layers of the equations, and eq. (21) reads
  ``F^m_{N_d+1}`` (the last one) where it writes ``F^m_{N_d}``;
* eq. (20) concatenates ``F^sc`` where the text and claim 2 say the repaired skip ``F^sr`` (eq. (18));
  we concatenate ``F^sr`` (``F^sc`` alone would make the boundary branch, eq. (12), dead code);
* the region-norm slips (β outside ``S_i``, background dropped) are resolved in
  :class:`~faceinpaint_core.nets.blocks.region_norm.RegionNormBlock`.

The patent feeds only the broken image ``I_in`` (3 channels); ``mask_channel=True`` appends the hole
mask as a fourth input channel (common practice, not the patent's; default off).
"""
from __future__ import annotations

import torch
from torch import nn

from .blocks.full_res_head import FullResHead
from .blocks.harmonic_fill import HOLE_INITS, fill_holes, refine_fill
from .blocks.region_norm import AdaptiveStyleFusion, RegionInpaintModule, holed_regions, style_matrix


class InstanceNorm(nn.InstanceNorm2d):
    """Instance norm (no affine) that passes a 1×1 map through unchanged.

    IN of a single pixel is identically 0 (and torch refuses it in training); this only happens to
    the innermost encoder layer at 32 px (tests, ``tiny``), never at the patent's 256 px.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x if x.shape[-1] * x.shape[-2] == 1 else super().forward(x)


def down_layer(cin: int, cout: int) -> nn.Sequential:
    """Down-sampling layer, patent claim 3: 3×3 conv (stride 2, see module docstring) + IN + LeakyReLU."""
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride=2, padding=1), InstanceNorm(cout), nn.LeakyReLU(0.2))


def up_layer(cin: int, cout: int, norm: bool = True) -> nn.Sequential:
    """Up-sampling layer, patent claim 3: 4×4 stride-2 transposed conv + IN + LeakyReLU (``norm=False``: no IN)."""
    return nn.Sequential(nn.ConvTranspose2d(cin, cout, 4, stride=2, padding=1),
                         InstanceNorm(cout) if norm else nn.Identity(), nn.LeakyReLU(0.2))


class StyleExtractNet(nn.Module):
    """Facial-style extraction sub-network ``F_s = StyleExtractNet(I_in)``, patent eq. (1), claim 3.

    A bottleneck (no skips) of 4 down-sampling and 3 up-sampling layers: ``F_s`` is at 1/2 of the
    input size with ``style_dim`` (256) channels.

    Args:
        in_ch: input channels (3, or 4 with the mask).
        widths: channels of the 4 down-sampling layers.
        style_dim: channels of ``F_s`` (the style length, 256 in eq. (4)).
    """

    def __init__(self, in_ch: int = 3, widths: tuple[int, ...] = (64, 128, 256, 256), style_dim: int = 256):
        super().__init__()
        if len(widths) != 4:
            raise ValueError(f"StyleExtractNet needs 4 down-sampling widths, got {widths}")
        chans = (in_ch, *widths)
        self.down = nn.Sequential(*[down_layer(a, b) for a, b in zip(chans[:-1], chans[1:])])
        ups = (widths[3], widths[2], widths[1], style_dim)
        self.up = nn.Sequential(*[up_layer(a, b) for a, b in zip(ups[:-1], ups[1:])])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Args: x ``(N, in_ch, H, W)``, ``H, W`` divisible by 16. Returns ``F_s`` ``(N, style_dim, H/2, W/2)``."""
        return self.up(self.down(x))


class FaceStyleGenerator(nn.Module):
    """Facial-style generation network, patent eqs (1)-(21), claims 1-4.

    Encoder (eqs (8)-(10)): 5 down-sampling layers; the first 4 outputs are the skips ``F_j^s``,
    the 5th is ``F^m`` (1/32 size). Each skip goes through its own :class:`RegionInpaintModule`
    (eq. (11)) with ``(γ, β)`` from its own :class:`AdaptiveStyleFusion` head (eqs (5)-(7)) fed by
    the style matrix of :class:`StyleExtractNet` (eqs (1)-(4)). Decoder (eqs (19)-(21)): 5 up-sampling
    layers, each after the first taking ``Cat(F^m_{k-1}, F^sr_{N_d-k+2})``; then 3×3 conv + tanh.

    Args:
        widths: channels of the 5 encoder layers (decoder mirrors them).
        style_widths: the 4 down-sampling widths of the style network.
        style_dim: style length (256).
        n_regions: ``N`` facial regions (8).
        mask_channel: also feed the hole mask (not in the patent).
        hole_value: what the hole holds in the [-1, 1] input (-1 = black, the patent's broken image; 0 = mid-grey).
        last_norm: instance-normalise the last (full-resolution) up-sampling layer too (claim 3: every layer).
        full_res_skip: concatenate the network input to the last decoder output before ``to_rgb`` (not in the
            patent, whose decoder reaches full resolution through one transposed convolution with no skip).
        full_res_head: with ``full_res_skip``, the last features and the input pass through
            :class:`~faceinpaint_core.nets.blocks.full_res_head.FullResHead` (two convolutions, as CLGN's stages)
            instead of the single ``to_rgb`` convolution (not in the patent).
        hole_init: what fills the hole in the input: ``constant`` (``hole_value``), ``harmonic`` or ``biharmonic``
            (a classical fill, :func:`.blocks.harmonic_fill.fill_holes`, for the network to refine; not in the patent).
        residual: the output is the input image plus a correction, ``refine_fill(input, to_rgb(f))``, instead of
            ``tanh(to_rgb(f))`` (eq. (21); not in the patent). ``to_rgb`` is zero-initialised then (as ControlNet's
            "zero convolution"): with PyTorch's default initialisation the untrained correction is O(1) and the
            network starts 6 dB below its own input fill (measured: 18.4 vs 24.1 dB on the validation faces).
    """

    def __init__(self, widths=(64, 128, 256, 512, 512), style_widths=(64, 128, 256, 256), style_dim: int = 256,
                 n_regions: int = 8, mask_channel: bool = False, hole_value: float = -1.0, last_norm: bool = True,
                 full_res_skip: bool = False, hole_init: str = "constant", residual: bool = False,
                 full_res_head: bool = False):
        super().__init__()
        if full_res_head and not full_res_skip:
            raise ValueError("FaceStyleGenerator full_res_head=True needs full_res_skip=True (the head reads the input)")
        if hole_init not in HOLE_INITS:
            raise ValueError(f"FaceStyleGenerator hole_init must be one of {list(HOLE_INITS)}, got {hole_init!r}")
        self.hole_init, self.residual = hole_init, residual
        if len(widths) != 5:
            raise ValueError(f"FaceStyleGenerator needs 5 encoder widths, got {widths}")
        self.mask_channel, self.n_regions, self.hole_value = mask_channel, n_regions, float(hole_value)
        in_ch = 4 if mask_channel else 3
        self.style_net = StyleExtractNet(in_ch, tuple(style_widths), style_dim)
        chans = (in_ch, *widths)
        self.encoder = nn.ModuleList([down_layer(a, b) for a, b in zip(chans[:-1], chans[1:])])
        self.fusions = nn.ModuleList([AdaptiveStyleFusion(style_dim, c, n_regions) for c in widths[:4]])
        self.repairs = nn.ModuleList([RegionInpaintModule(c) for c in widths[:4]])
        outs = (widths[3], widths[2], widths[1], widths[0], widths[0])
        ins = (widths[4], outs[0] + widths[3], outs[1] + widths[2], outs[2] + widths[1], outs[3] + widths[0])
        self.decoder = nn.ModuleList([up_layer(a, b, last_norm or k < len(outs) - 1)
                                      for k, (a, b) in enumerate(zip(ins, outs))])
        self.full_res_skip, self.full_res_head = full_res_skip, full_res_head
        if full_res_head:  # residual: the correction starts at 0, so the untrained network returns its input's fill
            self.head = FullResHead(outs[-1], in_ch, 3, zero_last=residual)
        else:
            self.to_rgb = nn.Conv2d(outs[-1] + (in_ch if full_res_skip else 0), 3, 3, padding=1)
            if residual:
                nn.init.zeros_(self.to_rgb.weight)
                nn.init.zeros_(self.to_rgb.bias)

    def _input(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        if self.hole_init != "constant":
            x = fill_holes(self.hole_init, image, mask) * 2 - 1
        else:
            x = (image * (1 - mask)) * 2 - 1
            if self.hole_value != -1.0:
                x = x * (1 - mask) + self.hole_value * mask
        return torch.cat([x, mask * 2 - 1], dim=1) if self.mask_channel else x

    def forward(self, image: torch.Tensor, mask: torch.Tensor, regions: torch.Tensor) -> torch.Tensor:
        """Inpaint a broken face.

        Args:
            image: ``(N, 3, H, W)`` in ``[0, 1]`` (hole pixels are zeroed here); ``H, W`` divisible by 32.
            mask: ``(N, 1, H, W)`` float, 1 = hole.
            regions: ``(N, R, H, W)`` float one-hot facial regions (no background channel).
        Returns: ``(N, 3, H, W)`` in ``[-1, 1]`` (tanh, eq. (21)).
        """
        if image.shape[-1] % 32 or image.shape[-2] % 32:
            raise ValueError(f"FaceStyleGenerator needs H and W divisible by 32, got {tuple(image.shape[-2:])}")
        if regions.shape[1] != self.n_regions:
            raise ValueError(f"expected {self.n_regions} region maps, got {regions.shape[1]}")
        x = inp = self._input(image, mask)
        smatrix = style_matrix(self.style_net(x), regions)
        active = holed_regions(regions, mask)
        skips = []
        for layer in self.encoder:
            x = layer(x)
            skips.append(x)
        feat = skips.pop()  # F^m, eq. (10)
        repaired = [rep(f, regions, active, *fus(smatrix)) for f, rep, fus in zip(skips, self.repairs, self.fusions)]
        feat = self.decoder[0](feat)  # eq. (19)
        for up, skip in zip(self.decoder[1:], reversed(repaired)):  # eq. (20), with F^sr
            feat = up(torch.cat([feat, skip], dim=1))
        if self.full_res_head:
            z = self.head(feat, inp)
        else:
            z = self.to_rgb(torch.cat([feat, inp], dim=1) if self.full_res_skip else feat)
        if self.residual:
            return refine_fill(inp[:, :3], z, -1.0, 1.0)
        return torch.tanh(z)  # eq. (21)
