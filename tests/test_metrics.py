"""Metrics: parity with scikit-image / pytorch-fid, inf/NaN policy, input validation, weight paths.

FID and LPIPS tests use RANDOM-INIT networks (``weights="random"``) or stand-in weight files with
random values saved under the real file names: pretrained weights are not available here.
"""
from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio as sk_psnr
from skimage.metrics import structural_similarity as sk_ssim

from faceinpaint_core.metrics import l1, mean_finite, psnr, quantize_uint8, ssim, ssim_gauss, ssim_skimage
from faceinpaint_core.paths import WeightsMissing

torch.set_num_threads(1)
SSIM_TOL = 1e-4


def _pair(shape, seed=0, noise=0.2):
    g = torch.Generator().manual_seed(seed)
    a = torch.rand(shape, generator=g)
    return a, (a + noise * torch.randn(shape, generator=g)).clamp(0, 1)


def _sk_ssim(a: torch.Tensor, b: torch.Tensor) -> np.ndarray:
    return np.array([sk_ssim(x.double().numpy(), y.double().numpy(), gaussian_weights=True, sigma=1.5,
                             use_sample_covariance=False, data_range=1, channel_axis=0) for x, y in zip(a, b)])


def _sk_ssim_default(a: torch.Tensor, b: torch.Tensor) -> np.ndarray:
    """scikit-image's SSIM with nothing but data_range and channel_axis set (7x7 uniform, sample covariance)."""
    return np.array([sk_ssim(x.double().numpy(), y.double().numpy(), data_range=1, channel_axis=0)
                     for x, y in zip(a, b)])


def _sk_psnr(a: torch.Tensor, b: torch.Tensor) -> np.ndarray:
    return np.array([sk_psnr(y.double().numpy(), x.double().numpy(), data_range=1) for x, y in zip(a, b)])


def _assert_parity(a, b):
    np.testing.assert_allclose(ssim_gauss(a, b).double().numpy(), _sk_ssim(a, b), atol=SSIM_TOL, rtol=0)
    np.testing.assert_allclose(ssim_skimage(a, b).double().numpy(), _sk_ssim_default(a, b), atol=SSIM_TOL, rtol=0)
    np.testing.assert_allclose(psnr(a, b).double().numpy(), _sk_psnr(a, b), atol=1e-4, rtol=0)


# ---------------------------------------------------------------- pixel metrics
@pytest.mark.parametrize("shape", [(3, 3, 32, 32), (2, 1, 40, 24), (2, 3, 11, 37), (1, 3, 64, 48)])
@pytest.mark.parametrize("noise", [0.02, 0.3])
def test_ssim_psnr_match_skimage_random(shape, noise):
    _assert_parity(*_pair(shape, seed=shape[2], noise=noise))


def test_ssim_float64_input_keeps_dtype():
    a, b = _pair((2, 3, 24, 24))
    out = ssim_gauss(a.double(), b.double())
    assert out.dtype == torch.float64
    np.testing.assert_allclose(out.numpy(), _sk_ssim(a, b), atol=1e-10)
    out = ssim_skimage(a.double(), b.double())
    assert out.dtype == torch.float64
    np.testing.assert_allclose(out.numpy(), _sk_ssim_default(a, b), atol=1e-10)


def test_ssim_variants_differ_and_ssim_is_gauss():
    """The two windows give different numbers on the same pair: a table must say which it shows."""
    from faceinpaint_core.data.synthetic import SyntheticFaces

    faces = SyntheticFaces(2, 64, 0)
    a = torch.stack([faces[i]["image"] for i in range(2)])
    b = (a + 0.05 * torch.randn(a.shape, generator=torch.Generator().manual_seed(0))).clamp(0, 1)
    assert ssim is ssim_gauss
    assert (ssim_gauss(a, b) - ssim_skimage(a, b)).abs().min() > 1e-2


def test_ssim_skimage_7px_minimum():
    a, b = _pair((1, 3, 7, 9))
    np.testing.assert_allclose(ssim_skimage(a, b).double().numpy(), _sk_ssim_default(a, b), atol=SSIM_TOL)
    with pytest.raises(ValueError, match="7x7"):
        ssim_skimage(a[..., :6, :], b[..., :6, :])


