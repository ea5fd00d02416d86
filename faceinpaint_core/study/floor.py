"""Each trained method against the classical floor (biharmonic inpainting), cell by cell (issue 17)."""
from __future__ import annotations

import pandas as pd

FLOOR = "biharmonic"
HIGHER_IS_BETTER = {"psnr": True, "ssim_gauss": True, "ssim_skimage": True, "l1_percent": False, "fid": False,
                    "lpips": False}


def versus_floor(measured: pd.DataFrame, methods: list[str], floor: str = FLOOR,
                 metrics: tuple[str, ...] = ("psnr", "ssim_gauss"), output: str = "composite") -> pd.DataFrame:
    """One row per (method, mask type, bin, metric): the method's value, the floor's, the difference and
    whether the method wins (``beats``: strictly better in the metric's direction).

    Args:
        measured: result rows (``method, mask_type, bin, output, metric, value``), e.g. ``tables.load_measured``.
        methods: trained methods to compare (those absent from ``measured`` are skipped).
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
    return pd.DataFrame(out, columns=["method", "mask_type", "bin", "metric", "value", floor, "difference", "beats"])


def floor_markdown(table: pd.DataFrame, floor: str = FLOOR) -> str:
    """Markdown of :func:`versus_floor` with the cells that still lose listed after the table."""
    if table.empty:
        return f"*no trained method and {floor} share a cell in this run*"
    show = table.assign(value=table["value"].map("{:.4g}".format), **{floor: table[floor].map("{:.4g}".format)},
                        difference=table["difference"].map("{:+.3g}".format),
                        beats=table["beats"].map({True: "yes", False: "**no**"}))
    losing = table[~table["beats"]]
    tail = (f"\n\nEvery cell beats {floor}." if losing.empty else
            f"\n\n{len(losing)} of {len(table)} cells still lose to {floor}: " +
            "; ".join(f"{r.method} {r.mask_type} {r.bin} {r.metric}" for r in losing.itertuples()) + ".")
    return show.to_markdown(index=False) + tail
