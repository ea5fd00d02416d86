"""Classical (training-free) inpainting methods: the floor of every table.

* ``telea`` — OpenCV ``INPAINT_TELEA`` (Telea 2004, fast marching), radius 3;
* ``ns`` — OpenCV ``INPAINT_NS`` (Bertalmio et al. 2001, Navier-Stokes), radius 3;
* ``biharmonic`` — scikit-image ``inpaint_biharmonic`` (Damelin & Hoang 2018).
"""
from __future__ import annotations

import cv2
import numpy as np
import torch


def _to_uint8(image: torch.Tensor) -> np.ndarray:
    """(3, H, W) float in [0, 1] → (H, W, 3) uint8."""
    return (image.clamp(0, 1).permute(1, 2, 0).cpu().numpy() * 255.0 + 0.5).astype(np.uint8)


def _opencv(flag: int, radius: int = 3):
    def run(image: torch.Tensor, mask: torch.Tensor) -> np.ndarray:
        out = cv2.inpaint(_to_uint8(image), (mask[0].cpu().numpy() > 0.5).astype(np.uint8), radius, flag)
        return out.astype(np.float32) / 255.0
    return run


def _biharmonic(image: torch.Tensor, mask: torch.Tensor) -> np.ndarray:
    from skimage.restoration import inpaint_biharmonic

    img = image.clamp(0, 1).permute(1, 2, 0).cpu().numpy().astype(np.float64)
    return inpaint_biharmonic(img, mask[0].cpu().numpy() > 0.5, channel_axis=-1).astype(np.float32)


CLASSICAL = {
    "telea": _opencv(cv2.INPAINT_TELEA),
    "ns": _opencv(cv2.INPAINT_NS),
    "biharmonic": _biharmonic,
}


class ClassicalInpainter:
    """A training-free predictor with the evaluator's interface.

    Args:
        name: one of ``telea``, ``ns``, ``biharmonic``.
    """

    checkpoint_sha256 = "none (training-free)"

    def __init__(self, name: str):
        if name not in CLASSICAL:
            raise ValueError(f"unknown classical method {name!r}; known: {sorted(CLASSICAL)}")
        self.name = name
        self._fn = CLASSICAL[name]

    def __call__(self, image: torch.Tensor, mask: torch.Tensor, parsing=None) -> torch.Tensor:
        """Args: image (N, 3, H, W) in [0, 1] (hole pixels are ignored), mask (N, 1, H, W), 1 = hole.
        Returns (N, 3, H, W) in [0, 1]."""
        masked = image * (1 - mask)
        outs = [torch.from_numpy(self._fn(masked[i], mask[i])).permute(2, 0, 1) for i in range(image.shape[0])]
        return torch.stack(outs).clamp(0, 1).to(image.dtype)
