"""The seed documents' tables regenerated: CLGN slides tables 1-2 and loss ablation, patent table 1.

Every table has two blocks with the same columns:

* **reported in the source** — numbers read from ``reported_tables.csv`` (the documents' claims,
  never computed here), with the source file named;
* **this run** — numbers read from the study's ``results/*.csv`` (written by the notebooks through
  the evaluation protocol), with the profile and data named in the caption.

A method the source reports but this project does not implement shows as ``not implemented``; a method
implemented but not evaluated in this run shows as ``not run`` (``not computed`` for a metric or bin the
profile skips, e.g. FID in ``tiny``); a cell a source does not report shows as ``—``. Nothing absent
ever becomes a zero.

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

# reported method name -> our method name (the naming map)
METHOD_MAP = {"CLGN": "clgn", "Ours": "clgn", "LG-Net": "lgnet", "facial-style (patent)": "facestyle"}
# reported metric name -> protocol metric name (faceinpaint_core.eval.protocol.METRICS)
METRIC_MAP = {"L1_percent": "l1_percent", "PSNR": "psnr", "SSIM": "ssim", "FID": "fid", "LPIPS": "lpips"}
from .labels import METRIC_LABELS, OUR_LABELS  # noqa: E402  (shared with the figures)
CLASSICAL = ("telea", "ns", "biharmonic")
BIN_LABELS = {"1-10": "1-10 %", "20-30": "20-30 %", "40-50": "40-50 %", "average": "average"}

IRREGULAR_NOTE = ("The source's irregular masks are QD-IMD; this run's are generated free-form brush strokes "
                  "(faceinpaint_core.masks, kind `irregular`).")


@dataclass(frozen=True)
class Column:
    """One method column: its header, the reported method it shows and our method (``None`` = absent)."""

    label: str
    reported: str | None
    ours: str | None


def load_reported(path: str | Path = REPORTED_CSV) -> pd.DataFrame:
    """The documents' numbers, one row per cell, with ``ours`` (mapped method) and ``metric_key`` added."""
    rep = pd.read_csv(path, dtype={"hole_ratio": str})
    rep["ours"] = rep["method"].map(METHOD_MAP).fillna("")
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
        return pd.DataFrame(columns=["method", "mask_type", "bin", "metric", "value", "note", "result_file"])
    out = pd.concat(frames, ignore_index=True)
    out["note"] = out["note"].fillna("") if "note" in out else ""
    return out


def fmt_value(value: float, metric: str) -> str:
    """The seeds' precision: SSIM/LPIPS 3-4 decimals, everything else 2."""
    if metric in ("ssim", "lpips"):
        return f"{value:.4f}"
    return f"{value:.2f}"


def _fmt_reported(value: float, metric: str) -> str:
    return f"{value:.3f}" if metric in ("ssim", "lpips") else f"{value:.2f}"


def seed_columns(reported: pd.DataFrame, extra: tuple[str, ...] = CLASSICAL) -> list[Column]:
    """Columns for a seed table: every reported method (in source order), then ``extra`` methods of ours."""
    cols = []
    for name in dict.fromkeys(reported["method"]):
        ours = METHOD_MAP.get(name)
        label = f"{name} ({ours})" if ours else name
        cols.append(Column(label, name, ours))
    taken = {c.ours for c in cols}
    cols += [Column(OUR_LABELS.get(m, m), None, m) for m in extra if m not in taken]
    return cols


def _measured_cell(measured: pd.DataFrame, method: str | None, **where) -> tuple[float, str, str]:
    """(value, display, result file) of one 'this run' cell."""
    if method is None:
        return float("nan"), NOT_IMPLEMENTED, ""
    sel = measured[measured["method"] == method]
    if sel.empty:
        return float("nan"), NOT_RUN, ""
    for key, val in where.items():
        sel = sel[sel[key].astype(str) == str(val)]
    if sel.empty:
        return float("nan"), NOT_COMPUTED, ""
    row = sel.iloc[0]
    value = float(row["value"])
    if value != value:
        return value, (row.get("note") or "n/a"), row["result_file"]
    return value, fmt_value(value, where.get("metric", "")), row["result_file"]


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
               metrics: tuple[str, ...] = ("l1_percent", "psnr", "ssim", "fid")) -> pd.DataFrame:
    """CLGN slides table 1 (``table_prefix="table 1"``, regular) or 2 (irregular): tidy rows.

    Rows are (metric, hole-ratio bin), columns the methods; reported and this-run blocks.
    """
    rep = reported[reported["source"].str.startswith("000_") & reported["table"].str.startswith(table_prefix)]
    if rep.empty:
        raise ValueError(f"reported_tables.csv has no rows for CLGN {table_prefix!r}")
    rows = []
    for col in seed_columns(rep):
        for metric in metrics:
            for b in bins:
                row = f"{METRIC_LABELS[metric]} {BIN_LABELS.get(b, b)}"
                common = dict(row=row, col=col.label, metric=metric, bin=b, mask_type=mask_type,
                              reported_method=col.reported or "", method=col.ours or "")
                v, d, s = _reported_cell(rep, col.reported, metric_key=metric, hole_ratio=b)
                rows.append(dict(block=REPORTED, **common, value=v, display=d, source=s))
                v, d, s = _measured_cell(measured, col.ours, mask_type=mask_type, bin=b, metric=metric)
                rows.append(dict(block=THIS_RUN, **common, value=v, display=d, source=s))
    return _order(pd.DataFrame(rows))


