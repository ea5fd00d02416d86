"""Discriminator feature-matching loss, EdgeConnect (Nazeri et al. 2019) eq. (3) / pix2pixHD (Wang et al. 2018) eq. (4).

``L_FM = Σ_i 1/N_i ‖D^(i)(real) − D^(i)(fake)‖_1`` over the activations ``D^(i)`` of every layer of the
discriminator (``N_i`` = elements of layer ``i``, i.e. a mean absolute difference per layer).
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn


def sequential_features(net: nn.Sequential, x: torch.Tensor) -> list[torch.Tensor]:
    """Outputs of every activation layer (LeakyReLU/ReLU) of a ``nn.Sequential`` discriminator body, in order.

    Works for :class:`~faceinpaint_core.nets.discriminators.PatchGAN` / ``SNPatchGAN`` (``D.net``).
    """
    feats = []
    for layer in net:
        x = layer(x)
        if isinstance(layer, (nn.LeakyReLU, nn.ReLU)):
            feats.append(x)
    return feats


def feature_matching_loss(features: Callable[[torch.Tensor], list[torch.Tensor]], real: torch.Tensor,
                          fake: torch.Tensor) -> torch.Tensor:
    """``Σ_i mean|D^(i)(real) − D^(i)(fake)|``; the real features are targets (no gradient).

    Args:
        features: ``x -> [D^(1)(x), ...]`` (e.g. ``partial(sequential_features, D.net)`` on a conditioned input).
        real, fake: discriminator inputs of the same shape; gradients flow into ``fake`` only.
    """
    with torch.no_grad():
        target = features(real)
    return sum((f.float() - t.float()).abs().mean() for f, t in zip(features(fake), target))
