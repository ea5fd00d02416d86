"""The seed documents' tables regenerated: CLGN slides tables 1-2 and loss ablation, patent table 1.

Every table has two blocks with the same columns:

* **reported in the source** — numbers read from ``reported_tables.csv`` (the documents' claims,
  never computed here), with the source file named;
* **this run** — numbers read from the study's ``results/*.csv`` (written by the notebooks through
  the evaluation protocol), with the profile and data named in the caption.

A method the source reports but this project does not implement shows as ``not implemented``; a method
implemented but not evaluated in this run shows as ``not run`` (``not computed`` for a metric or bin the
profile skips, e.g. FID in ``tiny``); a cell a source does not report shows as ``—``. Nothing absent
ever becomes a zero. The study's ``lgnet`` method is LG-Net's own network (methods/lgnet.py), reproduced in
the ``LG-Net (lgnet)`` column; CLGN without GAM is the CLGN ablation ``no-gam``.

What each this-run cell measures is stated, never implied: CLGN's tables score the **composite** (known
pixels pasted back), the patent table the **raw** network output (the patent scores its generator's
output); both SSIM variants have their own rows (the sources' "SSIM" is set beside ``ssim_gauss``);
the block heading and the caption (:class:`RunInfo`) name the mask set, image count, split, resolution
and quantisation; an FID over fewer than 2048 images is shown with its ``n`` and "not comparable".

Tables are kept *tidy* (one row per cell: ``block, row, col, value, display, ...``) and written as CSV
(tidy), Markdown and LaTeX (booktabs) by :func:`write_table`.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..utils.io import atomic_write_csv, atomic_write_text

REPORTED_CSV = Path(__file__).with_name("reported_tables.csv")
REPORTED, THIS_RUN = "reported in the source", "this run"
ABSENT, NOT_IMPLEMENTED, NOT_RUN, NOT_COMPUTED = "—", "not implemented", "not run", "not computed"

# reported metric name -> protocol metric name (faceinpaint_core.eval.protocol.METRICS); the sources' SSIM
# (window not stated) is set beside Wang et al.'s Gaussian-window SSIM
METRIC_MAP = {"L1_percent": "l1_percent", "PSNR": "psnr", "SSIM": "ssim_gauss", "FID": "fid", "LPIPS": "lpips"}
# reported method name -> our method (METHOD_MAP) or our stand-in (STAND_INS): from the methods' `reported_as` /
# `stand_in_for` class attributes
from .labels import METHOD_MAP, METRIC_LABELS, OUR_LABELS, STAND_INS  # noqa: E402  (shared with the figures)
CLASSICAL = ("telea", "ns", "biharmonic")
BIN_LABELS = {"1-10": "1-10 %", "20-30": "20-30 %", "40-50": "40-50 %", "average": "average"}
OUTPUT_LABELS = {"composite": "composite (prediction in the hole, known pixels pasted back)",
                 "raw": "raw network output (known pixels not pasted back)"}
QUANTIZE_LABELS = {"uint8": "outputs and ground truth rounded to 8 bits (round(255x)/255, as saved PNGs) before "
                            "every metric, i.e. PSNR with MAX = 255",
                   "none": "float outputs, not quantised (PSNR with MAX = 1)"}

# Caption names of the mask sets by kind (faceinpaint_core.masks.MASK_SET_NAMES when the package has them).
_MASK_SET_NAMES = {
    "irregular": "generated free-form brush strokes (DeepFill v2 style, kind `irregular`)",
    "nvidia": "NVIDIA irregular masks (Liu et al. 2018) binned by each mask's measured hole ratio at the "
              "evaluation resolution (kind `nvidia`)",
    "qdimd": "QD-IMD irregular masks, test split (kind `qdimd`)",
    "rect": "one rectangle per mask (kind `rect`)",
    "circle": "one disc per mask (kind `circle`)",
    "regular": "one rectangle or one disc per mask (kind `regular`)",
}


def mask_set_name(kind: str) -> str:
    """What a mask kind is, in words, for captions (unknown kinds are named as they are)."""
    from .. import masks

    names = {**_MASK_SET_NAMES, **getattr(masks, "MASK_SET_NAMES", {})}
    return names.get(kind, f"kind `{kind}`")


@dataclass(frozen=True)
class Column:
    """One method column: its header, the reported method it shows and our method (``None`` = absent).

    ``stand_in``: our method that stands in for an unimplemented reported one; it gets its own column and
    this column's this-run cells say so instead of showing its numbers.
    """

    label: str
    reported: str | None
    ours: str | None
    stand_in: str | None = None


def load_reported(path: str | Path = REPORTED_CSV) -> pd.DataFrame:
    """The documents' numbers, one row per cell, with ``ours`` (mapped method) and ``metric_key`` added."""
    rep = pd.read_csv(path, dtype={"hole_ratio": str})
    rep["ours"] = rep["method"].map(dict(METHOD_MAP)).fillna("")
    rep["metric_key"] = rep["metric"].map(METRIC_MAP)
    return rep


