"""Region styles, adaptive style fusion, region normalisation and the region inpaint module, patent CN113298736A eqs (2)-(7), (12)-(18).

Shapes used throughout (``R`` = number of facial regions, 8 in the patent):

* ``regions`` ``(N, R, H, W)`` float in ``[0, 1]``: the one-hot parsing map without background
  (``S_i`` of the patent); after resizing to a feature map it may be fractional (area resize);
* ``active`` ``(N, R)`` bool: ``sum(M_i) > 0``, the region has a hole pixel (computed once, at image size,
  by :func:`holed_regions`, so a small hole is not lost when the map is shrunk to a deep feature size);
* ``gamma``, ``beta`` ``(N, R, C)``: the per-region affine parameters of eqs (6)-(7).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def resize_regions(regions: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Resize region maps to a feature map's size by area averaging (fractional membership at borders).

    Args:
        regions: ``(N, R, H, W)`` float in ``[0, 1]``.
        size: target ``(h, w)``.
    Returns: ``(N, R, h, w)`` float in ``[0, 1]``.
    """
    if tuple(regions.shape[-2:]) == tuple(size):
        return regions
    if regions.shape[-2] >= size[0] and regions.shape[-1] >= size[1]:
        return F.interpolate(regions, size=size, mode="area")
    return F.interpolate(regions, size=size, mode="nearest")


def holed_regions(regions: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Which regions contain a hole: ``sum(M_i) > 0`` with ``M_i = M ⊗ S_i``, patent eq. (14).

    Args:
        regions: ``(N, R, H, W)`` float, one-hot regions at image size.
        mask: ``(N, 1, H, W)`` float, 1 = hole, same size.
    Returns: ``(N, R)`` bool.
    """
    if regions.shape[-2:] != mask.shape[-2:]:
        raise ValueError(f"regions {tuple(regions.shape)} and mask {tuple(mask.shape)} differ in size")
    return ((regions > 0.5) & (mask > 0.5)).flatten(2).any(dim=2)


def region_avg_pool(features: torch.Tensor, regions: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Masked average pooling of features over each region, patent eq. (2) (and eq. (3) for one region).

    The patent writes ``AvgPool(F_s ⊗ S_i)``; we divide by the region's area rather than the whole
    image's, so a region's style does not shrink with its size (as in SEAN). An empty region gives 0.

    Args:
        features: ``(N, C, h, w)``.
        regions: ``(N, R, H, W)`` float in ``[0, 1]``; resized to ``(h, w)`` here.
    Returns: ``(N, C, R)``.
    """
    s = resize_regions(regions, tuple(features.shape[-2:]))
    summed = torch.einsum("nchw,nrhw->ncr", features, s)
    return summed / (s.sum(dim=(2, 3)).unsqueeze(1) + eps)


def style_matrix(features: torch.Tensor, regions: torch.Tensor) -> torch.Tensor:
    """The style matrix ``[s_1^local, ..., s_N^local, s^global]``, patent eqs (2)-(4).

    ``s^global`` pools over the union of all regions (``sum(S_i)``, eq. (3)), i.e. the whole face
    without the background.

    Args:
        features: ``(N, C, h, w)`` the deep style features ``F_s`` (``C`` = 256 in the patent).
        regions: ``(N, R, H, W)`` float in ``[0, 1]``.
    Returns: ``(N, C, R + 1)``; the last column is the global style.
    """
    local = region_avg_pool(features, regions)
    union = regions.sum(dim=1, keepdim=True).clamp(max=1.0)
    return torch.cat([local, region_avg_pool(features, union)], dim=2)


class RegionLinear(nn.Module):
    """One fully connected layer per region (``Linear(·)`` of patent eqs (6)-(7)), applied in one einsum.

    Args:
        n_regions: ``R``.
        in_dim: style length (256 in the patent).
        out_dim: channels of the features the affine parameters act on.
    """

    def __init__(self, n_regions: int, in_dim: int, out_dim: int):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n_regions, out_dim, in_dim))
        self.bias = nn.Parameter(torch.empty(n_regions, out_dim))
        bound = 1.0 / math.sqrt(in_dim)  # nn.Linear's default init, per region
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, styles: torch.Tensor) -> torch.Tensor:
        """Args: styles ``(N, D, R)``. Returns ``(N, R, out_dim)``."""
        return torch.einsum("ndr,rod->nro", styles, self.weight) + self.bias


