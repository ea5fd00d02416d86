"""Compared methods, part 1 (CE, CA, DeepFill v2, LaMa) and their shared blocks (contextual attention, gated
convolution, fast Fourier convolution, the spatially discounted L1). Tiny widths, 16-32 px."""
from __future__ import annotations

import pytest
import torch

from faceinpaint_core.config import resolve
from faceinpaint_core.losses.reconstruction import spatial_discount
from faceinpaint_core.methods import get_method_class
from faceinpaint_core.nets.blocks.contextual_attention import ContextualAttention
from faceinpaint_core.nets.blocks.ffc import FFCResBlock
from faceinpaint_core.nets.blocks.gated_conv import GatedConv2d
from faceinpaint_core.nets.ce import ChannelwiseFC
from method_checks import one_step_and_round_trip

torch.set_num_threads(1)
METHODS = ("ce", "ca", "deepfill2", "lama")
REPORTED = {"ce": "CE", "ca": "CA", "deepfill2": "DeepFill v2 (gated conv)"}


def _batch(n=2, size=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    mask = torch.zeros(n, 1, size, size)
    mask[..., size // 4: size // 2 + 3, size // 5: size // 2 + 5] = 1
    return {"image": torch.rand(n, 3, size, size, generator=g), "mask": mask}


# -- contextual attention -----------------------------------------------------------------------------------------
def test_contextual_attention_copies_the_matching_background_patch():
    g = torch.Generator().manual_seed(0)
    bg = torch.randn(1, 8, 16, 16, generator=g)
    # the hole (rows/cols 2-5) holds a copy of the background block 8 rows and 8 columns further (+ its border)
    fg = bg.clone()
    fg[..., 1:7, 1:7] = bg[..., 9:15, 9:15]
    mask = torch.zeros(1, 1, 16, 16)
    mask[..., 2:6, 2:6] = 1
    ca = ContextualAttention(patch=3, softmax_scale=200.0, fuse=False)
    out, att = ca(fg, bg, mask)
    torch.testing.assert_close(out[..., 3:5, 3:5], bg[..., 11:13, 11:13], atol=1e-3, rtol=1e-3)
    # what it attends at a hole position: the background patch centred 8 rows and 8 columns further
    best = att[0, :, 3, 3].argmax().item()
    assert divmod(best, 16) == (11, 11)


def test_contextual_attention_never_attends_hole_patches():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(2, 4, 10, 10, generator=g)
    mask = torch.zeros(2, 1, 10, 10)
    mask[..., 3:7, 2:8] = 1
    _, att = ContextualAttention()(x, x, mask)
    # a background patch overlapping the (1-pixel dilated) hole has zero attention everywhere
    dil = torch.nn.functional.max_pool2d(mask, 3, 1, 1)[:, 0].flatten(1)  # (N, L)
    assert att.shape == (2, 100, 10, 10)
    assert att.permute(0, 2, 3, 1).reshape(2, -1, 100)[..., dil[0] > 0].abs().max() == 0
    torch.testing.assert_close(att.sum(1), torch.ones(2, 10, 10))


# -- gated convolution, FFC, CE's channel-wise FC -------------------------------------------------------------------
def test_gated_conv_gate_is_in_unit_interval():
    conv = GatedConv2d(3, 6, 3, 2)
    out, gate = conv(torch.randn(2, 3, 16, 16) * 10, return_gate=True)
    assert out.shape == gate.shape == (2, 6, 8, 8)
    assert gate.min() >= 0 and gate.max() <= 1


def test_ffc_global_branch_has_a_full_image_receptive_field():
    block = FFCResBlock(8, ratio=0.75).eval()
    x = torch.randn(1, 8, 16, 16, requires_grad=True)
    y = block(x)
    y[0, 2:, 0, 0].sum().backward()  # one output pixel of the global channels (channels 2.. are global)
    assert (x.grad[0].abs().sum(0) > 0).all()  # depends on every input pixel
    conv = torch.nn.Conv2d(8, 8, 3, padding=1)  # a 3x3 convolution does not
    x2 = torch.randn(1, 8, 16, 16, requires_grad=True)
    conv(x2)[0, :, 0, 0].sum().backward()
    assert not (x2.grad[0].abs().sum(0) > 0).all()


def test_channelwise_fc_has_the_papers_parameter_count():
    fc = ChannelwiseFC(channels=32, hw=16)
    assert sum(p.numel() for p in fc.parameters()) == 32 * 16 * 16 + 32 * 16  # C·(HW)² + C·HW, not (C·HW)²
    x = torch.zeros(1, 32, 4, 4)
    x[0, 3, 1, 2] = 1.0
    y = fc(x) - fc(torch.zeros_like(x))
    assert y[0, 3].abs().sum() > 0 and y[0, torch.arange(32) != 3].abs().sum() == 0  # no cross-channel terms


def test_spatial_discount_decays_into_the_hole():
    mask = torch.zeros(1, 1, 16, 16)
    mask[..., 4:12, 4:12] = 1
    w = spatial_discount(mask, 0.9)
    assert (w[mask == 0] == 1).all()
    assert w[0, 0, 4, 4] == pytest.approx(0.9) and w[0, 0, 7, 7] == pytest.approx(0.9 ** 4)


# -- each method: one trainer step, checkpoint round trip, inference ----------------------------------------------
@pytest.mark.parametrize("name", METHODS)
def test_method_trains_one_step_and_round_trips(name, tmp_path):
    cls = get_method_class(name)
    assert cls.reported_as == ((REPORTED[name],) if name in REPORTED else ())
    one_step_and_round_trip(cls(resolve(cls.config_cls, cls.PROFILES, "tiny")), _batch(), tmp_path)


@pytest.mark.parametrize("name", METHODS)
def test_profiles_resolve(name):
    cls = get_method_class(name)
    for profile in ("tiny", "smoke", "full"):
        cfg = resolve(cls.config_cls, cls.PROFILES, profile)
        assert cfg.train.size in (32, 64, 256)