def load_measured(results_dir: str | Path, names: tuple[str, ...] | None = None) -> pd.DataFrame:
    """This run's protocol rows: ``classical_floor.csv`` + every ``eval_*.csv`` (column ``result_file`` added).

    Args:
        names: restrict to these file names; default every file that exists.
    """
    results_dir = Path(results_dir)
    files = [results_dir / n for n in names] if names else (
        [results_dir / "classical_floor.csv"] + sorted(results_dir.glob("eval_*.csv")))
    frames = [pd.read_csv(f, dtype={"bin": str}).assign(result_file=f.name) for f in files if f.is_file()]
    if not frames:
        return pd.DataFrame(columns=["method", "mask_type", "bin", "output", "metric", "value", "note", "quantize",
                                     "result_file"])
    out = pd.concat(frames, ignore_index=True)
    out["note"] = out["note"].fillna("") if "note" in out else ""
    return out


def _four_decimals(metric: str) -> bool:
    return metric.startswith("ssim") or metric == "lpips"


def fmt_value(value: float, metric: str) -> str:
    """The seeds' precision: SSIM/LPIPS 3-4 decimals, everything else 2."""
    return f"{value:.4f}" if _four_decimals(metric) else f"{value:.2f}"


def _fmt_reported(value: float, metric: str) -> str:
    return f"{value:.3f}" if _four_decimals(metric) else f"{value:.2f}"


def stand_in_display(reported: str, ours: str) -> str:
    """This-run cell of a reported method we do not implement but stand in for with ``ours``."""
    return f"reproduced as {OUR_LABELS.get(ours, ours)} (not {reported}'s network)"


def seed_columns(reported: pd.DataFrame, extra: tuple[str, ...] = CLASSICAL) -> list[Column]:
    """Columns for a seed table: every reported method (in source order, a stand-in right after the method it
    stands in for), then ``extra`` methods of ours."""
    cols = []
    for name in dict.fromkeys(reported["method"]):
        ours, stand_in = METHOD_MAP.get(name), STAND_INS.get(name)
        cols.append(Column(f"{name} ({ours})" if ours else name, name, ours, stand_in))
        if stand_in:
            cols.append(Column(f"{OUR_LABELS.get(stand_in, stand_in)} ({stand_in})", None, stand_in))
    taken = {c.ours for c in cols}
    cols += [Column(OUR_LABELS.get(m, m), None, m) for m in extra if m not in taken]
    return cols


def _measured_cell(measured: pd.DataFrame, method: str | None, **where) -> tuple[float, str, str, str]:
    """(value, display, result file, quantize) of one 'this run' cell; a filter column the rows lack matches nothing.

    An FID with a comparability note (fewer than 2048 images) is displayed with it: ``12.34 (n=50, n<2048, ...)``.
    """
    if method is None:
        return float("nan"), NOT_IMPLEMENTED, "", ""
    sel = measured[measured["method"] == method]
    if sel.empty:
        return float("nan"), NOT_RUN, "", ""
    for key, val in where.items():
        sel = sel[sel[key].astype(str) == str(val)] if key in sel else sel.iloc[:0]
    if sel.empty:
        return float("nan"), NOT_COMPUTED, "", ""
    row = sel.iloc[0]
    value, note, quantize = float(row["value"]), row.get("note") or "", str(row.get("quantize", ""))
    if value != value:
        return value, (note or "n/a"), row["result_file"], quantize
    shown = fmt_value(value, where.get("metric", ""))
    return value, (f"{shown} ({note})" if note else shown), row["result_file"], quantize


