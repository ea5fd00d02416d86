"""The leaderboard across every method the protocol scored, and the methods' cost table (issue 15).

* :func:`leaderboard`: per mask kind and hole-ratio bin, every method (classical floor included and marked)
  ranked by PSNR, with SSIM, L1 and, where computed, LPIPS and FID, on the composite output;
* :func:`cost_table`: per inpainting method, the generator's parameters and forward GFLOPs at the study's
  resolution (its study profile) and at 256 px (its paper profile), and CPU milliseconds per image at the
  study's resolution (random-init weights of the same architecture, batch 1, median of a few runs).
"""
from __future__ import annotations

import time

import pandas as pd


LEADER_METRICS = ("psnr", "ssim_gauss", "l1_percent", "lpips", "fid")
CLASSICAL = ("telea", "ns", "biharmonic")


def leaderboard(measured: pd.DataFrame, output: str = "composite", labels: dict | None = None) -> pd.DataFrame:
    """One row per (mask type, bin, method): rank by PSNR within the cell, the metrics as columns, ``kind``
    ``classical`` for the training-free floor and ``trained`` otherwise; bins in their order, ``average`` last."""
    labels = labels or {}
    rows = measured[(measured["output"] == output) & measured["metric"].isin(LEADER_METRICS)]
    if rows.empty:
        return pd.DataFrame(columns=["mask_type", "bin", "rank", "method", "label", "kind", *LEADER_METRICS])
    wide = rows.pivot_table(index=["mask_type", "bin", "method"], columns="metric", values="value",
                            aggfunc="first").reset_index()
    for m in LEADER_METRICS:
        if m not in wide:
            wide[m] = float("nan")
    wide["kind"] = wide["method"].map(lambda m: "classical" if m in CLASSICAL else "trained")
    wide["label"] = wide["method"].map(lambda m: labels.get(m, m))
    wide["bin_order"] = wide["bin"].map(lambda b: (b == "average", b))
    wide = wide.sort_values(["mask_type", "bin_order", "psnr"], ascending=[True, True, False])
    wide["rank"] = wide.groupby(["mask_type", "bin"]).cumcount() + 1
    return wide[["mask_type", "bin", "rank", "method", "label", "kind", *LEADER_METRICS]].reset_index(drop=True)


def leaderboard_markdown(board: pd.DataFrame, caption: str = "") -> str:
    """One Markdown table per mask kind, bins as blocks; the classical floor's rows in italics."""
    parts = [f"**{caption}**\n"] if caption else []
    for kind, g in board.groupby("mask_type", sort=False):
        parts.append(f"\n*Mask kind `{kind}`* (rank by PSNR within each bin; *italics* = training-free floor)\n")
        show = g.copy()
        show["method"] = [f"*{lab}*" if k == "classical" else lab for lab, k in zip(show["label"], show["kind"])]
        cols = ["bin", "rank", "method"] + [m for m in LEADER_METRICS if show[m].notna().any()]
        parts.append(show[cols].to_markdown(index=False, floatfmt=".4g"))
    return "\n".join(parts) + "\n"


def best_per_cell(board: pd.DataFrame) -> pd.DataFrame:
    """The top method of each (mask type, bin) and by how much it beats the best classical method (PSNR dB)."""
    out = []
    for (kind, b), g in board.groupby(["mask_type", "bin"], sort=False):
        top, floor = g.iloc[0], g[g["kind"] == "classical"]
        margin = float(top["psnr"] - floor["psnr"].max()) if len(floor) else float("nan")
        out.append({"mask_type": kind, "bin": b, "best": top["label"], "psnr": top["psnr"],
                    "margin_over_classical_db": margin})
    return pd.DataFrame(out)


def _cpu_ms(method: str, size: int, profile: str, repeats: int = 3) -> float:
    import torch

    from ..config import resolve
    from ..methods import get_method_class
    from ..train.describe import dummy_batch

    cls = get_method_class(method)
    obj = cls(resolve(cls.config_cls, cls.PROFILES, profile, {}))
    nets = {k: v.eval() for k, v in obj.build_inference_networks().items()}
    batch = dummy_batch(size, bool(getattr(cls, "needs_parsing", False)))
    times = []
    with torch.inference_mode():
        for _ in range(repeats + 1):
            t0 = time.perf_counter()
            obj.inpaint(nets, batch["image"], batch["mask"], batch.get("parsing"))
            times.append(time.perf_counter() - t0)
    return 1000 * sorted(times[1:])[len(times[1:]) // 2]


def cost_table(methods: list[str], size: int, profile: str, paper_size: int | None = 256) -> pd.DataFrame:
    """Parameters, forward GFLOPs and CPU ms/image of each method's generator (see the module docstring);
    ``paper_size=None`` skips the paper-profile column (the tiny test study)."""
    import torch

    from ..train.describe import describe

    threads = torch.get_num_threads()
    rows = []
    for m in methods:
        here = describe(m, size, profile, show=False)
        row = {"method": m, "params_study_M": here["params"].get("G", here["params_total"]) / 1e6,
               f"gflops_{size}px_study": here["g_forward_gflops"], "cpu_ms_per_image": _cpu_ms(m, size, profile),
               "cpu_threads": threads}
        if paper_size:
            full = describe(m, paper_size, "full", show=False)
            row.update({"params_paper_M": full["params"].get("G", full["params_total"]) / 1e6,
                        f"gflops_{paper_size}px_paper": full["g_forward_gflops"]})
        rows.append(row)
    return pd.DataFrame(rows)


def write_cost_row(method: str, size: int, profile: str, paper_size: int | None, out_csv) -> None:
    """One method's :func:`cost_table` row → ``out_csv`` (the study's ``evaluate`` job of that method writes it, so
    an edit to one method re-measures its cost only)."""
    from ..utils.io import atomic_write_csv

    atomic_write_csv(out_csv, cost_table([method], size, profile, paper_size))


def load_costs(results_dir, methods) -> pd.DataFrame:
    """The cost rows the ``evaluate`` jobs wrote (``results/costs/<method>.csv``), in ``methods`` order."""
    from pathlib import Path

    files = [Path(results_dir) / "costs" / f"{m}.csv" for m in methods]
    frames = [pd.read_csv(f) for f in files if f.is_file()]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
