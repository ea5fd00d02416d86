"""Hole-ratio bins of the seeds' tables (1-10 % ... 50-60 %), measured at the working resolution.

A mask is in bin ``"lo-hi"`` when ``lo/100 <= hole_ratio < hi/100``; ``"1-10"`` means
``0.01 <= r < 0.10`` (masks with under 1 % hole are never evaluated).
"""
from __future__ import annotations

import math

import numpy as np

BINS: dict[str, tuple[float, float]] = {
    "1-10": (0.01, 0.10),
    "10-20": (0.10, 0.20),
    "20-30": (0.20, 0.30),
    "30-40": (0.30, 0.40),
    "40-50": (0.40, 0.50),
    "50-60": (0.50, 0.60),
}


def parse_bin(name: str) -> tuple[float, float]:
    """``"20-30"`` -> ``(0.2, 0.3)``; an unknown name raises ``ValueError`` listing :data:`BINS`."""
    key = str(name).strip().rstrip("%")
    if key not in BINS:
        raise ValueError(f"unknown hole-ratio bin {name!r}; known bins: {', '.join(BINS)}")
    return BINS[key]


def hole_ratio(mask: np.ndarray) -> float:
    """Fraction of hole pixels.

    Args:
        mask: (H, W) array, 1 (or True) = hole, 0 = known.
    """
    m = np.asarray(mask)
    if m.ndim != 2 or m.size == 0:
        raise ValueError(f"hole_ratio expects a non-empty (H, W) mask, got shape {m.shape}")
    return float(np.count_nonzero(m)) / m.size


def in_bin(ratio: float, name: str) -> bool:
    """Whether ``lo <= ratio < hi`` for bin ``name``."""
    lo, hi = parse_bin(name)
    return lo <= ratio < hi


def pixel_range(name: str, size: int) -> tuple[int, int]:
    """Inclusive range ``(kmin, kmax)`` of hole-pixel counts of a (size, size) mask in bin ``name``.

    Raises ``ValueError`` when no pixel count fits (the size is too small for the bin).
    """
    lo, hi = parse_bin(name)
    total = int(size) * int(size)
    kmin = math.ceil(lo * total - 1e-9)
    kmax = math.ceil(hi * total - 1e-9) - 1
    while kmin / total < lo:  # guard float rounding so the exact check below always agrees
        kmin += 1
    while kmax >= kmin and kmax / total >= hi:
        kmax -= 1
    if size < 1 or kmax < kmin:
        raise ValueError(f"size {size} is too small for hole-ratio bin {name!r}: no pixel count "
                         f"gives {lo} <= ratio < {hi}")
    return kmin, kmax


def check_in_bin(mask: np.ndarray, name: str, what: str) -> np.ndarray:
    """Return ``mask`` unchanged if its hole ratio lies in bin ``name``, else raise ``RuntimeError``."""
    r = hole_ratio(mask)
    if not in_bin(r, name):
        lo, hi = parse_bin(name)
        raise RuntimeError(f"{what}: hole ratio {r:.4f} outside bin {name!r} [{lo}, {hi})")
    return mask
