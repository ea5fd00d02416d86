"""Partial convolution, Liu et al. 2018 ("Image Inpainting for Irregular Holes Using Partial Convolutions") eqs (1)-(2).

``x' = W^T (X ⊙ M) · sum(1) / sum(M) + b`` where ``sum(M) > 0``, else 0 (eq. 1); the mask is updated to
``m' = 1`` where ``sum(M) > 0`` (eq. 2). ``M`` is the *validity* mask (1 = known pixel), the opposite of the
project's hole mask: callers pass ``1 - hole``. Hole pixels never reach the output: they are multiplied by 0
before the convolution and the re-normalisation only counts valid pixels.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class PartialConv2d(nn.Module):
    """Partial convolution with mask update, Liu et al. 2018 eqs (1)-(2).

    Args:
        cin, cout: channels; kernel, stride, padding, dilation: as ``nn.Conv2d``; bias: add ``b`` where valid.

    Shapes: ``forward(x, valid)``: ``(N, cin, H, W)``, ``(N, 1, H, W)`` (1 = known) ->
    ``((N, cout, H', W'), (N, 1, H', W'))`` the features and the updated validity mask.
    """

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1,
                 bias: bool = True):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, stride, padding, dilation, bias=False)
        self.bias = nn.Parameter(torch.zeros(cout)) if bias else None
        self.register_buffer("ones", torch.ones(1, 1, kernel, kernel), persistent=False)
        self.geometry = dict(stride=stride, padding=padding, dilation=dilation)
        self.window = float(kernel * kernel)  # sum(1)

    def forward(self, x: torch.Tensor, valid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if valid.shape[1] != 1 or valid.shape[-2:] != x.shape[-2:]:
            raise ValueError(f"PartialConv2d: mask must be (N, 1, H, W) matching x {tuple(x.shape)}, got {tuple(valid.shape)}")
        with torch.no_grad():
            count = F.conv2d(valid.to(x.dtype), self.ones.to(x.dtype), **self.geometry)  # sum(M) per window
            new_valid = (count > 0).to(x.dtype)
            scale = self.window / count.clamp(min=1.0) * new_valid
        out = self.conv(x * valid.to(x.dtype)) * scale
        if self.bias is not None:
            out = out + self.bias.view(1, -1, 1, 1) * new_valid
        return out, new_valid


__all__ = ["PartialConv2d"]
