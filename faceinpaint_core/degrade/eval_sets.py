"""Frozen, hashed degradation evaluation sets (mild / medium / severe), like the frozen mask sets.

A set freezes the *parameters* of ``n`` degradations (one per evaluation face, noise seed included):
``manifest.json`` holds them and a sha256 over the canonical JSON of its definition and draws. Applying a
set to the same faces is bit-identical run to run (:func:`degrade_with_set`), so tables are comparable.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import torch

from ..utils.io import atomic_write_json
from ..utils.seeding import rng as seeded_rng
from .pipeline import SEVERITIES, DegradationParams, degrade_batch, sample_params

FORMAT_VERSION = 1


def degradation_set_dirname(severity: str, n: int, seed: int) -> str:
    """Folder name of a frozen set, e.g. ``degrade_medium_n50_seed0``."""
    return f"degrade_{severity}_n{int(n)}_seed{int(seed)}"


def _draws(severity: str, n: int, seed: int) -> list[DegradationParams]:
    if severity not in SEVERITIES:
        raise ValueError(f"unknown degradation severity {severity!r}; known: {list(SEVERITIES)}")
    if int(n) < 1:
        raise ValueError(f"degradation set needs n >= 1, got {n}")
    return [sample_params(seeded_rng(seed, f"degrade-{severity}", i), SEVERITIES[severity]) for i in range(int(n))]


def _sha(definition: dict, draws: list[dict]) -> str:
    return hashlib.sha256(json.dumps({"definition": definition, "draws": draws}, sort_keys=True,
                                     separators=(",", ":")).encode()).hexdigest()


def build_degradation_set(severity: str, n: int, seed: int, out=None) -> dict:
    """The manifest of the frozen set ``(severity, n, seed)``; written to ``out/manifest.json`` when given
    (reused when it already holds the same set, a clear error when it holds another)."""
    draws = [p.as_dict() for p in _draws(severity, n, seed)]
    definition = {"format_version": FORMAT_VERSION, "severity": severity, "n": int(n), "seed": int(seed),
                  "ranges": {k: list(v) for k, v in SEVERITIES[severity].__dict__.items()}}
    manifest = {**definition, "draws": draws, "sha256": _sha(definition, draws)}
    if out is not None:
        path = Path(out) / "manifest.json"
        if path.is_file():
            old = json.loads(path.read_text())
            if old.get("sha256") != manifest["sha256"]:
                raise ValueError(f"{path}: holds another degradation set (sha256 {old.get('sha256')} != "
                                 f"{manifest['sha256']}); remove it or choose another folder")
            return old
        atomic_write_json(path, manifest)
    return manifest


def load_degradation_set(folder) -> dict:
    """Read a frozen set's manifest and verify its hash (one-line error naming the file)."""
    path = Path(folder) / "manifest.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no degradation-set manifest (build it with build_degradation_set)")
    man = json.loads(path.read_text())
    definition = {k: man[k] for k in ("format_version", "severity", "n", "seed", "ranges")}
    if _sha(definition, man["draws"]) != man.get("sha256"):
        raise ValueError(f"{path}: sha256 does not match its contents (edited or corrupt)")
    return man


def degrade_with_set(images: torch.Tensor, manifest: dict) -> torch.Tensor:
    """Degrade evaluation faces ``(N, 3, H, W)`` [0, 1] with the first N draws of a frozen set."""
    n = images.shape[0]
    if n > len(manifest["draws"]):
        raise ValueError(f"degradation set {manifest['severity']} holds {len(manifest['draws'])} draws, "
                         f"fewer than the {n} faces")
    return degrade_batch(images, [DegradationParams(**d) for d in manifest["draws"][:n]])


def degraded_hash(images: torch.Tensor) -> str:
    """sha256 of a degraded batch quantised to uint8 (bit-stability checks)."""
    arr = (images.clamp(0, 1) * 255).round().byte().cpu().numpy()
    return hashlib.sha256(np.ascontiguousarray(arr).tobytes()).hexdigest()
