"""The user-study analysis on simulated observers, from the study's measured quality (notebook 23).

Until real participants have answered (`faceinpaint userstudy serve`), notebook 23 runs the whole analysis on
simulated observers whose choices follow each method's measured SSIM (see
:func:`~faceinpaint_core.userstudy.analysis.simulate_answers`). Every table row carries ``simulated=True`` and
every figure title says "SIMULATED"; nothing here is written into a study database.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from . import analysis as A  # noqa: E402
from .design import MAX_METHODS, design_only_study  # noqa: E402

SIMULATED = "SIMULATED observers (no real participants)"


def method_quality(results_dir: str | Path, metric: str = "ssim_gauss", mask_type: str | None = None,
                   bin: str = "20-30", output: str = "composite") -> pd.DataFrame:
    """Per evaluated method (classical floor and every ``eval_*.csv``): its measured ``metric`` on ``mask_type``
    (default: the irregular kind present, NVIDIA masks first) in ``bin``; columns ``method, quality, mask_type``."""
    results_dir = Path(results_dir)
    files = [results_dir / "classical_floor.csv", *sorted(results_dir.glob("eval_*.csv"))]
    frames = [pd.read_csv(f, dtype={"bin": str}) for f in files if f.is_file()]
    if not frames:
        raise FileNotFoundError(f"{results_dir}: no classical_floor.csv or eval_*.csv (run the study's evaluation first)")
    rows = pd.concat(frames, ignore_index=True)
    rows = rows[(rows["metric"] == metric) & (rows["bin"] == bin) & (rows["output"] == output)]
    if mask_type is None:
        kinds = [k for k in ("nvidia", "irregular", "qdimd", "regular") if k in set(rows["mask_type"])]
        if not kinds:
            raise ValueError(f"{results_dir}: no {metric} rows for bin {bin}")
        mask_type = kinds[0]
    rows = rows[rows["mask_type"] == mask_type]
    return (rows.groupby("method", as_index=False)["value"].mean().rename(columns={"value": "quality"})
            .assign(mask_type=mask_type).sort_values("quality", ascending=False, ignore_index=True))


def choose_methods(quality: pd.DataFrame, floor: str = "biharmonic", k: int = MAX_METHODS) -> list[str]:
    """Up to ``k`` methods: the ``k - 1`` best by measured quality plus the classical ``floor`` (source 000 compared
    CLGN with six other methods)."""
    others = [m for m in quality["method"] if m != floor][: k - 1]
    return others + ([floor] if floor in set(quality["method"]) else [])


def simulated_analysis(quality: pd.DataFrame, methods: list[str], n_participants: int, n_trials: int = 5,
                       n_attention: int = 2, seed: int = 0) -> dict[str, pd.DataFrame]:
    """Every analysis table on simulated observers: ``support``, ``features``, ``ranking``, ``agreement``."""
    study = design_only_study(methods, n_trials, n_attention, seed)
    q = dict(zip(quality["method"], quality["quality"]))
    answers = A.simulate_answers(study, {m: q[m] for m in methods}, n_participants, seed)
    frame = A.answers_frame(study, answers)
    support = A.support_rates(frame)
    p1 = float(support["support"].iloc[0]) if len(support) else 0.5
    power = A.participants_needed(p1, -0.05 if p1 > 0.5 else 0.05, answers_per_participant=n_trials)
    agreement = pd.DataFrame([
        {"statistic": "Fleiss' kappa (choices)", "value": A.choice_agreement(frame)},
        {"statistic": "Kendall's W (features ranking the methods by mean score)", "value": A.score_agreement(frame, study["features"])},
        {"statistic": f"participants for a 5-point support difference at {p1:.2f} (alpha 0.05, power 0.8, "
                      f"{n_trials} trials each)", "value": float(power["participants"])},
        {"statistic": "participants simulated", "value": float(n_participants)},
    ])
    out = {"support": support, "features": A.feature_scores(frame, study["features"]), "ranking": A.ranking(frame),
           "agreement": agreement}
    return {k: v.assign(simulated=True) for k, v in out.items()}


def support_figure(support: pd.DataFrame, labels: dict | None = None):
    labels = labels or {}
    fig, ax = plt.subplots(figsize=(6.5, 3.2))
    x = range(len(support))
    ax.bar(x, support["support"], color="#888")
    ax.errorbar(x, support["support"], yerr=[support["support"] - support["ci_low"], support["ci_high"] - support["support"]],
                fmt="none", ecolor="k", capsize=3)
    ax.set_xticks(list(x), [labels.get(m, m) for m in support["method"]], rotation=30, ha="right")
    ax.set_ylabel("support rate (Wilson 95 %)")
    ax.set_title(f"Most natural result: {SIMULATED}", fontsize=9)
    return fig


def feature_figure(features: pd.DataFrame, labels: dict | None = None):
    labels = labels or {}
    methods = list(dict.fromkeys(features["method"]))
    feats = list(dict.fromkeys(features["feature"]))
    fig, ax = plt.subplots(figsize=(7, 3.2))
    width = 0.8 / max(1, len(methods))
    for i, m in enumerate(methods):
        g = features[features["method"] == m].set_index("feature").loc[feats]
        xs = [j + i * width for j in range(len(feats))]
        ax.bar(xs, g["mean"], width, label=labels.get(m, m))
        ax.errorbar(xs, g["mean"], yerr=[g["mean"] - g["ci_low"], g["ci_high"] - g["mean"]], fmt="none", ecolor="k",
                    capsize=2)
    ax.set_xticks([j + 0.4 - width / 2 for j in range(len(feats))], feats)
    ax.set_ylim(1, 5)
    ax.set_ylabel("mean score 1-5 (t 95 %)")
    ax.set_title(f"Per-feature scores: {SIMULATED}", fontsize=9)
    ax.legend(fontsize=6, ncol=2)
    return fig


#: simulated participants per profile (source 000 had 2880 valid responses from ~576 participants x 5 questions)
SIMULATED_PARTICIPANTS = {"tiny": 12, "smoke": 120, "cpu": 576, "full": 576}


def simulated_participants(profile: str) -> int:
    return SIMULATED_PARTICIPANTS.get(profile, SIMULATED_PARTICIPANTS["smoke"])
