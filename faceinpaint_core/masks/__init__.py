"""Hole masks; inside the package a mask is always 1 = hole (external polarities converted at the loader).

* :mod:`.bins` — the seeds' hole-ratio bins (1-10 % ... 50-60 %), ``lo <= ratio < hi``;
* :mod:`.regular` — one rectangle or disc per mask; :mod:`.irregular` — DeepFill v2 brush strokes;
* :mod:`.external` — NVIDIA irregular (255 = hole) and QD-IMD (0 = hole) loaders;
* :mod:`.ratio_index` — NVIDIA masks' measured hole ratios (cached) and fixed train / eval split;
* :mod:`.mask_sets` — ``generate_mask`` by kind, frozen evaluation sets with a pixel hash, and the
  deterministic training sampler.
"""
from .bins import BINS, hole_ratio, in_bin, parse_bin, pixel_range
from .external import load_external_mask, resize_nearest
from .irregular import irregular_mask
from .mask_sets import (EXTERNAL_KINDS, GENERATORS, KINDS, MASK_SET_NAMES, TrainMaskSampler, build_mask_set,
                        generate_mask, load_mask_set, mask_set_dirname, mask_set_hash)
from .regular import circle_mask, rect_mask, regular_mask

__all__ = [
    "BINS", "parse_bin", "hole_ratio", "in_bin", "pixel_range", "generate_mask", "build_mask_set",
    "load_mask_set", "mask_set_dirname", "mask_set_hash", "TrainMaskSampler", "load_external_mask",
    "resize_nearest", "rect_mask", "circle_mask", "regular_mask", "irregular_mask", "GENERATORS",
    "EXTERNAL_KINDS", "KINDS", "MASK_SET_NAMES",
]
