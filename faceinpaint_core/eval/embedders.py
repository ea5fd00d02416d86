"""The embedders verification can use, by name: ``dlib``, ``arcface``, and every registered recogniser method
(class attribute ``task == "recognise"``, e.g. the project's identity network), named as in the registry.

All follow :class:`faceinpaint_core.metrics.embedders.Embedder`: ``embed(images) -> Embedding`` and
``score(a, b)``. The networks see the whole (square, aligned) face resized to their input size and
never miss a face; dlib detects and may (counted, see :class:`~faceinpaint_core.metrics.embedders.DlibEmbedder`).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..metrics.embedders import DlibEmbedder, Embedder, Embedding

FIXED_EMBEDDERS = ("dlib", "arcface")


def recognisers() -> tuple[str, ...]:
    """Registered methods whose networks embed faces (``task == "recognise"``): each is an embedder of its name."""
    from ..methods import METHODS, get_method_class

    return tuple(m for m in METHODS if getattr(get_method_class(m), "task", "") == "recognise")


def embedder_names() -> tuple[str, ...]:
    """Every embedder name: dlib, the registered recognisers, arcface."""
    return ("dlib", *recognisers(), "arcface")


class NetworkEmbedder(Embedder):
    """A recogniser module ``(N, 3, H, W) [0, 1] -> (N, D)`` as an embedder (cosine similarity).

    Args:
        net: the frozen recogniser (resizes its input itself).
        name: embedder name in result rows.  sha256: hash of its weight file (provenance).
    """

    distance = "cosine"

    def __init__(self, net: torch.nn.Module, name: str, sha256: str = "", device: str = "cpu", batch_size: int = 64):
        self.net, self.name, self.sha256 = net.eval(), name, sha256
        self.device, self.batch_size = device, int(batch_size)
        self.dim = 0
        self.stats = {"n_images": 0, "n_detect_fail": 0, "n_cache_hits": 0}

    @torch.no_grad()
    def embed(self, images: torch.Tensor, reference: torch.Tensor | None = None) -> Embedding:
        outs = [self.net(images[s:s + self.batch_size].to(self.device)).float().cpu()
                for s in range(0, len(images), self.batch_size)]
        vec = torch.cat(outs).double().numpy() if outs else np.zeros((0, self.dim))
        self.dim = vec.shape[1] if vec.ndim == 2 else 0
        self.stats["n_images"] += len(vec)
        return Embedding(vec, np.ones(len(vec), bool))


def make_embedder(name: str, checkpoint: str | Path | None = None, identity_weights: str | Path | None = None,
                  cache_dir: str | Path | None = None, on_miss: str = "fullbox", device: str = "cpu") -> Embedder:
    """An embedder by name.

    Args:
        name: ``dlib`` | a recogniser method (needs ``checkpoint``, that method's) | ``arcface``
            (needs ``identity_weights``: an insightface arcface_torch ``backbone.pth``).
        cache_dir: dlib's descriptor cache.  on_miss: dlib's policy for missed faces (``fullbox`` | ``drop``).
    """
    from ..utils.io import sha256_file

    names, network = embedder_names(), name in recognisers()
    if name not in names:
        raise ValueError(f"unknown embedder {name!r}; known: {', '.join(names)}")
    if name == "dlib":
        return DlibEmbedder(on_miss=on_miss, cache_dir=cache_dir)
    path = checkpoint if network else identity_weights
    if not path:
        need = f"--checkpoint runs/<{name} run>/checkpoints/final.pt" if network else \
            "--identity-weights <insightface backbone.pth>"
        raise ValueError(f"embedder {name!r} needs {need}")
    if network:
        from ..losses.identity import load_recogniser

        net = load_recogniser(path, device)
    else:
        from ..nets.identity import load_arcface_backbone

        net = load_arcface_backbone(path, device)
    return NetworkEmbedder(net, name, sha256_file(path), device)
