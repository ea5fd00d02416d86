"""Implicit diversified MRF (ID-MRF) loss, Wang et al. 2018 ("Image Inpainting via Generative Multi-column
Convolutional Neural Networks", GMCNN) sec. 3.2, eqs (2)-(5).

For generated features ``Y`` and target features ``X`` of one VGG layer (1x1 patches ``v`` of ``Y``, ``s`` of
``X``, both centred on the target's channel mean and L2-normalised, as in the authors' release):

* ``μ(v, s)`` = cosine similarity; distance ``d(v, s) = 1 - μ(v, s)``;
* relative similarity, eq. (3): ``RS(v, s) = exp((1 - d(v, s) / (min_r d(v, r) + ε)) / h)`` with bandwidth
  ``h = 0.5`` and ``ε = 1e-5``;
* ``RS̄(v, s) = RS(v, s) / Σ_r RS(v, r)`` (eq. 4);
* ``L_M(layer) = -log( (1/Z) Σ_s max_v RS̄(v, s) )`` with ``Z`` the number of target patches (eq. 5).

Identical maps give ~0 (every target patch is some generated patch's nearest neighbour); with 1x1 patches the
loss is invariant to a spatial permutation of ``Y`` (an MRF over patches, not a pixel loss).
The total (eq. 6, the release's weights) is ``Σ_{t in style layers} L_M + Σ_{content layers} L_M``: GMCNN uses
VGG19 ``relu3_2`` + ``relu4_2`` (texture) and ``relu4_2`` (content); this package has VGG16 only
(:class:`~faceinpaint_core.losses.perceptual.VGG16Features`, random-init unless the ImageNet file is installed,
labelled as such in the run's provenance), so the same-named VGG16 layers are used.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch

ID_MRF_STYLE = ("relu3_2", "relu4_2")
ID_MRF_CONTENT = ("relu4_2",)


def id_mrf_layer(gen: torch.Tensor, target: torch.Tensor, h: float = 0.5, eps: float = 1e-5) -> torch.Tensor:
    """ID-MRF of one layer, eqs (2)-(5), averaged over the batch.

    Args:
        gen, target: ``(N, C, H, W)`` feature maps of the generated and the real image (same shape).
        h: bandwidth of the relative similarity (paper: 0.5); eps: the relative distance's ε.
    Returns: scalar ``>= 0`` (up to rounding).
    """
    if gen.shape != target.shape:
        raise ValueError(f"id_mrf_layer: feature maps differ in shape {tuple(gen.shape)} vs {tuple(target.shape)}")
    gen, target = gen.float(), target.float()
    mean = target.mean(dim=(2, 3), keepdim=True)
    g = torch.nn.functional.normalize((gen - mean).flatten(2), dim=1)     # (N, C, P)
    t = torch.nn.functional.normalize((target - mean).flatten(2), dim=1)  # (N, C, P)
    dist = 1 - g.transpose(1, 2) @ t                                     # (N, P_gen v, P_target s)
    rel = dist / (dist.min(dim=2, keepdim=True).values + eps)            # relative to v's nearest s
    rs = torch.softmax((1 - rel) / h, dim=2)                             # RS̄(v, s): normalised over s
    best = rs.max(dim=1).values.mean(dim=1)                              # (1/Z) Σ_s max_v RS̄(v, s)
    return -torch.log(best.clamp_min(1e-12)).mean()


def id_mrf_loss(vgg, pred: torch.Tensor, target: torch.Tensor, style_layers: Sequence[str] = ID_MRF_STYLE,
                content_layers: Sequence[str] = ID_MRF_CONTENT, h: float = 0.5) -> torch.Tensor:
    """GMCNN eq. (6): ``Σ_style L_M + Σ_content L_M`` on ``vgg`` features (no gradient into ``target``).

    Args:
        vgg: a :class:`~faceinpaint_core.losses.perceptual.VGG16Features` extracting every named layer.
        pred, target: ``(N, 3, H, W)`` in [0, 1].
    """
    layers = list(style_layers) + list(content_layers)
    missing = [n for n in layers if n not in vgg.layers]
    if missing:
        raise ValueError(f"id_mrf_loss: VGG layers {missing} not extracted (extractor has {list(vgg.layers)})")
    with torch.no_grad():
        f_t = dict(zip(vgg.layers, vgg(target)))
    f_p = dict(zip(vgg.layers, vgg(pred)))
    return sum(id_mrf_layer(f_p[n], f_t[n], h=h) for n in layers)


__all__ = ["id_mrf_layer", "id_mrf_loss", "ID_MRF_STYLE", "ID_MRF_CONTENT"]
