"""Fréchet Inception Distance, Heusel et al. 2017 eq (6), with pytorch-fid's Inception-v3 pool3 features.

The network is pytorch-fid's own ``InceptionV3`` (2048-d pool3 block, bilinear resize to 299,
input scaled to [-1, 1]) built *without* any download: the FID Inception weights
``pt_inception-2015-12-05-6726825d.pth`` are looked up with :func:`faceinpaint_core.paths.find_weights`
(``$FACEINPAINT_WEIGHTS`` or the torch hub cache) and loaded here with ``weights_only=True``.
When the file is absent :class:`~faceinpaint_core.paths.WeightsMissing` is raised and tables show
``n/a (weights missing)``.

``weights="random"`` builds the same network with seeded random init (Kaiming-normal convolutions,
identity batch-norm). Such numbers only exercise the code path; they are labelled by
``name == "fid_randominit"`` and must never be reported as FID.
"""
from __future__ import annotations

import warnings
from typing import Iterable
from unittest import mock

import numpy as np
import torch
from scipy import linalg

from ..paths import find_weights
from ..utils.seeding import torch_generator

FID_WEIGHTS_FILE = "pt_inception-2015-12-05-6726825d.pth"
FID_DIMS = 2048
# Published FIDs use >= 2048 images (pytorch-fid warns below the feature dimension: the covariance is
# then rank-deficient and FID is biased upwards, strongly for small n). Fewer images: not comparable.
FID_COMPARABLE_N = 2048
WEIGHT_MODES = ("pretrained", "random")


def fid_comparability_note(n: int) -> str:
    """``""`` when an FID over ``n`` images is comparable to published FIDs, else ``"n=<n>, n<2048, not comparable"``."""
    return "" if int(n) >= FID_COMPARABLE_N else f"n={int(n)}, n<{FID_COMPARABLE_N}, not comparable"


def check_weights_mode(weights: str) -> None:
    """Raise ValueError unless ``weights`` is one of :data:`WEIGHT_MODES`."""
    if weights not in WEIGHT_MODES:
        raise ValueError(f"weights={weights!r} unknown; use one of {WEIGHT_MODES}")


def seeded_reinit_(net: torch.nn.Module, seed: int, purpose: str) -> torch.nn.Module:
    """Re-initialise convs/linears (Kaiming-normal, zero bias) and batch-norms (identity) from a seeded generator.

    Kaiming-normal keeps activation variance roughly constant through ReLU stacks, so deep random
    features stay finite and informative instead of decaying to zero.
    """
    g = torch_generator(seed, purpose)
    for m in net.modules():
        if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)):
            torch.nn.init.kaiming_normal_(m.weight, nonlinearity="relu", generator=g)
            if m.bias is not None:
                torch.nn.init.zeros_(m.bias)
        elif isinstance(m, torch.nn.BatchNorm2d):
            m.reset_parameters()
    return net


def _fid_inception_arch(weights: str, seed: int) -> torch.nn.Module:
    """pytorch-fid's ``fid_inception_v3`` architecture with our weights (file or seeded random), no download."""
    from pytorch_fid import inception as pfi

    path = find_weights(FID_WEIGHTS_FILE, "FID Inception-v3 (pytorch-fid)") if weights == "pretrained" else None
    with torch.random.fork_rng(devices=[]):  # default init draws from the global RNG: leave the caller's intact
        net = pfi._inception_v3(num_classes=1008, aux_logits=False, weights=None)
        net.Mixed_5b = pfi.FIDInceptionA(192, pool_features=32)
        net.Mixed_5c = pfi.FIDInceptionA(256, pool_features=64)
        net.Mixed_5d = pfi.FIDInceptionA(288, pool_features=64)
        net.Mixed_6b = pfi.FIDInceptionC(768, channels_7x7=128)
        net.Mixed_6c = pfi.FIDInceptionC(768, channels_7x7=160)
        net.Mixed_6d = pfi.FIDInceptionC(768, channels_7x7=160)
        net.Mixed_6e = pfi.FIDInceptionC(768, channels_7x7=192)
        net.Mixed_7b = pfi.FIDInceptionE_1(1280)
        net.Mixed_7c = pfi.FIDInceptionE_2(2048)
    if path is None:
        return seeded_reinit_(net, seed, "fid_inception_randominit")
    net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return net


