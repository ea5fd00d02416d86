"""Facial-style inpainter (patent CN113298736A) and the study's face parser: blocks, method, parser, CLI.

All networks are random-init and narrow; images 32-256 px on CPU.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from faceinpaint_core.config import resolve
from faceinpaint_core.data.parsing import regions_onehot
from faceinpaint_core.nets.blocks.region_norm import (AdaptiveStyleFusion, RegionInpaintModule, RegionNormBlock,
                                                      holed_regions, region_avg_pool, style_matrix)
from faceinpaint_core.nets.facestyle import FaceStyleGenerator, StyleExtractNet
from faceinpaint_core.nets.parser import FaceParser

torch.set_num_threads(1)
NARROW = dict(widths=(8, 8, 16, 16, 16), style_widths=(8, 8, 16, 16), style_dim=16)


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def toy_parsing(n: int, size: int) -> torch.Tensor:
    """Horizontal bands of regions 0..8 (every region present), ``(n, size, size)`` long."""
    rows = (torch.arange(size) * 9 // size).clamp(max=8)
    return rows.view(1, size, 1).expand(n, size, size).clone()


def toy_batch(n: int = 2, size: int = 32, seed: int = 0) -> dict:
    mask = torch.zeros(n, 1, size, size)
    mask[:, :, size // 4: size // 2, size // 4: size // 2] = 1
    return {"image": torch.rand(n, 3, size, size, generator=gen(seed)), "mask": mask,
            "parsing": toy_parsing(n, size)}


# -- blocks -----------------------------------------------------------------------------------
@pytest.mark.parametrize("size", [64, 128, 256])
def test_shapes_through_every_block(size):
    b = toy_batch(1, size)
    regions = regions_onehot(b["parsing"])
    fs = StyleExtractNet(3, NARROW["style_widths"], 16)(b["image"])
    assert fs.shape == (1, 16, size // 2, size // 2)
    sm = style_matrix(fs, regions)
    assert sm.shape == (1, 16, 9)
    gamma, beta = AdaptiveStyleFusion(16, 8, 8)(sm)
    assert gamma.shape == beta.shape == (1, 8, 8)
    feat = torch.randn(1, 8, size // 2, size // 2, generator=gen(1))
    active = holed_regions(regions, b["mask"])
    assert RegionNormBlock()(feat, regions, active, gamma, beta).shape == feat.shape
    assert RegionInpaintModule(8)(feat, regions, active, gamma, beta).shape == feat.shape
    out = FaceStyleGenerator(**NARROW)(b["image"], b["mask"], regions)
    assert out.shape == (1, 3, size, size) and out.abs().max() <= 1


def test_region_avg_pool_is_masked_mean():
    feat = torch.arange(16.0).view(1, 1, 4, 4)
    regions = torch.zeros(1, 2, 4, 4)
    regions[0, 0, :2] = 1  # rows 0-1: values 0..7 -> mean 3.5; region 1 empty -> 0
    pooled = region_avg_pool(feat, regions)
    assert torch.allclose(pooled, torch.tensor([[[3.5, 0.0]]]), atol=1e-4)


def test_region_norm_touches_only_holed_regions():
    size = 16
    parsing = toy_parsing(1, size)
    regions = regions_onehot(parsing)
    mask = torch.zeros(1, 1, size, size)
    mask[..., parsing[0] == 3] = 1  # hole only inside region 3 (eyes)
    active = holed_regions(regions, mask)
    assert active.tolist() == [[k == 2 for k in range(8)]]
    x = torch.randn(1, 4, size, size, generator=gen(2))
    gamma, beta = torch.randn(1, 8, 4, generator=gen(3)), torch.randn(1, 8, 4, generator=gen(4))
    out = RegionNormBlock()(x, regions, active, gamma, beta)
    x_in = F.instance_norm(x, eps=1e-5)
    holed = (parsing[0] == 3)
    # hole-free regions and background: just the instance-normalised features, eq. (14) second branch
    assert torch.allclose(out[..., ~holed], x_in[..., ~holed], atol=1e-6)
    # the holed region: (1 + γ_3)·x̂ + β_3, eq. (14) first branch
    expect = x_in * (1 + gamma[0, 2].view(1, 4, 1, 1)) + beta[0, 2].view(1, 4, 1, 1)
    assert torch.allclose(out[..., holed], expect[..., holed], atol=1e-5)


def test_region_norm_without_holes_is_instance_norm():
    regions = regions_onehot(toy_parsing(2, 8))
    x = torch.randn(2, 3, 8, 8, generator=gen(5))
    active = holed_regions(regions, torch.zeros(2, 1, 8, 8))
    out = RegionNormBlock()(x, regions, active, torch.ones(2, 8, 3), torch.ones(2, 8, 3))
    assert not active.any() and torch.allclose(out, F.instance_norm(x, eps=1e-5), atol=1e-6)


def test_alpha_zero_weights_local_and_global_equally():
    fusion = AdaptiveStyleFusion(style_dim=6, channels=5, n_regions=8)
    assert torch.equal(fusion.alpha_gamma, torch.zeros(8)) and torch.equal(fusion.alpha_beta, torch.zeros(8))
    sm = torch.randn(2, 6, 9, generator=gen(6))
    gamma, beta = fusion(sm)
    local, glob = sm[:, :, :8], sm[:, :, 8:].expand(-1, -1, 8)
    for out, lin in ((gamma, fusion.lin_gamma), (beta, fusion.lin_beta)):
        assert torch.allclose(out, 0.5 * lin(local) + 0.5 * lin(glob), atol=1e-6)
    with torch.no_grad():
        fusion.alpha_gamma.fill_(50.0)  # σ(α) → 1: the local style alone
    assert torch.allclose(fusion(sm)[0], fusion.lin_gamma(local), atol=1e-5)


def test_generator_rejects_bad_sizes():
    g = FaceStyleGenerator(**NARROW)
    with pytest.raises(ValueError, match="divisible by 32"):
        g(torch.rand(1, 3, 48, 48), torch.zeros(1, 1, 48, 48), torch.zeros(1, 8, 48, 48))


# -- parser -----------------------------------------------------------------------------------
def test_parser_shapes_and_predict():
    p = FaceParser(widths=(8, 16, 16))
    img, mask = torch.rand(2, 3, 32, 32, generator=gen(7)), torch.zeros(2, 1, 32, 32)
    assert p(img, mask).shape == (2, 9, 32, 32)
    labels = p.eval().predict(img)
    assert labels.shape == (2, 32, 32) and labels.dtype == torch.long and int(labels.max()) <= 8


def test_miou_toy_case():
    from faceinpaint_core.methods.parser import miou

    gt = torch.tensor([[[0, 0, 1, 1]]])
    pred = torch.tensor([[[0, 1, 1, 1]]])
    mean, per = miou(pred, gt, n_classes=3)
    # class 0: tp 1, union 2 -> 0.5; class 1: tp 2, union 3 -> 2/3; class 2 absent -> NaN, not averaged
    assert per[0] == pytest.approx(0.5) and per[1] == pytest.approx(2 / 3) and torch.isnan(per[2])
    assert mean == pytest.approx((0.5 + 2 / 3) / 2)
    assert miou(gt, gt, 3)[0] == pytest.approx(1.0)


# -- methods ----------------------------------------------------------------------------------
def tiny_method(name: str, **sets):
    from faceinpaint_core.methods import get_method_class

    cls = get_method_class(name)
    return cls(resolve(cls.config_cls, cls.PROFILES, "tiny", sets))


def train_step(method, nets, batch):
    """One generator and one discriminator update by hand (the trainer's order), returning the loss terms."""
    opt_g = torch.optim.Adam(nets["G"].parameters(), lr=1e-3)
    out = method.forward(nets, batch)
    assert out["pred"].shape == batch["image"].shape and 0 <= out["pred"].min() and out["pred"].max() <= 1
    d_terms = {}
    if "D" in nets:
        opt_d = torch.optim.Adam(nets["D"].parameters(), lr=1e-3)
        d_total, d_terms = method.discriminator_loss(nets, batch, {k: v.detach() for k, v in out.items()})
        opt_d.zero_grad()
        d_total.backward()
        opt_d.step()
    g_total, g_terms = method.generator_loss(nets, batch, out)
    opt_g.zero_grad()
    g_total.backward()
    assert all(p.grad is not None for p in nets["G"].parameters() if p.requires_grad)
    opt_g.step()
    assert torch.isfinite(g_total)
    return {**g_terms, **d_terms}


@pytest.mark.parametrize("parsing", ["gt", "predicted"])
def test_facestyle_training_step(parsing):
    method = tiny_method("facestyle", parsing=parsing)
    nets = method.build_networks()
    batch = toy_batch(2, 32)
    if parsing == "predicted":
        method.set_parser(FaceParser(widths=(8, 16)))  # random-init parser: shapes and plumbing only
        batch.pop("parsing")  # the predicted mode must not need labels
    terms = train_step(method, nets, batch)
    assert {"rec", "perc", "style", "adv", "d_adv"} <= set(terms)
    cols = method.sample_images(batch, method.forward(nets, batch))
    assert {"input", "output", "parsing"} <= set(cols) and cols["parsing"].shape == batch["image"].shape


def test_facestyle_without_labels_or_parser_says_what_to_do():
    method = tiny_method("facestyle")
    batch = toy_batch(1, 32)
    batch.pop("parsing")
    with pytest.raises(ValueError, match="parser_checkpoint"):
        method.forward(method.build_networks(), batch)
    with pytest.raises(ValueError, match="unknown parsing mode"):
        tiny_method("facestyle", parsing="oracle")


def test_parser_training_step():
    method = tiny_method("parser")
    nets = method.build_networks()
    batch = toy_batch(2, 32)
    terms = train_step(method, nets, batch)
    assert set(terms) == {"ce", "pixel_acc"} and terms["ce"] > 0
    out = method.forward(nets, batch)
    assert out["logits"].shape == (2, 9, 32, 32) and out["pred"].shape == (2, 3, 32, 32)


# -- inpaint CLI function ---------------------------------------------------------------------
def write_png(path, arr):
    Image.fromarray(arr).save(path)
    return path


@pytest.fixture
def user_photo(tmp_path):
    """A 50×40 RGB photo and a white-hole mask, odd sizes to exercise the resize/paste-back."""
    rng = np.random.default_rng(0)
    img = write_png(tmp_path / "x.png", rng.integers(0, 256, (40, 50, 3), dtype=np.uint8))
    m = np.zeros((40, 50), np.uint8)
    m[10:20, 15:30] = 255
    return img, write_png(tmp_path / "m.png", m), m > 0


@pytest.mark.parametrize("polarity", ["white-hole", "black-hole"])
def test_inpaint_main_pastes_hole_at_input_resolution(tmp_path, user_photo, polarity):
    from faceinpaint_core.inpaint import inpaint_main

    img, mask, hole = user_photo
    if polarity == "black-hole":
        mask = write_png(tmp_path / "mb.png", np.where(hole, 0, 255).astype(np.uint8))
    out = inpaint_main("telea", img, mask, tmp_path / "y.png", size=32, mask_polarity=polarity)
    src, res = np.asarray(Image.open(img)), np.asarray(Image.open(out))
    assert res.shape == src.shape
    assert np.array_equal(res[~hole], src[~hole]) and not np.array_equal(res[hole], src[hole])


def test_inpaint_main_clear_errors(tmp_path, user_photo):
    from faceinpaint_core.inpaint import inpaint_main

    img, mask, _ = user_photo
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"not a png")
    with pytest.raises(ValueError, match="broken.png"):
        inpaint_main("telea", bad, mask, tmp_path / "y.png")
    small = write_png(tmp_path / "small.png", np.zeros((8, 8), np.uint8))
    with pytest.raises(ValueError, match="small.png.*must match"):
        inpaint_main("telea", img, small, tmp_path / "y.png")
    with pytest.raises(ValueError, match="--checkpoint"):
        inpaint_main("facestyle", img, mask, tmp_path / "y.png")
    assert not (tmp_path / "y.png").exists()


