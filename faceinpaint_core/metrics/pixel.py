"""Pixel metrics L1, PSNR and two named SSIM variants (Wang et al. 2004, eqs (12)-(13)) as pure batched functions.

Every function takes ``pred`` and ``target`` of shape ``(N, C, H, W)`` with values in ``[0, 1]``
and returns one value per image, shape ``(N,)``:

* ``l1``   — mean absolute error over all pixels and channels (tables multiply by 100 and report %);
* ``psnr`` — ``10 log10(MAX^2 / MSE)`` with ``MAX = 1``; identical images give ``+inf``
  (see :func:`mean_finite` for how averages treat it);
* ``ssim_gauss`` (alias ``ssim``) — SSIM with an 11x11 Gaussian window (sigma 1.5), ``K1 = 0.01``,
  ``K2 = 0.03``, population (not sample) covariances: Wang et al. 2004's own setting. Exactly
  scikit-image's ``structural_similarity(..., gaussian_weights=True, sigma=1.5,
  use_sample_covariance=False, data_range=1, channel_axis=...)``;
* ``ssim_skimage`` — scikit-image's *default* SSIM: a 7x7 uniform window and sample covariances
  (``N / (N - 1)`` with ``N = 49``), i.e. ``structural_similarity(..., data_range=1, channel_axis=...)``
  with nothing else set. On the same images it differs from ``ssim_gauss`` by up to a few hundredths,
  which is why every table says which one a row is.

Both SSIMs are computed per channel and averaged over channels and over the *valid* part of the SSIM
map: skimage filters with reflect padding and then crops ``(win_size - 1) // 2`` pixels from each
border before averaging, which leaves only the positions whose window lies inside the image — what a
valid (unpadded) convolution computes.

:func:`quantize_uint8` rounds images to 8 bits as saving a PNG does; on rounded images PSNR with
``MAX = 1`` equals PSNR of the uint8 images with ``MAX = 255`` (and SSIM with ``L = 1`` equals ``L = 255``),
the sources' eq. (25) and (26)-(29) settings.
"""
from __future__ import annotations

import math

import torch

RANGE_TOL = 1e-5  # float round-off of a network's clamp/sigmoid; anything further out is a bug
SSIM_WIN, SSIM_SIGMA, SSIM_K1, SSIM_K2 = 11, 1.5, 0.01, 0.03
SKIMAGE_WIN = 7  # scikit-image's default uniform window (gaussian_weights=False, use_sample_covariance=True)
CPU_CHUNK_ELEMS = 1 << 18  # ~1 MB of float32 per input chunk: intermediates stay in cache


def _check_pair(pred, target, min_size: int = 1) -> None:
    """Raise a clear error unless ``pred``/``target`` are same-shape (N, C, H, W) float tensors in [0, 1]."""
    for name, t in (("pred", pred), ("target", target)):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"metrics: {name} must be a torch.Tensor, got {type(t).__name__}")
        if t.ndim != 4:
            raise ValueError(f"metrics: {name} must have shape (N, C, H, W), got {tuple(t.shape)}")
        if not t.is_floating_point():
            raise ValueError(f"metrics: {name} must be a float tensor in [0, 1], got dtype {t.dtype}")
        if t.numel() == 0:
            raise ValueError(f"metrics: {name} is empty, shape {tuple(t.shape)}")
        lo, hi = (float(v) for v in torch.aminmax(t.detach()))  # one pass; NaN propagates
        if math.isnan(lo) or math.isnan(hi):
            raise ValueError(f"metrics: {name} contains NaN")
        if not (lo >= -RANGE_TOL and hi <= 1 + RANGE_TOL):
            raise ValueError(f"metrics: {name} must be in [0, 1], got values in [{lo:.4g}, {hi:.4g}]")
    if pred.shape != target.shape:
        raise ValueError(f"metrics: pred {tuple(pred.shape)} and target {tuple(target.shape)} differ in shape")
    if min(pred.shape[-2:]) < min_size:
        raise ValueError(f"metrics: images of {tuple(pred.shape[-2:])} px are smaller than the "
                         f"{min_size}x{min_size} window this metric needs")


