"""Each trained method against the classical floor (biharmonic inpainting), cell by cell (issue 17), with the
paired bootstrap interval of each difference when the run kept its per-sample scores."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

FLOOR = "biharmonic"
HIGHER_IS_BETTER = {"psnr": True, "ssim_gauss": True, "ssim_skimage": True, "l1_percent": False, "fid": False,
                    "lpips": False}


BOOTSTRAP = 2000  # resamples of the paired, face-clustered bootstrap


def load_per_image(results_dir) -> pd.DataFrame:
    """Every per-image score file of a run (``<results>/per_image/*.csv``: one row per method, mask set, bin, output
    and sample), concatenated; empty when the run wrote none."""
    files = sorted(Path(results_dir, "per_image").glob("*.csv"))
    frames = [pd.read_csv(f, dtype={"bin": str}) for f in files]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def paired_intervals(per_image: pd.DataFrame, method: str, floor: str = FLOOR,
                     metrics: tuple[str, ...] = ("psnr", "ssim_gauss"), output: str = "composite",
                     resamples: int = BOOTSTRAP, seed: int = 0) -> pd.DataFrame:
    """Per (mask type, bin, metric): the mean per-sample difference ``method - floor`` on the same faces and masks,
    its 95 % bootstrap interval and the share of samples the method wins (``win_rate``, in the metric's direction).

    Samples are paired by index; a cell that scores fewer distinct faces than samples reuses each face
    (``faces_unique``: sample ``i`` is face ``i mod faces_unique``), so the bootstrap resamples faces, each with
    all its samples (a clustered bootstrap), not samples. Seeded: the same files give the same intervals."""
    cols = ["mask_type", "bin", "metric", "ci_low", "ci_high", "win_rate", "n_samples", "n_faces"]
    if per_image.empty:
        return pd.DataFrame(columns=cols)
    rows = per_image[per_image["output"] == output]
    key = ["mask_type", "bin", "image"]
    pair = rows[rows["method"] == method].merge(rows[rows["method"] == floor], on=key, suffixes=("", "_floor"))
    out = []
    for (kind, b), cell in pair.groupby(["mask_type", "bin"], sort=False):
        cell = cell.sort_values("image")
        faces = int(cell["faces_unique"].max()) if "faces_unique" in cell else len(cell)
        face = cell["image"].to_numpy() % max(faces, 1)
        uniq, inverse = np.unique(face, return_inverse=True)
        for metric in metrics:
            if metric not in cell:
                continue
            sign = 1.0 if HIGHER_IS_BETTER.get(metric, True) else -1.0
            d = (cell[metric] - cell[f"{metric}_floor"]).to_numpy(np.float64)
            sums, counts = np.bincount(inverse, d, len(uniq)), np.bincount(inverse, minlength=len(uniq))
            rng = np.random.default_rng([seed, len(d)])
            pick = rng.integers(0, len(uniq), (resamples, len(uniq)))
            boot = sums[pick].sum(1) / counts[pick].sum(1)
            lo, hi = np.percentile(boot, [2.5, 97.5])
            out.append({"mask_type": kind, "bin": b, "metric": metric, "ci_low": lo, "ci_high": hi,
                        "win_rate": float((sign * d > 0).mean()), "n_samples": len(d), "n_faces": len(uniq)})
    return pd.DataFrame(out, columns=cols)


def versus_floor(measured: pd.DataFrame, methods: list[str], floor: str = FLOOR,
                 metrics: tuple[str, ...] = ("psnr", "ssim_gauss"), output: str = "composite",
                 per_image: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per (method, mask type, bin, metric): the method's value, the floor's, the difference and
    whether the method wins (``beats``: strictly better in the metric's direction).

    Args:
        measured: result rows (``method, mask_type, bin, output, metric, value``), e.g. ``tables.load_measured``.
        methods: trained methods to compare (those absent from ``measured`` are skipped).
        per_image: per-sample scores (:func:`load_per_image`); adds :func:`paired_intervals`' 95 % interval of the
            difference (``ci_low``, ``ci_high``) and ``win_rate`` to every cell both have.
    """
    rows = measured[(measured["output"] == output) & measured["metric"].isin(metrics)
                    & (measured["bin"] != "average")]
    ref = rows[rows["method"] == floor].set_index(["mask_type", "bin", "metric"])["value"]
    out = []
    for m in methods:
        for _, r in rows[rows["method"] == m].iterrows():
            key = (r["mask_type"], r["bin"], r["metric"])
            if key not in ref.index:
                continue
            base, val = float(ref[key]), float(r["value"])
            better = val > base if HIGHER_IS_BETTER.get(r["metric"], True) else val < base
            out.append({"method": m, "mask_type": key[0], "bin": key[1], "metric": key[2], "value": val,
                        floor: base, "difference": val - base, "beats": bool(better)})
    table = pd.DataFrame(out, columns=["method", "mask_type", "bin", "metric", "value", floor, "difference", "beats"])
    if per_image is None or per_image.empty or table.empty:
        return table
    ci = pd.concat([paired_intervals(per_image, m, floor, metrics, output).assign(method=m) for m in methods],
                   ignore_index=True)
    return table.merge(ci[["method", "mask_type", "bin", "metric", "ci_low", "ci_high", "win_rate"]],
                       on=["method", "mask_type", "bin", "metric"], how="left")


def floor_markdown(table: pd.DataFrame, floor: str = FLOOR) -> str:
    """Markdown of :func:`versus_floor` with the cells that still lose listed after the table."""
    if table.empty:
        return f"*no trained method and {floor} share a cell in this run*"
    show = table.assign(value=table["value"].map("{:.4g}".format), **{floor: table[floor].map("{:.4g}".format)},
                        difference=table["difference"].map("{:+.3g}".format),
                        beats=table["beats"].map({True: "yes", False: "**no**"}))
    with_ci = "ci_low" in table and table["ci_low"].notna().any()
    if with_ci:
        show = show.drop(columns=["ci_low", "ci_high", "win_rate"]).assign(
            **{"95 % CI of the difference": [f"[{lo:+.3g}, {hi:+.3g}]" if pd.notna(lo) else "n/a"
                                            for lo, hi in zip(table["ci_low"], table["ci_high"])],
               "win rate": table["win_rate"].map(lambda v: "n/a" if pd.isna(v) else f"{v:.0%}")})
    losing = table[~table["beats"]]
    tail = (f"\n\nEvery cell beats {floor}." if losing.empty else
            f"\n\n{len(losing)} of {len(table)} cells still lose to {floor}: " +
            "; ".join(f"{r.method} {r.mask_type} {r.bin} {r.metric}" for r in losing.itertuples()) + ".")
    if with_ci:
        unsure = table[(table["ci_low"] <= 0) & (table["ci_high"] >= 0)]
        tail += (f"\n\nThe 95 % interval of the difference (paired by sample, bootstrap over faces, {BOOTSTRAP} "
                 "resamples) contains 0 in " + (f"{len(unsure)} cells: " + "; ".join(
                     f"{r.method} {r.mask_type} {r.bin} {r.metric}" for r in unsure.itertuples()) + "."
                     if len(unsure) else "no cell."))
    return show.to_markdown(index=False) + tail
