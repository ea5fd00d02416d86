"""Fast Fourier convolution, Chi et al. 2020, as used by LaMa (Suvorov et al. 2022, sec. 3.1, Fig. 3).

Channels are split into a local part (ordinary 3×3 convolutions) and a global part whose spectral transform
works in the frequency domain: real FFT over the image plane (``torch.fft.rfftn``), a 1×1 convolution on the
stacked real and imaginary parts, BN + ReLU, inverse FFT. Every output of the global branch depends on every
input pixel (an image-wide receptive field in the first layer). The four paths local↔global are summed as in
the paper; ``ratio_gin``/``ratio_gout`` are the global shares (LaMa: 0.75).
"""
from __future__ import annotations

import torch
from torch import nn


class FourierUnit(nn.Module):
    """1×1 convolution in the frequency domain (real/imag stacked as channels), BN, ReLU."""

    def __init__(self, in_ch: int, out_ch: int):
        super().__init__()
        self.conv = nn.Conv2d(2 * in_ch, 2 * out_ch, 1, bias=False)
        self.bn = nn.BatchNorm2d(2 * out_ch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        spec = torch.fft.rfftn(x.float(), dim=(-2, -1), norm="ortho")
        z = torch.cat([spec.real, spec.imag], dim=1).to(x.dtype)
        z = torch.relu(self.bn(self.conv(z))).float()
        re, im = z.chunk(2, dim=1)
        return torch.fft.irfftn(torch.complex(re, im), s=(h, w), dim=(-2, -1), norm="ortho").to(x.dtype)


class SpectralTransform(nn.Module):
    """LaMa's global path: 1×1 conv to half the channels + BN + ReLU, Fourier unit, residual, 1×1 conv out."""

    def __init__(self, in_ch: int, out_ch: int):
        super().__init__()
        mid = max(1, out_ch // 2)
        self.reduce = nn.Sequential(nn.Conv2d(in_ch, mid, 1, bias=False), nn.BatchNorm2d(mid), nn.ReLU(True))
        self.fu = FourierUnit(mid, mid)
        self.out = nn.Conv2d(mid, out_ch, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.reduce(x)
        return self.out(x + self.fu(x))


class FFC(nn.Module):
    """One fast Fourier convolution on a ``(local, global)`` pair of tensors (either may be None when its share
    is 0). ``forward((x_l, x_g)) -> (y_l, y_g)``."""

    def __init__(self, in_ch: int, out_ch: int, ratio_gin: float, ratio_gout: float, kernel: int = 3,
                 stride: int = 1, padding: int = 1):
        super().__init__()
        gin, gout = int(in_ch * ratio_gin), int(out_ch * ratio_gout)
        lin, lout = in_ch - gin, out_ch - gout
        self.gin, self.gout = gin, gout

        def conv(a, b):
            return nn.Conv2d(a, b, kernel, stride, padding, bias=False, padding_mode="reflect") if a and b else None

        self.l2l, self.l2g, self.g2l = conv(lin, lout), conv(lin, gout), conv(gin, lout)
        self.g2g = SpectralTransform(gin, gout) if gin and gout else None

    def forward(self, x):
        x_l, x_g = x
        y_l = y_g = 0
        if self.l2l is not None:
            y_l = self.l2l(x_l)
        if self.g2l is not None:
            y_l = y_l + self.g2l(x_g)
        if self.l2g is not None:
            y_g = self.l2g(x_l)
        if self.g2g is not None:
            y_g = y_g + self.g2g(x_g)
        return (y_l if torch.is_tensor(y_l) else None), (y_g if torch.is_tensor(y_g) else None)


class FFCBNAct(nn.Module):
    """FFC, then BN + ReLU on each of the two parts."""

    def __init__(self, in_ch: int, out_ch: int, ratio_gin: float, ratio_gout: float, **kw):
        super().__init__()
        self.ffc = FFC(in_ch, out_ch, ratio_gin, ratio_gout, **kw)
        lout, gout = out_ch - self.ffc.gout, self.ffc.gout
        self.bn_l = nn.Sequential(nn.BatchNorm2d(lout), nn.ReLU(True)) if lout else None
        self.bn_g = nn.Sequential(nn.BatchNorm2d(gout), nn.ReLU(True)) if gout else None

    def forward(self, x):
        y_l, y_g = self.ffc(x)
        return (self.bn_l(y_l) if y_l is not None else None), (self.bn_g(y_g) if y_g is not None else None)


class FFCResBlock(nn.Module):
    """LaMa's residual block: two FFC-BN-ReLU layers (global share ``ratio``) and a skip on both parts."""

    def __init__(self, ch: int, ratio: float = 0.75):
        super().__init__()
        self.a = FFCBNAct(ch, ch, ratio, ratio)
        self.b = FFCBNAct(ch, ch, ratio, ratio)
        self.split = ch - int(ch * ratio)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x_l, x_g = x[:, :self.split], x[:, self.split:]
        y_l, y_g = self.b(self.a((x_l, x_g)))
        return torch.cat([x_l + y_l, x_g + y_g], dim=1)
