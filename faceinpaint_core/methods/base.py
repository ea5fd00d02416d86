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

Networks, by use:

* :meth:`InpaintMethod.build_networks` — every *trained* network (generators and discriminators);
  the trainer optimises them and checkpoints hold their weights. Never loss networks.
* :meth:`InpaintMethod.build_inference_networks` — only what inference runs (the generators);
  :func:`~faceinpaint_core.train.checkpoint.load_for_inference` uses it, so ``evaluate`` and
  ``inpaint`` never need a loss network's pretrained file (e.g. the ImageNet VGG16).
* :meth:`InpaintMethod.prepare_training` — frozen loss networks (perceptual VGG, ...), built by the
  trainer once before the first step (missing weights fail before training starts) or lazily by
  the loss functions.

Data (class-level, so the trainer opens the data before any network or run folder exists):

* :meth:`InpaintMethod.training_faces` — the training faces and the config completed from them
  (default: the ``train`` split of ``cfg.train.dataset``; the identity network returns identity-labelled
  faces of the training identities and sets its class count);
* :attr:`InpaintMethod.batch_keys` — the item keys moved to the device into ``batch`` (default
  ``image``, ``mask``, ``parsing``; a method adds its own labels, e.g. ``label``);
* :attr:`InpaintMethod.study_dataset` — a dataset the study trains the method on instead of the study's
  own when real data is used (e.g. CelebA for its identity labels); None = the study's dataset.

Optional hooks the trainer looks for: ``after_discriminator_step(nets)`` (e.g. WGAN weight clipping)
and the class attribute ``ddp_find_unused_parameters = True`` for networks with branches that a step
may skip (passed to DistributedDataParallel).
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

import torch
from torch import nn

from ..losses.perceptual import INPUT_NORMS, check_layers
from ..losses.reconstruction import NORMALIZATIONS, VALUE_RANGES