class AdaptiveStyleFusion(nn.Module):
    """Adaptive local/global style fusion into per-region affine parameters, patent eqs (5)-(7).

    ``γ_i = σ(α_i^γ)·Linear_i^γ(s_i^local) + (1 − σ(α_i^γ))·Linear_i^γ(s^global)`` and the same for
    ``β_i`` with its own layer and ``α_i^β``; ``α`` starts at 0 (equal weights 0.5). The patent calls
    ``Linear`` "the fully connected layer of the current region": one layer per region, shared by the
    local and the global term of that region's pair ``sd_i = (s_i^local, s^global)`` (eq. (5)).

    Each skip level of the backbone has its own channel count ``C_j``, so the generator builds one
    fusion head per level (``256 → C_j`` per region, for γ and for β); the three region-norm blocks
    inside that level's :class:`RegionInpaintModule` share it, as eqs (12), (16), (17) pass the same
    ``(γ, β)``.

    Args:
        style_dim: style length ``D``.
        channels: ``C_j``.
        n_regions: ``R``.
    """

    def __init__(self, style_dim: int, channels: int, n_regions: int = 8):
        super().__init__()
        self.n_regions = n_regions
        self.lin_gamma = RegionLinear(n_regions, style_dim, channels)
        self.lin_beta = RegionLinear(n_regions, style_dim, channels)
        self.alpha_gamma = nn.Parameter(torch.zeros(n_regions))
        self.alpha_beta = nn.Parameter(torch.zeros(n_regions))

    @staticmethod
    def _fuse(lin: RegionLinear, alpha: torch.Tensor, local: torch.Tensor, glob: torch.Tensor) -> torch.Tensor:
        w = torch.sigmoid(alpha).view(1, -1, 1)
        return w * lin(local) + (1 - w) * lin(glob)

    def forward(self, smatrix: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Args: smatrix ``(N, D, R + 1)`` from :func:`style_matrix`. Returns ``(γ, β)``, each ``(N, R, C)``."""
        if smatrix.shape[2] != self.n_regions + 1:
            raise ValueError(f"style matrix has {smatrix.shape[2]} columns, expected {self.n_regions + 1}")
        local = smatrix[:, :, :-1]
        glob = smatrix[:, :, -1:].expand_as(local)  # pair every region with the global style, eq. (5)
        return (self._fuse(self.lin_gamma, self.alpha_gamma, local, glob),
                self._fuse(self.lin_beta, self.alpha_beta, local, glob))


class RegionNormBlock(nn.Module):
    """Region normalisation, patent eqs (13)-(15).

    ``x̂ = IN(x)`` (eq. (13), no learned affine); each region ``i`` with a hole (``active[:, i]``)
    becomes ``((1 + γ_i)·x̂ + β_i) ⊗ S_i``; a hole-free region stays ``x̂ ⊗ S_i`` (eq. (14)); the
    regions are summed (eq. (15)).

    Two slips in the text, resolved here: eq. (14) adds ``β_i`` outside the product with ``S_i``
    (it would shift every pixel of the image by every holed region's ``β_i``), so we restrict it to
    ``S_i``; eq. (15) sums only the N facial regions, which would zero the background's features,
    so the background (``1 − Σ S_i``) is kept as a further untouched region. Net effect:
    ``out = x̂ + Σ_i active_i · S_i ⊗ (γ_i·x̂ + β_i)``.
    """

    def __init__(self, eps: float = 1e-5):
        super().__init__()
        self.eps = eps

    def forward(self, x, regions, active, gamma, beta) -> torch.Tensor:
        """Args:
            x: ``(N, C, h, w)``.
            regions: ``(N, R, H, W)`` float; resized to ``(h, w)``.
            active: ``(N, R)`` bool (:func:`holed_regions`).
            gamma, beta: ``(N, R, C)``.
        Returns: ``(N, C, h, w)``.
        """
        x_in = F.instance_norm(x, eps=self.eps)
        s = resize_regions(regions, tuple(x.shape[-2:])) * active[:, :, None, None].to(x.dtype)
        scale = torch.einsum("nrhw,nrc->nchw", s, gamma)
        shift = torch.einsum("nrhw,nrc->nchw", s, beta)
        return x_in + scale * x_in + shift


class RegionInpaintModule(nn.Module):
    """Facial-region inpaint module on one skip connection, patent eqs (11)-(12), (16)-(18).

    ``F_sig = σ(RN(Conv1×1(F)))`` (eq. (12), the boundary residual);
    ``F_sc = RN(LeakyReLU(Conv3×3(RN(F))))`` (eqs (16)-(17), the region repair);
    ``F_sr = F_sc ⊗ F_sig`` (eq. (18)). Both convolutions keep the channel count, so the one
    ``(γ, β)`` pair of this level fits all three ``RN`` calls.

    Args:
        channels: ``C_j`` of the skip feature.
    """

    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 1)
        self.conv3 = nn.Conv2d(channels, channels, 3, padding=1)
        self.act = nn.LeakyReLU(0.2)
        self.rn = RegionNormBlock()  # parameter-free: one instance serves all three calls

    def forward(self, feat, regions, active, gamma, beta) -> torch.Tensor:
        """Args: feat ``(N, C, h, w)``; the rest as :meth:`RegionNormBlock.forward`. Returns ``(N, C, h, w)``."""
        f_sig = torch.sigmoid(self.rn(self.conv1(feat), regions, active, gamma, beta))
        f_st = self.conv3(self.rn(feat, regions, active, gamma, beta))
        f_sc = self.rn(self.act(f_st), regions, active, gamma, beta)
        return f_sc * f_sig
