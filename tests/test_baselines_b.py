"""Compared methods, part 2 (GMCNN, PIC, RFR, MEDFE, LG-Net) and their shared blocks (partial conv, ID-MRF).

Tiny widths, 32-64 px, random-init VGG (labelled: no ImageNet weights on test machines).
"""
from __future__ import annotations

import pytest
import torch

from faceinpaint_core.config import resolve
from faceinpaint_core.losses.id_mrf import id_mrf_layer
from faceinpaint_core.methods import get_method_class
from faceinpaint_core.nets.blocks.partial_conv import PartialConv2d
from faceinpaint_core.nets.gmcnn import confidence_weights
from faceinpaint_core.nets.medfe import FeatureEqualization
from faceinpaint_core.nets.rfr import RFRNet
from method_checks import one_step_and_round_trip

torch.set_num_threads(1)
METHODS = ("gmcnn", "pic", "rfr", "medfe", "lgnet")
REPORTED = {"gmcnn": "GMCNN", "pic": "PIC", "rfr": "RFR", "medfe": "MEDFE", "lgnet": "LG-Net"}


def _batch(n=2, size=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    mask = torch.zeros(n, 1, size, size)
    mask[..., size // 4: size // 2 + 3, size // 5: size // 2 + 5] = 1
    return {"image": torch.rand(n, 3, size, size, generator=g), "mask": mask}


def _method(name, **sets):
    cls = get_method_class(name)
    return cls(resolve(cls.config_cls, cls.PROFILES, "tiny", sets))


# -- partial convolution ------------------------------------------------------------------------------------------
def test_partial_conv_ignores_hole_pixels_and_updates_the_mask():
    torch.manual_seed(0)
    pconv = PartialConv2d(3, 5, 3, 1, 1)
    x = torch.rand(1, 3, 12, 12)
    valid = torch.ones(1, 1, 12, 12)
    valid[..., 3:9, 3:9] = 0
    noisy = x + (1 - valid) * torch.randn_like(x) * 10  # change only hole pixels
    out, new_valid = pconv(x, valid)
    out2, _ = pconv(noisy, valid)
    torch.testing.assert_close(out, out2)
    # mask update: a window with any valid pixel becomes valid -> the hole shrinks by one pixel per side
    assert new_valid[..., 4:8, 4:8].sum() == 0 and new_valid[..., 3, 3:9].eq(1).all() and new_valid.sum() > valid.sum()
    # re-normalisation sum(1)/sum(M): a box filter of a constant image gives 9 wherever any pixel is valid
    box = PartialConv2d(1, 1, 3, 1, 1, bias=False)
    torch.nn.init.ones_(box.conv.weight)
    const, v2 = box(torch.ones(1, 1, 12, 12), valid)
    torch.testing.assert_close(const, 9 * v2)


def test_partial_conv_names_a_bad_mask():
    with pytest.raises(ValueError, match="mask"):
        PartialConv2d(3, 4, 3, 1, 1)(torch.rand(1, 3, 8, 8), torch.ones(1, 3, 8, 8))


# -- ID-MRF -------------------------------------------------------------------------------------------------------
def test_id_mrf_is_zero_for_identical_maps_and_larger_otherwise():
    g = torch.Generator().manual_seed(0)
    f = torch.randn(2, 16, 6, 6, generator=g)
    same = id_mrf_layer(f, f.clone())
    assert same.item() < 1e-3
    other = id_mrf_layer(torch.randn(2, 16, 6, 6, generator=g), f)
    shuffled_channels = id_mrf_layer(f[:, torch.randperm(16, generator=g)], f)
    assert other > same + 0.1 and shuffled_channels > same + 0.1
    # an MRF over 1x1 patches: a spatial permutation of the generated map changes nothing
    perm = torch.randperm(36, generator=g)
    spatial = f.flatten(2)[..., perm].view_as(f)
    assert id_mrf_layer(spatial, f).item() < 1e-3


# -- GMCNN confidence weights -------------------------------------------------------------------------------------
def test_gmcnn_confidence_is_one_on_known_and_decays_into_the_hole():
    mask = torch.zeros(1, 1, 32, 32)
    mask[..., 8:24, 8:24] = 1
    w = confidence_weights(mask, size=9, sigma=4.0, iterations=7)
    assert torch.equal(w[mask == 0], torch.ones_like(w[mask == 0]))
    hole = w[mask == 1]
    assert (hole > 0).all() and (hole < 1).all()
    assert w[0, 0, 8, 16] > w[0, 0, 12, 16] > w[0, 0, 16, 16]  # boundary > inside > centre


# -- PIC ----------------------------------------------------------------------------------------------------------
def test_pic_samples_differ_across_seeds_and_repeat_for_a_seed():
    from faceinpaint_core.nets.pic import Pluralistic

    method = _method("pic")
    torch.manual_seed(0)  # PyTorch's default init: the N(0, 0.02) training init makes z's effect ~1e-7 at width 4
    nets = {"G": Pluralistic(width=8, zdim=4).eval()}
    b = _batch()
    a = method.sample(nets, b["image"], b["mask"], samples=3, seed=1)
    again = method.sample(nets, b["image"], b["mask"], samples=3, seed=1)
    other = method.sample(nets, b["image"], b["mask"], samples=1, seed=2)
    assert a.shape == (3, 2, 3, 32, 32) and torch.equal(a, again)
    assert (a[0] - a[1]).abs().max() > 1e-4 and (a[0] - other[0]).abs().max() > 1e-4
    assert method.set_inference_options(samples=4, seed=7) == {"samples": 4, "seed": 7}
    assert method.sample(nets, b["image"], b["mask"]).shape[0] == 4
    with pytest.raises(ValueError, match="steps"):
        method.set_inference_options(steps=3)


# -- RFR ----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("iterations", [1, 3])
def test_rfr_runs_the_configured_iterations_and_the_hole_shrinks(iterations):
    net = RFRNet(width=4, iterations=iterations).eval()
    b = _batch()
    with torch.no_grad():
        pred, masks = net(b["image"] * (1 - b["mask"]), b["mask"], trace=True)
    assert len(masks) == iterations and pred.shape == b["image"].shape
    known = [m.sum().item() for m in masks]
    assert known == sorted(known)  # every iteration identifies more of the area


# -- MEDFE --------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("hw", [(4, 4), (8, 6)])
def test_medfe_equalisation_keeps_shapes(hw):
    eq = FeatureEqualization(8)
    x = torch.randn(2, 8, *hw)
    assert eq(x).shape == x.shape


# -- every method: registry, one trainer step, output range, checkpoint round trip ---------------------------------
@pytest.mark.parametrize("name", METHODS)
def test_method_trains_one_step_and_round_trips(name, tmp_path):
    method = _method(name)
    cls = type(method)
    assert cls.label == REPORTED[name] and cls.reported_as == (REPORTED[name],) and not cls.stand_in_for
    one_step_and_round_trip(method, _batch(n=method.cfg.train.batch_size, size=method.cfg.train.size), tmp_path)


@pytest.mark.parametrize("name", METHODS)
def test_profiles_resolve(name):
    cls = get_method_class(name)
    for profile in ("tiny", "smoke", "full"):
        cfg = resolve(cls.config_cls, cls.PROFILES, profile)
        assert cfg.train.size in (32, 64, 256)
    assert resolve(cls.config_cls, cls.PROFILES, "full").train.size == 256
