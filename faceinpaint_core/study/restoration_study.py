"""Notebook 07's steps: frozen degradation sets, restorers (trained and classical), the restoration table and
its figures (prior samples, restoration grids per severity, adversarial training curves).

Table (one row per severity x method): ``psnr``, ``ssim_gauss`` (8-bit outputs), ``lpips`` and ``fid`` (``n/a``
with the reason when the pretrained weights are absent; FID with its ``n``), ``id_dist`` (dlib descriptor
distance to the clean face, with misses), ``lmd`` (dlib 68-point landmark distance, with misses) and ``ver_acc``
(10-fold verification accuracy of held-out-identity pairs whose probe face is degraded then restored; gallery
clean). Source 003 reports no numbers, so there is no reported column to compare with.
"""
from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from ..degrade import SEVERITIES, build_degradation_set, degradation_set_dirname, degrade_with_set
from ..degrade.pipeline import DegradationParams, gaussian_kernel
from ..metrics.pixel import mean_finite, psnr, quantize_uint8, ssim_gauss

BICUBIC = "degraded input (bicubic upsampling)"
DEBLUR = "Richardson-Lucy deblur (TRUE blur kernel)"
CAPTION = ("Source 003 (GFPGAN with a Wasserstein loss) reports no numbers: every value here is this study's "
           "own measurement, with nothing to compare it to.")


def degradation_sets(n: int, seed: int, out_dir) -> dict[str, dict]:
    """The frozen mild / medium / severe sets (manifests), written under ``out_dir``."""
    return {s: build_degradation_set(s, n, seed, Path(out_dir) / degradation_set_dirname(s, n, seed))
            for s in SEVERITIES}


def richardson_lucy_true_kernel(degraded: torch.Tensor, params: list[DegradationParams], iters: int = 10):
    """Classical deblur that is *given* each face's true Gaussian blur kernel (an oracle the learned methods
    lack): scikit-image's Richardson-Lucy per channel. Downsampling, noise and JPEG are not inverted."""
    from skimage.restoration import richardson_lucy

    out = []
    for img, p in zip(degraded.numpy().astype(np.float64), params):
        k = gaussian_kernel(p.blur_sigma)
        r = k.shape[0] // 2  # reflect-pad so the zero border of the convolution does not ring into the face
        pad = [np.pad(c, r, mode="reflect") if r < min(c.shape) else np.pad(c, r, mode="edge") for c in img]
        out.append(np.stack([richardson_lucy(c, k, num_iter=iters, clip=True)[r:-r, r:-r] for c in pad]))
    return torch.from_numpy(np.stack(out)).float().clamp(0, 1)


def classical_restorers() -> dict:
    """``{label: fn(degraded, params) -> restored}`` of the baselines needing no training."""
    return {BICUBIC: lambda x, params: x, DEBLUR: richardson_lucy_true_kernel}


def checkpoint_restorer(checkpoint, device: str = "cpu"):
    """``fn(degraded, params) -> restored`` of a trained restorer; faces are resized to its training size."""
    from ..restore import load_restorer
    from ..train.checkpoint import load_checkpoint

    method = load_checkpoint(checkpoint, mmap=True)["method"]
    run, size = load_restorer(checkpoint, method, device)

    def fn(x, params):
        s = x.shape[-1]
        y = run(F.interpolate(x, size=(size, size), mode="bilinear", antialias=True) if s != size else x)
        return F.interpolate(y, size=(s, s), mode="bilinear", antialias=True).clamp(0, 1) if s != size else y
    return fn


def _params(manifest: dict, n: int) -> list[DegradationParams]:
    return [DegradationParams(**d) for d in manifest["draws"][:n]]


def restore_all(restorers: dict, faces: torch.Tensor, manifests: dict) -> dict:
    """``{(severity, label): restored (N, 3, S, S)}`` plus ``{(severity, "input"): degraded}``."""
    out = {}
    for sev, man in manifests.items():
        degraded = degrade_with_set(faces, man)
        out[(sev, "input")] = degraded
        for label, fn in restorers.items():
            out[(sev, label)] = fn(degraded, _params(man, faces.shape[0])).clamp(0, 1)
    return out


