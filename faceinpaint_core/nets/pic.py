"""Pluralistic Image Completion (PIC) networks, Zheng et al. 2019 (CVPR) sec. 3, Fig. 2.

Two parallel paths share the encoder and the decoder (generator):

* reconstructive path: the encoder reads the *complement* ``I_c`` (the hole content, visible region zeroed) and
  gives the posterior ``q(z | I_c)``; decoding ``z ~ q`` with the visible-region features must rebuild the image;
* generative path: the encoder reads the masked image ``I_m`` and gives the conditional prior ``p(z | I_m)``;
  decoding ``z ~ p`` gives one plausible completion; different ``z`` give different completions.

Encoder: residual stride-2 blocks to 1/8 scale; two heads (prior, posterior) give ``(μ, log σ)`` of a
``zdim``-channel spatial latent. Decoder: ``cat(z, f_m)`` at 1/8, residual upsampling, the short+long term
attention (sec. 3.3) at 1/4, upsampling to full size, tanh -> [0, 1].

Short+long term attention: a self-attention map ``A`` over the decoder features ``f_d`` (short term: ``γ_d A f_d +
f_d``) is reused on the encoder features ``f_e`` of ``I_m`` (long term: visible positions keep ``f_e``, hole
positions take ``γ_e A f_e``); both are concatenated and fused by a 1x1 conv.

Deviations: widths scale with ``width`` (paper 32 at 256 px, more levels); the reconstructive prior is N(0, 1)
(the paper uses N(0, σ²(n)) with σ depending on the number of hole pixels); no spectral norm in G.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class ResBlock(nn.Module):
    """Residual block with optional 2x down/up sampling (PIC's ResBlock / ResBlockDecoder)."""

    def __init__(self, cin: int, cout: int, resample: str = "none"):
        super().__init__()
        self.resample = resample
        self.body = nn.Sequential(nn.LeakyReLU(0.1), nn.Conv2d(cin, cout, 3, 1, 1), nn.LeakyReLU(0.1),
                                  nn.Conv2d(cout, cout, 3, 1, 1))
        self.skip = nn.Conv2d(cin, cout, 1)

    def _scale(self, x):
        if self.resample == "down":
            return F.avg_pool2d(x, 2)
        if self.resample == "up":
            return F.interpolate(x, scale_factor=2, mode="nearest")
        return x

    def forward(self, x):
        return self._scale(self.body(x) + self.skip(x))


class ShortLongTermAttention(nn.Module):
    """PIC sec. 3.3: one attention map on decoder features, applied to decoder (short) and encoder (long) features.

    Shapes: ``forward(f_d, f_e, hole)``: ``(N, C, H, W)`` x2, ``(N, 1, H, W)`` (1 = hole) -> ``(N, C, H, W)``.
    """

    def __init__(self, ch: int):
        super().__init__()
        inner = max(1, ch // 4)
        self.q, self.k = nn.Conv2d(ch, inner, 1), nn.Conv2d(ch, inner, 1)
        self.gamma_d = nn.Parameter(torch.zeros(1))
        self.gamma_e = nn.Parameter(torch.zeros(1))
        self.fuse = nn.Conv2d(2 * ch, ch, 1)

    def forward(self, f_d, f_e, hole):
        n, c, h, w = f_d.shape
        attn = torch.softmax(self.q(f_d).flatten(2).transpose(1, 2) @ self.k(f_d).flatten(2), dim=2)  # (N, HW, HW)
        attend = lambda f: (f.flatten(2) @ attn.transpose(1, 2)).view(n, c, h, w)
        short = self.gamma_d * attend(f_d) + f_d
        long = hole * self.gamma_e * attend(f_e) + (1 - hole) * f_e
        return self.fuse(torch.cat([short, long], dim=1))


class PICEncoder(nn.Module):
    """Shared encoder: ``(N, 4, H, W)`` -> ``(1/4 features, 1/8 features)``; prior and posterior heads."""

    def __init__(self, width: int, zdim: int):
        super().__init__()
        w = width
        self.stem = nn.Conv2d(4, w, 3, 1, 1)
        self.down = nn.ModuleList([ResBlock(w, 2 * w, "down"), ResBlock(2 * w, 4 * w, "down"), ResBlock(4 * w, 4 * w, "down")])
        self.prior = nn.Sequential(ResBlock(4 * w, 4 * w), nn.Conv2d(4 * w, 2 * zdim, 3, 1, 1))
        self.posterior = nn.Sequential(ResBlock(4 * w, 4 * w), nn.Conv2d(4 * w, 2 * zdim, 3, 1, 1))

    def forward(self, x):
        h = self.stem(x)
        feats = []
        for layer in self.down:
            h = layer(h)
            feats.append(h)
        return feats[1], feats[2]


def distribution(stats: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(μ, σ)`` from a head's ``2·zdim`` channels (σ = softplus, bounded away from 0)."""
    mu, s = stats.chunk(2, dim=1)
    return mu, F.softplus(s) + 1e-3


class PICDecoder(nn.Module):
    """Shared generator: ``cat(z, f_m)`` at 1/8 -> image, with the short+long term attention at 1/4."""

    def __init__(self, width: int, zdim: int):
        super().__init__()
        w = width
        self.inp = ResBlock(zdim + 4 * w, 4 * w)
        self.up1 = ResBlock(4 * w, 4 * w, "up")
        self.attn = ShortLongTermAttention(4 * w)
        self.up2 = ResBlock(4 * w, 2 * w, "up")
        self.up3 = ResBlock(2 * w, w, "up")
        self.out = nn.Sequential(nn.LeakyReLU(0.1), nn.Conv2d(w, 3, 3, 1, 1))

    def forward(self, z, f_m8, f_m4, hole4):
        d = self.up1(self.inp(torch.cat([z, f_m8], dim=1)))
        d = self.attn(d, f_m4, hole4)
        return (torch.tanh(self.out(self.up3(self.up2(d)))) + 1) / 2


class Pluralistic(nn.Module):
    """PIC generator: shared encoder (prior/posterior heads) and decoder (see the module docstring).

    ``forward(masked, mask, image=None, noise=None)``: with ``image`` (training) both paths run; without it only
    the generative path. ``noise`` ``(N, zdim, H/8, W/8)`` is ε of ``z = μ_p + σ_p ε`` (standard normal; drawn
    from torch's default generator when None). Returns a dict of ``(N, 3, H, W)`` images in [0, 1] (``gen``,
    ``rec``) and the distributions (``mu_p``, ``sigma_p``, ``mu_q``, ``sigma_q``).
    """

    def __init__(self, width: int = 32, zdim: int = 64):
        super().__init__()
        self.zdim = zdim
        self.encoder = PICEncoder(width, zdim)
        self.decoder = PICDecoder(width, zdim)

    def latent_shape(self, image: torch.Tensor) -> tuple[int, ...]:
        return (image.shape[0], self.zdim, image.shape[-2] // 8, image.shape[-1] // 8)

    def forward(self, masked, mask, image=None, noise=None):
        if masked.shape[-1] % 8 or masked.shape[-2] % 8:
            raise ValueError(f"Pluralistic needs H and W divisible by 8, got {tuple(masked.shape[-2:])}")
        x_m = torch.cat([(2 * masked - 1) * (1 - mask), mask], dim=1)
        if image is not None:  # the complement I_c through the same encoder, in one batch
            x_c = torch.cat([(2 * image - 1) * mask, 1 - mask], dim=1)
            f4, f8 = self.encoder(torch.cat([x_m, x_c]))
            n = masked.shape[0]
            (f_m4, f_c4), (f_m8, f_c8) = f4.split(n), f8.split(n)
        else:
            f_m4, f_m8 = self.encoder(x_m)
        mu_p, sigma_p = distribution(self.encoder.prior(f_m8))
        hole4 = F.adaptive_max_pool2d(mask, f_m4.shape[-2:])
        eps = torch.randn_like(mu_p) if noise is None else noise.to(mu_p)
        out = {"gen": self.decoder(mu_p + sigma_p * eps, f_m8, f_m4, hole4), "mu_p": mu_p, "sigma_p": sigma_p}
        if image is not None:
            mu_q, sigma_q = distribution(self.encoder.posterior(f_c8))
            z_q = mu_q + sigma_q * torch.randn_like(mu_q)
            out.update(rec=self.decoder(z_q, f_m8, f_m4, hole4), mu_q=mu_q, sigma_q=sigma_q)
        return out


def kl_normal(mu1, s1, mu2, s2) -> torch.Tensor:
    """``KL(N(μ1, s1²) || N(μ2, s2²))`` summed over latent channels and positions, averaged over the batch."""
    kl = torch.log(s2 / s1) + (s1 ** 2 + (mu1 - mu2) ** 2) / (2 * s2 ** 2) - 0.5
    return kl.flatten(1).sum(1).mean()


__all__ = ["Pluralistic", "ShortLongTermAttention", "PICEncoder", "PICDecoder", "kl_normal", "distribution"]
