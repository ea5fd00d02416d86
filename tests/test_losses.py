"""Losses and discriminators: values on toy cases, gradient signs of every adversarial kind, shapes."""
from __future__ import annotations

import functools

import pytest
import torch
from torch import nn

from faceinpaint_core.losses import (ADVERSARIAL_KINDS, AdversarialLoss, VGG16Features, masked_l1, perceptual_and_style,
                                     perceptual_loss, style_loss, total_variation)
from faceinpaint_core.losses.perceptual import JOHNSON_LAYERS, PCONV_LAYERS, VGG16_LAYERS, gram
from faceinpaint_core.nets.discriminators import (DISCRIMINATORS, GlobalLocalDiscriminator, LGNetPatchGAN, PatchGAN,
                                                  SNPatchGAN, geometry, hole_crop_boxes, receptive_field)
from faceinpaint_core.paths import WeightsMissing


def _g(seed=0):
    return torch.Generator().manual_seed(seed)


class MeanD(nn.Module):
    """Score = a·mean(x) + b per sample: scores move with the inputs, gradients are known in closed form."""

    def __init__(self):
        super().__init__()
        self.a = nn.Parameter(torch.tensor(1.0))
        self.b = nn.Parameter(torch.tensor(0.0))

    def forward(self, x):
        return self.a * x.flatten(1).mean(1, keepdim=True) + self.b


# -- reconstruction / TV ---------------------------------------------------------------------
def _l1_case():
    """Two 2x2 images, 3 identical channels, target 0. Image 0: errors 0.1 (hole), 0.2, 0.3, 0.4;
    image 1: errors 0.5 everywhere, holes at the two top pixels."""
    pred = torch.tensor([[[0.1, 0.2], [0.3, 0.4]], [[0.5, 0.5], [0.5, 0.5]]]).unsqueeze(1).repeat(1, 3, 1, 1)
    mask = torch.tensor([[[1.0, 0.0], [0.0, 0.0]], [[1.0, 1.0], [0.0, 0.0]]]).unsqueeze(1)
    return pred, torch.zeros_like(pred), mask


@pytest.mark.parametrize("normalization,value_range,hole_w,expected", [
    # LG-Net: per-image region means on [-1, 1] (errors x2), then the batch mean.
    # image 0: 6·(2·0.1) + (2·(0.2+0.3+0.4)/3) = 1.2 + 0.6 = 1.8; image 1: 6·1.0 + 1.0 = 7.0
    ("region_mean", "[-1,1]", 6.0, (1.8 + 7.0) / 2),
    # same on [0, 1]: half of it
    ("region_mean", "[0,1]", 6.0, (1.8 + 7.0) / 4),
    # PConv eqs (1)-(2): divide by N·C·H·W = 2·3·4. Sums per channel: image 0: 6·0.1 + 0.9 = 1.5;
    # image 1: 6·(0.5+0.5) + (0.5+0.5) = 7.0
    ("image_mean", "[0,1]", 6.0, 3 * (1.5 + 7.0) / 24),
    # EdgeConnect: all errors summed / hole elements: 3·(1.0 + 2.0) / (3·(1 + 2))
    ("hole_area", "[0,1]", 1.0, 1.0),
])
def test_masked_l1_hand_computed(normalization, value_range, hole_w, expected):
    pred, target, mask = _l1_case()
    got = masked_l1(pred, target, mask, hole_weight=hole_w, valid_weight=1.0, normalization=normalization,
                    value_range=value_range)
    assert got.item() == pytest.approx(expected, rel=1e-6)


def test_masked_l1_region_mean_strengthens_the_hole_by_the_inverse_hole_ratio():
    pred, target, mask = torch.full((1, 3, 8, 8), 0.5), torch.zeros(1, 3, 8, 8), torch.zeros(1, 1, 8, 8)
    mask[..., :2, :] = 1  # hole ratio 1/4
    hole_only = dict(hole_weight=1.0, valid_weight=0.0, value_range="[0,1]")
    region = masked_l1(pred, target, mask, normalization="region_mean", **hole_only)
    image = masked_l1(pred, target, mask, normalization="image_mean", **hole_only)
    assert region.item() == pytest.approx(0.5) and (region / image).item() == pytest.approx(4.0)
    # LG-Net's default is 2x again ([-1, 1]): 8x the image-mean hole term at a 25 % hole
    assert (masked_l1(pred, target, mask, 1.0, 0.0) / image).item() == pytest.approx(8.0)


