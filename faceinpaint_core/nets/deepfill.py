"""The coarse-to-fine generator of DeepFill v1 (Yu et al. 2018, "CA") and DeepFill v2 (Yu et al. 2019), one
implementation with the convolution as a switch: ``conv="vanilla"`` (v1: conv + ELU) or ``conv="gated"``
(v2: :class:`~faceinpaint_core.nets.blocks.gated_conv.GatedConv2d` everywhere).

Both papers' generator (v1 Fig. 2, v2 Fig. 3 and the releases' ``build_inpaint_net``):

* coarse network: 5×5 conv, two stride-2 downsamplings, dilated convolutions (rates 2, 4, 8, 16), two
  upsamplings (nearest ×2 + conv), output;
* refinement network on the coarse composite: a dilated-convolution branch and a contextual-attention branch
  (:class:`~faceinpaint_core.nets.blocks.contextual_attention.ContextualAttention`), concatenated, decoded.

Input: the masked image in [-1, 1], a ones channel and the mask (v2's 5 channels; v1 has the same three inputs);
output ``tanh`` in [-1, 1] for both stages. Widths scale with ``width`` (papers: 32 for v1, 48 for v2 at 256 px).
Dilation rates larger than a quarter of the feature map are dropped at small sizes (e.g. 16 at 64 px).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .blocks.contextual_attention import ContextualAttention
from .blocks.gated_conv import GatedConv2d, GatedDeconv2d

CONVS = ("vanilla", "gated")


class _Conv(nn.Module):
    """conv + ELU (v1) or a gated conv (v2); ``activation=None`` for the output layer."""

    def __init__(self, kind: str, cin: int, cout: int, k: int = 3, s: int = 1, d: int = 1, activation="elu"):
        super().__init__()
        if kind == "gated":
            self.net = GatedConv2d(cin, cout, k, s, d, activation)
        else:
            conv = nn.Conv2d(cin, cout, k, s, d * (k - 1) // 2, dilation=d)
            self.net = nn.Sequential(conv, nn.ELU()) if activation == "elu" else conv

    def forward(self, x):
        return self.net(x)


class _Up(nn.Module):
    def __init__(self, kind: str, cin: int, cout: int):
        super().__init__()
        self.net = GatedDeconv2d(cin, cout) if kind == "gated" else _Conv(kind, cin, cout)
        self.kind = kind

    def forward(self, x):
        return self.net(x) if self.kind == "gated" else self.net(F.interpolate(x, scale_factor=2, mode="nearest"))


def _rates(size: int) -> tuple[int, ...]:
    return tuple(r for r in (2, 4, 8, 16) if r <= max(2, size // 16))


def _encoder(kind: str, cin: int, c: int, size: int, dilated: bool = True) -> nn.Sequential:
    layers = [_Conv(kind, cin, c, 5), _Conv(kind, c, 2 * c, 3, 2), _Conv(kind, 2 * c, 2 * c),
              _Conv(kind, 2 * c, 4 * c, 3, 2), _Conv(kind, 4 * c, 4 * c), _Conv(kind, 4 * c, 4 * c)]
    if dilated:
        layers += [_Conv(kind, 4 * c, 4 * c, 3, 1, r) for r in _rates(size)]
    return nn.Sequential(*layers)


def _decoder(kind: str, cin: int, c: int) -> nn.Sequential:
    return nn.Sequential(_Conv(kind, cin, 4 * c), _Conv(kind, 4 * c, 4 * c), _Up(kind, 4 * c, 2 * c),
                         _Conv(kind, 2 * c, 2 * c), _Up(kind, 2 * c, c), _Conv(kind, c, max(1, c // 2)),
                         _Conv(kind, max(1, c // 2), 3, activation=None))


class DeepFillGenerator(nn.Module):
    """Coarse + refinement generator (see module docstring).

    Args:
        conv: ``vanilla`` (DeepFill v1 / CA) or ``gated`` (DeepFill v2).
        width: base channels c. size: training resolution (sets the dilation rates; divisible by 4).
        attention: the contextual-attention branch (off = the refinement has only the dilated branch).

    Shapes: ``forward(x, mask)``: ``x`` ``(N, 3, H, W)`` in [-1, 1] (hole content ignored), mask ``(N, 1, H, W)``
    1 = hole → ``{"coarse", "refined"}`` each ``(N, 3, H, W)`` in [-1, 1], plus ``"attention"`` when on.
    """

    def __init__(self, conv: str = "gated", width: int = 48, size: int = 256, attention: bool = True,
                 softmax_scale: float = 10.0):
        super().__init__()
        if conv not in CONVS:
            raise ValueError(f"DeepFillGenerator: conv must be one of {CONVS}, got {conv!r}")
        if size % 4:
            raise ValueError(f"DeepFillGenerator: size must be divisible by 4, got {size}")
        c = width
        self.coarse = nn.Sequential(_encoder(conv, 5, c, size), _decoder(conv, 4 * c, c))
        self.dilated = _encoder(conv, 5, c, size)
        self.attention = attention
        if attention:
            self.att_enc = _encoder(conv, 5, c, size, dilated=False)
            self.ca = ContextualAttention(softmax_scale=softmax_scale)
            self.att_post = nn.Sequential(_Conv(conv, 4 * c, 4 * c), _Conv(conv, 4 * c, 4 * c))
        self.refine = _decoder(conv, 8 * c if attention else 4 * c, c)

    @staticmethod
    def _input(x, mask):
        return torch.cat([x * (1 - mask), torch.ones_like(mask), mask], dim=1)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> dict[str, torch.Tensor]:
        coarse = torch.tanh(self.coarse(self._input(x, mask)))
        comp = coarse * mask + x * (1 - mask)
        inp = self._input(comp, mask)
        feats = [self.dilated(inp)]
        out = {"coarse": coarse}
        if self.attention:
            a = self.att_enc(inp)
            a, att = self.ca(a, a, mask)
            feats.append(self.att_post(a))
            out["attention"] = att
        out["refined"] = torch.tanh(self.refine(torch.cat(feats, dim=1)))
        return out