class InpaintMethod(ABC):
    """Base class of every trainable method (CLGN, LG-Net, facial-style, ...)."""

    name: ClassVar[str]
    config_cls: ClassVar[type]
    PROFILES: ClassVar[dict[str, dict[str, Any]]] = {"full": {}}
    needs_parsing: ClassVar[bool] = False
    batch_keys: ClassVar[tuple[str, ...]] = ("image", "mask", "parsing")
    study_dataset: ClassVar[str | None] = None
    # -- how tables, figures and apps present the method (nothing outside the method names it) --
    #: display label in tables and figures (default: the registry name)
    label: ClassVar[str] = ""
    #: names the sources' tables give this very method (its reproduced column), e.g. ("DeepFill v2 (gated conv)",)
    reported_as: ClassVar[tuple[str, ...]] = ()
    #: reported methods this one stands in for without being their network (shown in a column of its own)
    stand_in_for: ClassVar[tuple[str, ...]] = ()
    #: what the method does: "inpaint" (masked face -> filled face), "restore" (degraded -> restored face),
    #: "frontalize" (occluded profile -> frontal face), "recognise" (face -> embedding), "parse" (face -> regions);
    #: apps and studies pick their methods by task
    task: ClassVar[str] = "inpaint"
    #: tasks of other study methods whose checkpoints this method's training reads (e.g. a frozen prior of
    #: task "generate", an identity loss's "recognise"); the workflow makes their records its inputs and
    #: :meth:`sets_from_checkpoints` turns them into ``--set`` overrides
    builds_on_tasks: ClassVar[tuple[str, ...]] = ()
    #: tasks whose study method it compares itself with in its own study job (e.g. TSGAN's condition (e) runs the
    #: study's first inpainter): the record of that task's first protocol-scored study method is a job input
    compares_with_tasks: ClassVar[tuple[str, ...]] = ()
    #: tasks of other study methods whose checkpoints it uses at inference on faces that lack an input it trained
    #: with (a parsing-conditioned inpainter's face parser, task "parse", for faces without parsing labels): the
    #: study's jobs that score it on such faces read those records and load them
    infers_with_tasks: ClassVar[tuple[str, ...]] = ()

    def __init__(self, cfg):
        self.cfg = cfg

    # -- data -------------------------------------------------------------------------------
    @classmethod
    def training_faces(cls, cfg, data_root=None):
        """``(faces, cfg)``: the training face dataset and ``cfg`` completed from it (default: unchanged).

        Default: the ``train`` split of ``cfg.train.dataset`` at ``cfg.train.size`` (with parsing labels when
        :attr:`needs_parsing`)."""
        from ..data import open_dataset

        tc = cfg.train
        faces = open_dataset(tc.dataset, size=tc.size, split="train", data_root=data_root,
                             with_parsing=cls.needs_parsing, seed=tc.split_seed)
        return faces, cfg

    @classmethod
    def sets_from_checkpoints(cls, checkpoints: dict[str, str]) -> dict[str, Any]:
        """``--set`` overrides from the study's checkpoints ``{task: checkpoint path}`` of the tasks in
        :attr:`builds_on_tasks` (default: none)."""
        return {}

    # -- networks ---------------------------------------------------------------------------
    @abstractmethod
    def build_networks(self) -> dict[str, nn.Module]:
        """All trained networks by name: ``"G"`` is the generator; discriminators' names start with ``"D"``.
        Must not build loss networks (see :meth:`prepare_training`)."""

    def build_inference_networks(self) -> dict[str, nn.Module]:
        """Only the networks :meth:`forward` needs at inference (default: the ``generator_names()`` of
        :meth:`build_networks`); a method whose discriminators are costly to build overrides it."""
        nets = self.build_networks()
        return {n: nets[n] for n in self.generator_names() if n in nets}

    def prepare_training(self) -> None:
        """Build what only training needs (frozen loss networks); called by the trainer before step 0.
        Default: nothing."""

    def optimizer_name(self, side: str) -> str:
        """The optimiser of ``side`` (``"G"`` or ``"D"``), one of the trainer's ``OPTIMIZERS``; default
        ``cfg.train.optimizer`` (WGAN with weight clipping returns ``"rmsprop"``)."""
        return self.cfg.train.optimizer

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
    def set_inference_options(self, **opts) -> dict[str, Any]:
        """Change how inference runs without retraining (a sampler's ``steps``, ...); returns the options in
        force. The default method has none: any option given is a clear error naming it."""
        given = sorted(k for k, v in opts.items() if v is not None)
        if given:
            raise ValueError(f"method {self.name!r} has no inference options (got {given}); "
                             f"options such as --steps apply to sampling methods only")
        return {}

    @torch.no_grad()
    def restore(self, nets, degraded: torch.Tensor, seed: int = 0) -> torch.Tensor:
        """Restored faces ``(N, 3, S, S)`` in [0, 1] from degraded aligned faces (methods of task "restore")."""
        raise ValueError(f"method {self.name!r} (task {self.task!r}) does not restore degraded faces; "
                         f"use a method of task 'restore'")

    @torch.no_grad()
    def inpaint(self, nets, image, mask, parsing=None) -> torch.Tensor:
        """Raw prediction ``(N, 3, H, W)`` in [0, 1] for masked faces (the caller composites)."""
        batch = {"image": image * (1 - mask), "mask": mask}
        if parsing is not None:
            batch["parsing"] = parsing
        return self.forward(nets, batch)["pred"].clamp(0, 1)


def loss_option_problems(cfg) -> list[str]:
    """Messages for bad reconstruction / VGG options of a config with ``rec_normalization``, ``rec_range``,
    ``perc_layers``, ``style_layers`` and ``vgg_input`` fields (CLGN and facestyle)."""
    problems = []
    if cfg.rec_normalization not in NORMALIZATIONS:
        problems.append(f"rec_normalization must be one of {list(NORMALIZATIONS)} (got {cfg.rec_normalization!r})")
    if cfg.rec_range not in VALUE_RANGES:
        problems.append(f"rec_range must be one of {list(VALUE_RANGES)} (got {cfg.rec_range!r})")
    if cfg.vgg_input not in INPUT_NORMS:
        problems.append(f"vgg_input must be one of {list(INPUT_NORMS)} (got {cfg.vgg_input!r})")
    for name in ("perc_layers", "style_layers"):
        try:
            check_layers(getattr(cfg, name), name)
        except ValueError as exc:
            problems.append(str(exc))
    return problems
