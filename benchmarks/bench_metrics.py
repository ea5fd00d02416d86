"""Throughput of PSNR / SSIM: the batched torch metrics vs scikit-image image by image.

Prints images/s at 128 and 256 px for a batch of 64 random image pairs and writes the same table
to ``results/benchmarks/metrics_<device type>.csv`` (atomic write) with the device name.

    .venv/bin/python benchmarks/bench_metrics.py [--threads 1] [--device cpu] [--repeats 3]
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
import torch
from skimage.metrics import peak_signal_noise_ratio as sk_psnr
from skimage.metrics import structural_similarity as sk_ssim

from faceinpaint_core.metrics import psnr, ssim
from faceinpaint_core.utils.io import atomic_write_csv
from faceinpaint_core.utils.provenance import REPO_ROOT, device_name
from faceinpaint_core.utils.seeding import torch_generator


def _pairs(n: int, size: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch_generator(seed, "bench_metrics", size)
    a = torch.rand(n, 3, size, size, generator=g)
    return a, (a + 0.1 * torch.randn(a.shape, generator=g)).clamp(0, 1)


def _skimage_fns():
    def ssim_one(x, y):
        return sk_ssim(x, y, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                       data_range=1, channel_axis=0)

    return {"psnr": lambda x, y: sk_psnr(y, x, data_range=1), "ssim": ssim_one}


def _best_time(fn, repeats: int, sync) -> float:
    """Shortest wall time of ``repeats`` calls (after one warm-up call)."""
    fn()
    sync()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t0)
    return min(times)


def bench(sizes=(128, 256), batch: int = 64, repeats: int = 3, device: str = "cpu") -> pd.DataFrame:
    """One row per (metric, implementation, size): seconds for the batch and images/s."""
    dev = torch.device(device)
    sync = (lambda: torch.cuda.synchronize(dev)) if dev.type == "cuda" else (lambda: None)
    rows, sk = [], _skimage_fns()
    for size in sizes:
        a, b = _pairs(batch, size)
        a_np, b_np = a.double().numpy(), b.double().numpy()
        a_dev, b_dev = a.to(dev), b.to(dev)
        for name, fn in (("psnr", psnr), ("ssim", ssim)):
            impls = {f"torch_batch_{dev.type}": lambda fn=fn: fn(a_dev, b_dev),
                     "skimage_per_image": lambda name=name: [sk[name](x, y) for x, y in zip(a_np, b_np)]}
            for impl, call in impls.items():
                sec = _best_time(call, repeats, sync if impl.startswith("torch") else (lambda: None))
                rows.append({"metric": name, "impl": impl, "size": size, "batch": batch,
                             "seconds": sec, "images_per_s": batch / sec})
    return pd.DataFrame(rows)


def main(argv=None) -> pd.DataFrame:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (shared machines: keep 1)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--out", default=None, help="CSV path (default results/benchmarks/metrics_<device>.csv)")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    table = bench(batch=args.batch, repeats=args.repeats, device=args.device)
    table["threads"] = args.threads
    table["device"] = device_name(args.device)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    out = args.out or REPO_ROOT / "results" / "benchmarks" / f"metrics_{torch.device(args.device).type}.csv"
    print(f"wrote {atomic_write_csv(out, table)}")
    return table


if __name__ == "__main__":
    main()
