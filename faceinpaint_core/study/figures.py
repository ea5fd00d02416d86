"""The study's figures: mask bins, parsing maps, loss curves, sample grids, visual comparisons
(CLGN slides figures 1-2: original, masked input, each method) and metric-vs-hole-ratio plots.

Every figure is written as PNG and PDF at print resolution (300 dpi) by :func:`save_figure`, atomically
and without timestamps in the PDF metadata. Images are ``(N, 3, H, W)`` float tensors in ``[0, 1]``.
"""
from __future__ import annotations

import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402

from ..utils.io import atomic_write_bytes  # noqa: E402

DPI = 300
MASKED_GREY = 0.5  # hole pixels of the "masked input" panels are shown mid-grey, like the seeds' figures


def save_figure(fig, figures_dir: str | Path, stem: str, dpi: int = DPI) -> list[Path]:
    """Write ``<stem>.png`` and ``<stem>.pdf`` (300 dpi) atomically, close the figure, return the paths."""
    paths = []
    for ext, meta in (("png", {"Software": None}), ("pdf", {"CreationDate": None, "Producer": None})):
        buf = io.BytesIO()
        fig.savefig(buf, format=ext, dpi=dpi, bbox_inches="tight", metadata=meta)
        paths.append(atomic_write_bytes(Path(figures_dir) / f"{stem}.{ext}", buf.getvalue()))
    plt.close(fig)
    return paths


def to_hwc(image: torch.Tensor) -> np.ndarray:
    """``(3, H, W)`` or ``(1, H, W)`` tensor in [0, 1] → ``(H, W, 3)`` float array for ``imshow``."""
    arr = image.detach().float().clamp(0, 1).cpu().numpy()
    return np.repeat(arr, 3, axis=0).transpose(1, 2, 0) if arr.shape[0] == 1 else arr.transpose(1, 2, 0)


