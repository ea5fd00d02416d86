"""Building a user study: trials, per-participant order, the questions.

A study folder holds ``study.json`` (the trial list, its sha256 and the settings) and ``images/`` (PNG files
the server shows). Each trial shows the masked input and the outputs of 2-7 methods under anonymous option
keys; the participant picks the most natural result (single choice, as in source 000) and scores one of the
outputs (the trial's ``scored`` option, rotated per participant so that every method is scored equally often)
from 1 to 5 for each facial feature. Attention checks show the ground truth beside an obviously broken output
(hole filled with noise): a participant who prefers the broken one failed the check.

Trial order and option order are shuffled per participant from a seed derived from the study hash and the
participant token, so the server can recompute them and a participant's view is reproducible.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..utils.io import atomic_write_bytes, atomic_write_json, sha256_json

FEATURES = ("eyes", "nose", "mouth", "skin", "hair/outline")
SCORE_RANGE = (1, 5)
QUESTIONS = {"choice": "Which result looks most natural?",
             "scores": "Score the marked result from 1 (very unnatural) to 5 (fully natural) for each feature."}
GROUND_TRUTH, BROKEN = "__ground_truth__", "__broken__"
DEFAULT_TIME_LIMIT_S = 180  # source 000: a 3-minute limit per participant
MIN_METHODS, MAX_METHODS = 2, 7


@dataclass(frozen=True)
class ParticipantView:
    """What one participant sees: trial ids in order, option keys per trial in order, the scored option."""

    trials: list[str]
    options: dict[str, list[str]]
    scored: dict[str, str]


def _png(array: np.ndarray) -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


def _uint8(t) -> np.ndarray:
    return (t.clamp(0, 1).permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)


def load_study(study_dir: str | Path) -> dict:
    """``study.json`` of a study folder, its hash checked; a clear error when missing or edited."""
    path = Path(study_dir) / "study.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: not a user-study folder (run `faceinpaint userstudy build --out "
                                f"{study_dir}` first)")
    try:
        study = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    body = {k: v for k, v in study.items() if k != "sha256"}
    if study.get("sha256") != sha256_json(body):
        raise ValueError(f"{path}: its sha256 does not match its content (edited by hand?); rebuild the study")
    return study


def participant_seed(study_sha: str, token: str) -> int:
    return int(hashlib.sha256(f"{study_sha}:{token}".encode()).hexdigest()[:16], 16)


def participant_view(study: dict, token: str) -> ParticipantView:
    """The participant's trial order, option order per trial and scored option (deterministic per token)."""
    rng = np.random.default_rng(participant_seed(study["sha256"], token))
    trials = [t["id"] for t in study["trials"]]
    order = [trials[i] for i in rng.permutation(len(trials))]
    options, scored = {}, {}
    for t in study["trials"]:
        keys = list(t["options"])
        options[t["id"]] = [keys[i] for i in rng.permutation(len(keys))]
        scored[t["id"]] = keys[int(rng.integers(len(keys)))]
    return ParticipantView(order, options, scored)


def _broken(image: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """An obviously broken output: the hole filled with saturated colour noise."""
    noise = rng.integers(0, 256, size=image.shape, dtype=np.uint8)
    return np.where(mask[..., None] > 0, noise, image)


def build_study(out: str | Path, predictors: dict, images, masks: np.ndarray, n_trials: int, n_attention: int = 2,
                seed: int = 0, time_limit_s: int = DEFAULT_TIME_LIMIT_S, source: str = "") -> dict:
    """Write a study folder and return its ``study.json`` content.

    Args:
        predictors: ``{method name: predictor}`` (2-7), each ``f(image, mask) -> raw prediction`` (see
            :mod:`faceinpaint_core.eval.predictors`); outputs are composited (known pixels pasted back).
        images: ``(N, 3, H, W)`` faces in [0, 1], e.g. the held-out split of the evaluation faces.
        masks: ``(M, H, W)`` frozen evaluation masks (1 = hole), ``M >= n_trials + n_attention``.
        source: what the faces and masks are (recorded).
    """
    import torch

    if not MIN_METHODS <= len(predictors) <= MAX_METHODS:
        raise ValueError(f"a user study compares {MIN_METHODS}-{MAX_METHODS} methods, got {len(predictors)}: "
                         f"{sorted(predictors)}")
    if n_trials < 1 or n_attention < 0:
        raise ValueError(f"n_trials must be >= 1 and n_attention >= 0, got {n_trials}, {n_attention}")
    need = n_trials + n_attention
    if len(images) < need or len(masks) < need:
        raise ValueError(f"the study needs {need} faces and masks ({n_trials} trials + {n_attention} attention "
                         f"checks); got {len(images)} faces and {len(masks)} masks")
    out = Path(out)
    rng = np.random.default_rng(seed)
    trials = []
    for i in range(need):
        image = images[i:i + 1].float()
        mask = torch.from_numpy(np.asarray(masks[i], dtype=np.float32))[None, None]
        gt = _uint8(image[0])
        masked = _uint8((image * (1 - mask) + 0.5 * mask)[0])  # grey hole, as in the report's figures
        tid = f"t{i:03d}"
        files = {"input": f"images/{tid}_input.png"}
        atomic_write_bytes(out / files["input"], _png(masked))
        if i < n_trials:
            kind, outputs = "main", {}
            for name, pred in predictors.items():
                raw = pred(image, mask)
                outputs[name] = _uint8((image * (1 - mask) + raw * mask)[0])
        else:
            kind, outputs = "attention", {GROUND_TRUTH: gt, BROKEN: _broken(gt, masks[i], rng)}
        options = {}
        for k, (name, arr) in enumerate(outputs.items()):
            key = f"o{k}"
            atomic_write_bytes(out / f"images/{tid}_{key}.png", _png(arr))
            options[key] = {"method": name, "image": f"images/{tid}_{key}.png"}
        trials.append({"id": tid, "kind": kind, "input": files["input"], "options": options,
                       "hole_ratio": float(np.asarray(masks[i]).mean())})
    body = {"version": 1, "methods": sorted(predictors), "features": list(FEATURES), "score_range": list(SCORE_RANGE),
            "questions": QUESTIONS, "time_limit_s": int(time_limit_s), "seed": int(seed), "source": source,
            "trials": trials}
    study = {**body, "sha256": sha256_json(body)}
    atomic_write_json(out / "study.json", study)
    return study


def design_only_study(methods: list[str], n_trials: int, n_attention: int = 2, seed: int = 0,
                      time_limit_s: int = DEFAULT_TIME_LIMIT_S) -> dict:
    """A study's trial structure without images (every main trial shows every method): what simulated observers
    answer when no real study has been run. Never served (it has no images)."""
    if not MIN_METHODS <= len(methods) <= MAX_METHODS:
        raise ValueError(f"a user study compares {MIN_METHODS}-{MAX_METHODS} methods, got {len(methods)}")
    trials = []
    for i in range(n_trials + n_attention):
        names = list(methods) if i < n_trials else [GROUND_TRUTH, BROKEN]
        trials.append({"id": f"t{i:03d}", "kind": "main" if i < n_trials else "attention", "input": None,
                       "options": {f"o{k}": {"method": m, "image": None} for k, m in enumerate(names)}})
    body = {"version": 1, "methods": sorted(methods), "features": list(FEATURES), "score_range": list(SCORE_RANGE),
            "questions": QUESTIONS, "time_limit_s": int(time_limit_s), "seed": int(seed), "source": "design only",
            "trials": trials}
    return {**body, "sha256": sha256_json(body)}
