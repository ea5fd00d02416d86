"""Collect short diagnostic training runs into one CSV (issue 17: CLGN checkerboard, facestyle speckle).

Usage: python benchmarks/diagnostics_table.py OUT.csv DIAGNOSTIC:VARIANT:STEP:RUN_DIR ... [--notes TEXT]

Per run: the learning-curve point of ``val.csv`` at STEP (compare variants at the same step) (validation faces, training mask distribution, composite,
8-bit) with the biharmonic level of the same faces and masks, the run's config overrides, steps, seed, wall
minutes (``log.csv``), commit and device (``provenance.json``). A run without ``val.csv`` is an error.
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import os
from pathlib import Path

import yaml

from faceinpaint_core.train.valcurve import read_curve
from faceinpaint_core.utils.io import atomic_write_text

FIELDS = ("diagnostic", "variant", "method", "steps", "seed", "batch", "n_val_images", "psnr", "ssim",
          "biharmonic_psnr", "biharmonic_ssim", "psnr_minus_biharmonic", "settings", "train_minutes", "device",
          "git_sha", "load_avg_1m_at_collection", "notes")


def row(diagnostic: str, variant: str, step: int, run: Path, notes: str) -> dict:
    full = read_curve(run / "val.csv")
    at = [i for i, s in enumerate(full["step"]) if int(s) == step]
    if not at:
        raise SystemExit(f"{run / 'val.csv'}: no point at step {step} (has {[int(s) for s in full['step']]})")
    curve = {k: v[: at[0] + 1] for k, v in full.items()}
    prov = json.loads((run / "provenance.json").read_text())
    cfg = yaml.safe_load((run / "config.yaml").read_text())
    with open(run / "log.csv", newline="") as fh:
        wall = float([r for r in csv.DictReader(fh) if int(r["step"]) <= step][-1]["wall_s"])
    keys = ("upsample", "mask_channel", "hole_value", "last_norm", "full_res_skip")
    return {"diagnostic": diagnostic, "variant": variant, "method": prov["method"], "steps": int(curve["step"][-1]),
            "seed": prov["seed"], "batch": cfg["train"]["batch_size"], "n_val_images": int(curve["n_images"][-1]),
            "psnr": f"{curve['psnr'][-1]:.3f}", "ssim": f"{curve['ssim'][-1]:.4f}",
            "biharmonic_psnr": f"{curve['biharmonic_psnr'][-1]:.3f}",
            "biharmonic_ssim": f"{curve['biharmonic_ssim'][-1]:.4f}",
            "psnr_minus_biharmonic": f"{curve['psnr'][-1] - curve['biharmonic_psnr'][-1]:+.3f}",
            "settings": " ".join(f"{k}={cfg[k]}" for k in keys if k in cfg),
            "train_minutes": f"{wall / 60:.1f}", "device": prov["device"], "git_sha": prov["git_sha"],
            "load_avg_1m_at_collection": f"{os.getloadavg()[0]:.2f}", "notes": notes}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out")
    p.add_argument("runs", nargs="+", help="DIAGNOSTIC:VARIANT:RUN_DIR")
    p.add_argument("--notes", default="")
    a = p.parse_args()
    rows = []
    for spec in a.runs:
        diag, variant, step, run = spec.split(":", 3)
        rows.append(row(diag, variant, int(step), Path(run), a.notes))
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=FIELDS, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    atomic_write_text(a.out, buf.getvalue())
    for r in rows:
        print(f"{r['diagnostic']:<12} {r['variant']:<28} PSNR {r['psnr']} SSIM {r['ssim']} "
              f"(biharmonic {r['biharmonic_psnr']} / {r['biharmonic_ssim']}) {r['train_minutes']} min")


if __name__ == "__main__":
    main()