def build_inception(weights: str = "pretrained", seed: int = 0) -> torch.nn.Module:
    """pytorch-fid's ``InceptionV3([pool3])`` in eval mode, its backbone built by :func:`_fid_inception_arch`."""
    from pytorch_fid import inception as pfi

    check_weights_mode(weights)
    arch = _fid_inception_arch(weights, seed)
    # InceptionV3.__init__ calls fid_inception_v3(), which downloads; hand it our network instead.
    with mock.patch.object(pfi, "fid_inception_v3", lambda: arch):
        model = pfi.InceptionV3([pfi.InceptionV3.BLOCK_INDEX_BY_DIM[FID_DIMS]])
    return model.eval()


class InceptionFeatures:
    """Inception-v3 pool3 features for FID, Heusel et al. 2017 (pytorch-fid's network and preprocessing).

    Args:
        weights: ``"pretrained"`` (the FID weight file; raises WeightsMissing if absent) or
            ``"random"`` (seeded random init, for tests; ``name`` becomes ``fid_randominit``).
        device: torch device for the network.
        batch_size: images per forward pass.
        seed: seed of the random init (ignored for pretrained weights).
    """

    def __init__(self, weights: str = "pretrained", device="cpu", batch_size: int = 50, seed: int = 0):
        self.weights, self.device, self.batch_size = weights, torch.device(device), int(batch_size)
        self.randominit = weights == "random"
        self.name = "fid_randominit" if self.randominit else "fid"
        self.model = build_inception(weights, seed).to(self.device)

    @torch.no_grad()
    def __call__(self, images: torch.Tensor) -> np.ndarray:
        """Pool3 features. images: (N, 3, H, W) in [0, 1] (any size; resized to 299). Returns (N, 2048) float64."""
        _check_images(images)
        out = [self.model(b.to(self.device, torch.float32))[0].flatten(1).double().cpu()
               for b in images.split(self.batch_size)]
        return torch.cat(out).numpy()


def _check_images(images) -> None:
    if not isinstance(images, torch.Tensor) or images.ndim != 4 or images.shape[1] != 3:
        shape = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise ValueError(f"FID: images must be a (N, 3, H, W) tensor in [0, 1], got {shape}")
    if images.numel() and (float(images.min()) < -1e-5 or float(images.max()) > 1 + 1e-5):
        raise ValueError(f"FID: images must be in [0, 1], got [{float(images.min()):.4g}, {float(images.max()):.4g}]")


