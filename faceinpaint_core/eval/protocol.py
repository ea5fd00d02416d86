"""The evaluation protocol shared by every method and every table.

Given a predictor, a set of faces and frozen mask sets (one per mask kind × hole-ratio bin):

1. image ``i`` of the face set is paired with mask ``i`` of each frozen set (same pairing for every
   method, so every method sees exactly the same holes);
2. the prediction is composited, ``out = pred · mask + input · (1 − mask)`` (known pixels are kept);
3. ``l1``, ``psnr``, ``ssim`` are computed per image on the full composited image (names
   ``l1_full``/``psnr_full``/``ssim_full`` in the metric column), FID / LPIPS per cell when their
   weights exist;
4. cells are aggregated into the seeds' table shape (mask type × bin × metric, plus the average over
   bins) with provenance columns.

PSNR of a perfect reconstruction is ``inf``; averages use :func:`faceinpaint_core.metrics.mean_finite`
and report how many were infinite.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from ..masks import build_mask_set, load_mask_set, mask_set_dirname
from ..metrics import l1, mean_finite, psnr, ssim
from ..paths import WeightsMissing
from ..utils.io import atomic_write_csv, atomic_write_text
from ..utils.provenance import device_name, git_sha

log = logging.getLogger(__name__)

# Table rows use the seeds' metric names; the protocol's names say what exactly is computed.
METRICS = ("l1_percent", "psnr", "ssim", "fid", "lpips")
NA_WEIGHTS = "n/a (weights missing)"


@dataclass(frozen=True)
class EvalSpec:
    """What to evaluate on: which faces, which masks, at which size."""

    size: int = 128
    n: int = 100
    mask_kinds: tuple[str, ...] = ("regular", "irregular")
    bins: tuple[str, ...] = ("1-10", "20-30", "40-50")
    seed: int = 0
    batch_size: int = 16
    fid: bool = True
    lpips: bool = True
    mask_root: str = "results/cache/mask_sets"
    mask_source: str | None = None  # data root for nvidia / qdimd mask kinds
    profile: str = "adhoc"
    quantize: str = "uint8"          # uint8 | none: round outputs to 8 bits before PSNR/SSIM/L1 (issue 10.5)
    parsing: str = "labels"          # labels | predicted: where parsing-conditioned methods get their maps
    parser_checkpoint: str | None = None  # face parser for parsing="predicted"


def prepare_mask_sets(spec: EvalSpec) -> dict[tuple[str, str], tuple[np.ndarray, dict]]:
    """Build (or reuse) the frozen mask set of every (kind, bin) in ``spec``."""
    sets = {}
    for kind in spec.mask_kinds:
        for b in spec.bins:
            folder = Path(spec.mask_root) / mask_set_dirname(kind, b, spec.n, spec.size, spec.seed)
            if not (folder / "manifest.json").is_file():
                build_mask_set(kind, b, spec.n, spec.size, spec.seed, folder, source_root=spec.mask_source)
            sets[(kind, b)] = load_mask_set(folder)
    return sets


def load_faces(dataset, n: int) -> dict[str, torch.Tensor]:
    """The first ``n`` faces of ``dataset`` stacked: ``image`` (n, 3, H, W), ``parsing`` (n, H, W) if present."""
    if len(dataset) < n:
        raise ValueError(f"dataset {getattr(dataset, 'name', '?')} has {len(dataset)} faces, fewer than n={n}")
    items = [dataset[i] for i in range(n)]
    out = {"image": torch.stack([it["image"] for it in items])}
    if all("parsing" in it for it in items):
        out["parsing"] = torch.stack([it["parsing"] for it in items])
    return out


class PerceptualMetrics:
    """FID / LPIPS, each built once; a missing weight file turns the metric into ``n/a``."""

    def __init__(self, want_fid: bool, want_lpips: bool, device: str):
        self.fid = self.lpips = None
        self.notes: dict[str, str] = {}
        if want_fid:
            self.fid = self._build("fid", device)
        if want_lpips:
            self.lpips = self._build("lpips", device)

    def _build(self, which: str, device: str):
        try:
            if which == "fid":
                from ..metrics.fid import InceptionFeatures
                return InceptionFeatures(weights="pretrained", device=device)
            from ..metrics.lpips import LPIPSMetric
            return LPIPSMetric(weights="pretrained", device=device)
        except WeightsMissing as err:
            print(f"[{which}] {err}")
            self.notes[which] = NA_WEIGHTS
            return None


def _predict(predictor, faces, masks: torch.Tensor, batch_size: int) -> torch.Tensor:
    outs = []
    needs_parsing = getattr(predictor, "needs_parsing", False)
    for s in range(0, masks.shape[0], batch_size):
        img, m = faces["image"][s:s + batch_size], masks[s:s + batch_size]
        parsing = faces["parsing"][s:s + batch_size] if needs_parsing and "parsing" in faces else None
        if needs_parsing and parsing is None and not getattr(predictor, "predicts_parsing", False):
            raise ValueError(f"method {predictor.name} needs parsing maps: evaluate on a dataset with labels")
        with torch.no_grad():
            pred = predictor(img * (1 - m), m, parsing)
        outs.append(pred * m + img * (1 - m))
    return torch.cat(outs)


def evaluate(predictor, faces: dict[str, torch.Tensor], mask_sets, spec: EvalSpec,
             device: str = "cpu", perceptual: PerceptualMetrics | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run ``predictor`` on every (kind, bin) cell.

    Args:
        predictor: callable ``(image (N,3,H,W) [0,1], mask (N,1,H,W), parsing) -> (N,3,H,W) [0,1]``.
        faces: from :func:`load_faces`, ``image`` (n, 3, size, size).
        mask_sets: from :func:`prepare_mask_sets`.
        perceptual: FID / LPIPS networks to reuse across methods (built from ``spec`` when None).
    Returns:
        ``(per_image, cells)``: one row per image and cell; one row per (kind, bin, metric).
    """
    perc = perceptual or PerceptualMetrics(spec.fid, spec.lpips, device)
    real_feats = perc.fid(faces["image"]) if perc.fid is not None else None
    per_image, cells = [], []
    for (kind, b), (masks_np, manifest) in mask_sets.items():
        masks = torch.from_numpy(masks_np[: spec.n]).float().unsqueeze(1)
        t0 = time.perf_counter()
        comp = _predict(predictor, faces, masks, spec.batch_size)
        secs = time.perf_counter() - t0
        gt = faces["image"]
        vals = {"l1_percent": l1(comp, gt) * 100.0, "psnr": psnr(comp, gt), "ssim": ssim(comp, gt)}
        if perc.lpips is not None:
            vals["lpips"] = torch.cat([perc.lpips(comp[s:s + 32], gt[s:s + 32]) for s in range(0, len(gt), 32)])
        base = {"mask_type": kind, "bin": b, "mask_set_sha256": manifest["sha256"]}
        for i in range(len(gt)):
            per_image.append({**base, "image": i, "hole_ratio": float(masks[i].mean()),
                              **{k: float(v[i]) for k, v in vals.items()}})
        for k, v in vals.items():
            mean, n_inf = mean_finite(v)
            cells.append({**base, "metric": k, "value": float(mean), "n": len(gt), "n_infinite": int(n_inf),
                          "note": ""})
        if perc.fid is not None:
            from ..metrics.fid import frechet_distance
            cells.append({**base, "metric": "fid", "value": frechet_distance(real_feats, perc.fid(comp)),
                          "n": len(gt), "n_infinite": 0, "note": f"fid over {len(gt)} images (noisy for small n)"})
        for k, note in perc.notes.items():
            cells.append({**base, "metric": k, "value": float("nan"), "n": len(gt), "n_infinite": 0, "note": note})
        print(f"  {predictor.name:>12} {kind:>9} {b:>6}: PSNR {float(mean_finite(vals['psnr'])[0]):6.2f}  "
              f"SSIM {float(vals['ssim'].mean()):.4f}  L1 {float(vals['l1_percent'].mean()):5.2f}%  ({secs:.1f}s)")
    return pd.DataFrame(per_image), pd.DataFrame(cells)