def test_quantize_uint8_matches_png_rounding_and_max255_psnr():
    """round(255 x)/255 like a saved PNG; PSNR/SSIM on it equal skimage on the uint8 arrays (MAX = L = 255)."""
    x = torch.tensor([0.0, 0.5 / 255, 1.49 / 255, 1.5 / 255, 0.5, 254.6 / 255, 1.0, 1.0 + 1e-6])
    assert torch.equal(quantize_uint8(x) * 255, torch.tensor([0.0, 1, 1, 2, 128, 255, 255, 255]))
    a, b = (quantize_uint8(t) for t in _pair((2, 3, 24, 24), seed=3, noise=0.1))
    ua, ub = ((t * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy() for t in (a, b))
    sk = [sk_psnr(x, y, data_range=255) for x, y in zip(ua, ub)]
    np.testing.assert_allclose(psnr(b, a).double().numpy(), sk, atol=1e-4)
    sk = [sk_ssim(x, y, data_range=255, channel_axis=-1) for x, y in zip(ua, ub)]
    np.testing.assert_allclose(ssim_skimage(a, b).double().numpy(), sk, atol=SSIM_TOL)
    assert torch.equal(quantize_uint8(a), a)  # idempotent


def test_identical_images():
    a, _ = _pair((2, 3, 16, 16))
    assert torch.isinf(psnr(a, a)).all() and (psnr(a, a) > 0).all()
    assert torch.allclose(ssim_gauss(a, a), torch.ones(2)) and torch.allclose(ssim_skimage(a, a), torch.ones(2))
    assert torch.equal(l1(a, a), torch.zeros(2))


def test_l1_exact_toy():
    pred = torch.zeros(2, 1, 2, 2)
    target = torch.tensor([[0.0, 0.5, 1.0, 0.5], [0.25] * 4]).view(2, 1, 2, 2)
    assert torch.allclose(l1(pred, target), torch.tensor([0.5, 0.25]))
    assert torch.allclose(psnr(pred, target), torch.tensor([10 * math.log10(1 / 0.375), 10 * math.log10(16)]))


def test_mean_finite_policy():
    assert mean_finite(torch.tensor([10.0, math.inf, 20.0])) == (15.0, 1)
    assert mean_finite([1.0, float("nan")]) == (1.0, 1)
    m, n = mean_finite([math.inf, math.inf])
    assert m == math.inf and n == 2
    m, n = mean_finite([math.nan])
    assert math.isnan(m) and n == 1


@pytest.mark.parametrize("fn", [l1, psnr, ssim_gauss, ssim_skimage])
@pytest.mark.parametrize("bad, match", [
    (lambda a: a[0], r"\(N, C, H, W\)"),
    (lambda a: a * 2, r"\[0, 1\]"),
    (lambda a: a - 0.5, r"\[0, 1\]"),
    (lambda a: a[..., :20], "differ in shape"),
    (lambda a: (a * 255).to(torch.uint8), "float"),
    (lambda a: a.masked_fill(a > 0.5, float("nan")), "NaN"),
])
def test_input_validation(fn, bad, match):
    a, b = _pair((2, 3, 24, 24))
    with pytest.raises(ValueError, match=match):
        fn(bad(a), b)


def test_ssim_too_small_and_non_tensor():
    a, b = _pair((1, 3, 8, 32))
    with pytest.raises(ValueError, match="11x11"):
        ssim(a, b)
    with pytest.raises(TypeError, match="torch.Tensor"):
        psnr(a.numpy(), b)


def _load_real_faces(n: int, size: int) -> torch.Tensor:
    from PIL import Image

    root = Path(os.environ["FACEINPAINT_DATA"]) / "celebamask-hq-1k" / "images"
    files = sorted(root.glob("*.jpg"))[:n]
    imgs = [np.asarray(Image.open(f).convert("RGB").resize((size, size), Image.BICUBIC)) for f in files]
    return torch.from_numpy(np.stack(imgs)).permute(0, 3, 1, 2).float() / 255


realdata = pytest.mark.skipif(not os.environ.get("FACEINPAINT_DATA"), reason="FACEINPAINT_DATA not set")


@pytest.mark.realdata
@realdata
def test_ssim_psnr_match_skimage_real_faces():
    faces = _load_real_faces(2, 128)
    _assert_parity(faces, faces.flip(0))  # two different faces
    g = torch.Generator().manual_seed(1)
    _assert_parity(faces, (faces + 0.05 * torch.randn(faces.shape, generator=g)).clamp(0, 1))


def test_ssim_psnr_match_skimage_synthetic_faces():
    synthetic = pytest.importorskip("faceinpaint_core.data.synthetic")
    if not hasattr(synthetic, "render_face"):
        pytest.skip("faceinpaint_core.data.synthetic.render_face not available yet")
    imgs = [synthetic.render_face(seed=0, index=i, size=64)[0] for i in range(2)]
    faces = torch.from_numpy(np.stack(imgs)).permute(0, 3, 1, 2).float() / 255
    _assert_parity(faces, faces.flip(0))


# ---------------------------------------------------------------- FID
@pytest.mark.parametrize("n_a, n_b, dim", [(64, 50, 8), (5, 7, 16), (30, 20, 256)])  # sqrtm path, low-rank path
def test_frechet_distance_matches_pytorch_fid(n_a, n_b, dim):
    from pytorch_fid.fid_score import calculate_frechet_distance

    from faceinpaint_core.metrics.fid import frechet_distance

    rng = np.random.default_rng(dim)
    a = rng.normal(size=(n_a, dim))
    b = rng.normal(loc=0.3, scale=1.5, size=(n_b, dim)) @ rng.normal(size=(dim, dim))
    ref = calculate_frechet_distance(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))
    assert frechet_distance(a, b) == pytest.approx(float(ref), rel=1e-7)
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-9)


