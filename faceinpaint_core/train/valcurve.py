"""Learning curve: PSNR / SSIM of the generator on a small fixed validation set every ``train.val_every`` steps.

The set is the first ``train.val_curve_images`` faces of the ``val`` split (never the test split the
tables score), each with a mask drawn from the training mask distribution by a sampler of its own seed
(``derive_seed(seed, "val-curve")``), so every run of a profile sees the same faces and holes. Scores
are on the composite (known pixels from the input, the hole from the network), in [0, 1] after 8-bit
quantisation, like the evaluation protocol; ``val.csv`` also carries the biharmonic inpainting level
(scikit-image ``inpaint_biharmonic``) on the very same set, the classical floor every curve should cross.
"""
from __future__ import annotations

import csv
import logging
from pathlib import Path

import numpy as np
import torch

from ..metrics.pixel import mean_finite, psnr, quantize_uint8, ssim_gauss
from ..utils.io import atomic_write_text
from ..utils.seeding import derive_seed
from . import data as tdata

log = logging.getLogger(__name__)
FIELDS = ("step", "psnr", "ssim", "biharmonic_psnr", "biharmonic_ssim", "n_images")


def biharmonic_fill(image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """scikit-image biharmonic inpainting per image. Args: image (N, 3, H, W) in [0, 1]; mask (N, 1, H, W), 1 = hole."""
    from skimage.restoration import inpaint_biharmonic

    outs = []
    for img, m in zip(image, mask):
        arr = (img * (1 - m)).permute(1, 2, 0).double().cpu().numpy()
        outs.append(torch.from_numpy(inpaint_biharmonic(arr, m[0].cpu().numpy() > 0.5, channel_axis=-1)))
    return torch.stack(outs).permute(0, 3, 1, 2).float().clamp(0, 1)


def scores(pred: torch.Tensor, image: torch.Tensor, mask: torch.Tensor) -> tuple[float, float]:
    """``(mean PSNR, mean SSIM)`` of the 8-bit composite ``pred`` in the hole, ``image`` elsewhere."""
    comp = quantize_uint8(pred.float().cpu() * mask + image * (1 - mask))
    target = quantize_uint8(image)
    return mean_finite(psnr(comp, target))[0], mean_finite(ssim_gauss(comp, target))[0]


class ValidationCurve:
    """Scores a method's generator on a fixed batch and appends rows to ``<run>/val.csv``.

    Args:
        faces: the validation faces (items with ``"image"``, maybe ``"parsing"``).
        tc: the run's :class:`~faceinpaint_core.config.TrainConfig` (mask kinds, bins, size, seed, set size).
        data_root: where external mask kinds find their files.
    """

    def __init__(self, faces, tc, data_root=None):
        from torch.utils.data import default_collate

        n = min(tc.val_curve_images, len(faces))
        if n < 1:
            raise ValueError("train.val_every > 0 needs a non-empty validation split")
        sampler = tdata.make_mask_sampler(tc, data_root)
        sampler = type(sampler)(tc.train_masks, tc.train_bins, tc.size,
                                derive_seed(tc.split_seed, "val-curve") % 2**31, source_root=data_root)
        items = [{**faces[i], "mask": tdata.mask_tensor(sampler(i), tc.size, f"val-curve mask {i}")} for i in range(n)]
        self.batch = {k: v for k, v in default_collate(items).items() if torch.is_tensor(v)}
        img, mask = self.batch["image"], self.batch["mask"]
        self.floor = scores(biharmonic_fill(img, mask), img, mask)
        self.rows: list[dict] = []

    @torch.no_grad()
    def evaluate(self, method, nets: dict, device, autocast) -> tuple[float, float]:
        """``(psnr, ssim)`` of ``method.inpaint`` with ``nets`` (eval mode for the call) on the fixed batch."""
        modes = {n: m.training for n, m in nets.items()}
        for m in nets.values():
            m.eval()
        try:
            keys = tuple(getattr(method, "batch_keys", ("image", "mask", "parsing")))
            b = tdata.to_device(self.batch, device, False, keys)
            with torch.random.fork_rng(devices=[device] if torch.device(device).type == "cuda" else []), autocast:
                pred = method.inpaint(nets, b["image"], b["mask"], b.get("parsing"))
        finally:
            for n, m in nets.items():
                m.train(modes[n])
        return scores(pred, self.batch["image"], self.batch["mask"])

    def log(self, run_dir: Path, step: int, psnr_v: float, ssim_v: float) -> None:
        """Append the row of ``step`` and rewrite ``val.csv`` atomically (rows after a resume point are dropped)."""
        path = Path(run_dir) / "val.csv"
        if not self.rows and path.is_file():
            with open(path, newline="") as fh:
                self.rows = [r for r in csv.DictReader(fh) if int(r["step"]) < step]
        self.rows.append({"step": step, "psnr": f"{psnr_v:.4f}", "ssim": f"{ssim_v:.5f}",
                          "biharmonic_psnr": f"{self.floor[0]:.4f}", "biharmonic_ssim": f"{self.floor[1]:.5f}",
                          "n_images": int(self.batch["image"].shape[0])})
        lines = [",".join(FIELDS)] + [",".join(str(r[k]) for k in FIELDS) for r in self.rows]
        atomic_write_text(path, "\n".join(lines) + "\n")
        log.info("step %d: val PSNR %.2f SSIM %.4f (biharmonic %.2f / %.4f)", step, psnr_v, ssim_v, *self.floor)


def open_validation_curve(cls, cfg, data_root=None) -> ValidationCurve | None:
    """The run's :class:`ValidationCurve`, or None when ``train.val_every`` is 0 or the method does not inpaint."""
    tc = cfg.train
    if not tc.val_every:
        return None
    if getattr(cls, "task", "inpaint") != "inpaint":
        log.info("train.val_every ignored: method %s does task %r, not inpaint", cls.name, cls.task)
        return None
    from ..data import open_dataset

    faces = open_dataset(tc.dataset, size=tc.size, split="val", data_root=data_root,
                         with_parsing=cls.needs_parsing, seed=tc.split_seed)
    return ValidationCurve(faces, tc, data_root)


def read_curve(path: Path) -> dict[str, np.ndarray]:
    """``val.csv`` as ``{column: array}``."""
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    return {k: np.array([float(r[k]) for r in rows]) for k in FIELDS}
