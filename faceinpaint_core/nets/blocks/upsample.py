"""2x up-sampling convolutions: transposed convolution or resize-convolution (Odena, Dumoulin & Olah 2016,
"Deconvolution and Checkerboard Artifacts", Distill).

A stride-2 transposed convolution whose kernel size is not divisible by the stride (3x3), and in practice also
4x4 ones early in training, overlaps unevenly and paints a checkerboard; nearest-neighbour up-sampling followed
by a 3x3 convolution cannot, by construction. Both stay available as a flag of every network that up-samples.
"""
from __future__ import annotations

from torch import nn

UPSAMPLES = ("deconv", "resize")


def check_upsample(kind: str) -> str:
    if kind not in UPSAMPLES:
        raise ValueError(f"upsample must be one of {list(UPSAMPLES)}, got {kind!r}")
    return kind


def upsample_conv(kind: str, cin: int, cout: int, kernel: int = 4, bias: bool = True) -> nn.Module:
    """A layer doubling H and W: ``deconv`` = ``ConvTranspose2d(kernel, stride 2)`` (padding chosen for exactly 2x;
    kernel 4, or 3 with output padding 1), ``resize`` = nearest 2x + ``Conv2d(3x3, padding 1)``.

    Args: kind: deconv | resize; cin, cout: channels; kernel: the transposed convolution's kernel (3 or 4).
    """
    if check_upsample(kind) == "resize":
        return nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(cin, cout, 3, 1, 1, bias=bias))
    if kernel == 4:
        return nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=bias)
    if kernel == 3:
        return nn.ConvTranspose2d(cin, cout, 3, 2, 1, output_padding=1, bias=bias)
    raise ValueError(f"upsample_conv: transposed kernel must be 3 or 4, got {kernel}")
