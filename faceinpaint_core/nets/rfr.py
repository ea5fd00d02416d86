"""RFR-Net generator, Li et al. 2020 ("Recurrent Feature Reasoning for Image Inpainting", CVPR) sec. 3, Fig. 2.

* Encoder: two partial convolutions (Liu et al. 2018; nets/blocks/partial_conv.py), 7x7 stride 2 and 5x5
  stride 2, to 1/4 scale.
* Recurrent feature reasoning (RFR) loop, run ``iterations`` times (paper: 6) with shared weights:
  area identification (two 3x3 partial convs: the valid region grows at every iteration, eq. (1)-(2) of PConv),
  feature reasoning (a small encoder-decoder) with the knowledge-consistent attention (KCA) layer at its end.
* KCA (sec. 3.3): cosine-similarity scores between feature positions, softmax over the *known* positions,
  blended with the previous iteration's scores ``score_i = λ score_i' + (1 - λ) score_{i-1}`` (λ learned,
  sigmoid-bounded) so every iteration attends consistently; the attended feature is concatenated with the input
  and fused by a 1x1 conv.
* Feature merging (sec. 3.4): ``F̄ = Σ_i F_i / Σ_i M_i`` over the iterations' features and masks (positions no
  iteration filled stay 0).
* Decoder: two transposed convs back to full size with a skip of the first encoder level, tanh -> [0, 1].

Deviations: the paper's reasoning module has 4 levels and KCA on 1/4-scale features of a 256 px image; here the
reasoning module has one down/up level and KCA runs at 1/4 scale of the input (16x16 at 64 px); widths scale
with ``width`` (paper 64).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .blocks.partial_conv import PartialConv2d


class KnowledgeConsistentAttention(nn.Module):
    """KCA, RFR-Net sec. 3.3: attention over known positions, scores blended with the previous iteration's.

    Shapes: ``forward(f, valid, prev)``: ``(N, C, H, W)``, ``(N, 1, H, W)`` (1 = known), previous scores
    ``(N, HW, HW)`` or None -> ``((N, C, H, W), scores (N, HW, HW))``.
    """

    def __init__(self, channels: int):
        super().__init__()
        self.blend = nn.Parameter(torch.zeros(1))  # λ = sigmoid(blend): 0.5 at the start
        self.fuse = nn.Conv2d(2 * channels, channels, 1)

    def forward(self, f, valid, prev=None):
        n, c, h, w = f.shape
        flat = F.normalize(f.flatten(2), dim=1)                          # (N, C, HW)
        sim = flat.transpose(1, 2) @ flat                                # (N, HW query, HW key)
        keys = valid.flatten(2)                                          # (N, 1, HW)
        keys = torch.where(keys.sum(-1, keepdim=True) > 0, keys, torch.ones_like(keys))  # no known key: all
        scores = torch.softmax((sim * 10).masked_fill(keys < 0.5, float("-inf")), dim=2)
        if prev is not None:
            lam = torch.sigmoid(self.blend)
            scores = lam * scores + (1 - lam) * prev
        attended = (f.flatten(2) @ scores.transpose(1, 2)).view(n, c, h, w)
        return self.fuse(torch.cat([f, attended], dim=1)), scores


class RFRModule(nn.Module):
    """One recurrence of the RFR loop: area identification + feature reasoning with KCA (shared weights)."""

    def __init__(self, ch: int):
        super().__init__()
        self.area = nn.ModuleList([PartialConv2d(ch, ch, 3, 1, 1), PartialConv2d(ch, ch, 3, 1, 1)])
        self.down = nn.Sequential(nn.Conv2d(ch, 2 * ch, 3, 2, 1), nn.BatchNorm2d(2 * ch), nn.LeakyReLU(0.2))
        self.mid = nn.Sequential(nn.Conv2d(2 * ch, 2 * ch, 3, 1, 2, dilation=2), nn.BatchNorm2d(2 * ch), nn.LeakyReLU(0.2))
        self.up = nn.Sequential(nn.ConvTranspose2d(4 * ch, ch, 4, 2, 1), nn.BatchNorm2d(ch), nn.LeakyReLU(0.2))
        self.kca = KnowledgeConsistentAttention(ch)

    def forward(self, f, valid, prev_scores):
        for pconv in self.area:
            f, valid = pconv(f, valid)
            f = F.leaky_relu(f, 0.2)
        d = self.down(f)
        r = self.up(torch.cat([d, self.mid(d)], dim=1))
        r, scores = self.kca(r, valid, prev_scores)
        return r * valid, valid, scores


class RFRNet(nn.Module):
    """RFR-Net (see the module docstring).

    Args: width (paper 64), iterations of the RFR loop (paper 6).

    Shapes: ``forward(masked, mask, trace=False)``: ``(N, 3, H, W)`` in [0, 1], ``(N, 1, H, W)`` (1 = hole) ->
    ``(N, 3, H, W)`` in [0, 1]; with ``trace=True`` ``(pred, [valid mask after each iteration])``. H, W
    divisible by 8.
    """

    def __init__(self, width: int = 64, iterations: int = 6):
        super().__init__()
        if iterations < 1:
            raise ValueError(f"RFRNet: iterations must be >= 1, got {iterations}")
        self.iterations = iterations
        w = width
        self.enc1 = PartialConv2d(3, w, 7, 2, 3)
        self.enc2 = PartialConv2d(w, 2 * w, 5, 2, 2)
        self.rfr = RFRModule(2 * w)
        self.dec2 = nn.Sequential(nn.ConvTranspose2d(2 * w, w, 4, 2, 1), nn.BatchNorm2d(w), nn.LeakyReLU(0.2))
        self.dec1 = nn.ConvTranspose2d(2 * w, 3, 4, 2, 1)

    def forward(self, masked, mask, trace: bool = False):
        if masked.shape[-1] % 8 or masked.shape[-2] % 8:
            raise ValueError(f"RFRNet needs H and W divisible by 8, got {tuple(masked.shape[-2:])}")
        valid = 1 - mask
        f1, v1 = self.enc1(2 * masked - 1, valid)
        f1 = F.relu(f1)
        f, v = self.enc2(f1, v1)
        f = F.relu(f)
        feats, masks, scores = [], [], None
        for _ in range(self.iterations):
            f, v, scores = self.rfr(f, v, scores)
            feats.append(f)
            masks.append(v)
        count = torch.stack(masks).sum(0)
        merged = torch.stack(feats).sum(0) / count.clamp(min=1)        # feature merging, sec. 3.4
        h = self.dec2(merged)
        pred = (torch.tanh(self.dec1(torch.cat([h, f1], dim=1))) + 1) / 2
        return (pred, masks) if trace else pred


__all__ = ["RFRNet", "RFRModule", "KnowledgeConsistentAttention"]