def _this_run_cell(measured: pd.DataFrame, col: Column, **where) -> dict:
    """The tidy fields of one this-run cell of column ``col`` (stand-in columns say what stands in)."""
    if col.ours is None and col.stand_in:
        return dict(value=float("nan"), display=stand_in_display(col.reported, col.stand_in), source="",
                    output="", quantize="")
    v, d, s, q = _measured_cell(measured, col.ours, **where)
    return dict(value=v, display=d, source=s, output=where.get("output", ""), quantize=q)


def _reported_fields(rep: pd.DataFrame, col: Column, **where) -> dict:
    v, d, s = _reported_cell(rep, col.reported, **where)
    return dict(value=v, display=d, source=s, output="", quantize="")


def _reported_cell(reported: pd.DataFrame, method: str | None, **where) -> tuple[float, str, str]:
    if method is None:
        return float("nan"), ABSENT, ""
    sel = reported[reported["method"] == method]
    for key, val in where.items():
        sel = sel[sel[key].astype(str) == str(val)]
    if sel.empty:
        return float("nan"), ABSENT, ""
    row = sel.iloc[0]
    return float(row["value"]), _fmt_reported(float(row["value"]), row["metric_key"]), row["source"]


def clgn_table(reported: pd.DataFrame, measured: pd.DataFrame, table_prefix: str, mask_type: str,
               bins: tuple[str, ...] = ("1-10", "20-30", "40-50", "average"),
               metrics: tuple[str, ...] = ("l1_percent", "psnr", "ssim_gauss", "ssim_skimage", "fid"),
               output: str = "composite", extra: tuple[str, ...] = CLASSICAL) -> pd.DataFrame:
    """CLGN slides table 1 (``table_prefix="table 1"``, regular) or 2 (irregular): tidy rows.

    Rows are (metric, hole-ratio bin), columns the methods; reported and this-run blocks. This run's
    cells are the protocol rows of ``mask_type`` scored on ``output`` (CLGN's tables: the composite).
    ``extra``: our methods shown after the reported ones (the classical floor, the study's other methods).
    """
    rep = reported[reported["source"].str.startswith("000_") & reported["table"].str.startswith(table_prefix)]
    if rep.empty:
        raise ValueError(f"reported_tables.csv has no rows for CLGN {table_prefix!r}")
    rows = []
    for col in seed_columns(rep, extra):
        for metric in metrics:
            for b in bins:
                row = f"{METRIC_LABELS[metric]} {BIN_LABELS.get(b, b)}"
                common = dict(row=row, col=col.label, metric=metric, bin=b, mask_type=mask_type,
                              reported_method=col.reported or "", method=col.ours or "")
                rows.append(dict(block=REPORTED, **common,
                                 **_reported_fields(rep, col, metric_key=metric, hole_ratio=b)))
                rows.append(dict(block=THIS_RUN, **common, **_this_run_cell(
                    measured, col, mask_type=mask_type, bin=b, output=output, metric=metric)))
    return _order(pd.DataFrame(rows))


def patent_table(reported: pd.DataFrame, measured: pd.DataFrame, ours: tuple[str, ...] = (),
                 mask_type: str = "irregular", bin: str = "average",
                 metrics: tuple[str, ...] = ("psnr", "ssim_gauss", "ssim_skimage", "fid"),
                 output: str = "raw") -> pd.DataFrame:
    """The patent's table 1 (PSNR / SSIM / FID on CelebA-HQ): rows methods, columns metrics.

    The patent names neither its masks nor their hole ratios (see :func:`patent_caption`); this run's cell
    is the ``mask_type`` average over the study's bins (``bin``), scored on ``output`` — the raw network
    output by default, as the patent scores its generator's output.
    """
    return methods_table(reported, measured, "001_", ours, mask_type, bin, metrics, output)


def edge_diffusion_table(reported: pd.DataFrame, measured: pd.DataFrame, ours: tuple[str, ...] = (),
                         mask_type: str = "irregular", bin: str = "average",
                         metrics: tuple[str, ...] = ("ssim_gauss", "ssim_skimage", "psnr"),
                         output: str = "composite") -> pd.DataFrame:
    """Source 002's table 1 (SSIM / PSNR against PIC and RFR): rows methods, columns metrics.

    The source states no mask ratio (see :func:`edge_diffusion_caption`); this run's cell is the
    ``mask_type`` average over the study's bins. The edge-guided sampler pastes the known pixels back at
    every step, so its raw output and composite agree outside the hole; the composite is shown.
    """
    return methods_table(reported, measured, "002_", ours, mask_type, bin, metrics, output)


