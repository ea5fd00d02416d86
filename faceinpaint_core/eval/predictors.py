"""Turn a method name (+ checkpoint) into a predictor the protocol can call.

A predictor is ``f(image, mask, parsing=None) -> pred`` on ``(N, 3, H, W)`` tensors in ``[0, 1]``
(mask ``(N, 1, H, W)``, 1 = hole), with attributes ``name``, ``checkpoint_sha256`` and
``needs_parsing``.
"""
from __future__ import annotations

from pathlib import Path

import torch

from ..utils.io import sha256_file
from .classical import CLASSICAL, ClassicalInpainter


class TrainedInpainter:
    """A trained method loaded from a faceinpaint checkpoint (EMA generator when present)."""

    def __init__(self, checkpoint: str | Path, device: str = "cpu"):
        from ..train.checkpoint import load_for_inference

        path = Path(checkpoint)
        if not path.is_file():
            raise FileNotFoundError(f"checkpoint {path} does not exist")
        self.method, self.nets = load_for_inference(path, device=device)
        self.name = self.method.name
        self.device = device
        self.checkpoint_sha256 = sha256_file(path)
        self.needs_parsing = bool(getattr(self.method, "needs_parsing", False))
        self.size = int(self.method.cfg.train.size)

    def __call__(self, image: torch.Tensor, mask: torch.Tensor, parsing=None) -> torch.Tensor:
        dev = self.device
        parsing = parsing.to(dev) if parsing is not None else None
        return self.method.inpaint(self.nets, image.to(dev), mask.to(dev), parsing).float().cpu()


def load_predictor(method: str, checkpoint: str | Path | None = None, device: str = "cpu"):
    """A classical method by name, or a trained one from ``checkpoint`` (whose method must match)."""
    if method in CLASSICAL:
        pred = ClassicalInpainter(method)
        pred.needs_parsing = False
        return pred
    if checkpoint is None:
        raise ValueError(f"method {method!r} is not training-free ({sorted(CLASSICAL)}): pass --checkpoint "
                         f"runs/<run>/checkpoints/final.pt")
    pred = TrainedInpainter(checkpoint, device=device)
    if pred.name != method:
        raise ValueError(f"checkpoint {checkpoint} holds method {pred.name!r}, not {method!r}")
    return pred
