"""Sampling speed of the edge-guided diffusion inpainter: seconds and FLOPs per image per DDIM step count.

For each resolution and step count, random-init networks of the chosen profile inpaint a batch of faces with
a centred square hole (``faceinpaint_core.train.describe.dummy_batch``) through ``method.inpaint`` — Canny,
the edge generator once, then one completion-network call per step — and the best wall time of
``--repeats`` calls (after a one-step warm-up call) is divided by the batch size. FLOPs per image are counted with
``torch.utils.flop_counter`` (2 per multiply-add): edge generator once + completion network × steps.
Writes ``results/benchmarks/edge_diffusion_<device type>.csv`` (atomic) with the device name.

    .venv/bin/python benchmarks/bench_edge_diffusion.py [--threads 1] [--device cpu] [--profile full]
"""
from __future__ import annotations

import argparse
import time

import pandas as pd
import torch
from torch.utils.flop_counter import FlopCounterMode

from faceinpaint_core.config import resolve
from faceinpaint_core.methods import get_method_class
from faceinpaint_core.train.describe import dummy_batch
from faceinpaint_core.utils.io import atomic_write_csv
from faceinpaint_core.utils.provenance import REPO_ROOT, device_name

STEPS_64 = (10, 25, 50, 100, 250)
STEPS_256 = (10, 25)


def build(profile: str, size: int, device: str):
    """``(method, nets)``: random-init networks of ``profile`` at ``size``, eval mode, on ``device``."""
    cls = get_method_class("edge-diffusion")
    method = cls(resolve(cls.config_cls, cls.PROFILES, profile, {"train.size": size}))
    with torch.random.fork_rng(devices=[]):
        nets = method.build_networks()
    return method, {k: v.to(device).eval() for k, v in nets.items()}


def network_flops(method, nets, size: int, device: str) -> tuple[int, int]:
    """``(edge generator, completion network)`` forward FLOPs for one image at ``size``."""
    batch = {k: v.to(device) for k, v in dummy_batch(size, False).items()}
    counts = []
    with torch.no_grad():
        cond = method.condition(nets, batch["image"], batch["mask"])
        calls = (lambda: nets["E"](cond["edges"], cond["edges"], cond["mask"]),
                 lambda: nets["G"](cond["masked"], cond["mask"], cond["edges"], cond["masked"],
                                   torch.zeros(1, dtype=torch.long, device=device)))
        for call in calls:
            counter = FlopCounterMode(display=False)
            with counter:
                call()
            counts.append(int(counter.get_total_flops()))
    return counts[0], counts[1]


def seconds_per_image(method, nets, size: int, batch: int, steps: int, repeats: int, device: str) -> float:
    """Best wall time of ``repeats`` ``inpaint`` calls on ``batch`` faces, per image (after a 1-step warm-up call)."""
    b = {k: v.to(device) for k, v in dummy_batch(size, False, n=batch).items()}
    masked, mask = b["image"] * (1 - b["mask"]), b["mask"]
    sync = torch.cuda.synchronize if str(device).startswith("cuda") else (lambda: None)
    method.set_inference_options(steps=1, sampler="ddim", eta=0.0)
    method.inpaint(nets, masked, mask)  # warm-up: allocator, first-call overheads
    method.set_inference_options(steps=steps)
    best = float("inf")
    for _ in range(repeats):
        sync()
        t0 = time.perf_counter()
        method.inpaint(nets, masked, mask)
        sync()
        best = min(best, time.perf_counter() - t0)
    return best / batch


def bench(profile: str = "full", device: str = "cpu", plan=((64, 4, STEPS_64), (256, 1, STEPS_256)),
          repeats: int = 1, threads: int = 1) -> pd.DataFrame:
    """One row per (size, steps): seconds and FLOPs per image."""
    rows = []
    for size, batch, steps_list in plan:
        method, nets = build(profile, size, device)
        e_flops, g_flops = network_flops(method, nets, size, device)
        for steps in steps_list:
            sec = seconds_per_image(method, nets, size, batch, steps, repeats, device)
            flops = e_flops + steps * g_flops
            rows.append({"profile": profile, "size": size, "batch": batch, "sampler": "ddim", "steps": steps,
                         "seconds_per_image": sec, "gflops_per_image": flops / 1e9,
                         "edge_gflops": e_flops / 1e9, "denoiser_gflops_per_step": g_flops / 1e9,
                         "device": device_name(device), "threads": threads if device == "cpu" else None,
                         "torch": torch.__version__})
            print(f"{profile:>6} {size:>4}px batch {batch}: DDIM-{steps:<4} {sec:9.3f} s/image  "
                  f"{flops / 1e9:10.1f} GFLOPs/image", flush=True)
    return pd.DataFrame(rows)


def main(argv=None) -> pd.DataFrame:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (shared machines: keep 1)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--profiles", nargs="+", default=["full", "smoke"], help="network widths to benchmark")
    p.add_argument("--batch64", type=int, default=4, help="batch at 64 px")
    p.add_argument("--batch256", type=int, default=1, help="batch at 256 px")
    p.add_argument("--steps256", type=int, nargs="+", default=list(STEPS_256))
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--out", default=None, help="CSV path (default results/benchmarks/edge_diffusion_<device>.csv)")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    frames = []
    for profile in args.profiles:
        plan = [(64, args.batch64, STEPS_64)]
        if profile == "full" and args.steps256:
            plan.append((256, args.batch256, tuple(args.steps256)))
        frames.append(bench(profile, args.device, plan, args.repeats, args.threads))
    table = pd.concat(frames, ignore_index=True)
    out = args.out or REPO_ROOT / "results" / "benchmarks" / f"edge_diffusion_{torch.device(args.device).type}.csv"
    atomic_write_csv(out, table)
    print(f"wrote {out}")
    return table


if __name__ == "__main__":
    main()