def methods_table(reported: pd.DataFrame, measured: pd.DataFrame, source_prefix: str, ours: tuple[str, ...],
                  mask_type: str, bin: str, metrics: tuple[str, ...], output: str) -> pd.DataFrame:
    """A source's one-row-per-method table: its reported methods (source order), then ``ours``."""
    rep = reported[reported["source"].str.startswith(source_prefix)]
    if rep.empty:
        raise ValueError(f"reported_tables.csv has no rows for source {source_prefix}*")
    methods = [Column(f"{m} ({METHOD_MAP[m]})" if m in METHOD_MAP else m, m, METHOD_MAP.get(m))
               for m in dict.fromkeys(rep["method"])]
    taken = {c.ours for c in methods}
    methods += [Column(OUR_LABELS.get(m, m), None, m) for m in ours if m not in taken]
    rows = []
    for col in methods:
        for metric in metrics:
            common = dict(row=col.label, col=METRIC_LABELS[metric], metric=metric, bin=bin, mask_type=mask_type,
                          reported_method=col.reported or "", method=col.ours or "")
            rows.append(dict(block=REPORTED, **common, **_reported_fields(rep, col, metric_key=metric)))
            rows.append(dict(block=THIS_RUN, **common, **_this_run_cell(
                measured, col, mask_type=mask_type, bin=bin, output=output, metric=metric)))
    return _order(pd.DataFrame(rows))


def _order(tidy: pd.DataFrame) -> pd.DataFrame:
    """Blocks reported-first, rows and columns in first-appearance order (stable, byte-reproducible)."""
    tidy = tidy.copy()
    tidy["_b"] = tidy["block"].map({REPORTED: 0, THIS_RUN: 1})
    tidy["_r"] = tidy["row"].map({r: i for i, r in enumerate(dict.fromkeys(tidy["row"]))})
    tidy["_c"] = tidy["col"].map({c: i for i, c in enumerate(dict.fromkeys(tidy["col"]))})
    return tidy.sort_values(["_b", "_r", "_c"], kind="stable").drop(columns=["_b", "_r", "_c"]).reset_index(drop=True)


def pivot(tidy: pd.DataFrame, block: str) -> pd.DataFrame:
    """The displayed grid of one block: index = row labels, columns = column labels (strings)."""
    sub = tidy[tidy["block"] == block]
    rows, cols = list(dict.fromkeys(sub["row"])), list(dict.fromkeys(sub["col"]))
    grid = sub.pivot(index="row", columns="col", values="display")
    return grid.reindex(index=rows, columns=cols)


def block_scoring(tidy: pd.DataFrame, block: str) -> str:
    """What a block's numbers are scored on, from its rows' ``output`` and ``quantize`` (``""`` if nothing)."""
    sub = tidy[tidy["block"] == block]
    words = []
    for key, labels in (("output", {"composite": "composite output (known pixels pasted back)",
                                    "raw": "raw network output"}),
                        ("quantize", {"uint8": "8-bit quantised", "none": "not quantised"})):
        vals = [v for v in dict.fromkeys(sub[key].astype(str)) if v not in ("", "nan")] if key in sub else []
        words += [labels.get(v, v) for v in vals]
    return ", ".join(words)


def to_markdown(tidy: pd.DataFrame, caption: str) -> str:
    """Caption, then one Markdown grid per block (the this-run heading says what its cells are scored on)."""
    parts = [f"**{caption}**", ""]
    for block in (REPORTED, THIS_RUN):
        if (tidy["block"] == block).any():
            grid = pivot(tidy, block)
            table = grid.rename_axis("").reset_index().to_markdown(index=False, disable_numparse=True)
            scoring = block_scoring(tidy, block)
            parts += [f"*{block}*" + (f" — {scoring}" if scoring else ""), "", table, ""]
    return "\n".join(parts)


_TEX_ESCAPES = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "—": "---",
                "<": r"\textless{}", ">": r"\textgreater{}", "σ": r"$\sigma$", "×": r"$\times$",
                "≥": r"$\geq$", "·": r"$\cdot$"}


def tex_escape(text: str) -> str:
    """Escape LaTeX special characters."""
    return "".join(_TEX_ESCAPES.get(ch, ch) for ch in str(text))