def feature_statistics(feats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean (D,) and covariance (D, D) of features (N, D), N >= 2 (unbiased, as pytorch-fid)."""
    feats = np.asarray(feats, dtype=np.float64)
    if feats.ndim != 2 or feats.shape[0] < 2:
        raise ValueError(f"FID: need features of shape (N >= 2, D), got {feats.shape}")
    return feats.mean(0), np.cov(feats, rowvar=False)


def frechet_distance_stats(mu1, sigma1, mu2, sigma2, eps: float = 1e-6) -> float:
    """Fréchet distance of two Gaussians, Heusel et al. 2017 eq (6): |mu1-mu2|^2 + Tr(S1 + S2 - 2 (S1 S2)^1/2).

    Same algorithm as pytorch-fid's ``calculate_frechet_distance`` (eps on the diagonal when the
    product is singular; a small imaginary part from round-off is dropped).
    """
    mu1, mu2 = np.atleast_1d(mu1), np.atleast_1d(mu2)
    sigma1, sigma2 = np.atleast_2d(sigma1), np.atleast_2d(sigma2)
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape:
        raise ValueError(f"FID: statistics differ in shape: mu {mu1.shape} vs {mu2.shape}, "
                         f"sigma {sigma1.shape} vs {sigma2.shape}")
    with warnings.catch_warnings():  # few samples -> singular covariances: expected, handled below
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        covmean = linalg.sqrtm(sigma1.dot(sigma2))
        if not np.isfinite(covmean).all():
            offset = np.eye(sigma1.shape[0]) * eps
            covmean = linalg.sqrtm((sigma1 + offset).dot(sigma2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            raise ValueError(f"FID: imaginary component {np.max(np.abs(covmean.imag)):.3g} in sqrtm")
        covmean = covmean.real
    diff = mu1 - mu2
    return float(diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean))


def _trace_sqrt_product_lowrank(feats_a: np.ndarray, feats_b: np.ndarray) -> float:
    """Tr (S_a S_b)^1/2 exactly from the centred features when N < D (covariances of rank < N).

    With S = A^T A / (N - 1) for centred A (N, D), the non-zero eigenvalues of S_a S_b equal those
    of M M^T with M = A_a A_b^T (N_a, N_b), so the trace is the sum of M's singular values: an
    (N_a x N_b) SVD instead of a (D x D) ``sqrtm`` (seconds -> milliseconds for small test sets).
    """
    a, b = feats_a - feats_a.mean(0), feats_b - feats_b.mean(0)
    s = np.linalg.svd(a @ b.T, compute_uv=False)
    return float(s.sum() / np.sqrt((len(a) - 1) * (len(b) - 1)))


def frechet_distance(feats_a: np.ndarray, feats_b: np.ndarray) -> float:
    """Fréchet distance between the Gaussians fitted to two feature sets, Heusel et al. 2017 eq (6).

    When both sets have fewer samples than dimensions the trace term is computed exactly in the
    samples' space (:func:`_trace_sqrt_product_lowrank`); otherwise with ``sqrtm`` as pytorch-fid.

    Args:
        feats_a: (N_a, D) features, N_a >= 2.
        feats_b: (N_b, D) features, N_b >= 2.
    Returns:
        The distance (>= 0 up to round-off) as a Python float.
    """
    (mu_a, sig_a), (mu_b, sig_b) = feature_statistics(feats_a), feature_statistics(feats_b)
    if mu_a.shape != mu_b.shape:
        raise ValueError(f"FID: feature dimensions differ: {mu_a.shape[0]} vs {mu_b.shape[0]}")
    if max(len(feats_a), len(feats_b)) >= mu_a.shape[0]:
        return frechet_distance_stats(mu_a, sig_a, mu_b, sig_b)
    tr_covmean = _trace_sqrt_product_lowrank(np.asarray(feats_a, np.float64), np.asarray(feats_b, np.float64))
    diff = mu_a - mu_b
    return float(diff.dot(diff) + np.trace(sig_a) + np.trace(sig_b) - 2 * tr_covmean)


def fid_from_images(real: torch.Tensor | Iterable[torch.Tensor], fake: torch.Tensor | Iterable[torch.Tensor],
                    features: InceptionFeatures | None = None) -> float:
    """FID between two image sets, Heusel et al. 2017 eq (6).

    Args:
        real: (N, 3, H, W) in [0, 1], or an iterable of such batches.
        fake: (M, 3, H, W) in [0, 1], or an iterable of such batches.
        features: the extractor; default ``InceptionFeatures("pretrained")`` (may raise WeightsMissing).
    Returns:
        FID (label it ``features.name``: ``fid`` or ``fid_randominit``).
    """
    features = features if features is not None else InceptionFeatures("pretrained")

    def feats(x):
        batches = [x] if isinstance(x, torch.Tensor) else list(x)
        return np.concatenate([features(b) for b in batches])

    return frechet_distance(feats(real), feats(fake))
