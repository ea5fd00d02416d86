"""pix2pix / LG-Net weight initialisation, seeded by an explicit generator.

Isola et al. 2017 (pix2pix, ``init_type='normal'``, gain 0.02), kept by LG-Net's release and by the GAN inpainting
baselines built on the same trainer: convolution and linear weights ~ N(0, std), normalisation scales ~ N(1, std),
biases 0. One implementation shared by CLGN, LG-Net and the GAN baselines (methods/gan_inpaint.py).
"""
from __future__ import annotations

import torch
from torch import nn


@torch.no_grad()
def init_weights(net: nn.Module, generator: torch.Generator, std: float = 0.02) -> nn.Module:
    """pix2pix / LG-Net initialisation from an explicit generator: N(0, std) convs, N(1, std) norm scales."""
    for m in net.modules():
        w = getattr(m, "weight", None)
        if not isinstance(w, nn.Parameter):
            continue
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            w.normal_(0.0, std, generator=generator)
        elif isinstance(m, (nn.BatchNorm2d, nn.InstanceNorm2d)):
            w.normal_(1.0, std, generator=generator)
        else:
            continue
        if getattr(m, "bias", None) is not None:
            m.bias.zero_()
    return net


__all__ = ["init_weights"]
