"""Before/after crops of diagnostic runs on SYNTHETIC faces only (no real face enters git): each run's generator
fills the same synthetic faces and irregular 20-30 % holes; the figure shows the centre 32x32 crop of each
composite, enlarged with nearest-neighbour so a checkerboard or speckle stays visible, and writes OUT_STEM.csv with
each fill's checkerboard energy (2x2 checkerboard-filter response inside the hole).

Usage: python benchmarks/diagnostics_figure.py OUT_STEM TITLE LABEL=RUN_DIR_OR_CHECKPOINT ...
(a run folder means its latest checkpoint)
"""
from __future__ import annotations

import sys
from pathlib import Path

import torch

from faceinpaint_core.data import open_dataset
from faceinpaint_core.masks import TrainMaskSampler
from faceinpaint_core.study.figures import image_grid, save_figure
from faceinpaint_core.utils.io import atomic_write_text
from faceinpaint_core.train.checkpoint import latest_checkpoint, load_for_inference


def crops(x: torch.Tensor, size: int = 64) -> torch.Tensor:
    c = size // 4
    return torch.nn.functional.interpolate(x[..., c:size - c, c:size - c], scale_factor=4, mode="nearest")


def checkerboard_energy(x: torch.Tensor, mask: torch.Tensor) -> float:
    """Mean |2x2 checkerboard filter [[1, -1], [-1, 1]] / 4| response of ``x`` over windows inside the hole
    (x 255, grey levels): zero on flat or linear ramps, largest on a one-pixel checkerboard."""
    k = torch.tensor([[1.0, -1.0], [-1.0, 1.0]]).div(4).expand(3, 1, 2, 2)
    r = torch.nn.functional.conv2d(x, k, groups=3).abs().mean(1, keepdim=True)
    inside = torch.nn.functional.max_pool2d(1 - mask, 2, 1) == 0  # windows entirely in the hole
    return float(r[inside].mean() * 255)


def main() -> None:
    out_stem, title, runs = sys.argv[1], sys.argv[2], dict(a.rsplit("=", 1) for a in sys.argv[3:])
    faces = open_dataset("synthetic", size=64, split="test", with_parsing=True, seed=0, limit=80)
    items = [faces[i] for i in range(4)]
    image = torch.stack([it["image"] for it in items])
    parsing = torch.stack([it["parsing"] for it in items])
    sampler = TrainMaskSampler(("irregular",), ("20-30",), 64, seed=7)
    mask = torch.stack([torch.as_tensor(sampler(i)).float().reshape(1, 64, 64) for i in range(4)])
    mask = mask / 255 if mask.max() > 1 else mask
    cols = {"input": crops(image * (1 - mask))}
    energy = {"ground truth": checkerboard_energy(image, mask)}
    for label, run in runs.items():
        ckpt = Path(run) if Path(run).is_file() else latest_checkpoint(Path(run) / "checkpoints")
        method, nets = load_for_inference(ckpt)
        torch.manual_seed(0)
        pred = method.inpaint(nets, image, mask, parsing if method.needs_parsing else None)
        cols[label] = crops(pred * mask + image * (1 - mask))
        energy[label] = checkerboard_energy(pred * mask + image * (1 - mask), mask)
    cols["ground truth"] = crops(image)
    out = Path(out_stem)
    print(save_figure(image_grid(cols, title, cell=1.5), out.parent, out.name))
    lines = ["variant,checkerboard_energy_x255"] + [f"{k},{v:.3f}" for k, v in energy.items()]
    atomic_write_text(out.with_suffix(".csv"), "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