def _scores(pred, gt, perc, identity, lmd, gt_fid=None) -> dict:
    row = {"psnr": mean_finite(psnr(pred, gt))[0], "ssim_gauss": float(ssim_gauss(pred, gt).mean())}
    row["lpips"] = float(perc.lpips(pred, gt).mean()) if perc.lpips is not None else float("nan")
    if perc.fid is not None:
        from ..metrics.fid import frechet_distance

        row["fid"] = frechet_distance(perc.fid(gt) if gt_fid is None else gt_fid, perc.fid(pred))
    else:
        row["fid"] = float("nan")
    for name, metric in (("id_dist", identity), ("lmd", lmd)):
        if metric is not None:
            d, miss = metric(pred, gt)
            row[name], row[f"{name}_n_miss"] = mean_finite(d)[0], int(miss)
    return row


def restoration_table(restored: dict, faces: torch.Tensor, manifests: dict, perc, identity=None, lmd=None,
                      verification=None) -> pd.DataFrame:
    """One row per (severity, method) of :func:`restore_all`'s outputs.

    Args:
        perc: :class:`~faceinpaint_core.eval.protocol.PerceptualMetrics` (its ``notes`` say why a metric is n/a).
        identity, lmd: :class:`~faceinpaint_core.metrics.identity.IdentityMetric` /
            :class:`~faceinpaint_core.metrics.landmarks.LandmarkDistance`, or None (columns left out).
        verification: ``{(severity, label): {"acc_mean", "acc_std", "n_pairs"}}`` or None.
    """
    gt = quantize_uint8(faces)
    gt_fid = perc.fid(gt) if perc.fid is not None else None  # the same ground truth in every row
    rows = []
    for (sev, label), pred in restored.items():
        row = {"severity": sev, "method": "degraded input" if label == "input" else label,
               **_scores(quantize_uint8(pred), gt, perc, identity, lmd, gt_fid), "n": int(faces.shape[0]),
               "size": int(faces.shape[-1]), "set_sha256": manifests[sev]["sha256"]}
        for k, v in (verification or {}).get((sev, label), {}).items():
            row[f"ver_{k}"] = v
        row["note"] = "; ".join(f"{k}: {v}" for k, v in perc.notes.items())
        rows.append(row)
    table = pd.DataFrame(rows)
    return table[table["method"] != "degraded input"] if BICUBIC in set(table["method"]) else table


def _verdict(low: float, high: float) -> str:
    return "better" if low > 0 else "worse" if high < 0 else "tie"


def versus_input(restored: dict, faces: torch.Tensor, reference: str = BICUBIC,
                 metrics: tuple[str, ...] = ("psnr", "ssim_gauss")) -> pd.DataFrame:
    """Each restorer against a reference restorer, face by face: per severity, method and metric, both means
    (``value``, ``reference_value``), their difference, its 95 % paired bootstrap interval (faces resampled,
    :func:`~.floor.paired_intervals`) and the share of faces the restorer wins. ``verdict``: ``better`` /
    ``worse`` when the whole interval lies above / below 0, else ``tie``.

    ``restored``: :func:`restore_all`'s ``{(severity, label): images}``; ``reference`` is a label among them: by
    default the degraded input (the classical restorers' identity, bicubic upsampling), or e.g. :data:`DEBLUR`."""
    from .floor import paired_intervals

    gt = quantize_uint8(faces)
    frames = []
    for (sev, label), pred in restored.items():
        if label == "input":
            continue
        q = quantize_uint8(pred)
        scores = {"psnr": psnr(q, gt), "ssim_gauss": ssim_gauss(q, gt)}
        frames.append(pd.DataFrame({"method": label, "mask_type": "degradation", "bin": sev, "output": "composite",
                                    "image": np.arange(len(gt)), "faces_unique": len(gt),
                                    **{m: scores[m].double().cpu().numpy() for m in metrics}}))
    per_face = pd.concat(frames, ignore_index=True)
    finite = np.isfinite(per_face[list(metrics)]).all(axis=1)  # a restorer that returns the face exactly: psnr inf
    if not finite.all():
        raise ValueError(f"versus_input: {int((~finite).sum())} per-face scores are not finite (an output identical "
                         "to its ground truth); the paired interval needs finite differences")
    if reference not in set(per_face["method"]):
        raise ValueError(f"versus_input: no {reference!r} rows among {sorted(set(per_face['method']))}")
    means = per_face.groupby(["bin", "method"], sort=False)[list(metrics)].mean()
    rows = []
    for method in [m for m in dict.fromkeys(per_face["method"]) if m != reference]:
        for _, iv in paired_intervals(per_face, method, floor=reference, metrics=metrics).iterrows():
            value, ref = means.loc[(iv["bin"], method), iv["metric"]], means.loc[(iv["bin"], reference), iv["metric"]]
            rows.append({"severity": iv["bin"], "method": method, "metric": iv["metric"], "value": value,
                         "reference": reference, "reference_value": ref, "diff": value - ref,
                         "ci_low": iv["ci_low"], "ci_high": iv["ci_high"],
                         "win_rate": iv["win_rate"], "verdict": _verdict(iv["ci_low"], iv["ci_high"]),
                         "n_faces": iv["n_faces"]})
    return pd.DataFrame(rows)


