"""Regular hole masks of the seeds' tables: one axis-aligned rectangle or one disc per mask.

Each generator draws a target hole-pixel count uniformly inside the requested bin, builds a shape
with exactly (rectangle) or almost exactly (disc) that many pixels, placed at a random position fully
inside the image (the Context-Encoder / contextual-attention "block" masks, with random size and
aspect instead of a fixed centre square), and finally checks the bin exactly.
"""
from __future__ import annotations

import math

import numpy as np

from .bins import check_in_bin, pixel_range

MAX_TRIES = 100
ASPECT_RANGE = (0.5, 2.0)  # width / height of rectangles, drawn log-uniformly


def _fail(kind: str, name: str, size: int) -> RuntimeError:
    return RuntimeError(f"could not draw a {kind} mask in bin {name!r} at size {size} after "
                        f"{MAX_TRIES} tries; the size may be too small for this bin")


def rect_mask(name: str, size: int, rng: np.random.Generator) -> np.ndarray:
    """One random rectangle whose area puts the mask in hole-ratio bin ``name``.

    Args:
        name: bin name, e.g. ``"20-30"``.
        size: side of the square mask in pixels.
        rng: explicit generator (all randomness comes from it).
    Returns:
        (size, size) uint8 mask, 1 = hole.
    """
    kmin, kmax = pixel_range(name, size)
    lo_a, hi_a = math.log(ASPECT_RANGE[0]), math.log(ASPECT_RANGE[1])
    for _ in range(MAX_TRIES):
        k = int(rng.integers(kmin, kmax + 1))
        aspect = math.exp(rng.uniform(lo_a, hi_a))
        w = int(np.clip(round(math.sqrt(k * aspect)), 1, size))
        hmin, hmax = math.ceil(kmin / w), min(size, kmax // w)
        if hmin > hmax:
            continue
        h = int(np.clip(round(k / w), hmin, hmax))
        x0, y0 = int(rng.integers(0, size - w + 1)), int(rng.integers(0, size - h + 1))
        mask = np.zeros((size, size), np.uint8)
        mask[y0:y0 + h, x0:x0 + w] = 1
        return check_in_bin(mask, name, "rect mask")
    raise _fail("rect", name, size)


def circle_mask(name: str, size: int, rng: np.random.Generator) -> np.ndarray:
    """One random disc, fully inside the image, whose area puts the mask in bin ``name``.

    The radius is the distance to the ``k``-th nearest pixel centre, so the disc holds ``k`` pixels
    (more only on exact distance ties, which the final check rejects).

    Args:
        name: bin name, e.g. ``"20-30"``.
        size: side of the square mask in pixels.
        rng: explicit generator.
    Returns:
        (size, size) uint8 mask, 1 = hole.
    """
    kmin, kmax = pixel_range(name, size)
    coords = np.arange(size, dtype=np.float64) + 0.5
    for _ in range(MAX_TRIES):
        k = int(rng.integers(kmin, kmax + 1))
        r = min(math.sqrt(k / math.pi), size / 2)
        cx, cy = rng.uniform(r, size - r, size=2)
        d2 = (coords[None, :] - cx) ** 2 + (coords[:, None] - cy) ** 2
        r2 = np.partition(d2.ravel(), k - 1)[k - 1]
        mask = (d2 <= r2).astype(np.uint8)
        if kmin <= int(mask.sum()) <= kmax:
            return check_in_bin(mask, name, "circle mask")
    raise _fail("circle", name, size)


def regular_mask(name: str, size: int, rng: np.random.Generator) -> np.ndarray:
    """A rectangle or a disc (seeded fair coin from ``rng``) in bin ``name``; (size, size) uint8, 1 = hole."""
    shape = rect_mask if rng.random() < 0.5 else circle_mask
    return shape(name, size, rng)
