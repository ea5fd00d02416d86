"""Analysis of a user study's answers (real or simulated).

* support rate of a method = times chosen as most natural / times shown, with a Wilson 95 % interval
  (Wilson 1927; source 000 reports support rates and "88.5 % preferred CLGN");
* per-feature mean score (1-5) of each method with a t 95 % interval;
* Bradley-Terry strengths from the pairwise preferences implied by each choice (the chosen output beats every
  other output shown), fitted by Hunter's (2004) MM algorithm;
* agreement: Fleiss' kappa over the choices of the participants who saw a trial, and Kendall's W over the
  methods' mean scores per participant;
* power: participants needed to detect a 5-point (0.05) difference in support rate between two methods
  (two-proportion z-test, normal approximation).

Simulated observers (:func:`simulate_answers`) stand in for participants when none have answered: a documented
choice model driven by each method's measured quality. Their answers carry ``simulated=True`` and are never
written into a study database.
"""
from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
from scipy import stats

from .design import BROKEN, GROUND_TRUTH, participant_view


def wilson_interval(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """Wilson score interval of a proportion ``k/n``; ``(nan, nan)`` when ``n == 0``."""
    if n == 0:
        return float("nan"), float("nan")
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def answers_frame(study: dict, answers: list[dict]) -> pd.DataFrame:
    """One row per answer with the methods resolved: ``token, trial, kind, chosen, scored_method, shown``
    (list of methods shown), ``passed`` (attention trials: chose the ground truth) and one column per feature."""
    trials = {t["id"]: t for t in study["trials"]}
    rows = []
    for a in answers:
        t = trials[a["trial"]]
        scores = json.loads(a["scores"]) if isinstance(a["scores"], str) else a["scores"]
        row = {"token": a["token"], "trial": a["trial"], "kind": t["kind"],
               "chosen": t["options"][a["choice"]]["method"], "scored_method": t["options"][a["scored"]]["method"],
               "shown": [o["method"] for o in t["options"].values()], "simulated": bool(a.get("simulated", False))}
        row["passed"] = row["chosen"] == GROUND_TRUTH if t["kind"] == "attention" else np.nan
        row.update({f: scores[f] for f in study["features"]})
        rows.append(row)
    return pd.DataFrame(rows)


def attentive(frame: pd.DataFrame) -> pd.DataFrame:
    """Main-trial answers of participants who passed every attention check they answered."""
    att = frame[frame["kind"] == "attention"]
    failed = set(att.loc[~att["passed"].astype(bool), "token"])
    return frame[(frame["kind"] == "main") & ~frame["token"].isin(failed)]


def support_rates(frame: pd.DataFrame) -> pd.DataFrame:
    """Per method: times shown, times chosen, support rate and its Wilson 95 % interval."""
    main = attentive(frame)
    shown = pd.Series([m for ms in main["shown"] for m in ms]).value_counts()
    chosen = main["chosen"].value_counts()
    rows = []
    for m in sorted(shown.index):
        n, k = int(shown[m]), int(chosen.get(m, 0))
        lo, hi = wilson_interval(k, n)
        rows.append({"method": m, "n_shown": n, "n_chosen": k, "support": k / n, "ci_low": lo, "ci_high": hi})
    return pd.DataFrame(rows).sort_values("support", ascending=False, ignore_index=True)


def feature_scores(frame: pd.DataFrame, features) -> pd.DataFrame:
    """Per method and feature: mean 1-5 score of its scored outputs with a t 95 % interval."""
    main = attentive(frame)
    rows = []
    for m, g in main.groupby("scored_method"):
        for f in features:
            v = g[f].astype(float).to_numpy()
            mean = float(v.mean())
            half = float(stats.t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / math.sqrt(len(v))) if len(v) > 1 else math.nan
            rows.append({"method": m, "feature": f, "n": len(v), "mean": mean, "ci_low": mean - half,
                         "ci_high": mean + half})
    return pd.DataFrame(rows)


def pairwise_wins(frame: pd.DataFrame) -> tuple[list[str], np.ndarray]:
    """``(methods, W)`` with ``W[i, j]`` = times method i was chosen over method j (both shown)."""
    main = attentive(frame)
    methods = sorted({m for ms in main["shown"] for m in ms})
    idx = {m: i for i, m in enumerate(methods)}
    wins = np.zeros((len(methods), len(methods)))
    for chosen, shown in zip(main["chosen"], main["shown"]):
        for other in shown:
            if other != chosen:
                wins[idx[chosen], idx[other]] += 1
    return methods, wins


def bradley_terry(wins: np.ndarray, iters: int = 1000, tol: float = 1e-10, prior: float = 0.1) -> np.ndarray:
    """Bradley-Terry strengths (sum 1) by Hunter's MM algorithm; ``prior`` pseudo-wins against every other
    method keep strengths finite when a method never wins."""
    w = wins + prior * (1 - np.eye(len(wins)))
    n = w + w.T
    p = np.full(len(w), 1.0 / len(w))
    for _ in range(iters):
        denom = (n / (p[:, None] + p[None, :])).sum(1)
        new = w.sum(1) / denom
        new /= new.sum()
        if np.abs(new - p).max() < tol:
            return new
        p = new
    return p


def ranking(frame: pd.DataFrame) -> pd.DataFrame:
    """Methods ranked by Bradley-Terry strength, with their pairwise win counts."""
    methods, wins = pairwise_wins(frame)
    strength = bradley_terry(wins)
    out = pd.DataFrame({"method": methods, "bt_strength": strength, "wins": wins.sum(1), "losses": wins.sum(0)})
    return out.sort_values("bt_strength", ascending=False, ignore_index=True).assign(rank=lambda d: d.index + 1)


def fleiss_kappa(counts: np.ndarray) -> float:
    """Fleiss' kappa of an ``(items, categories)`` table of how many raters chose each category (same number of
    raters per item)."""
    counts = np.asarray(counts, dtype=float)
    n = counts.sum(1)
    if len(counts) < 1 or not np.allclose(n, n[0]) or n[0] < 2:
        raise ValueError("fleiss_kappa needs the same number (>= 2) of raters for every item")
    n = n[0]
    p_j = counts.sum(0) / counts.sum()
    p_i = ((counts * counts).sum(1) - n) / (n * (n - 1))
    p_bar, p_e = p_i.mean(), (p_j * p_j).sum()
    return float((p_bar - p_e) / (1 - p_e)) if p_e < 1 else float("nan")


def kendalls_w(ratings: np.ndarray) -> float:
    """Kendall's W of an ``(raters, items)`` matrix (ranks within each rater; no tie correction)."""
    r = np.apply_along_axis(stats.rankdata, 1, np.asarray(ratings, dtype=float))
    m, n = r.shape
    if m < 2 or n < 2:
        raise ValueError("kendalls_w needs >= 2 raters and >= 2 items")
    s = ((r.sum(0) - m * (n + 1) / 2) ** 2).sum()
    return float(12 * s / (m * m * (n ** 3 - n)))


def choice_agreement(frame: pd.DataFrame) -> float:
    """Fleiss' kappa of the choices on main trials (trials balanced to the smallest number of raters)."""
    main = attentive(frame)
    per_trial = main.groupby("trial")
    k = per_trial.size().min() if len(main) else 0
    if k < 2:
        return float("nan")
    methods = sorted({m for ms in main["shown"] for m in ms})
    table = [[int((g["chosen"].iloc[:k] == m).sum()) for m in methods] for _, g in per_trial]
    return fleiss_kappa(np.array(table))


def score_agreement(frame: pd.DataFrame, features) -> float:
    """Kendall's W of the features as raters: do eyes, nose, mouth, skin and hair/outline rank the methods (by mean
    score) the same way? (Per-participant W is not defined here: a participant scores one output per trial, so no
    participant scores every method.)"""
    main = attentive(frame)
    table = main.groupby("scored_method")[list(features)].mean().T.dropna(axis=1)
    return kendalls_w(table.to_numpy()) if table.shape[0] >= 2 and table.shape[1] >= 2 else float("nan")


def participants_needed(p1: float, diff: float = 0.05, answers_per_participant: int = 1, alpha: float = 0.05,
                        power: float = 0.8) -> dict:
    """Answers (per method) and participants needed to detect support rates ``p1`` vs ``p1 + diff`` with a
    two-sided two-proportion z-test at ``alpha`` with ``power`` (normal approximation)."""
    p2 = min(max(p1 + diff, 1e-9), 1 - 1e-9)
    za, zb = stats.norm.ppf(1 - alpha / 2), stats.norm.ppf(power)
    pbar = (p1 + p2) / 2
    n = (za * math.sqrt(2 * pbar * (1 - pbar)) + zb * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))) ** 2 / (p2 - p1) ** 2
    n = math.ceil(n)
    return {"p1": p1, "p2": p2, "alpha": alpha, "power": power, "answers_per_method": n,
            "participants": math.ceil(n / max(1, answers_per_participant))}