def restored_verification(pairs: pd.DataFrame, images: dict, embedder, manifest: dict, restorers: dict,
                          with_input: bool = True) -> dict:
    """``{label: {"acc_mean", "acc_std", "auc", "n_pairs"}}``: pairs scored with the gallery face clean and the
    probe degraded with the frozen draw of its index, then restored by each restorer (and, ``with_input``, the
    degraded probe itself under ``"input"``)."""
    from ..metrics.verification import verification_metrics

    gallery, probes = sorted(set(pairs["file_a"])), sorted(set(pairs["file_b"]))
    g = embedder.embed(torch.stack([images[f] for f in gallery]))
    clean = torch.stack([images[f] for f in probes])
    degraded = degrade_with_set(clean, manifest)
    gi, pi = {f: k for k, f in enumerate(gallery)}, {f: k for k, f in enumerate(probes)}
    out = {}
    for label, fn in ({"input": lambda x, p: x, **restorers} if with_input else dict(restorers)).items():
        p = embedder.embed(fn(degraded, _params(manifest, len(probes))).clamp(0, 1))
        a, b = g.vectors[[gi[f] for f in pairs["file_a"]]], p.vectors[[pi[f] for f in pairs["file_b"]]]
        m = verification_metrics(embedder.score(a, b), pairs["same"].to_numpy(), pairs["fold"].to_numpy())
        out[label] = {"acc_mean": m["acc_mean"], "acc_std": m["acc_std"], "auc": m["auc"], "n_pairs": len(pairs)}
    return out


# -- figures -------------------------------------------------------------------------------------------------
def _grid(ax_rows, columns: dict, n: int):
    for j, (title, imgs) in enumerate(columns.items()):
        for i in range(n):
            ax = ax_rows[i][j]
            ax.imshow(imgs[i].permute(1, 2, 0).clamp(0, 1).numpy())
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(textwrap.fill(title, 16), fontsize=6)


CLEAN = "clean (no degradation)"


def checkpoint_curve(run_dir, faces: torch.Tensor, manifests: dict, device: str = "cpu") -> pd.DataFrame:
    """PSNR / SSIM of every saved checkpoint of a restorer's run (``run_dir/checkpoints``, by step) on the clean faces
    and on each frozen degradation set, beside the degraded input itself (step NaN, ``method`` = :data:`BICUBIC`).

    The clean-face rows are the restorer's **fidelity ceiling**: what it returns when nothing is degraded. Where a
    set's input PSNR lies above it, the restorer's own reconstruction error costs more than the degradation and it is
    unlikely to beat the input there; the curve shows whether training still lifts the ceiling."""
    from ..train.checkpoint import checkpoint_step

    ckpts = sorted(Path(run_dir, "checkpoints").glob("*.pt"))
    if not ckpts:
        raise FileNotFoundError(f"{Path(run_dir) / 'checkpoints'}: no checkpoint (*.pt) to score")
    by_step = {}
    for p in ckpts:  # final.pt and the last step-*.pt are the same weights: keep final.pt
        step = checkpoint_step(p)
        if step not in by_step or p.name == "final.pt":
            by_step[step] = p
    gt = quantize_uint8(faces)
    inputs = {CLEAN: faces, **{sev: degrade_with_set(faces, man) for sev, man in manifests.items()}}
    rows = []

    def score(pred):
        pred = quantize_uint8(pred.clamp(0, 1))
        return {"psnr": mean_finite(psnr(pred, gt))[0], "ssim_gauss": float(ssim_gauss(pred, gt).mean())}

    for sev, x in inputs.items():
        if sev != CLEAN:
            rows.append({"input": sev, "method": BICUBIC, "step": float("nan"), **score(x)})
    for step, path in sorted(by_step.items()):
        fn = checkpoint_restorer(path, device)
        for sev, x in inputs.items():
            rows.append({"input": sev, "method": "restorer", "step": step, "checkpoint": path.name,
                         **score(fn(x, None))})
    return pd.DataFrame(rows).assign(n=int(faces.shape[0]), size=int(faces.shape[-1]))