def add_average(cells: pd.DataFrame) -> pd.DataFrame:
    """Append the seeds' "average" row: the mean over bins of each (mask type, metric)."""
    avg = (cells.groupby(["mask_type", "metric"], sort=False)
           .agg(value=("value", "mean"), n=("n", "sum"), n_infinite=("n_infinite", "sum"),
                note=("note", "first"), mask_set_sha256=("mask_set_sha256", lambda s: "+".join(sorted(set(s)))[:64]))
           .reset_index())
    avg["bin"] = "average"
    return pd.concat([cells, avg[cells.columns]], ignore_index=True)


def with_provenance(cells: pd.DataFrame, predictor, spec: EvalSpec, split_hash: str, dataset: str,
                    device: str = "cpu") -> pd.DataFrame:
    """Add the provenance columns every result row carries."""
    out = cells.copy()
    prov = {"method": predictor.name, "checkpoint_sha256": getattr(predictor, "checkpoint_sha256", ""),
            "dataset": dataset, "split_hash": split_hash, "size": spec.size, "seed": spec.seed,
            "git_sha": git_sha(), "device": device_name(device), "profile": spec.profile}
    for k, v in prov.items():
        out[k] = v
    front = ["method", "mask_type", "bin", "metric", "value"]
    return out[front + [c for c in out.columns if c not in front]]


def format_table(rows: pd.DataFrame) -> str:
    """Markdown: rows = (metric, bin), columns = (method, mask type), like the seeds' tables."""
    shown = rows.copy()
    shown["cell"] = [_fmt(v, m, note) for v, m, note in zip(shown["value"], shown["metric"], shown["note"])]
    order = {m: i for i, m in enumerate(METRICS)}
    shown["_m"] = shown["metric"].map(order).fillna(99)
    pivot = shown.pivot_table(index=["_m", "metric", "bin"], columns=["method", "mask_type"], values="cell",
                              aggfunc="first", sort=False)
    pivot = pivot.sort_index(level=[0, 2], key=lambda s: s.map(_bin_key) if s.name == "bin" else s)
    pivot.index = pivot.index.droplevel(0)
    pivot.columns = [f"{m} / {k}" for m, k in pivot.columns]
    return pivot.reset_index().to_markdown(index=False)


def _bin_key(b: str) -> float:
    return 1e9 if b == "average" else float(str(b).split("-")[0])


def _fmt(v: float, metric: str, note: str) -> str:
    if v != v:  # NaN
        return note or "n/a"
    return f"{v:.4f}" if metric in ("ssim", "lpips") else f"{v:.2f}"


def write_results(rows: pd.DataFrame, out_csv: str | Path) -> tuple[Path, Path]:
    """CSV + Markdown side by side (atomic writes)."""
    out_csv = Path(out_csv)
    atomic_write_csv(out_csv, rows)
    md = out_csv.with_suffix(".md")
    atomic_write_text(md, format_table(rows) + "\n")
    return out_csv, md
