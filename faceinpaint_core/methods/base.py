"""The plug-in contract between a method and the one generic trainer / evaluator.

A method declares its networks and its loss terms; it never owns a training loop.
The :class:`~faceinpaint_core.train.trainer.Trainer` calls, each step::

    out = method.forward(nets, batch)                      # generator pass, with grad
    d_total, d_terms = method.discriminator_loss(nets, batch, detached(out))   # D update(s)
    g_total, g_terms = method.generator_loss(nets, batch, out)                 # G update

``batch`` is a dict of tensors on the device:

* ``image``  ``(N, 3, H, W)`` float in ``[0, 1]`` — the ground-truth face;
* ``mask``   ``(N, 1, H, W)`` float, **1 = hole**;
* ``parsing`` ``(N, H, W)`` long, 0 = background, 1..8 = regions (present when the dataset has labels).

Loss terms are returned as ``{name: scalar tensor}`` so the trainer logs every one.

Optional hooks the trainer looks for: ``after_discriminator_step(nets)`` (e.g. WGAN weight clipping)
and the class attribute ``ddp_find_unused_parameters = True`` for networks with branches that a step
may skip (passed to DistributedDataParallel).
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

import torch
from torch import nn


class InpaintMethod(ABC):
    """Base class of every trainable method (CLGN, LG-Net, facial-style, ...)."""

    name: ClassVar[str]
    config_cls: ClassVar[type]
    PROFILES: ClassVar[dict[str, dict[str, Any]]] = {"full": {}}
    needs_parsing: ClassVar[bool] = False

    def __init__(self, cfg):
        self.cfg = cfg

    # -- networks ---------------------------------------------------------------------------
    @abstractmethod
    def build_networks(self) -> dict[str, nn.Module]:
        """All networks by name: ``"G"`` is the generator; discriminators' names start with ``"D"``."""

    def generator_names(self) -> list[str]:
        return ["G"]

    def discriminator_names(self, nets: dict[str, nn.Module]) -> list[str]:
        return [k for k in nets if k.startswith("D")]

    # -- training ---------------------------------------------------------------------------
    @abstractmethod
    def forward(self, nets: dict[str, nn.Module], batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Generator pass. Must return ``"pred"`` (N, 3, H, W) in [0, 1] (the final raw output);
        may return per-stage outputs (``"stage1"``, ...) used by the losses and sample grids."""

    @abstractmethod
    def generator_loss(self, nets, batch, out) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """``(total, {term: value})`` for the generator."""

    def discriminator_loss(self, nets, batch, out) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """``(total, {term: value})`` for the discriminators; ``out`` is detached. Default: no D."""
        return torch.zeros((), device=batch["image"].device), {}

    def sample_images(self, batch, out) -> dict[str, torch.Tensor]:
        """Columns of the periodic sample grid, each ``(N, 3, H, W)`` in [0, 1]."""
        masked = batch["image"] * (1 - batch["mask"])
        cols = {"input": masked, "mask": batch["mask"].expand_as(batch["image"])}
        cols.update({k: v for k, v in out.items() if k.startswith("stage")})
        cols.update({"output": out["pred"], "ground truth": batch["image"]})
        return cols

    # -- inference --------------------------------------------------------------------------
    @torch.no_grad()
    def inpaint(self, nets, image, mask, parsing=None) -> torch.Tensor:
        """Raw prediction ``(N, 3, H, W)`` in [0, 1] for masked faces (the caller composites)."""
        batch = {"image": image * (1 - mask), "mask": mask}
        if parsing is not None:
            batch["parsing"] = parsing
        return self.forward(nets, batch)["pred"].clamp(0, 1)
