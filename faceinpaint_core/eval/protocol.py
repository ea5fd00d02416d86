"""The evaluation protocol shared by every method and every table.

Given a predictor, a set of faces and frozen mask sets (one per mask kind × hole-ratio bin):

1. image ``i`` of the face set is paired with mask ``i`` of each frozen set (same pairing for every
   method, so every method sees exactly the same holes); the predictor sees ``input · (1 − mask)``;
2. two outputs are scored (column ``output``):

   * ``raw`` — the prediction exactly as the method returns it (the patent scores its network's output);
   * ``composite`` — ``pred · mask + input · (1 − mask)``: known pixels pasted back (CLGN's tables);

3. with ``quantize="uint8"`` (the default; the sources save 8-bit images and score those) both outputs
   and the ground truth are rounded to 8 bits, ``round(255 x) / 255``, before every metric — PSNR with
   ``MAX = 1`` on them equals PSNR with ``MAX = 255`` on the saved images; ``quantize="none"`` scores the
   float images;
4. per image: ``l1_percent``, ``psnr``, ``ssim_gauss`` (11x11 Gaussian, σ = 1.5, Wang et al. 2004),
   ``ssim_skimage`` (7x7 uniform, scikit-image's default), ``lpips`` when its weights exist; per cell:
   ``fid`` when its weights exist, with a note ``n=<n>, n<2048, not comparable`` below 2048 images;
5. cells are aggregated into the seeds' table shape (mask type × bin × output × metric, plus the average
   over bins) with provenance columns, ``quantize`` and ``parsing`` among them.

Parsing-conditioned methods (``needs_parsing``) get their maps from the dataset's labels
(``parsing="labels"``) or from the project's face parser (``parsing="predicted"`` with
``parser_checkpoint``; see :func:`faceinpaint_core.eval.predictors.use_predicted_parsing`).

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
from ..metrics import l1, mean_finite, psnr, quantize_uint8, ssim_gauss, ssim_skimage
from ..paths import WeightsMissing
from ..utils.io import atomic_write_csv, atomic_write_text
from ..utils.provenance import device_name, git_sha

log = logging.getLogger(__name__)

# Protocol metric names (the table modules map the seeds' names onto them).
METRICS = ("l1_percent", "psnr", "ssim_gauss", "ssim_skimage", "fid", "lpips")
OUTPUTS = ("composite", "raw")
QUANTIZE_MODES = ("uint8", "none")
PARSING_MODES = ("labels", "predicted")
NA_WEIGHTS = "n/a (weights missing)"


def _l1_percent(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return l1(pred, target) * 100.0


PIXEL_METRICS = {"l1_percent": _l1_percent, "psnr": psnr, "ssim_gauss": ssim_gauss, "ssim_skimage": ssim_skimage}


def _check_choice(option: str, value, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"evaluate: {option}={value!r} is not allowed; use one of {', '.join(allowed)} "
                         f"(--{option.replace('_', '-')})")


@dataclass(frozen=True)
class EvalSpec:
    """What to evaluate on (faces, masks, size) and how to score (quantisation, parsing source)."""

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
    quantize: str = "uint8"          # uint8 | none: round outputs and ground truth to 8 bits before every metric
    parsing: str = "labels"          # labels | predicted: where parsing-conditioned methods get their maps
    parser_checkpoint: str | None = None  # face parser for parsing="predicted"

    def __post_init__(self):
        _check_choice("quantize", self.quantize, QUANTIZE_MODES)
        _check_choice("parsing", self.parsing, PARSING_MODES)
        if self.parser_checkpoint and self.parsing != "predicted":
            raise ValueError(f"evaluate: parser_checkpoint is used only with parsing='predicted' "
                             f"(--parsing predicted); got parsing={self.parsing!r}")


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
    """The first ``n`` faces of ``dataset`` stacked: ``image`` (n, 3, H, W), ``parsing`` (n, H, W) if present.

    A split with fewer than ``n`` faces is cycled (sample ``i`` is face ``i mod len``, each time with another
    mask of the frozen set, as a mask set smaller than its pool reuses masks); ``n_unique`` then says how many
    distinct faces there are and every result row carries it as ``faces_unique``."""
    if len(dataset) < 1:
        raise ValueError(f"dataset {getattr(dataset, 'name', '?')} has no faces")
    m = len(dataset)
    if m < n:
        log.warning("dataset %s has %d faces, fewer than n=%d: each face is scored with %d-%d different masks",
                    getattr(dataset, "name", "?"), m, n, n // m, -(-n // m))
    items = [dataset[i % m] for i in range(min(n, m))]
    items = [items[i % m] for i in range(n)]
    out = {"image": torch.stack([it["image"] for it in items])}
    if m < n:
        out["n_unique"] = m
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


def scored_images(images: torch.Tensor, quantize: str) -> torch.Tensor:
    """The images the metrics see: rounded to 8 bits (``uint8``) or as they are (``none``).

    Args:
        images: (N, 3, H, W) in [0, 1].
    """
    _check_choice("quantize", quantize, QUANTIZE_MODES)
    return quantize_uint8(images) if quantize == "uint8" else images.clamp(0, 1)


def _parsing_of(predictor, faces, spec: EvalSpec, sl: slice):
    """The batch's label maps for a parsing-conditioned method with ``parsing="labels"``, else ``None``."""
    if not getattr(predictor, "needs_parsing", False) or spec.parsing == "predicted":
        return None
    if "parsing" not in faces:
        raise ValueError(f"method {predictor.name} needs parsing maps and parsing='labels', but this face set has "
                         f"no labels: evaluate on a labelled dataset (celebamask-hq, synthetic) or use the face "
                         f"parser (--parsing predicted --parser-checkpoint runs/<parser run>/checkpoints/final.pt)")
    return faces["parsing"][sl]