def save_random_checkpoint(name: str, path, **sets):
    """A faceinpaint checkpoint of random-init networks (the engine's format, no training)."""
    from faceinpaint_core.config import to_dict
    from faceinpaint_core.train.checkpoint import save_checkpoint

    method = tiny_method(name, **sets)
    nets = method.build_networks()
    save_checkpoint({"method": name, "config": to_dict(method.cfg), "step": 0,
                     "nets": {k: v.state_dict() for k, v in nets.items()}}, path)
    return path


def test_inpaint_facestyle_on_unlabelled_photo(tmp_path, user_photo):
    """`faceinpaint inpaint --method facestyle` on a photo without labels: the parser supplies the map."""
    from faceinpaint_core.inpaint import inpaint_main

    img, mask, hole = user_photo
    ckpt = save_random_checkpoint("facestyle", tmp_path / "fs.pt")
    parser = save_random_checkpoint("parser", tmp_path / "parser.pt")
    with pytest.raises(ValueError, match="parser_checkpoint"):
        inpaint_main("facestyle", img, mask, tmp_path / "y.png", checkpoint=ckpt)
    with pytest.raises(ValueError, match="holds method 'parser'"):
        inpaint_main("facestyle", img, mask, tmp_path / "y.png", checkpoint=parser)
    out = inpaint_main("facestyle", img, mask, tmp_path / "y.png", checkpoint=ckpt, parser_checkpoint=parser)
    src, res = np.asarray(Image.open(img)), np.asarray(Image.open(out))
    assert res.shape == src.shape and np.array_equal(res[~hole], src[~hole])


