"""GFPGAN's degradation model, Wang et al. CVPR 2021 eq. (1): ``x = [(y ⊛ k_σ)↓_r + n_δ]_JPEG_q ↑_r``.

Blur with an isotropic Gaussian kernel ``k_σ`` (σ ∈ [0.2, 10]), downsample by ``r`` ∈ [1, 8] (bilinear),
add white Gaussian noise ``n_δ`` (δ ∈ [0, 15] on the 0-255 scale), JPEG-compress at quality ``q`` ∈ [60, 100],
and resize back to the input size (bicubic) so that the restorer sees a face of the training size.

The GFPGAN paper's ranges are :data:`FULL_RANGES` (training, on the fly). The three evaluation severities
(:data:`SEVERITIES`) split each range into thirds [ours: the paper evaluates on CelebA-Test built with the
full ranges]. Every draw comes from an explicit ``numpy.random.Generator``.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import cv2
import numpy as np
import torch


@dataclass(frozen=True)
class Ranges:
    """Closed ranges ``(lo, hi)`` of the four degradation parameters."""

    blur_sigma: tuple[float, float] = (0.2, 10.0)
    scale: tuple[float, float] = (1.0, 8.0)
    noise_sigma: tuple[float, float] = (0.0, 15.0)
    jpeg_quality: tuple[int, int] = (60, 100)

    def __post_init__(self):
        for name, (lo, hi) in asdict(self).items():
            if not lo <= hi:
                raise ValueError(f"degradation range {name}: low {lo} > high {hi}")
        if self.blur_sigma[0] <= 0 or self.scale[0] < 1 or self.noise_sigma[0] < 0:
            raise ValueError(f"degradation ranges: blur_sigma > 0, scale >= 1, noise_sigma >= 0; got {self}")
        if not 1 <= self.jpeg_quality[0] <= self.jpeg_quality[1] <= 100:
            raise ValueError(f"degradation range jpeg_quality must lie in [1, 100], got {self.jpeg_quality}")


FULL_RANGES = Ranges()  # GFPGAN paper, Sec. 4.1 (training data)
SEVERITIES: dict[str, Ranges] = {  # [ours] thirds of the paper's ranges
    "mild": Ranges((0.2, 3.0), (1.0, 2.0), (0.0, 5.0), (87, 100)),
    "medium": Ranges((3.0, 6.5), (2.0, 4.5), (5.0, 10.0), (74, 87)),
    "severe": Ranges((6.5, 10.0), (4.5, 8.0), (10.0, 15.0), (60, 74)),
}


# How a training draw is made. "independent" (GFPGAN): each parameter uniformly over FULL_RANGES, independently.
# "by_severity" [ours]: a severity uniformly, then all four parameters within its range. Each parameter still spans
# its full range (not uniformly: the thirds differ in width), but the draws whose four parameters are all mild (the
# `mild` evaluation set's region) become a third of the training faces instead of ~0.5 % (sample_training_params).
TRAINING_SAMPLINGS = ("independent", "by_severity")


@dataclass(frozen=True)
class DegradationParams:
    """One draw: blur σ (px), downsampling factor r, noise σ (0-255 scale), JPEG quality, noise seed."""

    blur_sigma: float
    scale: float
    noise_sigma: float
    jpeg_quality: int
    noise_seed: int

    def as_dict(self) -> dict:
        return asdict(self)


def sample_params(rng: np.random.Generator, ranges: Ranges = FULL_RANGES) -> DegradationParams:
    """Draw uniformly from ``ranges`` (floats rounded to 4 decimals so manifests are exact)."""
    def uni(lo_hi):
        return round(float(rng.uniform(*lo_hi)), 4)

    q = int(rng.integers(ranges.jpeg_quality[0], ranges.jpeg_quality[1] + 1))
    return DegradationParams(uni(ranges.blur_sigma), uni(ranges.scale), uni(ranges.noise_sigma), q,
                             int(rng.integers(0, 2**31 - 1)))


def sample_training_params(rng: np.random.Generator, sampling: str = "independent") -> DegradationParams:
    """One training degradation (see :data:`TRAINING_SAMPLINGS`); ``independent`` is ``sample_params(rng)``."""
    if sampling == "independent":
        return sample_params(rng, FULL_RANGES)
    if sampling == "by_severity":
        names = list(SEVERITIES)
        return sample_params(rng, SEVERITIES[names[int(rng.integers(len(names)))]])
    raise ValueError(f"degradation sampling must be one of {list(TRAINING_SAMPLINGS)}, got {sampling!r}")


def gaussian_kernel(sigma: float) -> np.ndarray:
    """Normalised isotropic Gaussian ``k_σ`` of side ``2·ceil(3σ) + 1`` (float64)."""
    radius = max(1, int(np.ceil(3 * sigma)))
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    g = np.exp(-(x ** 2) / (2 * sigma ** 2))
    k = np.outer(g, g)
    return k / k.sum()


def degrade(image: np.ndarray, p: DegradationParams) -> np.ndarray:
    """Apply eq. (1) to one ``(H, W, 3)`` uint8 RGB face; returns the degraded ``(H, W, 3)`` uint8 face."""
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"degrade: need an (H, W, 3) uint8 image, got {image.shape} {image.dtype}")
    h, w = image.shape[:2]
    x = cv2.filter2D(image.astype(np.float32), -1, gaussian_kernel(p.blur_sigma).astype(np.float32),
                     borderType=cv2.BORDER_REFLECT_101)
    small = (max(2, int(round(w / p.scale))), max(2, int(round(h / p.scale))))
    x = cv2.resize(x, small, interpolation=cv2.INTER_LINEAR)
    x = x + np.random.default_rng(p.noise_seed).normal(0.0, p.noise_sigma, x.shape).astype(np.float32)
    x = np.clip(np.round(x), 0, 255).astype(np.uint8)
    ok, buf = cv2.imencode(".jpg", x[..., ::-1], [int(cv2.IMWRITE_JPEG_QUALITY), int(p.jpeg_quality)])
    if not ok:
        raise RuntimeError("degrade: JPEG encoding failed")
    x = cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1]
    x = cv2.resize(x.astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    return np.clip(np.round(x), 0, 255).astype(np.uint8)


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """``(N, 3, H, W)`` [0, 1] tensor -> ``(N, H, W, 3)`` uint8."""
    return (images.detach().float().clamp(0, 1) * 255).round().byte().permute(0, 2, 3, 1).cpu().numpy()


def from_uint8(images: np.ndarray, like: torch.Tensor | None = None) -> torch.Tensor:
    """``(N, H, W, 3)`` uint8 -> ``(N, 3, H, W)`` float [0, 1] (on ``like``'s device/dtype)."""
    t = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float() / 255.0
    return t if like is None else t.to(device=like.device, dtype=like.dtype)


def degrade_batch(images: torch.Tensor, params: list[DegradationParams]) -> torch.Tensor:
    """Degrade a batch ``(N, 3, H, W)`` in [0, 1] with one parameter draw per face; same shape and range."""
    if len(params) != images.shape[0]:
        raise ValueError(f"degrade_batch: {images.shape[0]} images but {len(params)} parameter draws")
    arr = to_uint8(images)
    return from_uint8(np.stack([degrade(a, p) for a, p in zip(arr, params)]), images)
