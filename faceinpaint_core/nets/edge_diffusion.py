"""Edge generator and completion network of the edge-guided diffusion inpainter, source 002 sec. 2, eq. (4).

Both are the same 12-plain-convolution U-Net (:class:`TwelveConvUNet`; the source calls the edge model
"U-Net based", abstract) around a different middle block at 1/4 resolution:

* :class:`EdgeGenerator` ``B_pre = G_e(B_canny, M_g, I)`` (eq. (4)): masked Canny edges, masked grayscale and
  the mask in; 12 plain convolutions + 4 residual blocks (dilation 2, as EdgeConnect's, "to enlarge the
  receptive field", sec. 2.1) + one self-attention block; a sigmoid edge map out.
* :class:`CompletionNetwork` (sec. 2.2): 12 plain convolutions + the dilated fusion block (rates 1, 2, 4, 8)
  with mixed attention. Our reading of the source: it is the **conditional denoiser** of the DDPM —
  input ``x_t``, the masked image, the mask, the predicted edges and a timestep embedding; output ε (or
  ``x_0``). With ``diffusion=False`` the same network (no ``x_t``, no timestep) is a one-step GAN generator
  (tanh output), the other reading of the source, kept as an ablation.

Layer layout (``w`` = width; every conv but the last: conv → norm → (+ time bias) → activation)::

    enc: 7×7 w | 4×4/2 2w | 3×3 2w | 4×4/2 4w | 3×3 4w | 3×3 4w        (6 convs)
    middle at H/4 (4w channels)
    dec: 3×3 4w | 3×3 4w | up,3×3 2w | 3×3 2w (+skip) | up,3×3 w | 7×7 out (+skip)   (6 convs)
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .blocks.attention import SelfAttention
from .blocks.dilated_fusion import DilatedFusionBlock
from .blocks.residual import ResidualBlock
from .blocks.timestep import TimestepEmbedding


def group_norm(channels: int, groups: int = 8) -> nn.GroupNorm:
    """GroupNorm with the largest group count ≤ ``groups`` that divides ``channels`` (tiny widths stay valid)."""
    return nn.GroupNorm(math.gcd(channels, groups), channels)


NORMS = {"group": group_norm, "instance": lambda c: nn.InstanceNorm2d(c)}
ACTS = {"silu": nn.SiLU, "relu": lambda: nn.ReLU(inplace=True)}


class ConvLayer(nn.Module):
    """One plain convolution: (×2 nearest upsampling) → conv → norm → (+ time bias) → activation.

    Args:
        cin, cout, kernel, stride: the convolution (padding keeps ``H/stride``).
        norm, act: keys of :data:`NORMS` / :data:`ACTS`.
        temb_dim: timestep-embedding size (0 = no time bias).
        up: upsample ×2 before the convolution.
    """

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, norm: str = "group", act: str = "silu",
                 temb_dim: int = 0, up: bool = False):
        super().__init__()
        pad = (kernel - stride + 1) // 2 if stride > 1 else kernel // 2
        self.up = up
        self.conv = nn.Conv2d(cin, cout, kernel, stride, pad)
        self.norm, self.act = NORMS[norm](cout), ACTS[act]()
        self.time = nn.Linear(temb_dim, cout) if temb_dim else None

    def forward(self, x: torch.Tensor, temb: torch.Tensor | None = None) -> torch.Tensor:
        if self.up:
            x = F.interpolate(x, scale_factor=2.0, mode="nearest")
        h = self.norm(self.conv(x))
        if self.time is not None:
            h = h + self.time(temb)[:, :, None, None]
        return self.act(h)


class TwelveConvUNet(nn.Module):
    """The 12-plain-convolution encoder–decoder of source 002 (see the module docstring), skips at 1/1 and 1/2.

    Args:
        in_ch, out_ch: input / output channels.
        width: ``w``.
        middle: module applied at 1/4 resolution on ``4w`` channels.
        norm, act: per-layer normalisation and activation.
        temb_dim: timestep-embedding size (0 = unconditional on time).

    Shapes: ``(N, in_ch, H, W) -> (N, out_ch, H, W)``, ``H`` and ``W`` divisible by 4.
    """

    def __init__(self, in_ch: int, out_ch: int, width: int, middle: nn.Module, norm: str = "group",
                 act: str = "silu", temb_dim: int = 0):
        super().__init__()
        w, kw = width, dict(norm=norm, act=act, temb_dim=temb_dim)
        self.enc = nn.ModuleList([ConvLayer(in_ch, w, 7, **kw), ConvLayer(w, 2 * w, 4, 2, **kw),
                                  ConvLayer(2 * w, 2 * w, 3, **kw), ConvLayer(2 * w, 4 * w, 4, 2, **kw),
                                  ConvLayer(4 * w, 4 * w, 3, **kw), ConvLayer(4 * w, 4 * w, 3, **kw)])
        self.middle = middle
        self.dec = nn.ModuleList([ConvLayer(4 * w, 4 * w, 3, **kw), ConvLayer(4 * w, 4 * w, 3, **kw),
                                  ConvLayer(4 * w, 2 * w, 3, up=True, **kw), ConvLayer(4 * w, 2 * w, 3, **kw),
                                  ConvLayer(2 * w, w, 3, up=True, **kw)])
        self.out = nn.Conv2d(2 * w, out_ch, 7, padding=3)

    def plain_convs(self) -> int:
        """Number of plain convolutions (the source's 12)."""
        return len(self.enc) + len(self.dec) + 1

    def forward(self, x: torch.Tensor, temb: torch.Tensor | None = None) -> torch.Tensor:
        if x.shape[-1] % 4 or x.shape[-2] % 4:
            raise ValueError(f"{type(self).__name__}: H and W must be divisible by 4, got {tuple(x.shape[-2:])}")
        skips = {}
        for i, layer in enumerate(self.enc):
            x = layer(x, temb)
            skips[i] = x
        x = self.middle(x)
        x = self.dec[1](self.dec[0](x, temb), temb)
        x = self.dec[3](torch.cat([self.dec[2](x, temb), skips[2]], dim=1), temb)
        return self.out(torch.cat([self.dec[4](x, temb), skips[0]], dim=1))


class EdgeGenerator(nn.Module):
    """Edge generator ``G_e``, source 002 eq. (4): 12 plain convs + 4 residual blocks + 1 self-attention block.

    Args:
        width: ``w`` of the backbone (EdgeConnect: 64).
        res_blocks: residual blocks at 1/4 resolution (source: 4).
        attention: the self-attention block (source: one).

    Shapes: ``forward(gray, edges, mask)``: each ``(N, 1, H, W)`` (gray and edges already masked,
    mask 1 = hole) → edge map ``(N, 1, H, W)`` in ``[0, 1]``.
    """

    def __init__(self, width: int = 64, res_blocks: int = 4, attention: bool = True):
        super().__init__()
        ch = 4 * width
        middle = [ResidualBlock(ch, dilation=2, norm="instance") for _ in range(res_blocks)]
        middle += [SelfAttention(ch)] if attention else []
        self.net = TwelveConvUNet(3, 1, width, nn.Sequential(*middle), norm="instance", act="relu")

    def forward(self, gray: torch.Tensor, edges: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.net(torch.cat([gray, edges, mask], dim=1)))


class CompletionNetwork(nn.Module):
    """Face completion network, source 002 sec. 2.2: 12 plain convs + dilated fusion block + mixed attention.

    Args:
        width: ``w`` of the backbone.
        edges: take the edge map as an input channel (ablation ``use_edges``).
        diffusion: conditional denoiser (``x_t`` input, timestep embedding, linear output) or one-step GAN
            generator (tanh output in ``[-1, 1]``).
        dilation, attention: ablation flags of :class:`~.blocks.dilated_fusion.DilatedFusionBlock`.

    Shapes: ``forward(masked, mask, edges=None, x_t=None, t=None)``: ``masked`` ``(N, 3, H, W)`` in
    ``[-1, 1]`` with zeros in the hole, ``mask`` / ``edges`` ``(N, 1, H, W)``, ``x_t`` ``(N, 3, H, W)``,
    ``t`` ``(N,)`` long → ``(N, 3, H, W)`` (ε or ``x_0`` for the denoiser).
    """

    def __init__(self, width: int = 64, edges: bool = True, diffusion: bool = True, dilation: bool = True,
                 attention: bool = True):
        super().__init__()
        self.edges, self.diffusion = edges, diffusion
        in_ch = 4 + int(edges) + 3 * int(diffusion)
        temb_dim = 4 * width if diffusion else 0
        self.temb = TimestepEmbedding(width, temb_dim) if diffusion else None
        block = DilatedFusionBlock(4 * width, dilation=dilation, attention=attention)
        self.net = TwelveConvUNet(in_ch, 3, width, block, norm="group", act="silu", temb_dim=temb_dim)
        nn.init.zeros_(self.net.out.weight)  # DDPM: the output starts at 0 (ε̂ = 0 / mid-grey)
        nn.init.zeros_(self.net.out.bias)

    def forward(self, masked, mask, edges=None, x_t=None, t=None) -> torch.Tensor:
        parts = [masked, mask]
        if self.edges:
            if edges is None:
                raise ValueError("CompletionNetwork(edges=True) needs the edge map")
            parts.append(edges)
        if self.diffusion:
            if x_t is None or t is None:
                raise ValueError("CompletionNetwork(diffusion=True) needs x_t and t")
            parts.insert(0, x_t)
        out = self.net(torch.cat([p.to(masked.dtype) for p in parts], dim=1), self.temb(t) if self.diffusion else None)
        return out if self.diffusion else torch.tanh(out)