def patent_table(reported: pd.DataFrame, measured: pd.DataFrame, ours: tuple[str, ...] = (),
                 mask_type: str = "irregular", bin: str = "average",
                 metrics: tuple[str, ...] = ("psnr", "ssim", "fid")) -> pd.DataFrame:
    """The patent's table 1 (PSNR / SSIM / FID on CelebA-HQ): rows methods, columns metrics.

    The patent states neither its masks' hole ratio nor their kind beyond "irregular"; this run's cell is
    the irregular-mask average over the study's bins (``bin``).
    """
    rep = reported[reported["source"].str.startswith("001_")]
    if rep.empty:
        raise ValueError("reported_tables.csv has no rows for the patent (source 001_*)")
    methods = [Column(f"{m} ({METHOD_MAP[m]})" if m in METHOD_MAP else m, m, METHOD_MAP.get(m))
               for m in dict.fromkeys(rep["method"])]
    taken = {c.ours for c in methods}
    methods += [Column(OUR_LABELS.get(m, m), None, m) for m in ours if m not in taken]
    rows = []
    for col in methods:
        for metric in metrics:
            common = dict(row=col.label, col=METRIC_LABELS[metric], metric=metric, bin=bin, mask_type=mask_type,
                          reported_method=col.reported or "", method=col.ours or "")
            v, d, s = _reported_cell(rep, col.reported, metric_key=metric)
            rows.append(dict(block=REPORTED, **common, value=v, display=d, source=s))
            v, d, s = _measured_cell(measured, col.ours, mask_type=mask_type, bin=bin, metric=metric)
            rows.append(dict(block=THIS_RUN, **common, value=v, display=d, source=s))
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


def to_markdown(tidy: pd.DataFrame, caption: str) -> str:
    """Caption, then one Markdown grid per block."""
    parts = [f"**{caption}**", ""]
    for block in (REPORTED, THIS_RUN):
        if (tidy["block"] == block).any():
            grid = pivot(tidy, block)
            table = grid.rename_axis("").reset_index().to_markdown(index=False, disable_numparse=True)
            parts += [f"*{block}*", "", table, ""]
    return "\n".join(parts)


_TEX_ESCAPES = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "—": "---"}


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
        lines += [r"\midrule", rf"\multicolumn{{{len(cols) + 1}}}{{l}}{{\emph{{{tex_escape(block)}}}}} \\"]
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


def run_caption(profile: str, dataset: str, synthetic: bool, n_eval: int, size: int) -> str:
    """The 'this run' half of every caption: profile and data named."""
    data = "SYNTHETIC procedurally drawn faces" if synthetic else f"{dataset} (test split)"
    return f"This run: profile `{profile}`, {data}, {n_eval} faces per cell at {size}x{size} px."


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
CLGN_ABLATION_CLAIMS = (
    "Source 000 (CLGN slides, section 07) states without a table: stacking the three stages raises SSIM "
    "by 0.36 on average (三层网络叠加时结构相似度平均提升0.36); adding the attention module (GAM) raises "
    "PSNR by 6.23 and lowers the L1 error by 2.15 (添加注意力模块后峰值信噪比提升6.23，L1范数误差减少2.15). "
    "The loss-ablation table does not say whether each row is that loss alone or all losses but that one, "
    "nor its masks; this study reads each row as 'that loss alone' (共用 = all five together)."
)


def ablation_table(reported: pd.DataFrame, measured: pd.DataFrame,
                   metrics: tuple[str, ...] = ("psnr", "ssim", "fid", "lpips", "l1_percent"),
                   mask_type: str = "irregular", bin: str = "20-30") -> pd.DataFrame:
    """CLGN ablations: rows = variants, columns = metrics; ``measured`` has a ``variant`` column."""
    rep = reported[reported["table"] == "loss ablation"]
    rows = []
    for label, _, rep_name in CLGN_ABLATIONS:
        sub = measured[measured["variant"] == label] if "variant" in measured else measured.iloc[:0]
        for metric in metrics:
            common = dict(row=label, col=METRIC_LABELS[metric], metric=metric, bin=bin, mask_type=mask_type,
                          reported_method=rep_name or "", method="clgn")
            v, d, s = _reported_cell(rep, rep_name, metric_key=metric)
            rows.append(dict(block=REPORTED, **common, value=v, display=d, source=s))
            v, d, s = _measured_cell(sub, "clgn", mask_type=mask_type, bin=bin, metric=metric)
            rows.append(dict(block=THIS_RUN, **common, value=v, display=d, source=s))
    return _order(pd.DataFrame(rows))


def parser_miou_frame(result: dict) -> pd.DataFrame:
    """Rows ``condition (clean | masked), class, iou`` + the means, from ``methods.parser.evaluate_parser``."""
    rows = []
    for key, value in result.items():
        if key.startswith("miou_"):
            rows.append({"condition": key.rsplit("_", 1)[-1], "class": "mean (mIoU)", "iou": float(value)})
        elif key.startswith("iou_"):
            _, cond, name = key.split("_", 2)
            rows.append({"condition": cond, "class": name, "iou": float(value)})
    frame = pd.DataFrame(rows)
    for k in ("split", "size", "n_images", "checkpoint_sha256"):
        frame[k] = result.get(k, "")
    return frame.sort_values(["condition"], kind="stable").reset_index(drop=True)