def test_masked_l1_empty_hole_and_bad_options():
    pred, target = torch.ones(2, 3, 4, 4), torch.zeros(2, 3, 4, 4)
    empty = torch.zeros(2, 1, 4, 4)
    assert masked_l1(pred, target, empty).item() == pytest.approx(2.0)  # valid term only, [-1, 1]
    assert masked_l1(pred, target, empty, normalization="hole_area", value_range="[0,1]").item() == 96.0
    with pytest.raises(ValueError, match="differ"):
        masked_l1(pred, target[:, :2], empty)
    with pytest.raises(ValueError, match="normalization 'mean'.*region_mean"):
        masked_l1(pred, target, empty, normalization="mean")
    with pytest.raises(ValueError, match=r"value_range.*\[-1,1\]"):
        masked_l1(pred, target, empty, value_range="0-255")


def test_total_variation_values_and_mask_restriction():
    x = torch.zeros(1, 1, 4, 4)
    x[..., :, 2:] = 1.0  # one vertical edge: 4 horizontal pairs differ by 1
    assert total_variation(x).item() == pytest.approx(4 / 16)
    far = torch.zeros(1, 1, 4, 4)
    far[..., 0, 0] = 1  # hole far from the edge: dilation covers columns 0-1 only
    assert total_variation(x, far).item() == 0.0
    near = torch.zeros(1, 1, 4, 4)
    near[..., 1, 1] = 1  # dilation covers rows 0-2, columns 0-2: pairs (r, 1)-(r, 2) for 3 rows
    assert total_variation(x, near).item() == pytest.approx(3 / 16)


# -- adversarial ---------------------------------------------------------------------------------
def _scores_grad(kind, side):
    loss = AdversarialLoss(kind, r1_gamma=1.0 if kind == "nsgan" else 0.0)
    real = torch.rand(4, 3, 8, 8, generator=_g(1)).requires_grad_(True)
    fake = torch.rand(4, 3, 8, 8, generator=_g(2)).requires_grad_(True)
    D = MeanD()
    if side == "d":
        total, terms = loss.d_loss(D, real, fake)
        return total, terms, D, real, fake
    return loss.g_loss(D, real, fake), {}, D, real, fake


@pytest.mark.parametrize("kind", ADVERSARIAL_KINDS)
def test_d_loss_rewards_scoring_real_higher(kind):
    total, terms, D, real, fake = _scores_grad(kind, "d")
    assert total.dim() == 0 and torch.isfinite(total)
    assert {"d_adv", "d_real", "d_fake"} <= set(terms)
    total.backward()
    assert all(p.grad is not None for p in D.parameters())
    # probe the objective on raw scores: its gradient must favour high real and low fake scores
    # (0.5 lies between every kind's real and fake targets: LSGAN's are 1 and 0)
    s_real = torch.tensor([0.5, 0.5]).requires_grad_(True)
    s_fake = torch.tensor([0.5, 0.5]).requires_grad_(True)
    d_adv = AdversarialLoss(kind)._d_adv(s_real, s_fake)
    gr, gf = torch.autograd.grad(d_adv, (s_real, s_fake))
    assert (gr < 0).all() and (gf > 0).all()  # descent raises real scores and lowers fake scores


@pytest.mark.parametrize("kind", ADVERSARIAL_KINDS)
def test_g_loss_pushes_fake_scores_up(kind):
    total, _, D, real, fake = _scores_grad(kind, "g")
    total.backward()
    assert fake.grad is not None and real.grad is None  # G's loss never differentiates through real
    # d(score)/d(fake) = a / numel > 0 per pixel, so a negative gradient on fake = pushing its score up
    assert (fake.grad < 0).all()


def test_r1_and_gp_values():
    real, fake = torch.rand(2, 1, 2, 2, generator=_g(3)), torch.rand(2, 1, 2, 2, generator=_g(4))
    _, t = AdversarialLoss("nsgan", r1_gamma=10.0).d_loss(MeanD(), real, fake)
    assert t["r1"].item() == pytest.approx(4 * (1 / 4) ** 2)  # ||∇ mean||² = n · (1/n)²
    _, t = AdversarialLoss("wgan-gp", generator=_g(0)).d_loss(MeanD(), real, fake)
    assert t["gp"].item() == pytest.approx((0.5 - 1) ** 2)  # ||∇ mean||₂ = 1/sqrt(4)


def test_wgan_clip_and_unknown_kind():
    D = PatchGAN(width=4, n_layers=1)
    AdversarialLoss("wgan", clip=0.01).clip_weights(D)
    assert max(p.abs().max().item() for p in D.parameters()) <= 0.01
    with pytest.raises(ValueError, match="known"):
        AdversarialLoss("least-squares")