def test_evaluate_parser_on_synthetic_faces(tmp_path):
    from faceinpaint_core.data import SyntheticFaces
    from faceinpaint_core.methods.parser import evaluate_parser

    ckpt = save_random_checkpoint("parser", tmp_path / "parser.pt")
    res = evaluate_parser(ckpt, SyntheticFaces(n=3, size=32, seed=0), split="val", batch_size=2)
    assert res["n_images"] == 3 and res["size"] == 32
    for key in ("miou_val_clean", "miou_val_masked"):
        assert 0.0 <= res[key] <= 1.0
    assert "iou_clean_skin" in res and len(res["checkpoint_sha256"]) == 64


# -- the cited recipe (EdgeConnect's release, see methods/facestyle.py) -----------------------------
def test_facestyle_recipe_follows_edgeconnect():
    from faceinpaint_core.methods.facestyle import PROFILES, FaceStyleConfig

    full = resolve(FaceStyleConfig, PROFILES, "full")
    t = full.train
    assert (t.lr_g, t.lr_d, t.betas, t.batch_size, t.lr_schedule) == (1e-4, 1e-5, (0.0, 0.9), 8, "constant")
    assert (full.lambda_rec, full.lambda_perc, full.lambda_style, full.lambda_adv) == (1.0, 0.1, 250.0, 0.1)
    assert (full.rec_normalization, full.rec_range, full.hole_weight, full.valid_weight) == ("hole_area", "[0,1]", 1, 1)
    assert full.vgg_input == "[0,1]" and full.perc_layers[-1] == "relu5_1" and full.style_layers[0] == "relu2_2"
    smoke = resolve(FaceStyleConfig, PROFILES, "smoke").train
    assert smoke.lr_d == pytest.approx(0.1 * smoke.lr_g)  # EdgeConnect's D2G_LR kept in the smoke profile
    with pytest.raises(ValueError, match="style_layers"):
        FaceStyleConfig(style_layers=("relu2_2", "fc7"))