def masked_input(image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """What a method sees, drawn for a reader: hole pixels grey. Args: image (N,3,H,W), mask (N,1,H,W)."""
    return image * (1 - mask) + MASKED_GREY * mask


def image_grid(columns: dict[str, torch.Tensor], title: str = "", cell: float = 1.2):
    """A figure with one column per entry (each ``(N, 3|1, H, W)`` in [0, 1]) and one row per image."""
    names = list(columns)
    n = next(iter(columns.values())).shape[0]
    fig, axes = plt.subplots(n, len(names), figsize=(cell * len(names), cell * n), squeeze=False)
    for j, name in enumerate(names):
        for i in range(n):
            axes[i, j].imshow(to_hwc(columns[name][i]), interpolation="nearest")
            axes[i, j].set_xticks([])
            axes[i, j].set_yticks([])
        axes[0, j].set_title(name, fontsize=7)
    if title:
        fig.suptitle(wrap_label(title, cell * len(names), 9), fontsize=9)
    fit_titles(fig, axes[0], names, fontsize=7)
    return fig


def fit_titles(fig, axes, names: list[str], fontsize: float, rounds: int = 3) -> None:
    """``tight_layout`` with each axes title re-wrapped until it is no wider than its axes (measured)."""
    import textwrap

    fig.tight_layout()
    renderer = fig.canvas.get_renderer()
    for _ in range(rounds):
        changed = False
        for ax, name in zip(axes, names):
            ax.apply_aspect()  # images keep their aspect: the drawn axes is narrower than its layout box
            text_w = ax.title.get_window_extent(renderer).width
            room = ax.get_window_extent(renderer).width
            if text_w > room:
                longest = max(len(line) for line in ax.title.get_text().split("\n"))
                chars = max(4, int(longest * room / text_w))
                ax.set_title(textwrap.fill(name, chars, break_long_words=True), fontsize=fontsize)
                changed = True
        if not changed:
            return
        fig.tight_layout()


def wrap_label(text: str, width_in: float, fontsize: float) -> str:
    """``text`` broken into lines that fit ``width_in`` inches at ``fontsize`` pt (about 0.6 em per character)."""
    import textwrap

    chars = max(6, int(width_in * 72 / (0.6 * fontsize)))
    return "\n".join(textwrap.wrap(text, chars, break_long_words=True)) or text


def mask_bins_figure(mask_sets: dict, per_cell: int = 6):
    """Example masks of every (kind, bin) set: rows = sets, columns = masks (white = hole).

    Args:
        mask_sets: ``{(kind, bin): (masks (n, H, W) uint8 {0,1}, manifest)}`` from
            :func:`faceinpaint_core.eval.protocol.prepare_mask_sets`.
    """
    keys = list(mask_sets)
    k = min(per_cell, min(len(m) for m, _ in mask_sets.values()))
    fig, axes = plt.subplots(len(keys), k, figsize=(1.1 * k, 1.2 * len(keys)), squeeze=False)
    for i, key in enumerate(keys):
        masks = mask_sets[key][0]
        for j in range(k):
            ax = axes[i, j]
            ax.imshow(masks[j], cmap="gray", vmin=0, vmax=1, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_xlabel(f"{masks[j].mean() * 100:.0f}%", fontsize=6, labelpad=1)
        axes[i, 0].set_ylabel(f"{key[0]}\n{key[1]} %", fontsize=7)
    fig.suptitle(wrap_label("Frozen evaluation masks (white = hole; hole ratio under each)", 1.1 * k, 9), fontsize=9)
    fig.tight_layout()
    return fig


def parsing_figure(images: torch.Tensor, parsing: torch.Tensor):
    """Faces, their 8-region parsing maps and an overlay, with the region legend.

    Args:
        images: (N, 3, H, W) in [0, 1]; parsing: (N, H, W) long, 0 = background, 1..8 = regions.
    """
    from matplotlib.patches import Patch

    from ..data.parsing import REGIONS, colorize

    n = images.shape[0]
    fig, axes = plt.subplots(n, 3, figsize=(4.2, 1.4 * n), squeeze=False)
    for i in range(n):
        face, colours = to_hwc(images[i]), colorize(parsing[i].cpu().numpy()).astype(np.float32) / 255.0
        for ax, arr in zip(axes[i], (face, colours, 0.5 * face + 0.5 * colours)):
            ax.imshow(arr, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
    for ax, name in zip(axes[0], ("face", "parsing map", "overlay")):
        ax.set_title(name, fontsize=8)
    palette = colorize(np.arange(len(REGIONS) + 1, dtype=np.uint8)[None, :])[0] / 255.0
    names = ("background", *REGIONS) if len(REGIONS) == 8 else REGIONS
    handles = [Patch(color=palette[k], label=name) for k, name in enumerate(names)]
    fig.legend(handles=handles, loc="lower center", ncol=3, fontsize=6, frameon=False)
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    return fig


def loss_curves_figure(logs: dict[str, str | Path], max_terms: int = 12):
    """One panel per loss term (generator terms first), one line per run, from each run's ``log.csv``.

    Args:
        logs: ``{run label: path to log.csv}`` (a ``step`` column + one column per logged term).
    """
    frames = {label: pd.read_csv(path) for label, path in logs.items() if Path(path).is_file()}
    if not frames:
        raise FileNotFoundError(f"no log.csv among {list(logs.values())}")
    terms = list(dict.fromkeys(c for f in frames.values() for c in f.columns if _is_term(f, c)))
    terms = sorted(terms, key=lambda t: (not t.startswith("G"), not t.endswith("total"), t))[:max_terms]
    ncol = min(4, len(terms))
    nrow = -(-len(terms) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(2.6 * ncol, 2.0 * nrow), squeeze=False)
    for ax, term in zip(axes.flat, terms):
        for label, f in frames.items():
            if term in f:
                ax.plot(f["step"] if "step" in f else np.arange(len(f)), f[term], label=label, lw=1)
        ax.set_title(term, fontsize=8)
        ax.set_xlabel("step", fontsize=7)
        ax.tick_params(labelsize=6)
    for ax in list(axes.flat)[len(terms):]:
        ax.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(3, len(labels)), fontsize=6, frameon=False)
    fig.tight_layout(rect=(0, 0.04 + 0.025 * -(-len(labels) // 3), 1, 1))
    return fig


def _is_term(frame: pd.DataFrame, col: str) -> bool:
    """A plottable loss column: numeric, not bookkeeping (step, wall time, learning rate, throughput)."""
    bookkeeping = ("step", "epoch", "time", "wall", "seconds", "lr", "images_per_s", "it_s")
    return (not any(col == b or col.startswith(f"{b}_") or col.endswith(f"_{b}") for b in bookkeeping)
            and pd.api.types.is_numeric_dtype(frame[col]) and frame[col].notna().any())


def latest_sample(run_dir: str | Path) -> Path:
    """The last (by name) sample-grid PNG a training run wrote."""
    pngs = sorted(Path(run_dir).rglob("*.png"))
    if not pngs:
        raise FileNotFoundError(f"training run {run_dir} wrote no sample grid PNG")
    return pngs[-1]


def png_figure(path: str | Path, title: str = ""):
    """Wrap an existing PNG (e.g. a trainer's sample grid) into a figure so it is saved like the others."""
    from PIL import Image

    img = np.asarray(Image.open(path).convert("RGB"))
    h, w = img.shape[:2]
    width = max(3.0, min(10.0, w / 60))
    text = wrap_label(title, width - 0.2, 8) if title else ""
    head = (text.count("\n") + 1) * 8 * 1.4 / 72 + 0.1 if title else 0.0
    img_h = width * h / w
    fig = plt.figure(figsize=(width, img_h + head))
    ax = fig.add_axes((0, 0, 1, img_h / (img_h + head)))
    ax.imshow(img, interpolation="nearest")
    ax.axis("off")
    if title:
        fig.text(0.5, 1 - 0.05 / (img_h + head), text, ha="center", va="top", fontsize=8)
    return fig


@torch.no_grad()
def composite_predictions(predictors: list, image: torch.Tensor, mask: torch.Tensor,
                          parsing: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    """Each predictor's output composited with the known pixels, as the protocol scores it.

    Args:
        predictors: from :func:`faceinpaint_core.eval.predictors.load_predictor`.
        image: (N, 3, H, W) in [0, 1]; mask: (N, 1, H, W), 1 = hole; parsing: (N, H, W) or None.
    """
    out = {}
    for pred in predictors:
        use = parsing if getattr(pred, "needs_parsing", False) else None
        raw = pred(image * (1 - mask), mask, use).float().clamp(0, 1)
        out[pred.name] = raw * mask + image * (1 - mask)
    return out


def comparison_figure(image: torch.Tensor, mask: torch.Tensor, outputs: dict[str, torch.Tensor], title: str):
    """The seeds' figures 1-2: original, masked input, then each method's composited output."""
    from .labels import OUR_LABELS

    cols = {"original": image, "masked input": masked_input(image, mask)}
    cols.update({OUR_LABELS.get(k, k): v for k, v in outputs.items()})
    return image_grid(cols, title=title)


def metric_vs_ratio_figure(per_image: pd.DataFrame, metrics: tuple[str, ...] = ("psnr", "ssim", "l1_percent")):
    """Per-image metric against the mask's hole ratio, one colour per method, one row per mask type.

    Args:
        per_image: rows with ``method, mask_type, hole_ratio`` and the metric columns.
    """
    import seaborn as sns

    from .labels import METRIC_LABELS, OUR_LABELS

    kinds = list(dict.fromkeys(per_image["mask_type"]))
    order = [OUR_LABELS.get(m, m) for m in dict.fromkeys(per_image["method"])]
    data = per_image.assign(method=per_image["method"].map(lambda m: OUR_LABELS.get(m, m)),
                            hole_pct=per_image["hole_ratio"] * 100)
    fig, axes = plt.subplots(len(kinds), len(metrics), figsize=(3.0 * len(metrics), 2.5 * len(kinds)),
                             squeeze=False)
    for i, kind in enumerate(kinds):
        sub = data[data["mask_type"] == kind]
        for j, metric in enumerate(metrics):
            ax = axes[i, j]
            finite = sub[np.isfinite(sub[metric])]
            sns.scatterplot(data=finite, x="hole_pct", y=metric, hue="method", hue_order=order, s=8, alpha=0.6,
                            ax=ax, palette="tab10",
                            legend=(i == 0 and j == len(metrics) - 1))
            ax.set_xlabel("hole ratio (%)", fontsize=7)
            ax.set_ylabel(METRIC_LABELS.get(metric, metric), fontsize=7)
            ax.set_title(f"{kind} masks", fontsize=8)
            ax.tick_params(labelsize=6)
    if axes[0, -1].get_legend() is not None:
        sns.move_legend(axes[0, -1], "upper left", bbox_to_anchor=(1.02, 1), fontsize=6, title=None)
    fig.tight_layout()
    return fig


def learning_curves_figure(curves: dict[str, str | Path]):
    """Validation PSNR and SSIM against the step, one column per method, the biharmonic level of the same faces
    and masks as a dashed horizontal line (from each run's ``val.csv``, :mod:`faceinpaint_core.train.valcurve`).

    Args:
        curves: ``{method label: path to val.csv}``; missing files are skipped.
    """
    frames = {label: pd.read_csv(p) for label, p in curves.items() if Path(p).is_file()}
    if not frames:
        raise FileNotFoundError(f"no val.csv among {list(curves.values())}")
    fig, axes = plt.subplots(2, len(frames), figsize=(2.8 * len(frames), 4.2), squeeze=False)
    for col, (label, f) in enumerate(frames.items()):
        for row, (metric, name) in enumerate((("psnr", "PSNR (dB)"), ("ssim", "SSIM (Gaussian)"))):
            ax = axes[row, col]
            ax.plot(f["step"], f[metric], marker="o", ms=2, lw=1, label=label)
            ax.axhline(float(f[f"biharmonic_{metric}"].iloc[0]), ls="--", lw=1, color="grey", label="biharmonic")
            ax.set_title(f"{label}: {name}" if row == 0 else name, fontsize=8)
            ax.set_xlabel("step", fontsize=7)
            ax.tick_params(labelsize=6)
            ax.legend(fontsize=6, frameon=False)
    n = int(next(iter(frames.values()))["n_images"].iloc[0])
    fig.suptitle(f"validation ({n} held-out val faces, training mask distribution, composite, 8-bit)", fontsize=8)
    fig.tight_layout()
    return fig