# -- simulated observers -------------------------------------------------------------------------------------
def simulate_answers(study: dict, quality: dict[str, float], n_participants: int, seed: int = 0,
                     temperature: float = 0.05, score_noise: float = 0.7, lapse: float = 0.05) -> list[dict]:
    """Answers of simulated observers (labelled ``simulated=True``; never stored in a study database).

    Model: an observer chooses output m with probability ∝ exp(q_m / temperature) (a Luce/Bradley-Terry
    choice on the method's measured quality q, e.g. its SSIM), and with probability ``lapse`` picks at random;
    the ground truth of an attention check has q = 1 and the broken output q = 0. A feature score is
    ``round(1 + 4 q + N(0, score_noise))`` clipped to 1-5. Every participant answers every trial.
    """
    rng = np.random.default_rng(seed)
    q = {**quality, GROUND_TRUTH: 1.0, BROKEN: 0.0}
    missing = sorted(set(study["methods"]) - set(quality))
    if missing:
        raise ValueError(f"simulate_answers: no quality value for {missing}")
    out = []
    for p in range(n_participants):
        token = f"simulated-{seed}-{p:04d}"
        view = participant_view(study, token)
        for t in study["trials"]:
            keys = view.options[t["id"]]
            qs = np.array([q[t["options"][k]["method"]] for k in keys])
            prob = np.exp((qs - qs.max()) / temperature)
            prob /= prob.sum()
            prob = (1 - lapse) * prob + lapse / len(keys)
            choice = keys[int(rng.choice(len(keys), p=prob))]
            scored = view.scored[t["id"]]
            qs_ = q[t["options"][scored]["method"]]
            scores = {f: int(np.clip(round(1 + 4 * qs_ + rng.normal(0, score_noise)), 1, 5)) for f in study["features"]}
            out.append({"token": token, "trial": t["id"], "choice": choice, "scored": scored, "scores": scores,
                        "simulated": True})
    return out


def export_frame(study: dict, answers: list[dict]) -> pd.DataFrame:
    """The CSV export: one row per stored answer with the methods resolved and the times."""
    frame = answers_frame(study, answers)
    extra = pd.DataFrame([{k: a.get(k) for k in ("answered_at", "started_at", "submitted_at")} for a in answers])
    frame = pd.concat([frame, extra], axis=1)
    frame["shown"] = frame["shown"].map(lambda ms: ";".join(ms))
    return frame