def test_facestyle_rec_term_is_edgeconnects_l1():
    from faceinpaint_core.losses.reconstruction import masked_l1

    method = tiny_method("facestyle")
    nets, batch = method.build_networks(), toy_batch(2, 32)
    with torch.no_grad():
        out = method.forward(nets, batch)
        _, terms = method.generator_loss(nets, batch, out)
    l1_over_hole = (out["pred"] - batch["image"]).abs().mean() / batch["mask"].mean()  # EdgeConnect's gen_l1_loss
    assert terms["rec"].item() == pytest.approx(l1_over_hole.item(), rel=1e-5)
    assert terms["rec"].item() == pytest.approx(masked_l1(out["pred"], batch["image"], batch["mask"], 1.0, 1.0,
                                                          "hole_area", "[0,1]").item())


def test_hole_init_harmonic_gives_the_generator_a_classical_fill_of_the_hole():
    """hole_init=harmonic: the input holds a harmonic fill of the hole (hole pixels of the image never reach the
    network), known pixels unchanged; an unknown value is refused."""
    from faceinpaint_core.nets.blocks.harmonic_fill import harmonic_fill

    b = toy_batch(2, 32)
    net = FaceStyleGenerator(**NARROW, mask_channel=True, hole_init="harmonic").eval()
    x = net._input(b["image"], b["mask"])
    assert torch.allclose(x[:, :3], harmonic_fill(b["image"] * (1 - b["mask"]), b["mask"]) * 2 - 1)
    assert torch.allclose(x[:, :3] * (1 - b["mask"]), (b["image"] * 2 - 1) * (1 - b["mask"]))
    hole = b["mask"].bool().expand_as(b["image"])
    assert x[:, :3][hole].std() > 0.01  # not a constant: the fill varies with the surrounding pixels
    noisy = b["image"] + b["mask"] * torch.rand_like(b["image"])
    regions = regions_onehot(b["parsing"])
    with torch.no_grad():
        assert torch.equal(net(b["image"], b["mask"], regions), net(noisy, b["mask"], regions))
    with pytest.raises(ValueError, match="hole_init"):
        FaceStyleGenerator(**NARROW, hole_init="mean")


