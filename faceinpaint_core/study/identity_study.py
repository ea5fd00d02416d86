"""Notebook 05's steps: the verification grid, restored-probe verification, identity preservation per
inpainting method, and their figures (ROC curves, ACC/AUC under occlusion, occluded probes).

Every table row carries its counts (pairs, same / different, folds, faces not detected, pairs dropped)
and the pair protocol's sha256; nothing is left out silently.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import torch

from ..eval.verification import (OCCLUSIONS, ProbeOcclusion, Restorer, VerifyConfig, checkpoint_split,
                                 composite_outputs, identity_preservation, verify, verify_config)

TABLE_COLUMNS = ("embedder", "occlusion", "restoration", "acc_mean", "acc_std", "auc", "auc_fold_mean",
                 "auc_fold_std", "tar_at_far", "far", "n_pairs", "n_same", "n_diff", "n_folds", "n_scored",
                 "n_dropped", "n_images", "n_detect_fail", "hole_ratio", "note")


def identity_protocol(checkpoint, profile: str) -> tuple[VerifyConfig, str]:
    """``(config, dataset)``: the profile's preset on the identity split an ``identity`` checkpoint was trained
    with (its seed and held-out share), and the dataset it was trained on."""
    split = checkpoint_split(checkpoint)
    vcfg = replace(verify_config(profile), seed=split["seed"], held_out_fraction=split["held_out_fraction"])
    return vcfg, split["dataset"]


def occlusions(cfg: VerifyConfig) -> dict[str, ProbeOcclusion]:
    """One :class:`ProbeOcclusion` per configured kind (shared by every embedder: the same masks)."""
    return {kind: ProbeOcclusion(kind, cfg) for kind in cfg.occlusions}


def verification_grid(pairs: pd.DataFrame, images: dict, embedders: dict, occ: dict[str, ProbeOcclusion],
                      pairs_sha256: str) -> tuple[pd.DataFrame, dict]:
    """Every embedder on clean probes and on each occlusion: ``(table, {(embedder, occlusion): scores})``."""
    rows, scores = [], {}
    for name, emb in embedders.items():
        for kind in ("none", *occ):
            row, sc = verify(pairs, images, emb, occ.get(kind))
            rows.append(row)
            scores[(name, kind)] = sc
    return _table(rows, pairs_sha256), scores


def restored_verification(pairs: pd.DataFrame, images: dict, embedder, occlusion: ProbeOcclusion,
                          predictors: list, cfg: VerifyConfig, pairs_sha256: str) -> tuple[pd.DataFrame, dict]:
    """Verification with occluded probes restored by each predictor (TSGAN's measure of de-occlusion).

    A parsing-conditioned method without a face parser is not run (the pair faces have no parsing labels):
    its row says so in ``note``.
    """
    rows, scores = [], {}
    for pred in predictors:
        if _lacks_parsing(pred):
            rows.append({"embedder": embedder.name, "occlusion": occlusion.kind, "restoration": pred.name,
                         "note": "not run: needs parsing maps, which these faces lack, and has no face parser "
                                 "configured (parser_checkpoint)"})
            continue
        restorer = Restorer(pred, getattr(pred, "size", cfg.size), cfg.restore_align)
        row, sc = verify(pairs, images, embedder, occlusion, restorer)
        rows.append({**row, "n_aligned": restorer.n_aligned, "n_unaligned": restorer.n_unaligned})
        scores[(embedder.name, occlusion.kind, pred.name)] = sc
    return _table(rows, pairs_sha256), scores


def _lacks_parsing(pred) -> bool:
    """A parsing-conditioned predictor with neither a loaded nor a configured face parser."""
    method = getattr(pred, "method", None)
    has_parser = getattr(pred, "parser_sha256", None) or getattr(getattr(method, "cfg", None), "parser_checkpoint", "")
    return bool(getattr(pred, "needs_parsing", False)) and not has_parser


def _table(rows: list[dict], pairs_sha256: str) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    cols = [c for c in TABLE_COLUMNS if c in frame] + [c for c in frame if c not in TABLE_COLUMNS]
    return frame[cols].assign(pairs_sha256=pairs_sha256)


def identity_preservation_table(predictors: list, faces: dict, masks: torch.Tensor, embedder, lmd,
                                mask_set: str, mask_set_sha256: str) -> pd.DataFrame:
    """Identity distance and LMD of each predictor's composited outputs, after a ``masked input`` row (hole
    zero-filled, nothing inpainted: what the hole alone costs).

    Args:
        faces: ``{"image": (n, 3, S, S), "parsing"?: (n, S, S)}`` (:func:`faceinpaint_core.eval.protocol.load_faces`).
        masks: ``(n, 1, S, S)`` 1 = hole (a frozen set).
    """
    image = faces["image"]
    rows = [{"method": "masked input (no inpainting)",
             **identity_preservation(image * (1 - masks), image, embedder, lmd)}]
    for pred in predictors:
        parsing = faces.get("parsing") if getattr(pred, "needs_parsing", False) else None
        out = composite_outputs(pred, image, masks, parsing)
        rows.append({"method": pred.name, **identity_preservation(out, image, embedder, lmd)})
    return pd.DataFrame(rows).assign(mask_set=mask_set, mask_set_sha256=mask_set_sha256, size=image.shape[-1])


# -- figures -----------------------------------------------------------------------------------------

def roc_figure(scores: dict, title: str = ""):
    """ROC curves of ``{label: per-pair scores frame (same, score)}`` with their AUC in the legend."""
    from sklearn.metrics import roc_auc_score, roc_curve

    from .figures import plt

    fig, ax = plt.subplots(figsize=(4.2, 4.0))
    for label, sc in scores.items():
        ok = sc["score"].notna()
        fpr, tpr, _ = roc_curve(sc.loc[ok, "same"], sc.loc[ok, "score"])
        ax.plot(fpr, tpr, label=f"{label} (AUC {roc_auc_score(sc.loc[ok, 'same'], sc.loc[ok, 'score']):.3f})")
    ax.plot([0, 1], [0, 1], color="grey", lw=0.7, ls=":")
    ax.set(xlabel="false accept rate", ylabel="true accept rate", title=title)
    ax.legend(fontsize=7, loc="lower right")
    return fig


def occlusion_bars_figure(table: pd.DataFrame):
    """ACC (± std over folds) and AUC per occlusion, one bar per embedder."""
    from .figures import plt

    order = [o for o in OCCLUSIONS if o in set(table["occlusion"])]
    embs = list(dict.fromkeys(table["embedder"]))
    fig, axes = plt.subplots(1, 2, figsize=(8, 3.2))
    x, w = np.arange(len(order)), 0.8 / max(1, len(embs))
    for k, emb in enumerate(embs):
        t = table[table["embedder"] == emb].set_index("occlusion").reindex(order)
        axes[0].bar(x + k * w, t["acc_mean"], w, yerr=t["acc_std"], label=emb, capsize=2)
        axes[1].bar(x + k * w, t["auc"], w, label=emb)
    for ax, name in zip(axes, ("ACC (10-fold, mean ± std)", "ROC AUC")):
        ax.set_xticks(x + w * (len(embs) - 1) / 2, order, fontsize=8)
        ax.set_ylim(0.4, 1.0)
        ax.set_title(name, fontsize=9)
    axes[0].legend(fontsize=7)
    return fig


def occluded_probes_figure(images: dict, files: list[str], occ: dict[str, ProbeOcclusion]):
    """A few probe faces: clean, then under each occlusion (hole grey)."""
    from .figures import image_grid, masked_input

    clean = torch.stack([images[f] for f in files])
    cols = {"clean": clean}
    for kind, o in occ.items():
        masks = torch.stack([o(f, images[f]) for f in files])
        cols[f"{kind} ({float(masks.mean()):.0%})"] = masked_input(clean, masks)
    return image_grid(cols, "probe faces under each occlusion (grey = hole)")
