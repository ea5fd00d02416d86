"""Training engine: one generic adversarial trainer, step-indexed data, checkpoints, DDP, describe.

Public entry points: :func:`train_main` (``faceinpaint train``), :func:`describe`
(``faceinpaint describe``), :func:`load_for_inference` (the evaluator). ``Trainer``/``train_main`` are
imported lazily (they pull in tqdm and TensorBoard).
"""
from __future__ import annotations

from .checkpoint import CheckpointError, load_checkpoint, load_for_inference
from .describe import describe

__all__ = ["Trainer", "train_main", "describe", "load_for_inference", "load_checkpoint", "CheckpointError"]


def __getattr__(name: str):
    if name in ("Trainer", "train_main"):
        from . import trainer

        return getattr(trainer, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
