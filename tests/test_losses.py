"""Losses and discriminators: values on toy cases, gradient signs of every adversarial kind, shapes."""
from __future__ import annotations

import functools

import pytest
import torch
from torch import nn

from faceinpaint_core.losses import (ADVERSARIAL_KINDS, AdversarialLoss, VGG16Features, masked_l1, perceptual_and_style,
                                     perceptual_loss, style_loss, total_variation)
from faceinpaint_core.losses.perceptual import gram
from faceinpaint_core.nets.discriminators import GlobalLocalDiscriminator, PatchGAN, SNPatchGAN, hole_crop_boxes
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
def test_masked_l1_weights_and_normalisation():
    pred, target = torch.ones(2, 3, 4, 4), torch.zeros(2, 3, 4, 4)
    mask = torch.zeros(2, 1, 4, 4)
    mask[..., :2, :] = 1  # half the pixels are hole
    assert masked_l1(pred, target, mask, 6.0, 1.0).item() == pytest.approx(0.5 * 6 + 0.5 * 1)
    assert masked_l1(pred, target, torch.zeros_like(mask)).item() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="differ"):
        masked_l1(pred, target[:, :2], mask)


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
    assert [f.shape[1] for f in vgg(x)] == [64, 128, 256, 512]
    assert perceptual_loss(vgg, x, x).item() == 0.0 and style_loss(vgg, x, x).item() == 0.0
    p, s = perceptual_and_style(vgg, y, x)
    (p + s).backward()
    assert p > 0 and s > 0 and y.grad is not None
    assert p.item() == pytest.approx(perceptual_loss(vgg, y, x).item())


def test_gram_normalisation():
    f = torch.ones(1, 2, 3, 3)
    assert torch.allclose(gram(f), torch.full((1, 2, 2), 9 / 18))


# -- discriminators ------------------------------------------------------------------------------
def test_patchgan_receptive_field_is_70():
    D = PatchGAN(in_ch=1, width=2, n_layers=3, norm="none")
    for m in D.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.constant_(m.weight, 0.05)
            nn.init.zeros_(m.bias)
    x = torch.ones(1, 1, 96, 96, requires_grad=True)
    out = D(x)
    out[0, 0, out.shape[2] // 2, out.shape[3] // 2].backward()
    seen = (x.grad[0, 0] != 0)
    assert seen.any(0).sum().item() == 70 and seen.any(1).sum().item() == 70


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