def to_latex(tidy: pd.DataFrame, caption: str, label: str) -> str:
    """A booktabs table: header row, then each block under a ``\\multicolumn`` heading."""
    cols = list(dict.fromkeys(tidy["col"]))
    head = " & ".join([""] + [tex_escape(c) for c in cols]) + r" \\"
    lines = [r"\begin{table}[t]", r"\centering", r"\small",
             rf"\caption{{{tex_escape(caption)}}}", rf"\label{{{label}}}",
             r"\begin{tabular}{l" + "r" * len(cols) + "}", r"\toprule", head]
    for block in (REPORTED, THIS_RUN):
        if not (tidy["block"] == block).any():
            continue
        scoring = block_scoring(tidy, block)
        heading = rf"\emph{{{tex_escape(block)}}}" + (f" --- {tex_escape(scoring)}" if scoring else "")
        lines += [r"\midrule", rf"\multicolumn{{{len(cols) + 1}}}{{l}}{{{heading}}} \\"]
        for row, cells in pivot(tidy, block).iterrows():
            lines.append(" & ".join([tex_escape(row)] + [tex_escape(c) for c in cells]) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}", ""]
    return "\n".join(lines)


def write_table(tidy: pd.DataFrame, results_dir: str | Path, stem: str, caption: str) -> dict[str, Path]:
    """Write ``<stem>.csv`` (tidy), ``<stem>.md`` and ``<stem>.tex`` atomically; returns the paths."""
    results_dir = Path(results_dir)
    csv = atomic_write_csv(results_dir / f"{stem}.csv", tidy)
    md = atomic_write_text(results_dir / f"{stem}.md", to_markdown(tidy, caption) + "\n")
    tex = atomic_write_text(results_dir / f"{stem}.tex", to_latex(tidy, caption, f"tab:{stem}"))
    return {"csv": csv, "md": md, "tex": tex}


SSIM_NOTE = ("SSIM (Gaussian σ=1.5) is Wang et al. 2004's 11×11 Gaussian window; SSIM (7×7 uniform, skimage "
             "default) is scikit-image's default window with sample covariance; the sources do not state their "
             "window, and their 'SSIM' is set beside the Gaussian variant.")
FID_NOTE = "An FID over fewer than 2048 images is shown with its n and is not comparable to published FIDs."


def recorded(measured: pd.DataFrame, column: str, default: str = "not recorded") -> str:
    """The distinct values of ``column`` in this run's rows, comma-joined (what the results really used)."""
    if column not in measured or measured.empty:
        return default
    return ", ".join(str(v) for v in dict.fromkeys(measured[column].dropna().astype(str))) or default


@dataclass(frozen=True)
class RunInfo:
    """What this run evaluated on, for captions: profile, faces (dataset, split, count, size), quantisation."""

    profile: str
    dataset: str
    synthetic: bool
    n_eval: int
    size: int
    split: str = "test"
    quantize: str = "uint8"

    def faces(self) -> str:
        data = "SYNTHETIC procedurally drawn faces (not real faces)" if self.synthetic else self.dataset
        return (f"{data}, {self.split} split, {self.n_eval} images per cell (per mask set and hole-ratio bin) "
                f"at {self.size}×{self.size} px")

    def caption(self, mask_kind: str | None = None, bins=None, output: str | None = None) -> str:
        """``This run: ...`` naming the profile, faces, mask set and bins, the scored output and quantisation."""
        parts = [f"This run: profile `{self.profile}`; faces: {self.faces()}"]
        if mask_kind:
            parts.append(f"masks: {mask_set_name(mask_kind)}" + (f", bins {', '.join(bins)} %" if bins else ""))
        if output:
            parts.append(f"scored on the {OUTPUT_LABELS.get(output, output)}")
        parts.append(", ".join(QUANTIZE_LABELS.get(q.strip(), q.strip()) for q in self.quantize.split(",")))
        return "; ".join(parts) + ". " + SSIM_NOTE + " " + FID_NOTE


def run_caption(profile: str, dataset: str, synthetic: bool, n_eval: int, size: int, **kw) -> str:
    """The 'this run' half of a caption (see :meth:`RunInfo.caption`; ``kw``: split, quantize)."""
    return RunInfo(profile, dataset, synthetic, n_eval, size, **kw).caption()