def test_residual_output_corrects_the_filled_input():
    """residual=True: a zero correction returns the (biharmonically filled) input; corrections stay in [-1, 1]."""
    b = toy_batch(2, 32)
    regions = regions_onehot(b["parsing"])
    torch.manual_seed(0)
    net = FaceStyleGenerator(**NARROW, mask_channel=True, hole_init="biharmonic", residual=True).eval()
    with torch.no_grad():  # untrained: the correction layer starts at zero, so the network returns its input fill
        out = net(b["image"], b["mask"], regions)
        assert torch.allclose(out, net._input(b["image"], b["mask"])[:, :3].clamp(-1, 1))
        net.to_rgb.bias.fill_(5.0)
        assert net(b["image"], b["mask"], regions).max() <= 1


def test_full_res_head_is_clgns_block_and_starts_at_the_fill():
    """full_res_head: CLGN's FullResHead (one shared block) replaces to_rgb; with residual it starts at the fill."""
    from faceinpaint_core.nets.blocks.full_res_head import FullResHead
    from faceinpaint_core.nets.clgn import FullResHead as ClgnHead

    assert ClgnHead is FullResHead
    b = toy_batch(2, 32)
    regions = regions_onehot(b["parsing"])
    torch.manual_seed(0)
    net = FaceStyleGenerator(**NARROW, mask_channel=True, full_res_skip=True, full_res_head=True,
                             hole_init="biharmonic", residual=True).eval()
    assert isinstance(net.head, FullResHead) and not hasattr(net, "to_rgb")
    with torch.no_grad():
        out = net(b["image"], b["mask"], regions)
        assert torch.allclose(out, net._input(b["image"], b["mask"])[:, :3].clamp(-1, 1))
        net.head.body[-1].bias.fill_(0.3)
        assert not torch.allclose(net(b["image"], b["mask"], regions), out)
    with pytest.raises(ValueError, match="full_res_skip"):
        FaceStyleGenerator(**NARROW, full_res_head=True)
    from faceinpaint_core.methods.facestyle import FaceStyleConfig

    with pytest.raises(ValueError, match="FaceStyleConfig: full_res_head=true needs full_res_skip"):
        FaceStyleConfig(full_res_head=True)
