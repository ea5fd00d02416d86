"""The study's face parser as a trainable method (``parsing=predicted`` of the facial-style patent).

Trained with per-pixel cross-entropy over 9 classes (background + the patent's 8 regions,
:data:`faceinpaint_core.data.parsing.REGIONS`) on the CelebAMask-HQ labels; the input is the broken
face (the trainer's masks) so that it can parse the faces the inpainter receives. No discriminator.
Validation quality is the mean IoU (:func:`miou`) on the ``val`` split, reported by
:func:`evaluate_parser` both without holes (``miou_val_clean``) and with frozen irregular holes
(``miou_val_masked``).

Optimiser: Adam, lr 1e-3, betas (0.5, 0.999), constant rate [ours: the patent uses ground-truth maps
and has no parser]; there is no discriminator, so ``lr_d`` is unused.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ..config import TrainConfig
from ..nets.parser import FaceParser
from .base import InpaintMethod


@dataclass(frozen=True)
class FaceParserConfig:
    """Face-parser settings (the study's network; the patent uses ground-truth maps)."""

    train: TrainConfig = field(default_factory=lambda: TrainConfig(lr_g=1e-3, steps=20_000))
    widths: tuple[int, ...] = (32, 64, 128, 256)
    n_classes: int = 9
    mask_input: bool = True     # parse the broken face (image with holes + mask)


_FAST = {"train.num_workers": 0, "train.pin_memory": False, "train.perceptual_weights": "random",
         "train.val_images": 4}

PROFILES: dict[str, dict] = {
    "tiny": {**_FAST, "train.size": 32, "train.batch_size": 2, "train.steps": 4, "train.dataset": "synthetic",
             "train.ckpt_every": 4, "train.log_every": 1, "train.sample_every": 4, "widths": (8, 16, 32)},
    "smoke": {**_FAST, "train.size": 64, "train.batch_size": 8, "train.steps": 400, "train.num_workers": 1,
              "train.dataset": "celebamask-hq", "train.ckpt_every": 400, "train.log_every": 20,
              "train.sample_every": 200, "widths": (16, 32, 64, 64)},
    "full": {},
}


def miou(pred_labels: torch.Tensor, gt_labels: torch.Tensor, n_classes: int = 9):
    """Mean intersection-over-union over classes, from one confusion matrix over all pixels.

    A class absent from both prediction and ground truth has IoU NaN and is left out of the mean.

    Args:
        pred_labels: ``(N, H, W)`` long, values ``0..n_classes-1``.
        gt_labels: ``(N, H, W)`` long, same shape.
    Returns: ``(mean, per_class)``: a float and a ``(n_classes,)`` float64 tensor.
    """
    if pred_labels.shape != gt_labels.shape:
        raise ValueError(f"miou: prediction {tuple(pred_labels.shape)} and labels {tuple(gt_labels.shape)} differ")
    conf = confusion_matrix(pred_labels, gt_labels, n_classes)
    return miou_from_confusion(conf)


def confusion_matrix(pred_labels: torch.Tensor, gt_labels: torch.Tensor, n_classes: int = 9) -> torch.Tensor:
    """``(n_classes, n_classes)`` int64 counts, rows = ground truth, columns = prediction."""
    gt, pred = gt_labels.reshape(-1).long().cpu(), pred_labels.reshape(-1).long().cpu()
    if gt.numel() and (int(gt.min()) < 0 or int(gt.max()) >= n_classes or int(pred.min()) < 0
                       or int(pred.max()) >= n_classes):
        raise ValueError(f"confusion_matrix: labels must be in 0..{n_classes - 1}")
    return torch.bincount(gt * n_classes + pred, minlength=n_classes ** 2).reshape(n_classes, n_classes)


def miou_from_confusion(conf: torch.Tensor):
    """``(mean, per_class)`` IoU of a confusion matrix (see :func:`miou`)."""
    conf = conf.double()
    tp = conf.diag()
    union = conf.sum(0) + conf.sum(1) - tp
    per_class = torch.where(union > 0, tp / union.clamp(min=1), torch.full_like(tp, float("nan")))
    valid = ~per_class.isnan()
    mean = float(per_class[valid].mean()) if valid.any() else float("nan")
    return mean, per_class


def colorize_tensor(parsing: torch.Tensor) -> torch.Tensor:
    """Parsing ``(N, H, W)`` long → colour picture ``(N, 3, H, W)`` float in [0, 1] (fixed palette)."""
    from ..data.parsing import colorize

    return torch.from_numpy(colorize(parsing)).permute(0, 3, 1, 2).float().div(255).to(parsing.device)


class FaceParserMethod(InpaintMethod):
    """Face parser trained with cross-entropy over background + 8 regions; no discriminator."""

    name = "parser"
    label = "face parser"
    task = "parse"
    evaluated_by_protocol = False  # scored by mIoU in its notebook, not by the inpainting protocol
    config_cls = FaceParserConfig
    PROFILES = PROFILES
    needs_parsing = True

    def build_networks(self) -> dict[str, nn.Module]:
        c = self.cfg
        return {"G": FaceParser(c.widths, c.n_classes, c.mask_input)}

    def forward(self, nets, batch):
        """Logits ``(N, 9, H, W)`` and their argmax colourised as ``pred`` ``(N, 3, H, W)`` in [0, 1]."""
        logits = nets["G"](batch["image"], batch.get("mask"))
        return {"logits": logits, "pred": colorize_tensor(logits.detach().argmax(dim=1))}

    def generator_loss(self, nets, batch, out):
        """Per-pixel cross-entropy against ``batch["parsing"]``; logs pixel accuracy (not optimised)."""
        if "parsing" not in batch:
            raise ValueError("the face parser trains on parsing labels: use a dataset with labels (celebamask-hq)")
        ce = F.cross_entropy(out["logits"], batch["parsing"])
        acc = (out["logits"].detach().argmax(dim=1) == batch["parsing"]).float().mean()
        return ce, {"ce": ce, "pixel_acc": acc}

    def sample_images(self, batch, out):
        mask = batch.get("mask", torch.zeros_like(batch["image"][:, :1]))
        cols = {"input": batch["image"] * (1 - mask), "predicted": out["pred"]}
        if "parsing" in batch:
            cols["labels"] = colorize_tensor(batch["parsing"])
        cols["ground truth"] = batch["image"]
        return cols


def _eval_masks(n: int, size: int, seed: int) -> torch.Tensor:
    """Frozen irregular 20-30 % holes for parser evaluation, one per image, from ``rng(seed, purpose, i)``."""
    import numpy as np

    from ..masks import generate_mask
    from ..utils.seeding import rng

    masks = [generate_mask("irregular", "20-30", size, rng(seed, "parser-eval-mask", i)) for i in range(n)]
    return torch.from_numpy(np.stack(masks)).float().unsqueeze(1)


@torch.no_grad()
def evaluate_parser(checkpoint, dataset, split: str = "val", data_root=None, size: int | None = None,
                    n: int | None = None, batch_size: int = 16, device: str = "cpu", seed: int = 0) -> dict:
    """Validation mIoU of a parser checkpoint, without holes and with frozen irregular 20-30 % holes.

    Args:
        checkpoint: path of a ``parser`` checkpoint.
        dataset: a dataset name/folder for :func:`faceinpaint_core.data.open_dataset`, or a Dataset
            whose items have ``image`` ``(3, S, S)`` and ``parsing`` ``(S, S)``.
        split: the split to score (``val`` for the study's table).
        size: working size (default: the checkpoint's training size); n: first ``n`` items only.
    Returns: ``{"miou_val_clean", "miou_val_masked", "iou_clean_<class>", ..., "n_images", "size",
        "split", "checkpoint_sha256"}``.
    """
    from ..data.parsing import REGIONS
    from ..train.checkpoint import load_for_inference
    from ..utils.io import sha256_file

    method, nets = load_for_inference(Path(checkpoint), device=device)
    if method.name != "parser":
        raise ValueError(f"{checkpoint}: holds method {method.name!r}, not 'parser'")
    size = size or int(method.cfg.train.size)
    ds = _open(dataset, size, split, data_root, seed)
    n = min(n or len(ds), len(ds))
    k = method.cfg.n_classes
    conf = {"clean": torch.zeros(k, k, dtype=torch.long), "masked": torch.zeros(k, k, dtype=torch.long)}
    masks = _eval_masks(n, size, seed)
    for start in range(0, n, batch_size):
        items = [ds[i] for i in range(start, min(start + batch_size, n))]
        image = torch.stack([it["image"] for it in items]).to(device)
        gt = torch.stack([it["parsing"] for it in items])
        for key, mask in (("clean", None), ("masked", masks[start:start + len(items)].to(device))):
            conf[key] += confusion_matrix(nets["G"].predict(image, mask).cpu(), gt, k)
    names = ("background", *REGIONS)
    out = {"split": split, "size": size, "n_images": n, "checkpoint_sha256": sha256_file(checkpoint)}
    for key, cm in conf.items():
        mean, per = miou_from_confusion(cm)
        out[f"miou_{split}_{key}"] = mean
        out.update({f"iou_{key}_{names[i]}": float(per[i]) for i in range(k)})
    return out


def _open(dataset, size, split, data_root, seed):
    if not isinstance(dataset, (str, Path)):
        return dataset
    from ..data import open_dataset

    return open_dataset(str(dataset), size=size, split=split, data_root=data_root, with_parsing=True, seed=seed)
