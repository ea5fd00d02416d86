"""Landmark distance (LMD): how far a restored face's geometry moved from the ground truth's.

``lmd = mean_k ||p_k(pred) − p_k(target)||_2 / ||p_36(target) − p_45(target)||_2`` over dlib's 68
landmarks ``p_k`` (iBUG 300-W layout), normalised by the ground truth's inter-ocular distance — the
outer eye corners 36 and 45, 300-W's normalisation (Sagonas et al. 2016) — so the number is a share of
the eye distance and does not depend on the image size. The face box is detected once, on the ground
truth, and reused for the output (inpainting keeps geometry; a damaged output is then still measured
rather than dropped). A ground truth without a detected face gives NaN for its pair, counted.
"""
from __future__ import annotations

import numpy as np
import torch

from .identity import to_uint8_rgb
from .pixel import _check_pair

INTEROCULAR = (36, 45)


def landmark_distance(pred_landmarks: np.ndarray, target_landmarks: np.ndarray) -> float:
    """LMD of one face from two ``(68, 2)`` landmark arrays (see the module docstring)."""
    p, t = np.asarray(pred_landmarks, np.float64), np.asarray(target_landmarks, np.float64)
    if p.shape != (68, 2) or t.shape != (68, 2):
        raise ValueError(f"landmark_distance: need two (68, 2) arrays, got {p.shape} and {t.shape}")
    iod = float(np.linalg.norm(t[INTEROCULAR[0]] - t[INTEROCULAR[1]]))
    if iod <= 0:
        return float("nan")
    return float(np.linalg.norm(p - t, axis=1).mean() / iod)


class LandmarkDistance:
    """LMD per image pair with dlib (NaN where the ground truth has no detected face) and the miss count.

    Args:
        finder: a :class:`~faceinpaint_core.data.face_alignment.DlibFaceFinder` (built when None).
    """

    def __init__(self, finder=None):
        from ..data.face_alignment import DlibFaceFinder

        self.finder = finder or DlibFaceFinder()
        self.name = "lmd_dlib68"
        self._targets: dict[bytes, list] = {}

    def _target(self, target: np.ndarray) -> list:
        """dlib's faces of a ground-truth image, memoised by its bytes (tables score many outputs against it)."""
        import hashlib

        from .identity import TARGET_CACHE

        key = hashlib.sha1(target.tobytes()).digest() + bytes(str(target.shape), "ascii")
        if key not in self._targets:
            if len(self._targets) >= TARGET_CACHE:
                self._targets.clear()
            self._targets[key] = self.finder.find(target)
        return self._targets[key]

    def __call__(self, pred: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, int]:
        """Args: pred, target ``(N, 3, H, W)`` in [0, 1]. Returns ``((N,) float64 LMD, n_missing)``."""
        _check_pair(pred, target)
        preds, targets = to_uint8_rgb(pred, 0), to_uint8_rgb(target, 0)
        out = []
        for p, t in zip(preds, targets):
            faces = self._target(t)
            if not faces:
                out.append(float("nan"))
                continue
            out.append(landmark_distance(self.finder.landmarks(p, faces[0].box), faces[0].landmarks))
        dist = torch.tensor(out, dtype=torch.float64)
        return dist, int(torch.isnan(dist).sum())
