"""Deterministic, seeded train/val/test splits frozen to disk with a sha256 (the study's data protocol).

A split depends only on the seed and the *relative* file names: each name is ranked by
``sha256(f"{seed}|split|{name}")``, and the ranking is cut by the fractions. Neither numpy's RNG
version, the platform, nor the absolute data location can change it -- the unseeded ``shuf``
behind some published CelebA splits is exactly what this avoids.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

from ..utils.io import atomic_write_json, atomic_write_text

SPLIT_NAMES: tuple[str, ...] = ("train", "val", "test")


def _rank_key(seed: int, name: str) -> bytes:
    return hashlib.sha256(f"{int(seed)}|split|{name}".encode("utf-8")).digest()


def _counts(n: int, fractions: tuple[float, float, float]) -> tuple[int, int, int]:
    """Split sizes; val and test get at least one file each when their fraction is > 0 and n >= 3."""
    n_val, n_test = (int(round(n * f)) for f in fractions[1:])
    if n >= 3:
        n_val = max(n_val, 1) if fractions[1] > 0 else 0
        n_test = max(n_test, 1) if fractions[2] > 0 else 0
    n_val = min(n_val, n)
    n_test = min(n_test, n - n_val)
    return n - n_val - n_test, n_val, n_test


def make_splits(files: list[str], seed: int, fractions=(0.8, 0.1, 0.1)) -> dict[str, list[str]]:
    """Split relative file names into train/val/test, deterministically in (seed, names).

    Args:
        files: relative file names (posix separators); order does not matter, duplicates are an error.
        seed: split seed.
        fractions: (train, val, test) fractions summing to 1.

    Returns:
        ``{"train": [...], "val": [...], "test": [...]}``, each list sorted.
    """
    fractions = tuple(float(f) for f in fractions)
    if len(fractions) != 3 or min(fractions) < 0 or abs(sum(fractions) - 1) > 1e-6:
        raise ValueError(f"make_splits: fractions must be 3 non-negative numbers summing to 1, got {fractions}")
    names = [str(f).replace(os.sep, "/") for f in files]
    if len(set(names)) != len(names):
        raise ValueError("make_splits: duplicate file names in the list")
    ranked = sorted(names, key=lambda name: (_rank_key(seed, name), name))
    n_train, n_val, _ = _counts(len(ranked), fractions)
    parts = (ranked[:n_train], ranked[n_train:n_train + n_val], ranked[n_train + n_val:])
    return {k: sorted(v) for k, v in zip(SPLIT_NAMES, parts)}


def splits_sha256(splits: dict[str, list[str]]) -> str:
    """sha256 of the split: lines ``"<split>\\t<name>"`` for train, val, test in turn, names sorted."""
    return hashlib.sha256(_splits_text(splits).encode("utf-8")).hexdigest()


def _splits_text(splits: dict[str, list[str]]) -> str:
    missing = [k for k in SPLIT_NAMES if k not in splits]
    if missing:
        raise ValueError(f"splits must have keys {SPLIT_NAMES}, missing {missing}")
    return "".join(f"{k}\t{name}\n" for k in SPLIT_NAMES for name in sorted(splits[k]))


def write_splits(splits: dict[str, list[str]], out_dir: str | Path) -> str:
    """Freeze a split to ``out_dir/{train,val,test}.txt`` plus ``splits.json`` (counts, sha256).

    Returns:
        The split's sha256 (:func:`splits_sha256`), independent of where the data lives.
    """
    out_dir = Path(out_dir)
    digest = splits_sha256(splits)
    for k in SPLIT_NAMES:
        atomic_write_text(out_dir / f"{k}.txt", "".join(f"{name}\n" for name in sorted(splits[k])))
    atomic_write_json(out_dir / "splits.json",
                      {"sha256": digest, "counts": {k: len(splits[k]) for k in SPLIT_NAMES}})
    return digest


def read_splits(out_dir: str | Path) -> dict[str, list[str]]:
    """Read a split written by :func:`write_splits`, checking its sha256 against ``splits.json``."""
    import json

    out_dir = Path(out_dir)
    splits = {}
    for k in SPLIT_NAMES:
        path = out_dir / f"{k}.txt"
        if not path.is_file():
            raise FileNotFoundError(f"split file {path} is missing")
        splits[k] = [line for line in path.read_text(encoding="utf-8").splitlines() if line]
    manifest = out_dir / "splits.json"
    if manifest.is_file():
        expected = json.loads(manifest.read_text(encoding="utf-8"))["sha256"]
        if splits_sha256(splits) != expected:
            raise ValueError(f"{out_dir}: split files do not match the sha256 in {manifest.name}")
    return splits