def _predict(predictor, faces, masks: torch.Tensor, spec: EvalSpec) -> torch.Tensor:
    """Raw predictions (N, 3, H, W) in [0, 1] of ``predictor`` on the masked faces, in batches."""
    outs = []
    for s in range(0, masks.shape[0], spec.batch_size):
        sl = slice(s, s + spec.batch_size)
        img, m = faces["image"][sl], masks[sl]
        with torch.no_grad():
            outs.append(predictor(img * (1 - m), m, _parsing_of(predictor, faces, spec, sl)).float().clamp(0, 1))
    return torch.cat(outs)


def output_images(raw: torch.Tensor, image: torch.Tensor, masks: torch.Tensor, output: str) -> torch.Tensor:
    """``raw`` as returned, or the ``composite`` ``raw · mask + image · (1 − mask)``. Shapes (N, C, H, W)."""
    _check_choice("output", output, OUTPUTS)
    return raw if output == "raw" else raw * masks + image * (1 - masks)


def _image_metrics(out: torch.Tensor, gt: torch.Tensor, perc: PerceptualMetrics) -> dict[str, torch.Tensor]:
    vals = {name: fn(out, gt) for name, fn in PIXEL_METRICS.items()}
    if perc.lpips is not None:
        vals["lpips"] = torch.cat([perc.lpips(out[s:s + 32], gt[s:s + 32]) for s in range(0, len(gt), 32)])
    return vals


def _cell_rows(base: dict, vals: dict, n: int, perc: PerceptualMetrics, fid_value: float | None) -> list[dict]:
    """One row per metric of one (kind, bin, output) cell: mean over images, ``n``, ``n_infinite``, ``note``."""
    rows = []
    for k, v in vals.items():
        mean, n_inf = mean_finite(v)
        rows.append({**base, "metric": k, "value": float(mean), "n": n, "n_infinite": int(n_inf), "note": ""})
    if fid_value is not None:
        from ..metrics.fid import fid_comparability_note
        rows.append({**base, "metric": "fid", "value": fid_value, "n": n, "n_infinite": 0,
                     "note": fid_comparability_note(n)})
    for k, note in perc.notes.items():
        rows.append({**base, "metric": k, "value": float("nan"), "n": n, "n_infinite": 0, "note": note})
    return rows


