"""Measured hole ratios of the NVIDIA irregular masks, cached on disk, and their fixed train / eval split.

NVIDIA's masks (Liu et al. 2018) come in file-order groups of 2000 by hole area *as measured by its
authors at 512 px*; after the nearest-neighbour resize to the working resolution a mask's ratio moves,
and the groups also hold masks under 1 % hole. The study therefore bins each mask by its **measured**
ratio, ``hole_ratio(load_external_mask(file, "nvidia", size))``, exactly what the evaluation sees.

Ratio index: ``{file name: ratio at size}``, computed once per (folder contents, size) -- 12 000
decodes, about 1.6 ms each -- and cached as JSON in :func:`cache_dir` under a key that hashes the
size and the folder's file names and byte sizes (never its path or mtimes, so a copy of the folder on
another machine reuses a copied cache). A cache that cannot be written only costs a warning.

Train / eval split (fixed, independent of every run seed so that no run ever trains on the masks any
other run evaluates on): file ``name`` is an evaluation mask when
``int(sha256(NVIDIA_SPLIT_SALT + name)[:16], 16) / 2**64 < NVIDIA_EVAL_FRACTION``, a training mask
otherwise. On the 12 000 files this puts about 1 in 10 of every hole-area group into the evaluation pool.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import time
import warnings
from pathlib import Path

from ..utils.io import atomic_write_json
from ..utils.provenance import REPO_ROOT
from .bins import hole_ratio
from .external import load_external_mask

INDEX_VERSION = 1
NVIDIA_EVAL_FRACTION = 0.10
NVIDIA_SPLIT_SALT = "faceinpaint/nvidia-irregular/eval-split/v1:"
NVIDIA_SPLITS = ("train", "eval")
_MEMORY: dict[tuple[str, int, str], dict[str, float]] = {}
log = logging.getLogger(__name__)


def nvidia_split_of(name: str) -> str:
    """``"eval"`` or ``"train"`` for an NVIDIA file name (e.g. ``"01234.png"``); see the module docstring."""
    u = int(hashlib.sha256((NVIDIA_SPLIT_SALT + name).encode()).hexdigest()[:16], 16) / 2.0 ** 64
    return "eval" if u < NVIDIA_EVAL_FRACTION else "train"


def cache_dir() -> Path:
    """Where ratio indexes are cached: ``$FACEINPAINT_CACHE/mask_index``, else ``<repo>/results/cache/mask_index``."""
    base = os.environ.get("FACEINPAINT_CACHE")
    return Path(base) / "mask_index" if base else REPO_ROOT / "results" / "cache" / "mask_index"


def index_key(files: list[Path], size: int, polarity: str) -> str:
    """sha256 over the index version, size, polarity and each file's name and byte size (sorted by name)."""
    h = hashlib.sha256(f"v{INDEX_VERSION}|{polarity}|{int(size)}".encode())
    for p in sorted(files, key=lambda q: q.name):
        h.update(f"|{p.name}:{p.stat().st_size}".encode())
    return h.hexdigest()


def ratio_index(files: list[Path], polarity: str, size: int, cache: Path | None = None) -> dict[str, float]:
    """Measured hole ratio at ``size`` of every file, by file name; cached in memory and on disk.

    Args:
        files: mask files of one folder (names must be unique).
        polarity: ``"nvidia"`` | ``"qdimd"`` (see :func:`.external.load_external_mask`).
        size: working resolution the masks are resized to (nearest) before measuring.
        cache: cache folder (default :func:`cache_dir`).
    Returns:
        ``{name: ratio}`` with ratio in [0, 1].
    """
    key = index_key(files, size, polarity)
    path = (cache or cache_dir()) / f"{polarity}-ratios_s{int(size)}_{key[:20]}.json"
    mem = (str(path), int(size), key)
    if mem not in _MEMORY:
        _MEMORY[mem] = _read_index(path, key) or _build_index(files, polarity, size, path, key)
    return _MEMORY[mem]


def _read_index(path: Path, key: str) -> dict[str, float] | None:
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return doc["ratios"] if doc.get("key") == key and isinstance(doc.get("ratios"), dict) else None


def _build_index(files: list[Path], polarity: str, size: int, path: Path, key: str) -> dict[str, float]:
    t0 = time.perf_counter()
    ratios = {p.name: hole_ratio(load_external_mask(p, polarity, size)) for p in sorted(files)}
    log.info("measured the hole ratios of %d %s masks at %d px in %.1f s; caching them in %s",
             len(ratios), polarity, size, time.perf_counter() - t0, path)
    doc = {"key": key, "version": INDEX_VERSION, "polarity": polarity, "size": int(size),
           "measured": "hole_ratio(load_external_mask(file, polarity, size)): nearest resize, 1 = hole",
           "n_files": len(ratios), "ratios": ratios}
    try:
        atomic_write_json(path, doc)
    except OSError as err:
        warnings.warn(f"mask ratio index not cached ({path}: {err}); it is rebuilt in every process", stacklevel=3)
    return ratios


def nvidia_pool(files: list[Path], split: str, lo: float, hi: float, size: int,
                cache: Path | None = None) -> list[tuple[Path, float]]:
    """NVIDIA files of ``split`` (``"train"`` | ``"eval"``) whose measured ratio at ``size`` is in ``[lo, hi)``.

    Returns:
        ``[(file, ratio), ...]`` sorted by file name.
    """
    if split not in NVIDIA_SPLITS:
        raise ValueError(f"unknown NVIDIA mask split {split!r}; known: {', '.join(NVIDIA_SPLITS)}")
    ratios = ratio_index(files, "nvidia", size, cache)
    return [(p, ratios[p.name]) for p in sorted(files)
            if nvidia_split_of(p.name) == split and lo <= ratios[p.name] < hi]