def test_frechet_distance_bad_input():
    from faceinpaint_core.metrics.fid import frechet_distance

    a = np.zeros((4, 8))
    with pytest.raises(ValueError, match="N >= 2"):
        frechet_distance(a[:1], a)
    with pytest.raises(ValueError, match="dimensions differ"):
        frechet_distance(a, a[:, :4])


def test_fid_comparability_note():
    from faceinpaint_core.metrics.fid import FID_COMPARABLE_N, fid_comparability_note

    assert FID_COMPARABLE_N == 2048
    assert fid_comparability_note(50) == "n=50, n<2048, not comparable"
    assert fid_comparability_note(2048) == "" and fid_comparability_note(30000) == ""


@pytest.fixture(scope="module")
def inception_random():
    from faceinpaint_core.metrics.fid import InceptionFeatures

    return InceptionFeatures(weights="random", seed=0)


def test_fid_missing_weights(monkeypatch, tmp_path):
    from faceinpaint_core.metrics.fid import FID_WEIGHTS_FILE, InceptionFeatures

    monkeypatch.setenv("FACEINPAINT_WEIGHTS", str(tmp_path))
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    with pytest.raises(WeightsMissing, match=FID_WEIGHTS_FILE) as err:
        InceptionFeatures(weights="pretrained")
    assert "\n" not in str(err.value)
    with pytest.raises(ValueError, match="unknown"):
        InceptionFeatures(weights="imagenet")


def test_fid_random_init_path(inception_random):
    from faceinpaint_core.metrics.fid import fid_from_images, frechet_distance

    x, y = _pair((4, 3, 64, 64), seed=3, noise=0.0)[0], _pair((4, 3, 64, 64), seed=4)[0]
    feats = inception_random(x)
    assert feats.shape == (4, 2048) and feats.dtype == np.float64 and np.isfinite(feats).all()
    assert feats.std() > 0 and inception_random.name == "fid_randominit"
    assert fid_from_images(x, [x[:2], x[2:]], inception_random) == pytest.approx(0.0, abs=1e-3)
    assert frechet_distance(feats, inception_random(y)) > 1e-3


def test_fid_random_init_is_seeded_and_keeps_global_rng():
    from faceinpaint_core.metrics.fid import build_inception

    state = torch.random.get_rng_state()
    a, b = build_inception("random", seed=7), build_inception("random", seed=7)
    assert torch.equal(state, torch.random.get_rng_state())
    for (k, va), vb in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(va, vb), k


def test_fid_pretrained_loading_path_with_standin_file(monkeypatch, tmp_path, inception_random):
    """The real loading code path, fed a random-valued file saved under the real name."""
    from faceinpaint_core.metrics.fid import FID_WEIGHTS_FILE, InceptionFeatures, _fid_inception_arch

    torch.save(_fid_inception_arch("random", seed=0).state_dict(), tmp_path / FID_WEIGHTS_FILE)
    monkeypatch.setenv("FACEINPAINT_WEIGHTS", str(tmp_path))
    feats = InceptionFeatures(weights="pretrained")
    x = _pair((2, 3, 32, 32))[0]
    assert feats.name == "fid" and not feats.randominit
    np.testing.assert_allclose(feats(x), inception_random(x), rtol=1e-6, atol=1e-6)