def test_conditioned_discriminator_via_partial():
    D = GlobalLocalDiscriminator(width=4, size=32)
    mask = torch.zeros(2, 1, 32, 32)
    mask[..., 4:10, 20:30] = 1
    x = torch.rand(2, 3, 32, 32, generator=_g(5))
    total, terms = AdversarialLoss("wgan-gp").d_loss(functools.partial(D, mask=mask), x, x.flip(0))
    total.backward()
    assert torch.isfinite(total) and "gp" in terms


# -- perceptual ----------------------------------------------------------------------------------
def test_vgg_missing_weights_names_the_file(monkeypatch, tmp_path):
    monkeypatch.setenv("FACEINPAINT_WEIGHTS", str(tmp_path))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "hub"))
    with pytest.raises(WeightsMissing, match="vgg16-397923af.pth"):
        VGG16Features(weights="imagenet")


def test_vgg_random_is_seeded_frozen_and_losses_behave():
    vgg = VGG16Features(weights="random", seed=0)
    assert vgg.weights == "random" and not any(p.requires_grad for p in vgg.parameters())
    assert torch.equal(vgg.trunk[0].weight, VGG16Features(weights="random", seed=0).trunk[0].weight)
    x = torch.rand(1, 3, 32, 32, generator=_g(6))
    y = torch.rand(1, 3, 32, 32, generator=_g(7)).requires_grad_(True)
    assert [f.shape[1] for f in vgg(x)] == [64, 128, 256]  # pool1-pool3 by default
    assert perceptual_loss(vgg, x, x).item() == 0.0 and style_loss(vgg, x, x).item() == 0.0
    p, s = perceptual_and_style(vgg, y, x)
    (p + s).backward()
    assert p > 0 and s > 0 and y.grad is not None
    assert p.item() == pytest.approx(perceptual_loss(vgg, y, x).item())


@pytest.mark.parametrize("layers,shapes", [
    (PCONV_LAYERS, [(64, 16, 16), (128, 8, 8), (256, 4, 4)]),
    (JOHNSON_LAYERS, [(64, 32, 32), (128, 16, 16), (256, 8, 8), (512, 4, 4)]),
    (("relu5_2", "relu1_1"), [(64, 32, 32), (512, 2, 2)]),  # returned in network order
])
def test_vgg_layers_have_the_right_shapes_and_truncate(layers, shapes):
    vgg = VGG16Features(weights="random", layers=layers)
    feats = vgg(torch.rand(2, 3, 32, 32, generator=_g(8)))
    assert [tuple(f.shape[1:]) for f in feats] == shapes and all(f.shape[0] == 2 for f in feats)
    assert len(vgg.trunk) == max(VGG16_LAYERS.index(n) for n in layers) + 1  # nothing computed past the last layer


def test_vgg_pool_layers_match_torchvision_and_conv_outputs_stay_raw():
    from torchvision.models.vgg import cfgs, make_layers

    vgg = VGG16Features(weights="random", layers=("conv1_1", "pool3"), input_norm="[0,1]")
    ref = make_layers(cfgs["D"])[:17]
    ref.load_state_dict(vgg.trunk.state_dict())
    x = torch.rand(1, 3, 16, 16, generator=_g(9))
    conv1_1, pool3 = vgg(x)
    torch.testing.assert_close(pool3, ref(x.clone()))
    assert (conv1_1 < 0).any()  # read before its ReLU (no in-place ReLU overwrote it)


def test_vgg_input_norms_and_layer_subsets():
    x = torch.rand(1, 3, 16, 16, generator=_g(10))
    signed = VGG16Features(weights="random", input_norm="[-1,1]")(x)
    raw = VGG16Features(weights="random", input_norm="[0,1]")(2 * x - 1)
    assert all(torch.equal(a, b) for a, b in zip(signed, raw))
    vgg = VGG16Features(weights="random", layers=("relu1_1", "relu2_2", "relu3_3"))
    y = torch.rand(1, 3, 16, 16, generator=_g(11))
    p, s = perceptual_and_style(vgg, y, x, perc_layers=("relu1_1",), style_layers=("relu2_2", "relu3_3"))
    assert p.item() == pytest.approx(perceptual_loss(vgg, y, x, layers=("relu1_1",)).item())
    assert s.item() == pytest.approx(style_loss(vgg, y, x, layers=("relu3_3", "relu2_2")).item())
    with pytest.raises(ValueError, match="not extracted"):
        perceptual_loss(vgg, y, x, layers=("pool1",))
    with pytest.raises(ValueError, match="relu9_9.*known"):
        VGG16Features(weights="random", layers=("relu9_9",))
    with pytest.raises(ValueError, match="input_norm"):
        VGG16Features(weights="random", input_norm="bgr")


