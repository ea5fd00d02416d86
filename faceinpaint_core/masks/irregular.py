"""Irregular free-form masks: random brush strokes, DeepFill v2 (Yu et al. 2019) Algorithm 1.

Stroke parameters follow DeepFill v2's released ``brush_stroke_mask`` (4-12 vertices, mean turning
angle 2*pi/5 +- 2*pi/15, widths 12-40 px, segment lengths ~ N(diag/8, diag/16), all quoted at
256 px and scaled to the working size). To hit a hole-ratio bin reliably the strokes are added one
at a time towards a target ratio drawn in the bin: a stroke that would push the ratio to ``hi`` or
beyond is rejected and the next one is drawn smaller; the loop stops once the target is reached,
so the result lies in ``[target, hi)``. Strokes start smaller for small targets
(area ~ half the target) so low bins are not one big stroke. The number of tries is bounded.
"""
from __future__ import annotations

import math

import cv2
import numpy as np

from .bins import check_in_bin, pixel_range

MAX_TRIES = 400
REF_SIZE = 256  # DeepFill v2's stroke parameters are quoted at this size
MIN_VERTEX, MAX_VERTEX = 4, 12
MEAN_ANGLE, ANGLE_RANGE = 2 * math.pi / 5, 2 * math.pi / 15
MIN_WIDTH, MAX_WIDTH = 12, 40
SHRINK = 0.7  # stroke scale factor after a rejected (overshooting) stroke
STROKE_AREA = 0.09  # measured mean hole fraction of one stroke at scale 1 (any size)


def _stroke_vertices(size: int, scale: float, rng: np.random.Generator) -> np.ndarray:
    """Vertices (V, 2) int32 of one brush stroke: a random walk with alternating turning angles."""
    n = int(rng.integers(MIN_VERTEX, MAX_VERTEX + 1))
    angles = rng.uniform(MEAN_ANGLE - ANGLE_RANGE, MEAN_ANGLE + ANGLE_RANGE, size=n)
    angles[::2] = 2 * math.pi - angles[::2]
    avg_r = math.hypot(size, size) / 8 * scale
    lengths = np.clip(rng.normal(avg_r, avg_r / 2, size=n), 0, 2 * avg_r)
    pts = [rng.uniform(0, size, size=2)]
    for a, r in zip(angles, lengths):
        pts.append(np.clip(pts[-1] + r * np.array([math.cos(a), math.sin(a)]), 0, size - 1))
    return np.round(np.array(pts)).astype(np.int32)


def brush_stroke(size: int, scale: float, rng: np.random.Generator) -> np.ndarray:
    """One free-form stroke (DeepFill v2 Alg. 1) as a (size, size) uint8 mask, 1 = hole.

    Args:
        size: side of the square canvas.
        scale: multiplies widths and lengths (1.0 = DeepFill v2's values at 256 px scaled to ``size``).
        rng: explicit generator.
    """
    s = scale * size / REF_SIZE
    width = max(1, int(round(rng.uniform(MIN_WIDTH, MAX_WIDTH) * s)))
    pts = _stroke_vertices(size, scale, rng)
    canvas = np.zeros((size, size), np.uint8)
    for p, q in zip(pts[:-1], pts[1:]):
        cv2.line(canvas, (int(p[0]), int(p[1])), (int(q[0]), int(q[1])), 1, width)
    for p in pts:  # round joints, as DeepFill v2 draws ellipses at the vertices
        cv2.circle(canvas, (int(p[0]), int(p[1])), width // 2, 1, -1)
    return canvas


def irregular_mask(name: str, size: int, rng: np.random.Generator) -> np.ndarray:
    """Free-form brush-stroke mask whose hole ratio lies in bin ``name``.

    Args:
        name: bin name, e.g. ``"20-30"``.
        size: side of the square mask in pixels.
        rng: explicit generator.
    Returns:
        (size, size) uint8 mask, 1 = hole.
    """
    kmin, kmax = pixel_range(name, size)
    target = int(rng.integers(kmin, kmax + 1))
    mask = np.zeros((size, size), np.uint8)
    # small targets start with smaller strokes so the 1-10 % bin is not dominated by one big stroke
    count, scale = 0, min(1.0, math.sqrt(0.5 * target / (size * size) / STROKE_AREA))
    for _ in range(MAX_TRIES):
        cand = mask | brush_stroke(size, scale, rng)
        c = int(cand.sum())
        if c > kmax:
            scale *= SHRINK
            continue
        mask, count = cand, c
        if count >= target:
            return check_in_bin(mask, name, "irregular mask")
    raise RuntimeError(f"could not draw an irregular mask in bin {name!r} at size {size} after "
                       f"{MAX_TRIES} strokes (reached {count} of {target} hole pixels); "
                       f"the size may be too small for this bin")