def l1(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean absolute error per image (the seeds' "L1 loss" column, in [0, 1]; x100 for %).

    Args:
        pred: (N, C, H, W) in [0, 1].
        target: (N, C, H, W) in [0, 1].
    Returns:
        (N,) float tensor.
    """
    _check_pair(pred, target)
    return (pred - target).abs().flatten(1).mean(1)


def psnr(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Peak signal-to-noise ratio per image in dB with MAX = 1; identical images give +inf.

    Args:
        pred: (N, C, H, W) in [0, 1].
        target: (N, C, H, W) in [0, 1].
    Returns:
        (N,) tensor in at least float32 (``inf`` where MSE == 0; average with :func:`mean_finite`).
    """
    _check_pair(pred, target)
    dtype = torch.promote_types(pred.dtype, torch.float32)
    mse = (pred.to(dtype) - target.to(dtype)).pow(2).flatten(1).mean(1)
    return 10.0 * torch.log10(1.0 / mse)  # 1/0 -> inf, log10(inf) -> inf


def quantize_uint8(x: torch.Tensor) -> torch.Tensor:
    """Round to the 256 levels of an 8-bit image, ``floor(255 x + 0.5) / 255``, as saving a PNG does.

    Uses the same rounding as the package's image writers (``(x * 255 + 0.5).astype(uint8)``).

    Args:
        x: tensor in [0, 1] (any shape; values are clamped to [0, 1] first).
    Returns:
        Tensor of ``x``'s shape and float dtype with values in ``{0, 1/255, ..., 1}``.
    """
    return torch.floor(x.clamp(0, 1) * 255.0 + 0.5) / 255.0


def gaussian_window(size: int = SSIM_WIN, sigma: float = SSIM_SIGMA, dtype=torch.float64, device=None):
    """Normalised 1-D Gaussian taps, shape (size,), as scipy's ``gaussian_filter`` uses them."""
    x = torch.arange(size, dtype=dtype, device=device) - (size - 1) / 2
    g = torch.exp(-0.5 * (x / sigma) ** 2)
    return g / g.sum()


def _blur_valid(x: torch.Tensor, taps: torch.Tensor) -> torch.Tensor:
    """Separable Gaussian filter without padding. x: (N, C, H, W) -> (N, C, H-k+1, W-k+1).

    Written as k shifted in-place multiply-adds per axis: on CPU about 4x faster than a grouped
    ``conv2d`` (which has no fast depthwise kernel there) and no slower on GPU.
    """
    k = taps.numel()
    h, w = x.shape[-2] - k + 1, x.shape[-1] - k + 1
    weights = taps.tolist()
    rows = x[..., 0:h, :] * weights[0]
    for i in range(1, k):
        rows.add_(x[..., i:i + h, :], alpha=weights[i])
    out = rows[..., 0:w] * weights[0]
    for i in range(1, k):
        out.add_(rows[..., i:i + w], alpha=weights[i])
    return out


def uniform_window(size: int = SKIMAGE_WIN, dtype=torch.float64, device=None) -> torch.Tensor:
    """Box-filter taps, shape (size,), as scipy's ``uniform_filter`` uses them."""
    return torch.full((size,), 1.0 / size, dtype=dtype, device=device)


def _ssim_map(x: torch.Tensor, y: torch.Tensor, taps: torch.Tensor, cov_norm: float = 1.0) -> torch.Tensor:
    """SSIM map of checked inputs, Wang et al. 2004 eq (13) with C1 = (K1 L)^2, C2 = (K2 L)^2, L = 1.

    ``cov_norm`` scales the (co)variances: 1 for population covariances, ``N / (N - 1)`` for sample ones.
    """
    mu_x, mu_y = _blur_valid(x, taps), _blur_valid(y, taps)
    var_x = cov_norm * (_blur_valid(x * x, taps) - mu_x * mu_x)
    var_y = cov_norm * (_blur_valid(y * y, taps) - mu_y * mu_y)
    cov = cov_norm * (_blur_valid(x * y, taps) - mu_x * mu_y)
    c1, c2 = SSIM_K1 ** 2, SSIM_K2 ** 2
    num = (2 * mu_x * mu_y + c1) * (2 * cov + c2)
    den = (mu_x * mu_x + mu_y * mu_y + c1) * (var_x + var_y + c2)
    return num / den


def ssim_map(pred: torch.Tensor, target: torch.Tensor, win_size: int = SSIM_WIN,
             sigma: float = SSIM_SIGMA) -> torch.Tensor:
    """Gaussian-window SSIM index map, Wang et al. 2004 eq (13), over the valid window positions.

    Args:
        pred: (N, C, H, W) in [0, 1].
        target: (N, C, H, W) in [0, 1].
    Returns:
        (N, C, H - win_size + 1, W - win_size + 1) map, computed in at least float32.
    """
    _check_pair(pred, target, min_size=win_size)
    dtype = torch.promote_types(pred.dtype, torch.float32)
    taps = gaussian_window(win_size, sigma, dtype=dtype, device=pred.device)
    return _ssim_map(pred.to(dtype), target.to(dtype), taps)


def _mean_ssim(pred: torch.Tensor, target: torch.Tensor, taps_of, cov_norm: float) -> torch.Tensor:
    """Per-image mean of the SSIM map; on CPU in cache-sized chunks (2-4x faster at 256 px than one batch)."""
    dtype = torch.promote_types(pred.dtype, torch.float32)
    taps = taps_of(dtype, pred.device)
    chunk = len(pred) if pred.is_cuda else max(1, CPU_CHUNK_ELEMS // pred[0].numel())
    return torch.cat([_ssim_map(p.to(dtype), t.to(dtype), taps, cov_norm).flatten(1).mean(1)
                      for p, t in zip(pred.split(chunk), target.split(chunk))])


def ssim_gauss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean SSIM per image, Wang et al. 2004 eqs (12)-(13): 11x11 Gaussian window, sigma 1.5, channel mean.

    Equals scikit-image's ``structural_similarity(gaussian_weights=True, sigma=1.5,
    use_sample_covariance=False, data_range=1, channel_axis=...)`` to about 1e-6.

    Args:
        pred: (N, C, H, W) in [0, 1], H and W >= 11.
        target: (N, C, H, W) in [0, 1].
    Returns:
        (N,) tensor in pred's float dtype (at least float32).
    """
    _check_pair(pred, target, min_size=SSIM_WIN)
    return _mean_ssim(pred, target, lambda dt, dev: gaussian_window(SSIM_WIN, SSIM_SIGMA, dt, dev), 1.0)


def ssim_skimage(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean SSIM per image with scikit-image's defaults: 7x7 uniform window, sample covariances, channel mean.

    Wang et al. 2004 eq (13) with the box window scikit-image uses when called as
    ``structural_similarity(a, b, data_range=1, channel_axis=...)`` (``gaussian_weights=False``,
    ``use_sample_covariance=True``: (co)variances scaled by ``49 / 48``); equal to it to about 1e-6.

    Args:
        pred: (N, C, H, W) in [0, 1], H and W >= 7.
        target: (N, C, H, W) in [0, 1].
    Returns:
        (N,) tensor in pred's float dtype (at least float32).
    """
    _check_pair(pred, target, min_size=SKIMAGE_WIN)
    n = SKIMAGE_WIN * SKIMAGE_WIN
    return _mean_ssim(pred, target, lambda dt, dev: uniform_window(SKIMAGE_WIN, dt, dev), n / (n - 1))


ssim = ssim_gauss  # the package's historical name: Wang et al.'s Gaussian window


def mean_finite(values) -> tuple[float, int]:
    """Average of the finite values and the number left out (PSNR ``inf``, identity ``NaN``).

    Policy used by every table: an identical pair (PSNR = inf) or an undetected face (NaN) is
    excluded from the mean and counted; the table shows the count next to the mean. If no value
    is finite the mean is ``inf`` when all values are ``+inf`` (all pairs identical), else ``nan``.

    Args:
        values: (N,) tensor, array or sequence of floats.
    Returns:
        (mean over finite values, number of non-finite values).
    """
    v = torch.as_tensor(values, dtype=torch.float64).flatten()
    finite = torch.isfinite(v)
    n_out = int((~finite).sum())
    if finite.any():
        return float(v[finite].mean()), n_out
    all_posinf = v.numel() > 0 and bool((v == math.inf).all())
    return (math.inf if all_posinf else math.nan), n_out