def _print_cell(name: str, base: dict, vals: dict, fid_value, n: int, secs: float) -> None:
    fid = f"  FID {fid_value:.2f} (n={n})" if fid_value is not None else ""
    print(f"  {name:>12} {base['mask_type']:>9} {base['bin']:>6} {base['output']:>9}: "
          f"PSNR {mean_finite(vals['psnr'])[0]:6.2f}  SSIM(gauss) {float(vals['ssim_gauss'].mean()):.4f}  "
          f"L1 {float(vals['l1_percent'].mean()):5.2f}%{fid}  ({secs:.1f}s)")


def evaluate(predictor, faces: dict[str, torch.Tensor], mask_sets, spec: EvalSpec,
             device: str = "cpu", perceptual: PerceptualMetrics | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run ``predictor`` on every (kind, bin) cell and score its raw and composited outputs.

    Args:
        predictor: callable ``(image (N,3,H,W) [0,1], mask (N,1,H,W), parsing) -> (N,3,H,W) [0,1]`` returning
            the raw prediction (the protocol composites).
        faces: from :func:`load_faces`, ``image`` (n, 3, size, size) (+ ``parsing`` (n, size, size)).
        mask_sets: from :func:`prepare_mask_sets`.
        perceptual: FID / LPIPS networks to reuse across methods (built from ``spec`` when None).
    Returns:
        ``(per_image, cells)``: one row per (kind, bin, output, image); one row per (kind, bin, output, metric).
    """
    perc = perceptual or PerceptualMetrics(spec.fid, spec.lpips, device)
    _parsing_of(predictor, faces, spec, slice(0, 0))  # fail before any work if labels are missing
    gt = scored_images(faces["image"], spec.quantize)
    real_feats = perc.fid(gt) if perc.fid is not None else None
    per_image, cells = [], []
    for (kind, b), (masks_np, manifest) in mask_sets.items():
        masks = torch.from_numpy(masks_np[: spec.n]).float().unsqueeze(1)
        t0 = time.perf_counter()
        raw = _predict(predictor, faces, masks, spec)
        secs = time.perf_counter() - t0  # printed only: result rows stay byte-reproducible
        for output in OUTPUTS:
            out = scored_images(output_images(raw, faces["image"], masks, output), spec.quantize)
            vals = _image_metrics(out, gt, perc)
            fid_value = None
            if perc.fid is not None:
                from ..metrics.fid import frechet_distance
                fid_value = frechet_distance(real_feats, perc.fid(out))
            base = {"mask_type": kind, "bin": b, "output": output, "mask_set_sha256": manifest["sha256"]}
            if "n_unique" in faces:
                base["faces_unique"] = int(faces["n_unique"])
            per_image += [{**base, "image": i, "hole_ratio": float(masks[i].mean()),
                           **{k: float(v[i]) for k, v in vals.items()}} for i in range(len(gt))]
            cells += _cell_rows(base, vals, len(gt), perc, fid_value)
            _print_cell(predictor.name, base, vals, fid_value, len(gt), secs)
    return pd.DataFrame(per_image), pd.DataFrame(cells)


def add_average(cells: pd.DataFrame) -> pd.DataFrame:
    """Append the seeds' "average" row: the mean over bins of each (mask type, output, metric); a column that
    describes the cell rather than scores it (``faces_unique`` when faces repeat) keeps its largest value."""
    keys = ["mask_type", "output", "metric"]
    aggs = dict(value=("value", "mean"), n=("n", "sum"), n_infinite=("n_infinite", "sum"), note=("note", "first"),
                mask_set_sha256=("mask_set_sha256", lambda s: "+".join(sorted(set(s)))[:64]))
    aggs.update({c: (c, "max") for c in cells.columns if c not in aggs and c not in keys and c != "bin"})
    avg = cells.groupby(keys, sort=False).agg(**aggs).reset_index()
    avg["bin"] = "average"
    return pd.concat([cells, avg[cells.columns]], ignore_index=True)


def with_provenance(cells: pd.DataFrame, predictor, spec: EvalSpec, split_hash: str, dataset: str,
                    device: str = "cpu", split: str = "") -> pd.DataFrame:
    """Add the provenance columns every result row carries (no wall times: rows are byte-reproducible)."""
    out = cells.copy()
    needs_parsing = getattr(predictor, "needs_parsing", False)
    prov = {"method": predictor.name, "checkpoint_sha256": getattr(predictor, "checkpoint_sha256", ""),
            "dataset": dataset, "split": split, "split_hash": split_hash, "size": spec.size, "seed": spec.seed,
            "quantize": spec.quantize, "parsing": spec.parsing if needs_parsing else "none",
            "parser_sha256": getattr(predictor, "parser_sha256", "none") if needs_parsing else "none",
            "git_sha": git_sha(), "device": device_name(device), "profile": spec.profile}
    for k, v in prov.items():
        out[k] = v
    front = ["method", "mask_type", "bin", "output", "metric", "value", "n", "n_infinite", "note"]
    return out[front + [c for c in out.columns if c not in front]]


TABLE_LEGEND = ("output: composite = the prediction in the hole with the known pixels pasted back, raw = the method's "
                "output as returned; ssim_gauss: 11x11 Gaussian window, σ = 1.5 (Wang et al. 2004); ssim_skimage: "
                "7x7 uniform window, sample covariance (scikit-image's default); FID below 2048 images is not "
                "comparable to published FIDs")
QUANTIZE_LEGEND = {"uint8": "outputs and ground truth rounded to 8 bits before every metric (PSNR with MAX = 255)",
                   "none": "float outputs, not quantised (PSNR with MAX = 1)"}


def format_table(rows: pd.DataFrame) -> str:
    """Markdown: rows = (output, metric, bin), columns = (method / mask type), like the seeds' tables."""
    shown = rows.assign(cell=[_fmt(v, m, note) for v, m, note in zip(rows["value"], rows["metric"], rows["note"])],
                        col=rows["method"].astype(str) + " / " + rows["mask_type"].astype(str))
    order = {m: i for i, m in enumerate(METRICS)}
    shown = shown.assign(_o=shown["output"].map({o: i for i, o in enumerate(OUTPUTS)}).fillna(9),
                         _m=shown["metric"].map(order).fillna(99), _b=shown["bin"].map(_bin_key))
    shown = shown.sort_values(["_o", "_m", "_b"], kind="stable")
    grid = shown.pivot_table(index=["output", "metric", "bin"], columns="col", values="cell", aggfunc="first",
                             sort=False)
    grid = grid[[c for c in dict.fromkeys(rows["method"].astype(str) + " / " + rows["mask_type"].astype(str))]]
    quant = "; ".join(f"quantize {q}: {QUANTIZE_LEGEND.get(q, q)}" for q in dict.fromkeys(rows.get("quantize", [])))
    legend = f"*{quant + '. ' if quant else ''}{TABLE_LEGEND}.*"
    return legend + "\n\n" + grid.reset_index().to_markdown(index=False)


def _bin_key(b: str) -> float:
    return 1e9 if b == "average" else float(str(b).split("-")[0])


def _fmt(v: float, metric: str, note: str) -> str:
    if v != v:  # NaN
        return note or "n/a"
    text = f"{v:.4f}" if metric.startswith("ssim") or metric == "lpips" else f"{v:.2f}"
    return f"{text} ({note})" if note else text


def write_results(rows: pd.DataFrame, out_csv: str | Path) -> tuple[Path, Path]:
    """CSV + Markdown side by side (atomic writes)."""
    out_csv = Path(out_csv)
    atomic_write_csv(out_csv, rows)
    md = out_csv.with_suffix(".md")
    atomic_write_text(md, format_table(rows) + "\n")
    return out_csv, md
