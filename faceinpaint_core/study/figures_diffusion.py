"""Figures and the sampling-speed curve of the diffusion inpainter (notebook 04): the reverse process from
``t = T`` to ``0``, the edge maps, and DDIM steps → PSNR / SSIM / seconds per image.

These use only a method's public inference API (``sample``, ``trajectory``, ``set_inference_options``), so
any diffusion method that offers it can reuse them. Images are ``(N, 3, H, W)`` in ``[0, 1]``, masks
``(N, 1, H, W)`` with 1 = hole.
"""
from __future__ import annotations

import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402

from ..metrics import psnr, ssim  # noqa: E402
from .figures import image_grid, masked_input  # noqa: E402

CURVE_STEPS = (10, 25, 50, 100, 250)


def trajectory_figure(shots: list[dict], image: torch.Tensor, mask: torch.Tensor, show: str = "x_t"):
    """Rows = faces; columns = masked input, the sampler's state at ``t = T … 0`` and the output.

    Args:
        shots: from ``method.trajectory(...)`` (``{"t", "x_t", "x0_hat"}`` per frame, the last ``t = -1``).
        show: ``"x_t"`` (the noisy state, known pixels noised to ``t``) or ``"x0_hat"`` (the network's
            estimate of the clean face at that step).
    """
    cols = {"masked input": masked_input(image, mask).cpu()}
    for shot in shots[:-1]:
        cols[f"t = {shot['t']}"] = shot[show]
    cols["output (t = 0)"] = shots[-1]["x_t"]
    cols["ground truth"] = image.cpu()
    label = "noisy state x_t" if show == "x_t" else "predicted clean face x̂_0"
    return image_grid(cols, title=f"reverse diffusion, {label}")


def edge_maps_figure(image: torch.Tensor, mask: torch.Tensor, out: dict, gt_edges: torch.Tensor | None = None):
    """Original, masked input, Canny of the known pixels, completed edges (generator in the hole), output.

    Args:
        out: from ``method.sample(nets, image * (1 - mask), mask)`` (``pred``, ``edges``, ``edges_in``).
        gt_edges: optional Canny of the whole face ``(N, 1, H, W)`` for comparison.
    """
    rgb = lambda e: e.expand(-1, 3, -1, -1).cpu()  # noqa: E731
    cols = {"original": image.cpu(), "masked input": masked_input(image, mask).cpu(),
            "Canny (known pixels)": rgb(out["edges_in"]), "completed edges": rgb(out["edges"])}
    if gt_edges is not None:
        cols["Canny (whole face)"] = rgb(gt_edges)
    cols["output"] = out["pred"].cpu()
    return image_grid(cols, title="edge-guided inpainting: edge maps")


def _quantize(x: torch.Tensor) -> torch.Tensor:
    """8-bit rounding, as a saved image (and the protocol's default) has it."""
    return (x.clamp(0, 1) * 255).round() / 255


def sampling_curve(method, nets, image: torch.Tensor, mask: torch.Tensor, steps=CURVE_STEPS,
                   sampler: str = "ddim", eta: float = 0.0) -> pd.DataFrame:
    """PSNR / SSIM (composited, 8-bit, full image) and wall seconds per image for each sampler step count.

    One warm-up call first; the method's inference options are restored afterwards.

    Returns: one row per step count: ``steps, sampler, eta, psnr, ssim, seconds_per_image, n_images``.
    """
    saved = dict(method.inference)
    rows = []
    masked = image * (1 - mask)
    try:
        method.set_inference_options(steps=1, sampler=sampler, eta=eta)
        method.inpaint(nets, masked[:1], mask[:1])
        for s in steps:
            method.set_inference_options(steps=s)
            t0 = time.perf_counter()
            out = method.inpaint(nets, masked, mask)
            secs = (time.perf_counter() - t0) / len(image)
            comp = _quantize(out * mask + image * (1 - mask))
            rows.append({"steps": s, "sampler": sampler, "eta": eta, "psnr": float(psnr(comp, image).mean()),
                         "ssim": float(ssim(comp, image).mean()), "seconds_per_image": secs,
                         "n_images": len(image)})
    finally:
        method.inference = saved
    return pd.DataFrame(rows)


def sampling_curve_figure(curve: pd.DataFrame, title: str = ""):
    """Left: PSNR (left axis) and SSIM (right axis) against sampler steps; right: seconds per image (log axes)."""
    fig, (ax, ax_t) = plt.subplots(1, 2, figsize=(7.5, 2.8))
    ax.plot(curve["steps"], curve["psnr"], "o-", color="tab:blue", lw=1, ms=3)
    ax.set_xscale("log")
    ax.set_xlabel("sampler steps", fontsize=8)
    ax.set_ylabel("PSNR (dB)", color="tab:blue", fontsize=8)
    ax.yaxis.get_major_formatter().set_useOffset(False)
    ax2 = ax.twinx()
    ax2.plot(curve["steps"], curve["ssim"], "s--", color="tab:red", lw=1, ms=3)
    ax2.set_ylabel("SSIM", color="tab:red", fontsize=8)
    ax2.yaxis.get_major_formatter().set_useOffset(False)
    ax_t.plot(curve["steps"], curve["seconds_per_image"], "o-", color="k", lw=1, ms=3)
    ax_t.set_xscale("log")
    ax_t.set_yscale("log")
    ax_t.set_xlabel("sampler steps", fontsize=8)
    ax_t.set_ylabel("seconds per image", fontsize=8)
    for a in (ax, ax_t):
        a.set_xticks(list(curve["steps"]), [str(s) for s in curve["steps"]])
    for a in (ax, ax2, ax_t):
        a.tick_params(labelsize=6)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig
