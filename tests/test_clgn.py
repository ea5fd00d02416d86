"""CLGN / LG-Net: GAM, the three-stage generator, ablation flags and one training step each.

Tiny widths, 32-64 px, random-init VGG (labelled: no ImageNet weights on test machines).
"""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from faceinpaint_core.config import resolve
from faceinpaint_core.methods import get_method_class
from faceinpaint_core.methods.clgn import ABLATIONS, LOSSES, CLGNConfig, CLGNMethod
from faceinpaint_core.methods.lgnet import LGNetMethod
from faceinpaint_core.nets.blocks.gam import GlobalAttentionModule
from faceinpaint_core.nets.blocks.residual import ResidualBlock
from faceinpaint_core.nets.clgn import CLGN, count_parameters
from faceinpaint_core.train.distributed import DistInfo
from faceinpaint_core.train.trainer import Trainer

torch.set_num_threads(1)
TINY_NET = dict(width=4, unet_depth=5, local_blocks=1)


def _batch(n=2, size=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    image = torch.rand(n, 3, size, size, generator=g)
    mask = torch.zeros(n, 1, size, size)
    mask[..., size // 4: size // 2 + 3, size // 5: size // 2 + 5] = 1
    return {"image": image, "mask": mask}


def _method(cls=CLGNMethod, **sets):
    return cls(resolve(cls.config_cls, cls.PROFILES, "tiny", sets))


# -- GAM ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("channels,rate,hw", [(8, 4, (5, 7)), (16, 2, (8, 8)), (3, 4, (4, 4))])
def test_gam_shapes_and_multiplicative_gate(channels, rate, hw):
    gam = GlobalAttentionModule(channels, rate).eval()
    x = torch.randn(2, channels, *hw)
    with torch.no_grad():
        mc, ms = gam.gates(x)
        out = gam(x)
    assert out.shape == mc.shape == ms.shape == x.shape
    assert ((mc > 0) & (mc < 1) & (ms > 0) & (ms < 1)).all()
    torch.testing.assert_close(out, x * mc * ms)  # output = input ⊙ attention
    torch.testing.assert_close(ms, gam.spatial(x * mc))  # spatial gate sees the channel-gated map
    assert (out.abs() <= x.abs() + 1e-7).all()


def test_gam_has_no_pooling_and_rejects_bad_input():
    gam = GlobalAttentionModule(8)
    assert not any("Pool" in type(m).__name__ for m in gam.modules())
    convs = [m for m in gam.spatial.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.kernel_size for c in convs] == [(7, 7), (7, 7)] and convs[0].out_channels == 2
    with pytest.raises(ValueError, match="expects"):
        gam(torch.randn(1, 4, 8, 8))


@pytest.mark.parametrize("dilation", [1, 2])
def test_residual_block_keeps_shape(dilation):
    x = torch.randn(2, 6, 9, 9)
    assert ResidualBlock(6, dilation=dilation, norm="instance")(x).shape == x.shape


# -- generator ------------------------------------------------------------------------------------
@pytest.mark.parametrize("size", [64, 128, 256])
def test_clgn_output_shapes(size):
    net = CLGN(width=4, unet_depth=6, local_blocks=1).eval()
    with torch.no_grad():
        out = net(*_batch(1, size).values())
    assert set(out) == {"pred", "stage1", "stage2", "stage3", "comp1", "comp2", "comp3"}
    for v in out.values():
        assert v.shape == (1, 3, size, size) and v.min() >= 0 and v.max() <= 1


def test_composites_keep_known_pixels_and_holes_are_never_read():
    net = CLGN(**TINY_NET).eval()
    b = _batch()
    noisy = b["image"] + b["mask"] * torch.rand_like(b["image"])  # change only hole pixels
    with torch.no_grad():
        out, out2 = net(b["image"], b["mask"]), net(noisy, b["mask"])
    known = b["image"] * (1 - b["mask"])
    for k in (1, 2, 3):
        assert torch.equal(out[f"comp{k}"] * (1 - b["mask"]), known)
        assert torch.equal(out[f"stage{k}"], out2[f"stage{k}"])


def test_full_res_skip_gives_every_stage_a_full_resolution_head_and_still_never_reads_holes():
    """full_res_skip (cpu profile): each stage's output head reads the stage input, cat(2c - 1, m), at full
    resolution; off (LG-Net, full profile) there is no head. Hole pixels of the input are still never read."""
    net, plain = CLGN(full_res_skip=True, **TINY_NET).eval(), CLGN(**TINY_NET)
    assert [type(s.head).__name__ for s in net.nets] == ["FullResHead"] * 3
    assert all(s.head is None for s in plain.nets)
    assert all(s.head.body[0].in_channels == 4 + 4 for s in net.nets)  # width-4 features + RGB/mask input
    b = _batch()
    noisy = b["image"] + b["mask"] * torch.rand_like(b["image"])
    with torch.no_grad():
        out, out2 = net(b["image"], b["mask"]), net(noisy, b["mask"])
    for k in (1, 2, 3):
        assert out[f"stage{k}"].shape == (2, 3, 32, 32) and torch.equal(out[f"stage{k}"], out2[f"stage{k}"])
    # the head sees one known pixel at full resolution: the gradient of an output pixel with respect to its own
    # input pixel comes through the head's 3x3 window even with the rest of the network frozen out
    x = (b["image"] * (1 - b["mask"])).requires_grad_(True)
    stage = net.nets[0]
    feats = torch.zeros(2, 4, 32, 32)
    y = stage.head(feats, torch.cat([x * 2 - 1, b["mask"]], 1))
    (gx,) = torch.autograd.grad(y[0, :, 5, 5].sum(), x)
    assert gx[0, :, 4:7, 4:7].abs().sum() > 0 and gx[0, :, 8:, :].abs().sum() == 0
    assert _method(full_res_skip=True).build_generator().nets[2].head is not None


def test_bad_size_names_the_problem():
    with pytest.raises(ValueError, match="divisible by 32"):
        CLGN(**TINY_NET)(torch.rand(1, 3, 48, 40), torch.zeros(1, 1, 48, 40))


def test_lgnet_has_no_gam_and_clgn_does():
    """LG-Net (its own network) and the CLGN ablation no-gam (CLGN without GAM) have no GAM; CLGN does."""
    assert get_method_class("lgnet") is LGNetMethod and get_method_class("clgn") is CLGNMethod
    lg, cl, nogam = _method(LGNetMethod), _method(CLGNMethod), _method(**ABLATIONS["no-gam"][1])
    assert lg.name == "lgnet" and lg.cfg.gam is False and cl.cfg.gam is True and nogam.cfg.gam is False
    has_gam = lambda net: any(isinstance(m, GlobalAttentionModule) for m in net.modules())
    assert not has_gam(lg.build_generator()) and has_gam(cl.build_generator()) and not has_gam(nogam.build_generator())
    assert count_parameters(CLGN(gam=False, **TINY_NET)) < count_parameters(CLGN(gam=True, **TINY_NET))


def test_init_ignores_global_rng():
    torch.manual_seed(1)
    a = _method().build_generator().state_dict()
    torch.manual_seed(2)
    b = _method().build_generator().state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


# -- config / profiles ----------------------------------------------------------------------------
def test_profiles_resolve_and_validation():
    for profile in ("tiny", "smoke", "full"):
        cfg = resolve(CLGNConfig, CLGNMethod.PROFILES, profile)
        assert cfg.train.size % 2 ** cfg.unet_depth == 0
    assert resolve(CLGNConfig, CLGNMethod.PROFILES, "full").width == 64
    for bad in ({"stages": 4}, {"gam_stages": (4,)}, {"adv_kind": "lsgann"}, {"disc": "vgg"}, {"norm": "group"}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            CLGNConfig(**bad)
    with pytest.raises(ValueError, match="at least one"):
        CLGNConfig(**{f"use_{n}": False for n in LOSSES})


# -- one training step per ablation (through the trainer's single-step API) ----------------------
def _trainer_step(method, batch, tmp_path):
    trainer = Trainer(method, tmp_path, faces=[], mask_sampler=None, dist=DistInfo(device="cpu"))
    before = [p.detach().clone() for p in trainer.g_params]
    terms = trainer.train_step(0, batch)
    moved = any(not torch.equal(a, b) for a, b in zip(before, trainer.g_params))
    out = method.forward(trainer.nets, batch)
    return out, terms, moved, trainer.nets


@pytest.mark.parametrize("off", [None, *LOSSES])
@pytest.mark.parametrize("gam", [True, False])
@pytest.mark.parametrize("stages", [1, 2, 3])
def test_every_ablation_takes_a_training_step(stages, gam, off, tmp_path):
    sets = {"stages": stages, "gam": gam, **({f"use_{off}": False} if off else {})}
    out, terms, moved, nets = _trainer_step(_method(**sets), _batch(n=1), tmp_path)
    assert {f"stage{k}" for k in range(1, stages + 1)} <= set(out) and f"stage{stages + 1}" not in out
    g_terms = {k[2:] for k in terms if k.startswith("G/")} - {"total"}
    assert g_terms == set(LOSSES) - {off}
    assert all(torch.isfinite(v) for v in terms.values()) and moved
    assert ("D" in nets) == (off != "adv") and ("D/total" in terms) == (off != "adv")


@pytest.mark.parametrize("disc,adv_kind,size", [("patchgan", "hinge", 32), ("global-local", "nsgan", 32),
                                                ("sn-patchgan", "lsgan", 32), ("lgnet-patchgan", "lsgan", 64)])
def test_discriminators_and_adversarial_kinds(disc, adv_kind, size, tmp_path):
    method = _method(disc=disc, adv_kind=adv_kind, use_perc=False, use_style=False, **{"train.size": size})
    _, terms, moved, _ = _trainer_step(method, _batch(size=size), tmp_path)
    assert torch.isfinite(terms["G/adv"]) and torch.isfinite(terms["D/total"]) and moved
    assert method.adversarial().kind == adv_kind


def test_missing_imagenet_vgg_fails_before_training_not_at_build(monkeypatch, tmp_path):
    from faceinpaint_core.paths import WeightsMissing

    monkeypatch.setattr("faceinpaint_core.paths.weights_dirs", lambda: [tmp_path])
    method = _method(**{"train.perceptual_weights": "imagenet"})
    assert set(method.build_networks()) == {"G", "D"}  # trained networks only: no loss VGG
    assert set(method.build_inference_networks()) == {"G"}
    with pytest.raises(WeightsMissing, match="vgg16"):
        method.prepare_training()
    with pytest.raises(WeightsMissing, match="vgg16"):
        Trainer(method, tmp_path, faces=[], mask_sampler=None, dist=DistInfo(device="cpu"))


# -- the cited recipe (LG-Net release) ------------------------------------------------------------
def test_full_profile_follows_lgnet():
    for cls in (CLGNMethod, LGNetMethod):
        cfg = resolve(cls.config_cls, cls.PROFILES, "full")
        t = cfg.train
        assert (t.lr_g, t.lr_d, t.betas, t.batch_size) == (2e-4, 2e-4, (0.5, 0.999), 4)
        assert (t.lr_schedule, t.lr_decay_start) == ("linear_decay", None)
        assert (cfg.disc, cfg.adv_kind, cfg.rec_normalization, cfg.rec_range) == (
            "lgnet-patchgan", "lsgan", "region_mean", "[-1,1]")
        assert cfg.perc_layers == cfg.style_layers == ("pool1", "pool2", "pool3") and cfg.vgg_input == "[-1,1]"


def test_reconstruction_term_uses_the_configured_normalisation():
    from faceinpaint_core.losses.reconstruction import masked_l1

    b = _batch(n=2)
    only_rec = dict(stages=1, use_adv=False, use_perc=False, use_style=False, use_tv=False)
    for norm, rng in (("region_mean", "[-1,1]"), ("image_mean", "[0,1]")):
        method = _method(rec_normalization=norm, rec_range=rng, **only_rec)
        with torch.no_grad():
            out = method.forward({"G": method.build_generator()}, b)
            got = method.loss_terms({}, b, out)["rec"]
        expected = masked_l1(out["stage1"], b["image"], b["mask"], 6.0, 1.0, normalization=norm, value_range=rng)
        assert got.item() == pytest.approx(expected.item())


@pytest.mark.parametrize("bad,match", [({"rec_normalization": "mean"}, "rec_normalization"),
                                       ({"rec_range": "0-255"}, "rec_range"),
                                       ({"perc_layers": ("relu9_9",)}, "perc_layers"),
                                       ({"vgg_input": "bgr"}, "vgg_input"),
                                       ({"train.size": 32, "disc": "lgnet-patchgan"}, "at least|>= 47")])
def test_loss_options_are_validated(bad, match):
    with pytest.raises(ValueError, match=match):
        resolve(CLGNConfig, CLGNMethod.PROFILES, "tiny", bad)


def test_harmonic_fill_is_exact_on_harmonic_images_and_keeps_known_pixels():
    """A linear ramp is harmonic: the fill of a large hole recovers it; known pixels come back unchanged; the
    values written into the hole never matter."""
    from faceinpaint_core.nets.blocks.harmonic_fill import harmonic_fill

    ramp = torch.linspace(0, 1, 48).view(1, 1, 1, 48).expand(2, 3, 40, 48).clone()
    mask = torch.zeros(2, 1, 40, 48)
    mask[..., 5:35, 10:30] = 1  # 30 x 20 hole
    mask[1, :, 20, :] = 1  # and a thin line across the second image
    filled = harmonic_fill(ramp * (1 - mask) + 7 * mask, mask)
    assert (filled - ramp).abs().max() < 0.01  # under 3/255 (20 Jacobi iterations a level; border rows Neumann)
    assert torch.equal(filled * (1 - mask), ramp * (1 - mask))
    with pytest.raises(ValueError, match="expects"):
        harmonic_fill(ramp, mask[:, :, :10])


def test_hole_init_harmonic_feeds_stage_one_a_classical_fill():
    net = CLGN(hole_init="harmonic", **TINY_NET).eval()
    b = _batch()
    noisy = b["image"] + b["mask"] * torch.rand_like(b["image"])
    with torch.no_grad():
        assert torch.equal(net(b["image"], b["mask"])["pred"], net(noisy, b["mask"])["pred"])
    assert _method(hole_init="harmonic").build_generator().hole_init == "harmonic"
    with pytest.raises(ValueError, match="hole_init"):
        CLGN(hole_init="mean", **TINY_NET)


def test_biharmonic_fill_solves_the_bilaplace_equation_like_the_classical_floor():
    """A cubic is biharmonic: the fill of an interior hole recovers it; on a thin interior hole of a random image the
    default 10 steps match scikit-image's inpaint_biharmonic (the study's ``biharmonic`` floor); known pixels are
    returned unchanged and the hole's values never matter."""
    from skimage.restoration import inpaint_biharmonic

    from faceinpaint_core.nets.blocks.harmonic_fill import biharmonic_fill, fill_holes, harmonic_fill

    i, j = torch.meshgrid(torch.linspace(0, 1, 40), torch.linspace(0, 1, 48), indexing="ij")
    cubic = (i ** 3 - 0.5 * j ** 2 * i + 0.3 * j).expand(1, 1, 40, 48)
    mask = torch.zeros(1, 1, 40, 48)
    mask[..., 8:30, 10:34] = 1
    filled = biharmonic_fill(cubic * (1 - mask) + 5 * mask, mask, iters=60)
    assert (filled - cubic).abs().max() < 2e-3 < (harmonic_fill(cubic, mask) - cubic).abs().max()
    assert torch.equal(filled * (1 - mask), cubic * (1 - mask))
    image = F.avg_pool2d(torch.rand(1, 3, 68, 68, generator=torch.Generator().manual_seed(0)), 5, 1)  # smooth-ish
    thin = torch.zeros(1, 1, 64, 64)
    thin[..., 20:22, 6:58] = 1
    thin[..., 8:56, 40:42] = 1
    ref = inpaint_biharmonic(image[0].permute(1, 2, 0).double().numpy(), thin[0, 0].numpy() > 0.5, channel_axis=-1)
    ours = fill_holes("biharmonic", image, thin)
    err = (ours[0].permute(1, 2, 0) - torch.from_numpy(ref).float()).abs()
    assert err.max() < 0.01 and err.sum() / thin.sum() / 3 < 2e-3  # under 3/255 anywhere, 0.5/255 on average
    with pytest.raises(ValueError, match="expects"):
        biharmonic_fill(cubic, mask[:, :, :10])
    with pytest.raises(ValueError, match="hole fill"):
        fill_holes("mean", cubic, mask)


def test_residual_stages_start_from_their_input_composite():
    """residual=True: a stage whose network outputs 0 returns its input composite, so with hole_init=biharmonic an
    untrained CLGN is the biharmonic fill; the default output activation is unchanged."""
    from faceinpaint_core.nets.blocks.harmonic_fill import biharmonic_fill

    class Zero(nn.Module):
        def forward(self, x):
            return torch.zeros_like(x[:, :3])

    b = _batch()
    net = CLGN(hole_init="biharmonic", residual=True, **TINY_NET)
    net.nets = nn.ModuleList([Zero() for _ in net.nets])
    out = net(b["image"], b["mask"])
    fill = biharmonic_fill(b["image"] * (1 - b["mask"]), b["mask"]).clamp(0, 1)
    assert torch.allclose(out["pred"], fill) and torch.allclose(out["comp1"], fill)
    plain = CLGN(**TINY_NET)
    plain.nets = nn.ModuleList([Zero() for _ in plain.nets])
    assert torch.allclose(plain(b["image"], b["mask"])["pred"], torch.full_like(b["image"], 0.5))
    assert _method(residual=True, hole_init="biharmonic").build_generator().residual