CLGN_REPORTED_DATA = ("Reported: source 000 (CLGN slides): CelebA + CelebA-HQ, 200,000 faces drawn at random, "
                      "160,000 train / 40,000 test; resolution, raw vs composite, quantisation and SSIM window "
                      "not stated.")
CLGN_REPORTED_MASKS = {1: "regular masks (rectangles and circles)",
                       2: "irregular masks, QD-IMD (2,000 masks of varied coverage, github.com/karfly/qd-imd)"}


def clgn_caption(table: int, mask_kind: str, bins, run: RunInfo) -> str:
    """Caption of CLGN slides table 1 (regular masks) or 2 (irregular): the source's protocol, then this run's."""
    if table not in CLGN_REPORTED_MASKS:
        raise ValueError(f"CLGN slides table {table!r} unknown; known: {sorted(CLGN_REPORTED_MASKS)}")
    return (f"CLGN slides table {table}: L1 (%), PSNR, SSIM, FID by hole ratio with {CLGN_REPORTED_MASKS[table]}. "
            f"{CLGN_REPORTED_DATA} 'LG-Net' is the slides' number for LG-Net; this run's LG-Net (lgnet) is "
            f"LG-Net's own three-stage network trained here (CLGN without GAM is the CLGN ablation no-gam). "
            + run.caption(mask_kind, bins, "composite"))


# What the patent (source 001, [0007], [0219]-[0236]) says about its table 1: the faces are a public face
# set preprocessed to 256×256 (CelebA-HQ per [0234]); the masks are "public image-inpainting masks
# preprocessed to 256×256" (对图像修复公开的掩码进行预处理), randomly paired with faces during training; the
# broken test face goes through the generator and "the repaired test face" (修复后的测试人脸图像, the
# network's output; no pasting back is described) is scored with PSNR (MAX = 255 for 8-bit samples, eq. 25),
# SSIM (K1 = 0.01, K2 = 0.03, L = 255, eqs. 26-29, window not stated) and FID (Inception-v3 2048-d, eq. 30).
PATENT_REPORTED = ("Reported: source 001 (patent CN113298736A), CelebA-HQ faces at 256×256; masks: 'public "
                   "image-inpainting masks' preprocessed to 256×256 — the patent names neither the mask set "
                   "nor its hole ratios nor the number of test images; scored on the generator's output image "
                   "(no pasting back of known pixels is described) with PSNR on 8-bit images (MAX = 255), SSIM "
                   "with L = 255 (window not stated) and FID on Inception-v3 features.")


def patent_caption(mask_kind: str, bins, run: RunInfo) -> str:
    """Caption of the patent's table 1: what the patent used, then what this run used (raw output)."""
    return ("Patent CN113298736A table 1: PSNR, SSIM, FID. " + PATENT_REPORTED + " The patent's masks are "
            "unknown, so this run's cells are the average over its bins of the mask set named here. "
            + run.caption(mask_kind, bins, "raw"))


EDGE_DIFFUSION_REPORTED = (
    "Reported: source 002 (edge-guided diffusion face inpainting), table 1: Helen (2,330 faces) and CelebA-HQ; "
    "'large irregular' masks whose set, hole ratios and resolution are not stated, nor the number of test "
    "images, nor whether known pixels are pasted back; PSNR by its eq. (6) and SSIM (window not stated). "
    "The reported PIC and RFR cells are the source's numbers; their this-run cells are this study's own "
    "implementations (registry names in the column heading), trained and scored like every other method; a "
    "reported method without an implementation reads 'not implemented'.")


def edge_diffusion_caption(mask_kind: str, bins, run: RunInfo) -> str:
    """Caption of source 002's table 1: what the source used, then what this run used (composite)."""
    return ("Source 002 table 1: SSIM and PSNR. " + EDGE_DIFFUSION_REPORTED + " The source gives no mask ratio, "
            "so this run's cells are the average over its bins of the mask set named here. "
            + run.caption(mask_kind, bins, "composite"))


def ablation_caption(mask_kind: str, bin: str, steps: int, train_profile: str, run: RunInfo) -> str:
    """Caption of the CLGN ablation table."""
    return (f"CLGN ablations, each variant trained for {steps} steps (training profile `{train_profile}`). "
            "Reported: source 000 (CLGN slides) loss-ablation table; its masks, data and protocol are not "
            "stated. " + run.caption(mask_kind, (bin,), "composite"))


