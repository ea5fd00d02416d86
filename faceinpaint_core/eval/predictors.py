"""Turn a method name (+ checkpoint) into a predictor the protocol can call.

A predictor is ``f(image, mask, parsing=None) -> pred`` on ``(N, 3, H, W)`` tensors in ``[0, 1]``
(mask ``(N, 1, H, W)``, 1 = hole) returning the *raw* prediction (the protocol composites), with
attributes ``name``, ``checkpoint_sha256`` and ``needs_parsing`` (and ``parser_sha256`` once a face parser
supplies its parsing maps, see :func:`use_predicted_parsing`).
"""
from __future__ import annotations

from pathlib import Path

import torch

from ..utils.io import sha256_file
from .classical import CLASSICAL, ClassicalInpainter

PARSER_HINT = "--parser-checkpoint runs/<parser run>/checkpoints/final.pt"


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


def use_predicted_parsing(predictor, parser_checkpoint: str | Path | None) -> None:
    """Make a parsing-conditioned predictor predict its parsing maps with the project's face parser.

    The method loads the parser through its own ``load_parser(path, device)`` (the method contract's
    optional hook, as ``faceinpaint inpaint --parser-checkpoint`` uses it). Without ``parser_checkpoint`` the
    method's own configured parser (``cfg.parser_checkpoint``) is used when it has one. Records
    ``predictor.parser_sha256``.

    Raises:
        ValueError: the method cannot use a parser, or no parser is given or configured.
        FileNotFoundError: ``parser_checkpoint`` does not exist.
    """
    method = getattr(predictor, "method", None)
    if not hasattr(method, "load_parser"):
        raise ValueError(f"method {predictor.name!r} does not use a face parser: evaluate it with parsing='labels'")
    path = parser_checkpoint or getattr(method.cfg, "parser_checkpoint", "")
    if not path:
        raise ValueError(f"method {predictor.name!r} with parsing='predicted' needs a face parser: pass "
                         f"parser_checkpoint ({PARSER_HINT})")
    if not Path(path).is_file():
        raise FileNotFoundError(f"parser checkpoint {path} does not exist ({PARSER_HINT})")
    method.load_parser(str(path), predictor.device)
    predictor.parser_sha256 = sha256_file(path)


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
