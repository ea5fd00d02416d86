"""Before/after crops of diagnostic runs on SYNTHETIC faces only (no real face enters git): each run's generator
fills the same synthetic faces and irregular 20-30 % holes; the figure shows the centre 32x32 crop of each
composite, enlarged with nearest-neighbour so a checkerboard or speckle stays visible.

Usage: python benchmarks/diagnostics_figure.py OUT_STEM TITLE LABEL=RUN_DIR ...
"""
from __future__ import annotations

import sys
from pathlib import Path

import torch

from faceinpaint_core.data import open_dataset
from faceinpaint_core.masks import TrainMaskSampler
from faceinpaint_core.study.figures import image_grid, save_figure
from faceinpaint_core.train.checkpoint import load_for_inference


def crops(x: torch.Tensor, size: int = 64) -> torch.Tensor:
    c = size // 4
    return torch.nn.functional.interpolate(x[..., c:size - c, c:size - c], scale_factor=4, mode="nearest")


def main() -> None:
    out_stem, title, runs = sys.argv[1], sys.argv[2], dict(a.split("=", 1) for a in sys.argv[3:])
    faces = open_dataset("synthetic", size=64, split="test", with_parsing=True, seed=0, limit=80)
    items = [faces[i] for i in range(4)]
    image = torch.stack([it["image"] for it in items])
    parsing = torch.stack([it["parsing"] for it in items])
    sampler = TrainMaskSampler(("irregular",), ("20-30",), 64, seed=7)
    mask = torch.stack([torch.as_tensor(sampler(i)).float().reshape(1, 64, 64) for i in range(4)])
    mask = mask / 255 if mask.max() > 1 else mask
    cols = {"input": crops(image * (1 - mask))}
    for label, run in runs.items():
        method, nets = load_for_inference(Path(run) / "checkpoints" / "final.pt")
        torch.manual_seed(0)
        pred = method.inpaint(nets, image, mask, parsing if method.needs_parsing else None)
        cols[label] = crops(pred * mask + image * (1 - mask))
    cols["ground truth"] = crops(image)
    out = Path(out_stem)
    print(save_figure(image_grid(cols, title, cell=1.5), out.parent, out.name))


if __name__ == "__main__":
    main()
