"""Where a restorer loses fidelity (issue 17, GFPGAN-WGAN at mild): every checkpoint of a run restores the clean test
faces and the frozen mild / medium / severe sets, scored on each of the method's outputs: the restoration itself
(``pred``) and, when the method returns one, the degradation-removal network's own full-resolution RGB (the last
level of ``pyramid``; GFPGAN's U-Net head), beside the degraded input.

Usage: python benchmarks/diagnose_restorer_heads.py RUN_DIR OUT.csv [--data-root ROOT] [--n 100] [--seed 0]

The restoration rows equal notebook 07's ``restoration_curve_<method>``; the head rows say how much of the
fidelity the path after the head (GFPGAN: the frozen StyleGAN2 prior) costs. Faces: the test split of
CelebAMask-HQ at the run's training size (``--data-root`` or ``$FACEINPAINT_DATA``).
"""
from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import pandas as pd
import torch

from faceinpaint_core.data import open_dataset
from faceinpaint_core.degrade.eval_sets import degrade_with_set
from faceinpaint_core.eval.protocol import load_faces
from faceinpaint_core.metrics.pixel import psnr, quantize_uint8, ssim_gauss
from faceinpaint_core.paths import data_root as find_data_root
from faceinpaint_core.study.restoration_study import CLEAN, degradation_sets
from faceinpaint_core.train.checkpoint import checkpoint_step, load_for_inference
from faceinpaint_core.utils.io import atomic_write_csv


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run_dir", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--data-root", default=None)
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    ckpts = sorted((args.run_dir / "checkpoints").glob("*.pt"))
    if not ckpts:
        raise SystemExit(f"{args.run_dir / 'checkpoints'}: no checkpoint (*.pt) to score")
    root = find_data_root(args.data_root)
    if root is None:
        raise SystemExit("no dataset found: pass --data-root or set FACEINPAINT_DATA")
    prov = json.loads((args.run_dir / "provenance.json").read_text())
    method, _ = load_for_inference(ckpts[0])
    size = int(method.cfg.train.size)
    faces = load_faces(open_dataset("celebamask-hq", size, split="test", data_root=str(root), seed=args.seed),
                       args.n)["image"]
    with tempfile.TemporaryDirectory() as tmp:
        manifests = degradation_sets(len(faces), args.seed, tmp)
        inputs = {CLEAN: faces, **{s: degrade_with_set(faces, m) for s, m in manifests.items()}}
    gt = quantize_uint8(faces)
    rows = []
    for ckpt in ckpts:
        m, nets = load_for_inference(ckpt)
        for name, x in inputs.items():
            with torch.no_grad(), torch.random.fork_rng():
                torch.manual_seed(args.seed)
                out = m.forward(nets, {"image": x, "degraded": x})
            outputs = {"restoration": out["pred"]}
            if out.get("pyramid"):
                outputs["U-Net RGB head"] = (out["pyramid"][-1] + 1) / 2
            if name != CLEAN:
                outputs["input itself"] = x
            for label, img in outputs.items():
                p = quantize_uint8(img.clamp(0, 1))
                rows.append({"checkpoint": ckpt.name, "step": checkpoint_step(ckpt), "input": name, "output": label,
                             "psnr": round(float(psnr(p, gt).mean()), 3),
                             "ssim_gauss": round(float(ssim_gauss(p, gt).mean()), 4), "n": len(faces), "size": size,
                             "run": args.run_dir.name, "git_sha": prov["git_sha"], "device": prov["device"]})
        print(ckpt.name, flush=True)
    atomic_write_csv(args.out, pd.DataFrame(rows))
    print(args.out)


if __name__ == "__main__":
    torch.set_num_threads(1)
    main()