def checkpoint_curve_figure(curve: pd.DataFrame, label: str):
    """PSNR against training step, one panel per input (clean faces first), the degraded input's level dashed."""
    import matplotlib.pyplot as plt

    inputs = list(dict.fromkeys(curve["input"]))
    inputs = [CLEAN] + [i for i in inputs if i != CLEAN] if CLEAN in inputs else inputs
    fig, axes = plt.subplots(1, len(inputs), figsize=(2.6 * len(inputs), 2.4), squeeze=False)
    for ax, inp in zip(axes[0], inputs):
        own = curve[(curve["input"] == inp) & (curve["method"] == "restorer")].sort_values("step")
        ax.plot(own["step"], own["psnr"], marker="o", label=label)
        base = curve[(curve["input"] == inp) & (curve["method"] == BICUBIC)]
        if len(base):
            ax.axhline(float(base["psnr"].iloc[0]), ls="--", color="gray", label="degraded input (bicubic)")
        ax.set_title(inp if inp != CLEAN else "clean faces: fidelity ceiling", fontsize=8)
        ax.set_xlabel("training step", fontsize=7)
        ax.set_ylabel("PSNR (dB)", fontsize=7)
        ax.tick_params(labelsize=6)
    axes[0][-1].legend(fontsize=6)
    fig.tight_layout()
    return fig


def restoration_grid_figure(restored: dict, faces: torch.Tensor, severity: str, n: int = 4):
    """Degraded input, every restorer and the ground truth for ``n`` faces of one severity."""
    import matplotlib.pyplot as plt

    cols = {"degraded": restored[(severity, "input")]}
    cols.update({label: img for (sev, label), img in restored.items()
                 if sev == severity and label not in ("input", BICUBIC)})  # BICUBIC is the degraded input itself
    cols["ground truth"] = faces
    n = min(n, faces.shape[0])
    fig, axes = plt.subplots(n, len(cols), figsize=(1.3 * len(cols), 1.4 * n), squeeze=False)
    _grid(axes, cols, n)
    fig.suptitle(f"restoration, {severity} degradation", fontsize=9)
    fig.tight_layout()
    return fig


