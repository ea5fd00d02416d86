"""Face-verification metrics of the LFW protocol: 10-fold accuracy, ROC / AUC, TAR at a fixed FAR.

A pair ``k`` has a similarity ``score[k]`` (higher = more alike: cosine similarity, or minus a
Euclidean distance) and a label ``same[k]`` (1 same identity, 0 different). Pure numpy functions:

* ``acc_10fold`` — LFW "view 2" (Huang et al. 2007): for each fold, the threshold that maximises
  accuracy on the *other* folds' pairs is applied to that fold; mean and standard deviation
  (``np.std``, ``ddof=0``, as insightface's ``lfw.py``) of the per-fold accuracies;
* ``roc_auc`` — the area under the ROC curve of all pairs pooled (scikit-learn ``roc_auc_score``;
  the curve from ``roc_curve``), and the per-fold AUC mean ± std;
* ``tar_at_far`` — true-accept rate at false-accept rate ``far``: the highest TPR of an ROC point
  with ``FPR <= far``. It needs at least ``ceil(1 / far)`` different-identity pairs (one false accept
  must be a rate ``<= far``); with fewer it is NaN and the note says why.

Pairs whose score is NaN (a face an embedder could not find, with ``on_miss="drop"``) are left out
and counted (``n_dropped``), never silently.
"""
from __future__ import annotations

import math

import numpy as np

TAR_FAR = 1e-3


def _as_arrays(scores, same) -> tuple[np.ndarray, np.ndarray]:
    s, y = np.asarray(scores, dtype=np.float64).ravel(), np.asarray(same).astype(bool).ravel()
    if s.shape != y.shape:
        raise ValueError(f"scores ({s.size}) and labels ({y.size}) differ in length")
    return s, y


def accuracy_at(scores, same, threshold: float) -> float:
    """Share of pairs classified right by ``score >= threshold`` (= same)."""
    s, y = _as_arrays(scores, same)
    return float(np.mean((s >= threshold) == y)) if s.size else float("nan")


def best_threshold(scores, same) -> float:
    """The threshold (a midpoint between neighbouring scores, or just outside their range) that maximises
    accuracy of ``score >= t`` on these pairs; the lowest such threshold on ties."""
    s, y = _as_arrays(scores, same)
    if s.size == 0:
        raise ValueError("best_threshold: no pairs")
    u = np.unique(s)
    cands = np.concatenate([[u[0] - 1.0], (u[:-1] + u[1:]) / 2, [u[-1] + 1.0]])
    pos, neg = np.sort(s[y]), np.sort(s[~y])
    # accepted same pairs: score >= t; rejected different pairs: score < t
    correct = (pos.size - np.searchsorted(pos, cands, side="left")) + np.searchsorted(neg, cands, side="left")
    return float(cands[int(np.argmax(correct))])


def acc_10fold(scores, same, folds) -> dict:
    """LFW-protocol accuracy: each fold scored with the threshold chosen on the other folds.

    Args:
        scores: (P,) similarities (NaN = not scored, left out).  same: (P,) 1/0.  folds: (P,) fold ids.
    Returns: ``{"acc_mean", "acc_std", "acc_folds": [..], "thresholds": [..], "folds": [..]}``.
    """
    s, y = _as_arrays(scores, same)
    f = np.asarray(folds).ravel()
    ok = ~np.isnan(s)
    ids = sorted(set(f[ok].tolist()))
    if len(ids) < 2:
        raise ValueError(f"acc_10fold needs pairs in at least 2 folds, got {len(ids)}")
    accs, ths = [], []
    for k in ids:
        train, test = ok & (f != k), ok & (f == k)
        t = best_threshold(s[train], y[train])
        ths.append(t)
        accs.append(accuracy_at(s[test], y[test], t))
    return {"acc_mean": float(np.mean(accs)), "acc_std": float(np.std(accs)), "acc_folds": accs,
            "thresholds": ths, "folds": ids}


def roc(scores, same) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(fpr, tpr, thresholds)`` of the pooled pairs (scikit-learn ``roc_curve``), NaN scores left out."""
    from sklearn.metrics import roc_curve

    s, y = _valid(scores, same)
    return roc_curve(y, s, drop_intermediate=False)


def roc_auc(scores, same) -> float:
    """Area under the ROC curve of the pooled pairs (scikit-learn); NaN when a class is missing."""
    from sklearn.metrics import roc_auc_score

    s, y = _valid(scores, same)
    if y.all() or not y.any():
        return float("nan")
    return float(roc_auc_score(y, s))


def tar_at_far(scores, same, far: float = TAR_FAR) -> tuple[float, str]:
    """``(TAR, note)``: the highest TPR with ``FPR <= far``; NaN + note when too few different pairs."""
    s, y = _valid(scores, same)
    need = math.ceil(1.0 / far - 1e-9)
    n_neg = int((~y).sum())
    if n_neg < need or not y.any():
        return float("nan"), f"TAR@FAR={far:g} needs >= {need} different-identity pairs, have {n_neg}"
    fpr, tpr, _ = roc(s, y)
    return float(tpr[fpr <= far].max()), ""


def _valid(scores, same) -> tuple[np.ndarray, np.ndarray]:
    s, y = _as_arrays(scores, same)
    ok = ~np.isnan(s)
    return s[ok], y[ok]


def verification_metrics(scores, same, folds, far: float = TAR_FAR) -> dict:
    """Every verification number of one set of scored pairs (see the module docstring).

    Returns: ``n_pairs``, ``n_scored``, ``n_dropped``, ``acc_mean``, ``acc_std``, ``auc`` (pooled),
    ``auc_fold_mean``, ``auc_fold_std``, ``tar_at_far``, ``far``, ``note``, and the lists ``acc_folds``,
    ``thresholds``.
    """
    s, y = _as_arrays(scores, same)
    f = np.asarray(folds).ravel()
    ok = ~np.isnan(s)
    acc = acc_10fold(s, y, f)
    fold_aucs = [roc_auc(s[ok & (f == k)], y[ok & (f == k)]) for k in acc["folds"]]
    tar, note = tar_at_far(s, y, far)
    return {"n_pairs": int(s.size), "n_scored": int(ok.sum()), "n_dropped": int((~ok).sum()),
            "acc_mean": acc["acc_mean"], "acc_std": acc["acc_std"], "auc": roc_auc(s, y),
            "auc_fold_mean": float(np.nanmean(fold_aucs)), "auc_fold_std": float(np.nanstd(fold_aucs)),
            "tar_at_far": tar, "far": far, "note": note, "acc_folds": acc["acc_folds"],
            "thresholds": acc["thresholds"]}