def test_gram_normalisation():
    f = torch.ones(1, 2, 3, 3)
    assert torch.allclose(gram(f), torch.full((1, 2, 2), 9 / 18))


# -- discriminators ------------------------------------------------------------------------------
def _probe_receptive_field(D: nn.Module, size: int) -> int:
    """Receptive field measured by input gradients: constant positive weights, ones input, the centre output."""
    with torch.no_grad():
        for name, p in D.named_parameters():
            p.fill_(0.05 if "weight" in name else 0.0)
    x = torch.ones(1, 1, size, size, requires_grad=True)
    out = D(x)
    out[0, 0, out.shape[2] // 2, out.shape[3] // 2].backward()
    seen = x.grad[0, 0] != 0
    assert seen.any(0).sum() == seen.any(1).sum()
    return int(seen.any(0).sum())


@pytest.mark.parametrize("make,size,expected", [
    (lambda: PatchGAN(in_ch=1, width=2, n_layers=3, norm="none"), 96, 70),   # pix2pix's 70x70 PatchGAN
    (lambda: PatchGAN(in_ch=1, width=2, n_layers=1, norm="none"), 40, 16),
    (lambda: LGNetPatchGAN(in_ch=1, width=2), 128, 93),
    (lambda: SNPatchGAN(in_ch=1, width=2), 320, 253),
])
def test_analytic_receptive_field_matches_gradient_probe(make, size, expected):
    assert receptive_field(make()) == expected
    assert _probe_receptive_field(make(), size) == expected


def test_discriminator_geometry_at_256():
    geos = {n: geometry(c(width=4, size=256) if c is GlobalLocalDiscriminator else c(in_ch=3, width=4), 256)
            for n, c in DISCRIMINATORS.items()}
    assert geos == {"patchgan": {"output_shape": (1, 30, 30), "receptive_field": 70},
                    "lgnet-patchgan": {"output_shape": (1, 27, 27), "receptive_field": 93},
                    "sn-patchgan": {"output_shape": (16, 4, 4), "receptive_field": 253},
                    "global-local": {"output_shape": (1,), "receptive_field": None}}
    with pytest.raises(ValueError, match="at least 47 px"):
        LGNetPatchGAN(width=4)(torch.rand(1, 3, 32, 32))


def test_lgnet_patchgan_layout():
    D = LGNetPatchGAN(in_ch=3, width=64)
    convs = [m for m in D.modules() if isinstance(m, nn.Conv2d)]
    assert [(c.out_channels, c.kernel_size[0], c.stride[0], c.padding[0]) for c in convs] == [
        (64, 5, 2, 1), (128, 5, 2, 1), (256, 5, 2, 1), (512, 5, 1, 1), (1, 5, 1, 1)]
    assert [hasattr(c, "weight_orig") for c in convs] == [True] * 4 + [False]  # spectral norm but the classifier
    assert [c.bias is None for c in convs] == [True] * 4 + [False]


@pytest.mark.parametrize("spectral,norm", [(False, "instance"), (True, "none")])
def test_discriminator_shapes(spectral, norm):
    assert PatchGAN(width=4, norm=norm, spectral=spectral)(torch.rand(2, 3, 64, 64)).shape == (2, 1, 6, 6)
    assert SNPatchGAN(width=4)(torch.rand(2, 3, 64, 64), torch.ones(2, 1, 64, 64)).shape == (2, 16, 1, 1)
    assert GlobalLocalDiscriminator(width=4, size=32)(torch.rand(2, 3, 32, 32), torch.zeros(2, 1, 32, 32)).shape == (2, 1)
    with pytest.raises(ValueError, match="power of two"):
        GlobalLocalDiscriminator(width=4, size=48)


def test_local_crop_follows_the_hole():
    mask = torch.zeros(2, 1, 32, 32)
    mask[0, :, 2:6, 26:30] = 1  # near the top-right corner: clamped
    top, left = hole_crop_boxes(mask, 16)  # sample 1 is empty: centre crop
    assert top.tolist() == [0, 8] and left.tolist() == [16, 8]


def test_lsgan_values_on_a_toy_case():
    """LSGAN (Mao et al. 2017): D(real)=1, D(fake)=0 is D's optimum (loss 0); G's loss is (D(fake)-1)²."""
    class ConstD(torch.nn.Module):
        def forward(self, x):
            return x.mean(dim=(1, 2, 3))

    real, fake = torch.ones(2, 1, 4, 4), torch.zeros(2, 1, 4, 4)
    total, _ = AdversarialLoss("lsgan").d_loss(ConstD(), real, fake)
    assert total.item() == pytest.approx(0.0)
    assert AdversarialLoss("lsgan").g_loss(ConstD(), real, fake).item() == pytest.approx(1.0)