def samples_figure(samples: torch.Tensor, title: str, per_row: int = 8):
    """A grid of generated faces ``(N, 3, S, S)`` in [0, 1]."""
    import matplotlib.pyplot as plt

    rows = -(-samples.shape[0] // per_row)
    fig, axes = plt.subplots(rows, per_row, figsize=(1.2 * per_row, 1.2 * rows), squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.axis("off")
        if k < samples.shape[0]:
            ax.imshow(samples[k].permute(1, 2, 0).clamp(0, 1).numpy())
    fig.suptitle(title, fontsize=9)
    return fig


CURVES = ("D/wasserstein", "D/d_adv", "G/g_adv", "G/total")


def adversarial_curves_figure(logs: dict[str, pd.DataFrame]):
    """Training curves of each adversarial variant (``{label: log.csv frame}``); the WGAN critic's estimate of
    the Wasserstein distance where the variant has one."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(CURVES), figsize=(3.2 * len(CURVES), 2.8))
    for ax, key in zip(axes, CURVES):
        for label, log in logs.items():
            if key in log:
                ax.plot(log["step"], log[key], label=label)
        ax.set_title(key, fontsize=9)
        ax.set_xlabel("step")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def read_log(run_dir) -> pd.DataFrame:
    """A training run's ``log.csv``."""
    return pd.read_csv(Path(run_dir) / "log.csv")


# -- training ------------------------------------------------------------------------------------------------
def train_with_variants(method: str, profile: str, data_root, out, sets: dict,
                        variant_sets: dict | None = None) -> dict[str, tuple[str, Path, float]]:
    """Train ``method`` and each of its ``ABLATIONS`` variants; ``{slug: (label, run_dir, seconds)}`` with slug
    ``"main"`` for the run with ``sets`` alone. A variant whose resolved config equals the main run's reuses it.

    ``variant_sets``: extra overrides of the variant runs only (the study profile's ``ablation_sets`` of the method,
    e.g. a shorter training in ``smoke``); a variant equal to the main run *without* them reuses the main run."""
    variant_sets = dict(variant_sets or {})
    import time

    from ..config import resolve
    from ..methods import get_method_class
    from ..train.trainer import train_main

    cls = get_method_class(method)
    t0 = time.perf_counter()
    main = Path(train_main(method, profile, data_root=data_root, out=str(out), sets=sets))
    runs = {"main": (cls.label or method, main, time.perf_counter() - t0)}
    base = resolve(cls.config_cls, cls.PROFILES, profile, sets)
    for slug, (label, overrides) in getattr(cls, "ABLATIONS", {}).items():
        if resolve(cls.config_cls, cls.PROFILES, profile, {**sets, **overrides}) == base:
            runs[slug] = (label, main, runs["main"][2])
            continue
        t0 = time.perf_counter()
        run = Path(train_main(method, profile, data_root=data_root, out=str(Path(out) / "variants"),
                              sets={**sets, **variant_sets, **overrides}))
        runs[slug] = (label, run, time.perf_counter() - t0)
    return runs


def training_summary(runs: dict[str, tuple[str, Path, float]]) -> pd.DataFrame:
    """Per run: label, seconds, last logged losses, and for WGAN critics the Wasserstein estimate's last value
    and spread over the run (a critic stuck at one value has collapsed)."""
    rows = []
    for slug, (label, run, secs) in runs.items():
        log = read_log(run)
        row = {"variant": slug, "label": label, "run_dir": Path(run).name, "train_s": round(secs, 1),
               "steps": int(log["step"].iloc[-1])}
        for key in ("G/pix", "G/total", "D/d_adv", "D/wasserstein"):
            if key in log:
                row[f"{key}_last"] = float(log[key].iloc[-1])
        if "D/wasserstein" in log:
            w = log["D/wasserstein"]
            row["W_std_over_run"] = float(w.std())
            row["W_last_half_abs_max"] = float(w.iloc[len(w) // 2:].abs().max())
        rows.append(row)
    return pd.DataFrame(rows)


TABLE_COLUMNS = ("severity", "method", "psnr", "ssim_gauss", "lpips", "fid", "id_dist", "id_dist_n_miss", "lmd",
                 "lmd_n_miss", "ver_acc_mean", "ver_acc_std", "ver_n_pairs", "n", "size")


def table_markdown(table: pd.DataFrame, profile: str) -> str:
    """The restoration table in markdown: n/a (with the reason) for metrics without weights, and the caption."""
    cols = [c for c in TABLE_COLUMNS if c in table]
    shown = table[cols].astype(object).map(lambda v: "n/a" if isinstance(v, float) and v != v
                                           else f"{v:.4g}" if isinstance(v, float) else v)
    notes = sorted({n for n in table.get("note", pd.Series(dtype=str)).fillna("") if n})
    n = int(table["n"].iloc[0]) if len(table) else 0
    caption = (f"**Restoration on the frozen degradation sets ({profile} profile; {n} test faces per severity, "
               f"FID with n={n}, not comparable to FID on 2048+ images).** {CAPTION}")
    extra = [f"n/a: {x}" for x in notes]
    return "\n\n".join([caption, shown.to_markdown(index=False), *extra]) + "\n"


def write_training_summary(summary: pd.DataFrame, results_dir, method: str) -> None:
    """``restoration_training_<method>.csv`` + ``.md`` (train seconds, last losses, W-estimate spread)."""
    from .frames import write_frame

    write_frame(summary, results_dir, f"restoration_training_{method}",
                f"{method}: training runs (seconds on this machine, last logged terms; W_std_over_run near 0 = "
                f"a collapsed critic)")


# -- scoring, shared by notebook 07 and the ablation jobs ------------------------------------------------------
def evaluate_restorers(restorers: dict, *, dataset: str, size: int, data_root, n_eval: int, seed: int, profile: str,
                       eval_fid: bool, eval_lpips: bool, results_dir, device: str = "cpu",
                       split: str = "test", with_input: bool = True) -> dict:
    """Restore the frozen degradation sets of ``n_eval`` test faces with each restorer and score them (pixel,
    perceptual, identity, LMD and verification of held-out identity pairs with the probe degraded then restored).

    ``with_input=False`` leaves out the degraded input's own rows (an ablation job scores its variant alone; the
    main table has the baselines). Returns ``{"table", "restored", "faces", "manifests", "pairs_sha256"}``."""
    from ..data import open_dataset
    from ..eval.embedders import make_embedder
    from ..eval.protocol import PerceptualMetrics, load_faces
    from ..eval.verification import held_out_pairs, pair_images, verify_config
    from ..metrics.identity import IdentityMetric
    from ..metrics.landmarks import LandmarkDistance

    results_dir = Path(results_dir)
    test_faces = open_dataset(dataset, size, split=split, data_root=data_root, seed=seed)
    faces = load_faces(test_faces, min(n_eval, len(test_faces)))["image"]  # the table's n column says how many
    manifests = degradation_sets(len(faces), seed, results_dir / "cache" / "degradation_sets")
    restored = restore_all(restorers, faces, manifests)
    if not with_input:
        restored = {k: v for k, v in restored.items() if k[1] != "input"}
    vcfg = verify_config(profile)
    pairs, pairs_manifest, id_faces = held_out_pairs("celeba" if data_root else "synthetic", vcfg, data_root,
                                                     results_dir / "cache" / "pairs")
    images = pair_images(pairs, id_faces)
    dlib_emb = make_embedder("dlib", cache_dir=results_dir / "cache" / "dlib_descriptors")
    verification = {}
    n_probe = len(set(pairs["file_b"]))
    for sev in manifests:
        sev_man = build_degradation_set(sev, n_probe, seed)  # the same draws as the table's, first n
        for label, v in restored_verification(pairs, images, dlib_emb, sev_man, restorers, with_input).items():
            verification[(sev, label)] = v
    perc = PerceptualMetrics(eval_fid, eval_lpips, device)
    for name, wanted in (("fid", eval_fid), ("lpips", eval_lpips)):
        if not wanted:
            perc.notes[name] = f"not computed in the {profile} profile (eval_{name}=False)"
    table = restoration_table(restored, faces, manifests, perc, IdentityMetric(), LandmarkDistance(), verification)
    return {"table": table.assign(pairs_sha256=pairs_manifest["sha256"]), "restored": restored, "faces": faces,
            "manifests": manifests, "pairs_sha256": pairs_manifest["sha256"]}


def ablation_job(method: str, variant: str, label: str, overrides: dict, params: dict, out_root) -> pd.DataFrame:
    """One adversarial / architectural variant (a workflow job): train it at the profile's ablation length (every
    variant the same length) and score it on the frozen degradation sets; rows of :func:`restoration_table` for the
    variant alone (the baselines are in the main table), plus its training summary columns."""
    import time

    from ..train.trainer import train_main
    from .records import final_checkpoint, record_checkpoint
    from .study_jobs import _device, study_train_sets

    results = Path(out_root) / "results"
    data_root = None if params["synthetic"] else params["data_root"]
    sets = study_train_sets(method, params["train_sets"].get(method, {}), results)
    t0 = time.perf_counter()
    run = Path(train_main(method, params["train_profile"], data_root=data_root,
                          out=str(Path(out_root) / "runs" / "ablations"),
                          sets={**sets, **params["ablation_sets"].get(method, {}), **overrides}))
    seconds = time.perf_counter() - t0
    record_checkpoint(results, f"ablation-{method}-{variant}", run)
    device = _device()
    scored = evaluate_restorers({label: checkpoint_restorer(final_checkpoint(run), device)},
                                dataset=params["dataset"], size=params["size"], data_root=data_root,
                                n_eval=params["n_eval"], seed=params["seed"], profile=params["profile"],
                                eval_fid=params["eval_fid"], eval_lpips=params["eval_lpips"], results_dir=results,
                                device=device, with_input=False)
    table = scored["table"]
    table = table[table["method"] == label]
    summary = training_summary({variant: (label, run, seconds)}).iloc[0].to_dict()
    return table.assign(variant=label, variant_slug=variant, run_dir=run.name,
                        **{k: v for k, v in summary.items() if k not in ("variant", "label", "run_dir")})


VARIANT_COLUMNS = ("variant", "severity", "psnr", "ssim_gauss", "lpips", "fid", "id_dist", "lmd", "ver_acc_mean",
                   "train_s", "steps", "W_std_over_run", "W_last_half_abs_max")


def ablation_summary(rows: pd.DataFrame) -> pd.DataFrame:
    """The variants' restoration scores per severity with their training length and critic statistics
    (``W_std_over_run`` near 0 = a critic whose Wasserstein estimate never moved)."""
    return rows[[c for c in VARIANT_COLUMNS if c in rows]].round(4).reset_index(drop=True)


def ablation_figures(rows: pd.DataFrame, runs_dir) -> dict:
    """The adversarial variants' training curves side by side (the WGAN critics' Wasserstein estimates)."""
    runs = rows[["variant", "run_dir"]].drop_duplicates()
    logs = {label: read_log(Path(runs_dir) / run) for label, run in runs.itertuples(index=False)
            if (Path(runs_dir) / run / "log.csv").is_file()}
    return {"adversarial_curves": adversarial_curves_figure(logs)} if logs else {}