# ---------------------------------------------------------------- LPIPS
def test_lpips_missing_weights(monkeypatch, tmp_path):
    from faceinpaint_core.metrics.lpips import ALEXNET_WEIGHTS_FILE, LPIPSMetric

    monkeypatch.setenv("FACEINPAINT_WEIGHTS", str(tmp_path))
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    with pytest.raises(WeightsMissing, match=ALEXNET_WEIGHTS_FILE) as err:
        LPIPSMetric(weights="pretrained")
    assert "\n" not in str(err.value)


def test_lpips_linear_layer_file_ships_with_wheel():
    from faceinpaint_core.metrics.lpips import lpips_linear_path

    assert lpips_linear_path().name == "alex.pth"


def test_lpips_random_init_path():
    from faceinpaint_core.metrics.lpips import LPIPSMetric

    metric = LPIPSMetric(weights="random", seed=0)
    x, y = _pair((4, 3, 64, 64), seed=5, noise=0.3)
    assert metric.name == "lpips_randominit"
    assert torch.equal(metric(x, x), torch.zeros(4))
    d = metric(x, y)
    assert d.shape == (4,) and torch.isfinite(d).all() and (d > 0).all()
    assert torch.equal(d, LPIPSMetric(weights="random", seed=0)(x, y))
    with pytest.raises(ValueError, match="3 channels"):
        metric(x[:, :1], y[:, :1])


def test_lpips_pretrained_loading_path_with_standin_file(monkeypatch, tmp_path):
    """Trunk from a random-valued torchvision AlexNet file under the real name + the wheel's linear layers."""
    import torchvision

    from faceinpaint_core.metrics.lpips import ALEXNET_WEIGHTS_FILE, LPIPSMetric

    alex = torchvision.models.alexnet(weights=None)
    torch.save({k: v for k, v in alex.state_dict().items() if k.startswith("features.")},
               tmp_path / ALEXNET_WEIGHTS_FILE)
    monkeypatch.setenv("FACEINPAINT_WEIGHTS", str(tmp_path))
    metric = LPIPSMetric(weights="pretrained")
    assert torch.equal(metric.model.net.slice1[0].weight, alex.features[0].weight)
    assert float(metric.model.lin0.model[-1].weight.sum()) > 0  # calibrated layers loaded, not zeros
    x, y = _pair((2, 3, 32, 32), noise=0.3)
    assert metric.name == "lpips" and torch.equal(metric(x, x), torch.zeros(2))


# ---------------------------------------------------------------- identity
@pytest.fixture(scope="module")
def identity_metric():
    pytest.importorskip("dlib")
    from faceinpaint_core.metrics.identity import IdentityMetric

    return IdentityMetric()


def test_identity_noise_is_undetected(identity_metric):
    x, y = _pair((2, 3, 64, 64), seed=9, noise=0.1)
    dist, n_undetected = identity_metric(x, y)
    assert dist.shape == (2,) and torch.isnan(dist).all() and n_undetected == 2


def test_identity_ground_truth_detection_is_memoised(identity_metric, monkeypatch):
    """Tables score many outputs against one ground truth: dlib detects each target once, outputs every time."""
    calls = []
    real = identity_metric.detect
    monkeypatch.setattr(identity_metric, "detect", lambda img: calls.append(img.shape) or real(img))
    identity_metric._targets.clear()
    x, y = _pair((2, 3, 64, 64), seed=11, noise=0.1)
    first = identity_metric(x, y)
    assert len(calls) == 4  # 2 targets + 2 outputs
    second = identity_metric(x.flip(-1), y)
    assert len(calls) == 6  # the targets come from the memo
    assert first[1] == second[1] == 2


def test_identity_bad_box_mode():
    pytest.importorskip("dlib")
    from faceinpaint_core.metrics.identity import IdentityMetric

    with pytest.raises(ValueError, match="box_from"):
        IdentityMetric(box_from="pred")


@pytest.mark.realdata
@realdata
def test_identity_real_face(identity_metric):
    faces = _load_real_faces(2, 128)
    dist, n_undetected = identity_metric(faces, faces)
    assert n_undetected == 0 and torch.equal(dist, torch.zeros(2, dtype=torch.float64))
    other, _ = identity_metric(faces.flip(0), faces)
    assert (other > 0.3).all()  # two different people
