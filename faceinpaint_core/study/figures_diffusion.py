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


#: Timesteps at which :func:`distortion_by_timestep` asks the denoiser for ``x̂_0`` from the true ``x_t`` (T = 1000).
X0_TIMESTEPS = (999, 900, 800, 700, 600, 500, 400, 300, 200, 100, 50, 10, 0)


def distortion_by_timestep(method, nets, image: torch.Tensor, mask: torch.Tensor, timesteps=X0_TIMESTEPS,
                           seed: int = 0) -> pd.DataFrame:
    """Where a diffusion inpainter's PSNR goes: the denoiser's ``x̂_0`` against the timestep, two ways.

    * ``from true x_t``: ``x̂_0`` given the ground truth noised to ``t`` (:meth:`denoise_from_truth`); at ``t = T − 1``
      this is the network's posterior-mean estimate, and it should improve monotonically as ``t`` falls;
    * ``DDIM chain``: ``x̂_0`` at every step of the method's own sampler (its inference options), whose last step is
      the sample the study scores. A calibrated posterior sampler ends near twice the posterior mean's squared
      error (``E‖x_s − x‖² = E‖μ − x‖² + E‖x_s − μ‖²``, about 3 dB of PSNR): that gap is the price of sampling,
      not a training fault;
    * ``conditioning fill``: the ``hole_init`` image the denoiser is conditioned on (one row, ``t`` = -1).

    Every image is composited (known pixels pasted back) and 8-bit rounded, as in :func:`sampling_curve`.
    Returns: ``estimate, t, step, psnr, ssim, n_images`` (``step`` is the sampler step for the chain, else -1).
    """
    known = image * (1 - mask)
    if not timesteps:
        raise ValueError("distortion_by_timestep: no timesteps given")
    if not callable(getattr(method, "denoise_from_truth", None)) or not getattr(method.cfg, "diffusion", True):
        raise ValueError(f"distortion_by_timestep: method {getattr(method, 'name', method)!r} has no diffusion "
                         "denoiser to query (a diffusion method with denoise_from_truth and diffusion=True)")

    def score(x) -> dict:
        comp = _quantize(x * mask + image * (1 - mask))
        return {"psnr": float(psnr(comp, image).mean()), "ssim": float(ssim(comp, image).mean()), "n_images": len(image)}

    rows, gen = [], torch.Generator(device=image.device).manual_seed(seed)
    fill = None
    for t in timesteps:
        out = method.denoise_from_truth(nets, image, mask, int(t), gen)
        fill = out["fill"]
        rows.append({"estimate": "from true x_t", "t": int(t), "step": -1, **score(out["x0_hat"])})
    rows.append({"estimate": "conditioning fill", "t": -1, "step": -1, **score(fill)})

    def on_step(i, t, x_t, x0):
        rows.append({"estimate": "DDIM chain", "t": int(t), "step": i, **score(((x0 + 1) / 2).clamp(0, 1))})
    sample = method.sample(nets, known, mask, callback=on_step)["pred"]
    rows.append({"estimate": "sample (chain output)", "t": -1, "step": -1, **score(sample)})
    return pd.DataFrame(rows)


def distortion_summary(table: pd.DataFrame) -> pd.DataFrame:
    """One row per ``cell`` of a :func:`distortion_by_timestep` table: PSNR of the conditioning fill, of x̂0 at the
    largest t (the posterior-mean estimate), of the sample, and ``price of sampling (dB)`` = sample − x̂0(T)."""
    if "cell" not in table:
        table = table.assign(cell="all")
    t_max = int(table.loc[table["estimate"] == "from true x_t", "t"].max())
    pick = {"conditioning fill": table["estimate"] == "conditioning fill",
            f"x̂0 at t={t_max} (posterior mean)": (table["estimate"] == "from true x_t") & (table["t"] == t_max),
            "sample (study output)": table["estimate"] == "sample (chain output)"}
    out = pd.DataFrame({k: table[v].set_index("cell")["psnr"] for k, v in pick.items()})
    out["price of sampling (dB)"] = out["sample (study output)"] - out[f"x̂0 at t={t_max} (posterior mean)"]
    return out.round(2)


def distortion_by_timestep_figure(table: pd.DataFrame, title: str = "", floor: float | None = None,
                                  floor_label: str = "biharmonic"):
    """PSNR of ``x̂_0`` against ``t`` (T on the left, as the sampler runs): the estimate from the true ``x_t`` and
    along the chain, with the conditioning fill, the final sample and (``floor``) a classical floor as lines.
    One panel per ``cell`` when the table has that column (three to a row)."""
    cells = list(dict.fromkeys(table["cell"])) if "cell" in table else [None]
    ncols = min(3, len(cells))
    nrows = -(-len(cells) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(2.8 * ncols + 0.4, 2.5 * nrows + 0.3), squeeze=False)
    for ax in axes.flat[len(cells):]:
        ax.set_visible(False)
    for ax, cell in zip(axes.flat, cells):
        part = table if cell is None else table[table["cell"] == cell]
        for est, style in (("from true x_t", "o-"), ("DDIM chain", "s-")):
            rows = part[part["estimate"] == est].sort_values("t")
            ax.plot(rows["t"], rows["psnr"], style, lw=1, ms=2.5, label=f"x̂0 {est}")
        for est, color in (("conditioning fill", "tab:gray"), ("sample (chain output)", "tab:red")):
            val = part.loc[part["estimate"] == est, "psnr"]
            if len(val):
                ax.axhline(float(val.iloc[0]), color=color, ls="--", lw=0.8, label=est)
        if floor is not None and cell is None:
            ax.axhline(floor, color="k", ls=":", lw=0.8, label=floor_label)
        ax.invert_xaxis()
        ax.set_xlabel("timestep t", fontsize=7)
        ax.set_ylabel("PSNR (dB)", fontsize=7)
        ax.tick_params(labelsize=6)
        if cell is not None:
            ax.set_title(str(cell), fontsize=7)
    axes[0][0].legend(fontsize=5, loc="best")
    if title:
        fig.suptitle(title, fontsize=8)
    fig.tight_layout()
    return fig