# --- ablations --------------------------------------------------------------------------------------------
# CLGN ablation slug (methods.clgn.ABLATIONS) -> the reported row of the slides' loss-ablation table
_ABLATION_REPORTED = {"rec-only": "CLGN loss=reconstruction", "adv-only": "CLGN loss=adversarial",
                      "tv-only": "CLGN loss=total variation", "perc-only": "CLGN loss=perceptual",
                      "style-only": "CLGN loss=style", "full": "CLGN loss=all five"}


def _clgn_ablations() -> tuple[tuple[str, dict, str | None], ...]:
    from ..methods.clgn import ABLATIONS

    return tuple((label, flags, _ABLATION_REPORTED.get(slug)) for slug, (label, flags) in ABLATIONS.items())


# (row label, CLGN config overrides, reported method name in reported_tables.csv or None)
CLGN_ABLATIONS: tuple[tuple[str, dict, str | None], ...] = _clgn_ablations()

# What the slides state about stage stacking and GAM, in words only (no table): quoted, never computed.
from .labels import CLGN_ABLATION_CLAIMS  # noqa: E402,F401  (quoted in the report too)


def ablation_table(reported: pd.DataFrame, measured: pd.DataFrame,
                   metrics: tuple[str, ...] = ("psnr", "ssim_gauss", "ssim_skimage", "fid", "lpips", "l1_percent"),
                   mask_type: str = "irregular", bin: str = "20-30", output: str = "composite") -> pd.DataFrame:
    """CLGN ablations: rows = variants, columns = metrics; ``measured`` has a ``variant`` column."""
    rep = reported[reported["table"] == "loss ablation"]
    rows = []
    for label, _, rep_name in CLGN_ABLATIONS:
        sub = measured[measured["variant"] == label] if "variant" in measured else measured.iloc[:0]
        for metric in metrics:
            common = dict(row=label, col=METRIC_LABELS[metric], metric=metric, bin=bin, mask_type=mask_type,
                          reported_method=rep_name or "", method="clgn")
            col = Column(label, rep_name, "clgn")
            rows.append(dict(block=REPORTED, **common, **_reported_fields(rep, col, metric_key=metric)))
            rows.append(dict(block=THIS_RUN, **common, **_this_run_cell(
                sub, col, mask_type=mask_type, bin=bin, output=output, metric=metric)))
    return _order(pd.DataFrame(rows))


def variants_table(measured: pd.DataFrame, method: str, labels: list[str],
                   metrics: tuple[str, ...] = ("psnr", "ssim_gauss", "ssim_skimage", "l1_percent"),
                   mask_type: str = "irregular", bin: str = "20-30", output: str = "composite") -> pd.DataFrame:
    """Ablations a source reports no numbers for: rows = ``labels`` (variants, in order), columns = metrics,
    a this-run block only; ``measured`` has a ``variant`` column (variants not run read ``not run``)."""
    if "variant" not in measured:
        measured = pd.DataFrame(columns=["variant", "method", "result_file"])
    if "note" in measured:  # rows read straight from CSV carry NaN for an empty note
        measured = measured.assign(note=measured["note"].fillna(""))
    rows = []
    for label in labels:
        sub = measured[measured["variant"] == label] if "variant" in measured else measured.iloc[:0]
        col = Column(label, None, method)
        for metric in metrics:
            common = dict(row=label, col=METRIC_LABELS[metric], metric=metric, bin=bin, mask_type=mask_type,
                          reported_method="", method=method)
            rows.append(dict(block=THIS_RUN, **common, **_this_run_cell(
                sub, col, mask_type=mask_type, bin=bin, output=output, metric=metric)))
    return _order(pd.DataFrame(rows))


def variants_caption(title: str, mask_kind: str, bin: str, sets: dict, train_profile: str, run: RunInfo) -> str:
    """Caption of a this-run-only ablation table: what varied, how long each variant trained, the protocol."""
    length = ", ".join(f"{k}={v}" for k, v in sets.items()) or "the training profile's length"
    return (f"{title}; each variant trained with {length} (training profile `{train_profile}`). The source "
            "reports no ablation numbers. " + run.caption(mask_kind, (bin,), "composite"))


from .frames import parser_miou_frame  # noqa: E402,F401  (moved: the parser job needs no tables)
