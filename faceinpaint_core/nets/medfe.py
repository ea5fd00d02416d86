"""MEDFE generator, Liu et al. 2020 ("Rethinking Image Inpainting via a Mutual Encoder-Decoder with Feature
Equalizations", ECCV) sec. 3, Fig. 2.

* Encoder: six convs (three at full→1/8 for the *texture* features of the shallow layers, three deeper for the
  *structure* features); the shallow maps are resized to the middle scale and concatenated into ``F_te``, the
  deep ones into ``F_st`` (sec. 3.1, "feature reorganisation").
* Two branches fill holes in each feature set with multi-scale partial convolutions (3x3, 5x5, 7x7;
  nets/blocks/partial_conv.py), concatenated and fused: ``F_fte``, ``F_fst``. Each branch has a 1x1 conv to RGB
  for its own supervision (texture: the ground truth; structure: a smoothed ground truth — the paper uses
  the RTV-smoothed image, we use a Gaussian-blurred one, deviation).
* Feature equalisation (sec. 3.2) of ``cat(F_fte, F_fst)``: channel equalisation (squeeze-excitation weights)
  then spatial equalisation (bilateral propagation: a range term, a similarity-weighted average over all
  positions, and a spatial term, a Gaussian-weighted local average, fused by a 1x1 conv).
* Decoder: the equalised features are resized to each decoder level and added to the skip connections
  (the paper adds them to every encoder skip), transposed convs back to full size, tanh -> [0, 1].

Deviations: widths scale with ``width`` (paper 64), one conv per encoder level, ``depth`` levels (paper 6; 5 at
32 px: two structure levels); structure target = Gaussian blur.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .blocks.partial_conv import PartialConv2d


def _down(cin, cout, norm: bool = True):
    norm_layer = nn.InstanceNorm2d(cout, affine=True) if norm else nn.Identity()  # none at the 1x1 bottleneck
    return nn.Sequential(nn.Conv2d(cin, cout, 4, 2, 1), norm_layer, nn.LeakyReLU(0.2))


def _up(cin, cout):
    return nn.Sequential(nn.ConvTranspose2d(cin, cout, 4, 2, 1), nn.InstanceNorm2d(cout, affine=True), nn.ReLU())


class MultiScalePConvBranch(nn.Module):
    """Hole filling of one feature set with 3x3, 5x5, 7x7 partial convs, concatenated and fused (sec. 3.1)."""

    def __init__(self, ch: int):
        super().__init__()
        self.pconvs = nn.ModuleList([PartialConv2d(ch, ch, k, 1, k // 2) for k in (3, 5, 7)])
        self.fuse = nn.Sequential(nn.Conv2d(3 * ch, ch, 1), nn.ReLU())
        self.to_rgb = nn.Conv2d(ch, 3, 1)

    def forward(self, f, valid):
        outs = [F.relu(p(f, valid)[0]) for p in self.pconvs]
        return self.fuse(torch.cat(outs, dim=1))


class ChannelEqualization(nn.Module):
    """Channel equalisation, MEDFE sec. 3.2: squeeze-excitation reweighting of the concatenated features."""

    def __init__(self, ch: int, rate: int = 4):
        super().__init__()
        self.fc = nn.Sequential(nn.Linear(ch, max(1, ch // rate)), nn.ReLU(), nn.Linear(max(1, ch // rate), ch), nn.Sigmoid())

    def forward(self, x):
        return x * self.fc(x.mean(dim=(2, 3)))[..., None, None]


class SpatialEqualization(nn.Module):
    """Spatial equalisation (bilateral propagation), MEDFE sec. 3.2: range term (similarity-weighted average over
    all positions) + spatial term (Gaussian-weighted k x k neighbourhood), fused by a 1x1 conv; shape kept."""

    def __init__(self, ch: int, kernel: int = 3, sigma: float = 1.0):
        super().__init__()
        ax = torch.arange(kernel, dtype=torch.float32) - kernel // 2
        g = torch.exp(-(ax[:, None] ** 2 + ax[None, :] ** 2) / (2 * sigma ** 2))
        self.register_buffer("gauss", (g / g.sum()).expand(ch, 1, kernel, kernel).clone(), persistent=False)
        self.fuse = nn.Conv2d(2 * ch, ch, 1)

    def forward(self, x):
        n, c, h, w = x.shape
        flat = x.flatten(2)
        weights = torch.softmax(flat.transpose(1, 2) @ flat / c ** 0.5, dim=2)   # range term f(x_i, x_j)
        rng = (flat @ weights.transpose(1, 2)).view(n, c, h, w)
        spatial = F.conv2d(x, self.gauss.to(x.dtype), padding=self.gauss.shape[-1] // 2, groups=c)
        return self.fuse(torch.cat([rng, spatial], dim=1))


class FeatureEqualization(nn.Module):
    """Channel then spatial equalisation of ``cat(F_fte, F_fst)``, MEDFE sec. 3.2. ``(N, C, H, W)`` -> same."""

    def __init__(self, ch: int):
        super().__init__()
        self.channel, self.spatial = ChannelEqualization(ch), SpatialEqualization(ch)

    def forward(self, x):
        return self.spatial(self.channel(x)) + x


class MEDFE(nn.Module):
    """Mutual encoder-decoder with feature equalisation (see the module docstring).

    Shapes: ``forward(masked, mask)``: ``(N, 3, H, W)`` in [0, 1], ``(N, 1, H, W)`` (1 = hole) ->
    ``{"pred", "texture", "structure"}`` each ``(N, 3, H, W)`` in [0, 1] (branch outputs upsampled); H, W
    divisible by ``2**depth`` (paper: six levels at 256 px).
    """

    def __init__(self, width: int = 64, depth: int = 6):
        super().__init__()
        if depth < 5:
            raise ValueError(f"MEDFE needs depth >= 5 (3 texture + >= 2 structure levels), got {depth}")
        w, self.depth = width, depth
        chans = [w, 2 * w] + [4 * w] * (depth - 2)
        self.enc = nn.ModuleList([_down(4, chans[0])] + [_down(a, b, norm=i < depth - 2) for i, (a, b) in
                                                           enumerate(zip(chans[:-1], chans[1:]))])
        self.mid = 4 * w                                       # branch width at 1/8 scale
        self.reduce_te = nn.Conv2d(sum(chans[:3]), self.mid, 1)
        self.reduce_st = nn.Conv2d(sum(chans[3:]), self.mid, 1)
        self.texture, self.structure = MultiScalePConvBranch(self.mid), MultiScalePConvBranch(self.mid)
        self.equalize = FeatureEqualization(2 * self.mid)
        self.inject = nn.ModuleList([nn.Conv2d(2 * self.mid, c, 1) for c in chans])
        ups = [_up(chans[-1], chans[-2])]
        for i in range(depth - 2, 0, -1):
            ups.append(_up(2 * chans[i], chans[i - 1]))
        self.dec = nn.ModuleList(ups)
        self.out = nn.ConvTranspose2d(2 * chans[0], 3, 4, 2, 1)

    @staticmethod
    def _resize(x, size):
        return F.interpolate(x, size=size, mode="bilinear", align_corners=False)

    def forward(self, masked, mask):
        m = 2 ** self.depth
        if masked.shape[-1] % m or masked.shape[-2] % m:
            raise ValueError(f"MEDFE(depth={self.depth}) needs H and W divisible by {m}, got {tuple(masked.shape[-2:])}")
        h, skips = torch.cat([(2 * masked - 1) * (1 - mask), mask], dim=1), []
        for layer in self.enc:
            h = layer(h)
            skips.append(h)
        size = skips[2].shape[-2:]                          # 1/8 scale: where the two branches work
        valid = (F.adaptive_max_pool2d(mask, size) < 0.5).to(masked.dtype)  # a position is known if no hole pixel
        f_te = self.reduce_te(torch.cat([self._resize(s, size) for s in skips[:3]], dim=1))
        f_st = self.reduce_st(torch.cat([self._resize(s, size) for s in skips[3:]], dim=1))
        f_fte, f_fst = self.texture(f_te, valid), self.structure(f_st, valid)
        eq = self.equalize(torch.cat([f_fte, f_fst], dim=1))
        skips = [s + inj(self._resize(eq, s.shape[-2:])) for s, inj in zip(skips, self.inject)]
        d = self.dec[0](skips[-1])
        for i, layer in zip(range(self.depth - 2, 0, -1), self.dec[1:]):
            d = layer(torch.cat([d, skips[i]], dim=1))
        full = masked.shape[-2:]
        unit = lambda z: (torch.tanh(z) + 1) / 2
        return {"pred": unit(self.out(torch.cat([d, skips[0]], dim=1))),
                "texture": unit(self._resize(self.texture.to_rgb(f_fte), full)),
                "structure": unit(self._resize(self.structure.to_rgb(f_fst), full))}


__all__ = ["MEDFE", "FeatureEqualization", "ChannelEqualization", "SpatialEqualization", "MultiScalePConvBranch"]
