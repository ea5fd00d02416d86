"""``faceinpaint bench``: per method, training-step time, images/s, peak memory, model FLOPs per step, MFU
and the data loader's images/s, written to ``results/benchmarks/train_<device>.csv``.

Every row carries the device, the commit, the machine's load average and the thread count, so a
number taken on a shared machine says so.
"""
from __future__ import annotations

import csv
import io
import os
import re
import tempfile
import time
from pathlib import Path

import torch

from ..utils.io import atomic_write_text
from ..utils.provenance import device_name, git_sha
from .probe import (build_trainer, loader_images_per_s, measure_steps, method_config, open_training_data,
                    param_counts, step_batches)

# dense bf16 tensor-core peaks in TFLOP/s (vendor data sheets, without sparsity); matched on the device name
PEAK_BF16_TFLOPS = {"H200": 989.0, "H100 PCIe": 756.0, "H100": 989.0, "A100": 312.0, "L40S": 362.0,
                    "A10G": 70.0, "L4": 121.0}
FIELDS = ("method", "profile", "size", "batch", "device", "device_kind", "precision", "channels_last", "compile",
          "params", "step_s", "first_step_s", "images_per_s", "flops_per_step", "tflops_achieved", "peak_tflops",
          "mfu", "peak_mem_mb", "peak_mem_source", "rss_max_mb", "activation_mb", "loader_workers",
          "loader_images_per_s", "loader_over_step", "threads", "load_avg_1m", "cpu_count", "git_sha", "timestamp",
          "notes")


def known_peak_tflops(name: str) -> float | None:
    """The bf16 dense peak of a device whose name contains a key of :data:`PEAK_BF16_TFLOPS` (longest key first)."""
    for key in sorted(PEAK_BF16_TFLOPS, key=len, reverse=True):
        if key.lower() in name.lower():
            return PEAK_BF16_TFLOPS[key]
    return None


def device_slug(name: str) -> str:
    """A file-name-safe device label: ``"NVIDIA H100 80GB HBM3"`` -> ``"nvidia_h100_80gb_hbm3"``."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "unknown"


def bench_method(method: str, size: int, batch: int, profile: str = "full", device: str = "cpu",
                 steps: int = 3, data_root=None, sets: dict | None = None, peak_tflops: float | None = None) -> dict:
    """One CSV row for ``method``: ``steps`` timed training steps (after one warm-up) at ``size`` and ``batch``
    with the networks of ``profile``; the loader rate at the profile's worker count."""
    sets = {**(sets or {}), "train.size": size, "train.batch_size": batch}
    cls, cfg = method_config(method, profile, sets)
    samples, cfg = open_training_data(cls, cfg, data_root)
    tc = cfg.train
    batches = step_batches(samples, tc, steps + 1)
    with tempfile.TemporaryDirectory(prefix="faceinpaint-bench-") as tmp:
        trainer = build_trainer(cls, cfg, Path(tmp), device, profile)
        stats = measure_steps(trainer, batches, warmup=1)
        params = sum(param_counts(trainer).values())
        precision = "bf16 autocast" if trainer.bf16 else "fp32"
        cl = trainer.channels_last
    loader = loader_images_per_s(samples, tc, n_batches=4)
    name = device_name(torch.device(device))
    peak = peak_tflops if peak_tflops is not None else (known_peak_tflops(name) if device != "cpu" else None)
    achieved = stats["flops_per_step"] / stats["step_s"] / 1e12
    return {"method": cls.name, "profile": profile, "size": size, "batch": batch, "device": name,
            "device_kind": torch.device(device).type, "precision": precision, "channels_last": cl,
            "compile": tc.compile, "params": params, **{k: stats[k] for k in (
                "step_s", "first_step_s", "images_per_s", "flops_per_step", "peak_mem_mb", "peak_mem_source",
                "rss_max_mb", "activation_mb")},
            "tflops_achieved": achieved, "peak_tflops": peak if peak else "",
            "mfu": achieved / peak if peak else "", **loader,
            "loader_over_step": loader["loader_images_per_s"] / stats["images_per_s"],
            "threads": torch.get_num_threads(), "load_avg_1m": os.getloadavg()[0], "cpu_count": os.cpu_count(),
            "git_sha": git_sha(), "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "notes": ""}


def write_rows(path: Path, rows: list[dict]) -> Path:
    """Write ``rows`` (replacing rows of the same method/profile/size/batch/device/precision) atomically."""
    key = ("method", "profile", "size", "batch", "device", "precision", "compile")
    old = []
    if path.is_file():
        with open(path, newline="") as fh:
            old = list(csv.DictReader(fh))
    new_keys = {tuple(str(r[k]) for k in key) for r in rows}
    kept = [r for r in old if tuple(str(r.get(k, "")) for k in key) not in new_keys]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=FIELDS, lineterminator="\n", restval="", extrasaction="ignore")
    w.writeheader()
    w.writerows(kept + [{k: _fmt(v) for k, v in r.items()} for r in rows])
    return atomic_write_text(path, buf.getvalue())


def _fmt(v):
    return f"{v:.6g}" if isinstance(v, float) else v


def run_bench(methods: list[str], size: int, batch: int, profile: str = "full", device: str = "cpu",
              steps: int = 3, out_dir: str | Path = "results/benchmarks", peak_tflops: float | None = None,
              data_root=None, sets: dict | None = None, notes: str = "") -> tuple[Path, list[dict]]:
    """Benchmark ``methods`` and write ``<out_dir>/train_<device>.csv``; returns ``(path, rows)``."""
    rows = []
    for m in methods:
        try:
            row = bench_method(m, size, batch, profile, device, steps, data_root, sets, peak_tflops)
        except ValueError as exc:  # e.g. a profile whose network does not fit the size: say so, go on
            print(f"{m:<16} skipped: {exc}", flush=True)
            continue
        row["notes"] = notes
        print(format_row(row), flush=True)
        rows.append(row)
    if not rows:
        raise ValueError(f"bench: no method could be measured at {size} px with the {profile!r} profile")
    path = Path(out_dir) / f"train_{device_slug(rows[0]['device'] if rows else device)}.csv"
    return write_rows(path, rows), rows


def format_row(r: dict) -> str:
    mfu = f", MFU {100 * r['mfu']:.1f} % of {r['peak_tflops']} TFLOP/s" if r["mfu"] != "" else ""
    return (f"{r['method']:<16} {r['size']} px x{r['batch']}: {r['step_s']:.3f} s/step, {r['images_per_s']:.2f} img/s, "
            f"{r['flops_per_step'] / 1e9:.2f} GFLOP/step ({r['tflops_achieved'] * 1e3:.1f} GFLOP/s){mfu}, "
            f"peak {r['peak_mem_mb']:.0f} MiB ({r['peak_mem_source']}), loader {r['loader_images_per_s']:.0f} img/s "
            f"with {r['loader_workers']} workers")
