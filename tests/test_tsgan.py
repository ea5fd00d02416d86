"""TSGAN (source 004): MAM, dual triplet loss, pose estimation and synthetic rotation, landmark occlusions,
identity-disjoint pose pairs, one training run, frontalize_photo. Synthetic data only, except the dlib
rotation check on a real face (skipped, with its reason, when no real face is available)."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch


# -- MAM ----------------------------------------------------------------------------------------------------
def test_mam_keeps_shape_and_the_mask_changes_the_attention():
    from faceinpaint_core.nets.blocks.mam import MaskAttentionModule

    torch.manual_seed(0)
    mam = MaskAttentionModule(16, reduction=4)
    x = torch.randn(2, 16, 8, 8)
    none, hole = torch.zeros(2, 1, 32, 32), torch.zeros(2, 1, 32, 32)
    hole[:, :, 8:20, 4:16] = 1
    assert mam(x, hole).shape == x.shape
    _, a0 = mam.attention(x, none)
    _, a1 = mam.attention(x, hole)
    assert a0.shape == (2, 64, 64) and torch.allclose(a1.sum(-1), torch.ones(2, 64))
    assert (a0 - a1).abs().max() > 1e-3
    # positions far from the hole keep their features (Xm = X there) while hole positions are suppressed
    xm, _ = mam.attention(x, hole)
    xm = xm.view_as(x)
    assert torch.equal(xm[..., 7, 7], x[..., 7, 7]) and xm[..., 3, 2].abs().max() == 0


# -- dual triplet loss ----------------------------------------------------------------------------------------
def test_softplus_triplet_is_zero_when_the_margin_is_met_and_positive_otherwise():
    from faceinpaint_core.losses.triplet import dual_triplet_loss, other_identity, softplus_triplet_loss

    a = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    far = torch.tensor([[-1.0, 0.0], [0.0, -1.0]])
    assert softplus_triplet_loss(a, a, far, margin=0.5) == 0
    assert softplus_triplet_loss(a, far, a, margin=0.5) > 0
    near = torch.tensor([[0.99, 0.14], [0.14, 0.99]])
    assert softplus_triplet_loss(a, a, near, margin=0.5) > 0   # negative closer than the margin
    idx, valid = other_identity(torch.tensor([3, 3, 5, 7]))
    assert idx.tolist() == [2, 2, 3, 0] and valid.all()
    _, valid = other_identity(torch.tensor([1, 1]))
    assert not valid.any()
    ident = torch.nn.Flatten()  # identity "recogniser" on 1x1x2 images: embeddings = the pixels
    gen = a.view(2, 2, 1, 1)
    total, terms = dual_triplet_loss(ident, {"d": (gen, gen), "f": (gen, far.view(2, 2, 1, 1))},
                                     torch.tensor([0, 1]), margin=0.1)
    assert terms["d"] == 0 and terms["f"] > 0 and total == terms["f"]


def test_charbonnier_is_robust_l1_like():
    from faceinpaint_core.losses.reconstruction import charbonnier

    x = torch.zeros(1, 3, 4, 4)
    assert charbonnier(x, x, 1e-3) == pytest.approx(1e-3)
    assert charbonnier(x + 0.5, x, 1e-3) == pytest.approx(0.5, rel=1e-5)


# -- pose ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("yaw", [-45.0, -20.0, 0.0, 15.0, 30.0, 45.0])
def test_yaw_of_the_projected_template_is_recovered(yaw):
    from faceinpaint_core.data.pose import estimate_pose, project_template

    est = estimate_pose(project_template(yaw, 128, pitch=6.0, roll=-4.0), 128)
    assert est == pytest.approx((yaw, 6.0, -4.0), abs=0.5)


@pytest.mark.parametrize("yaw", [-45.0, -30.0, -15.0, 15.0, 30.0, 45.0])
def test_rotated_landmarks_have_the_target_yaw(yaw):
    from faceinpaint_core.data.pose import estimate_pose, lift_landmarks, project_template, rotate_points

    from faceinpaint_core.data.pose import FOCAL

    pts, iod = lift_landmarks(project_template(0.0, 128))
    moved = rotate_points(pts, yaw, float(pts[27:31, 0].mean()), -0.5 * iod)[:68]
    assert abs(estimate_pose(moved, 128)[0] - yaw) < 10
    # seen by the estimator's own pinhole camera the turn is exact (orthographic falls 1-3 deg short)
    seen = rotate_points(pts, yaw, float(pts[27:31, 0].mean()), -0.5 * iod, FOCAL * 128, (64, 64))[:68]
    assert abs(estimate_pose(seen, 128)[0] - yaw) < 1.0


def test_triangle_warp_draws_the_near_triangle_over_the_far_one_and_culls_flipped_ones():
    from faceinpaint_core.data.pose import triangle_warp_map

    # a 32-px square mesh: centre point c; moving c far right past the right edge's midpoint folds the mesh
    src = np.array([[0, 0], [31, 0], [31, 31], [0, 31], [16, 16], [31, 16.0]])
    dst = src.copy()
    dst[4] = [28, 16]                      # the centre (near, depth 5) moves right, near the right edge
    depth = np.array([0, 0, 0, 0, 5.0, 0])
    mx, my = triangle_warp_map(src, dst, depth, (32, 32))
    # pixels right next to the moved centre read from around the source centre, not from a folded triangle
    assert abs(mx[16, 27] - 16) < 4 and abs(my[16, 27] - 16) < 2
    # every pixel reads from inside the source image (no triangle reaches outside)
    assert mx.min() >= -0.5 and mx.max() <= 31.5 and my.min() >= -0.5 and my.max() <= 31.5
    # moving the centre beyond the right edge flips triangles: those are culled, the others still cover
    dst[4] = [40, 16]
    mx2, _ = triangle_warp_map(src, dst, depth, (32, 32))
    assert np.isfinite(mx2).all() and (mx2 != mx).any()


def test_rotate_face_is_depth_ordered_on_a_drawn_face():
    """The synthetic drawing's landmarks turned to 45 deg: the warped image keeps the nose-tip pixel's colour at
    the moved nose tip (the nearest triangles are drawn last, so nothing covers the nose)."""
    from faceinpaint_core.data.pose import project_template, rotate_face

    lm = project_template(0.0, 64, scale=0.3)
    img = np.full((64, 64, 3), 200, np.uint8)
    tip = np.round(lm[30]).astype(int)
    cv2 = pytest.importorskip("cv2")
    cv2.circle(img, tuple(int(v) for v in tip), 2, (255, 0, 0), -1)
    for yaw in (-45.0, 45.0):
        out, moved = rotate_face(img, lm, yaw)
        x, y = np.round(moved[30]).astype(int)
        assert abs(moved[30, 0] - lm[30, 0]) > 3            # the nose moved sideways
        assert tuple(out[y, x]) == (255, 0, 0)               # and its pixel moved with it, uncovered


def _real_face():
    root = os.environ.get("FACEINPAINT_DATA", "")
    folder = Path(root) / "celeba-aligned-10k"
    if not root or not folder.is_dir():
        pytest.skip("needs a real face: FACEINPAINT_DATA with celeba-aligned-10k is not available "
                    "(dlib finds no landmarks on the synthetic drawings)")
    pytest.importorskip("dlib")
    return folder


@pytest.mark.parametrize("target", [-15.0, 15.0])
def test_synthetic_rotation_of_a_real_face_reaches_its_yaw(target):
    from faceinpaint_core.data.datasets import open_dataset
    from faceinpaint_core.data.face_alignment import DlibFaceFinder
    from faceinpaint_core.data.pose import check_rotation, estimate_pose
    from faceinpaint_core.data.pose_faces import to_uint8

    folder = _real_face()
    ds = open_dataset(str(folder), size=128, split="all", seed=0)
    finder = DlibFaceFinder()
    for i in range(20):
        img = to_uint8(ds[i]["image"])
        faces = finder.find(img)
        if faces and abs(estimate_pose(faces[0].landmarks, 128)[0]) <= 5:
            break
    else:
        pytest.skip("no frontal face among the first 20 real faces")
    r = check_rotation(finder, img, faces[0].landmarks, target)
    assert r["found"] and abs(r["achieved"] - (r["source_yaw"] + target)) < 10


def test_multipie_and_lfw_layouts_are_read(tmp_path):
    from faceinpaint_core.data.pose import lfw_table, multipie_table

    for name in ("001_01_01_051_07.png", "001_01_01_080_07.png", "002_02_01_190_00.png", "notes.txt"):
        (tmp_path / "mp" / "s").mkdir(parents=True, exist_ok=True)
        (tmp_path / "mp" / "s" / name).write_bytes(b"x")
    table, yaw = multipie_table(tmp_path / "mp")
    assert table == {"s/001_01_01_051_07.png": "001", "s/001_01_01_080_07.png": "001", "s/002_02_01_190_00.png": "002"}
    assert yaw["s/001_01_01_080_07.png"] == -45 and yaw["s/002_02_01_190_00.png"] == 45
    (tmp_path / "lfw" / "Ann_Lee").mkdir(parents=True)
    (tmp_path / "lfw" / "Ann_Lee" / "Ann_Lee_0001.jpg").write_bytes(b"x")
    assert lfw_table(tmp_path / "lfw") == {"Ann_Lee/Ann_Lee_0001.jpg": "Ann_Lee"}
    with pytest.raises(ValueError, match="no Multi-PIE image"):
        multipie_table(tmp_path / "lfw")


def test_real_pose_pairs_pair_profiles_with_a_frontal_face_of_the_same_person():
    from faceinpaint_core.data.pose import PoseRecord, pose_summary, real_pose_pairs, synthetic_pose_pairs

    yaws = (("a1", 2.0), ("a2", -25.0), ("a3", 10.0), ("b1", 40.0), ("b2", 12.0))
    recs = {f: PoseRecord(f, True, y) for f, y in yaws}
    table = {"a1": "A", "a2": "A", "a3": "A", "b1": "B", "b2": "B"}
    pairs = real_pose_pairs(table, recs)
    assert [(p["profile"], p["frontal"]) for p in pairs] == [("a2", "a1")]  # b has no face with |yaw| <= 8
    syn = synthetic_pose_pairs(table, recs)
    assert [p["profile"] for p in syn] == ["a1"] and abs(syn[0]["rotate"]) in (15, 30)
    s = pose_summary(recs, pairs + syn)
    assert s["n_real_pairs"] == 1 and s["n_synthetic_pairs"] == 1 and sum(s["yaw_histogram"].values()) == 5


# -- occlusions ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["eyes", "left_eye", "right_eye", "nose", "mouth"])
def test_occlusion_lands_on_the_landmarks_it_names(kind):
    from faceinpaint_core.data.occlusion import LANDMARK_REGIONS, occlusion_for
    from faceinpaint_core.data.pose import project_template

    lm = project_template(0.0, 64)
    m = occlusion_for(kind, lm, 64, seed=0, index=0)
    inside = lambda idx: [m[int(round(lm[k, 1])), int(round(lm[k, 0]))] for k in idx]  # noqa: E731
    assert all(inside(LANDMARK_REGIONS[kind]))
    other = {"left_eye": range(42, 48), "right_eye": range(36, 42), "mouth": range(36, 48), "eyes": range(48, 68),
             "nose": [8]}[kind]
    assert not any(inside(other))


def test_block_occlusion_covers_a_face_landmark_and_sets_are_frozen(tmp_path):
    from faceinpaint_core.data.occlusion import build_occlusion_set, load_occlusion_set, occlusion_for
    from faceinpaint_core.data.pose import project_template

    lm = project_template(10.0, 64)
    m = occlusion_for("block", lm, 64, seed=0, index=3)
    assert any(m[int(round(y)), int(round(x))] for x, y in lm[17:])
    assert np.array_equal(m, occlusion_for("block", lm, 64, seed=0, index=3))
    lms = {"a.png": lm, "b.png": project_template(-20.0, 64)}
    man = build_occlusion_set(lms, ("eyes", "block", "irregular"), 64, 0, tmp_path / "occ")
    masks, man2 = load_occlusion_set(tmp_path / "occ")
    assert man2["sha256"] == man["sha256"] and masks["eyes"]["a.png"].shape == (64, 64)
    assert build_occlusion_set(lms, ("eyes", "block", "irregular"), 64, 0, tmp_path / "occ")["sha256"] == man["sha256"]
    with pytest.raises(ValueError, match="another set"):
        build_occlusion_set(lms, ("eyes", "block", "irregular"), 64, 1, tmp_path / "occ")


def test_pose_pairs_are_identity_disjoint():
    from faceinpaint_core.data.pose_faces import open_pose_pairs

    train = open_pose_pairs("synthetic", 32, "train", seed=0, held_out_fraction=0.5, limit=16)
    test = open_pose_pairs("synthetic", 32, "test", seed=0, held_out_fraction=0.5, limit=16)
    assert train.identities and test.identities and not set(train.identities) & set(test.identities)
    item = train[0]
    assert item["image"].shape == item["frontal"].shape == (3, 32, 32) and item["occlusion"].shape == (1, 32, 32)
    assert item["kind"] in train.kinds and train.split_hash == test.split_hash


# -- method -------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tsgan_run(tmp_path_factory):
    from faceinpaint_core.train.trainer import train_main

    with pytest.warns(UserWarning, match="RANDOM-INIT"):
        return train_main("tsgan", "tiny", out=str(tmp_path_factory.mktemp("runs")), sets={"train.steps": 1,
                                                                                           "train.ckpt_every": 1})


def test_a_seed_sweep_trains_on_the_same_identities():
    """TSGAN's identity split, synthetic turns and occlusions follow train.split_seed, not train.seed."""
    from faceinpaint_core.config import resolve
    from faceinpaint_core.methods.tsgan import TSGANMethod

    def identities(**sets):
        cfg = resolve(TSGANMethod.config_cls, TSGANMethod.PROFILES, "tiny", sets)
        return set(TSGANMethod.training_faces(cfg)[0].identities)

    base = identities()
    assert identities(**{"train.seed": 3}) == base != identities(**{"train.split_seed": 3})


def test_one_training_step_logs_every_term(tsgan_run):
    import pandas as pd

    log = pd.read_csv(tsgan_run / "log.csv")
    for term in ("G/pixel", "G/triplet", "G/ip", "G/adv", "G/tv", "D/total"):
        assert term in log.columns and np.isfinite(log[term]).all(), term
    assert (tsgan_run / "checkpoints" / "final.pt").is_file()


def test_checkpoint_round_trip_restores_both_generators_and_the_config(tsgan_run, tmp_path):
    from faceinpaint_core.config import to_dict
    from faceinpaint_core.train.checkpoint import load_checkpoint, load_for_inference, save_checkpoint

    path = tsgan_run / "checkpoints" / "final.pt"
    ckpt = load_checkpoint(path)
    assert ckpt["method"] == "tsgan" and {"G_d", "G_f", "D_d", "D_f"} <= set(ckpt["nets"])
    method, nets = load_for_inference(path)
    assert set(nets) == {"G_d", "G_f"} and to_dict(method.cfg) == ckpt["config"]
    states = {**ckpt["nets"], **ckpt.get("ema", {})}
    for name, net in nets.items():
        for key, val in net.state_dict().items():
            assert torch.equal(val, states[name][key]), (name, key)
    # written again and read back: the same frontal output, bit for bit
    again = save_checkpoint(ckpt, tmp_path / "copy.pt")
    method2, nets2 = load_for_inference(again)
    img, mask = torch.rand(2, 3, 32, 32), torch.zeros(2, 1, 32, 32)
    mask[..., 10:22, 6:26] = 1
    a, b = method.frontalize(nets, img, mask), method2.frontalize(nets2, img, mask)
    assert torch.equal(a["pred"], b["pred"]) and torch.equal(a["deoccluded"], b["deoccluded"])
    # the weights are the trained ones, not a fresh initialisation
    fresh = method.build_inference_networks()["G_f"].state_dict()
    assert any(not torch.equal(fresh[k], v) for k, v in nets["G_f"].state_dict().items() if v.is_floating_point())


def test_ablation_flags_change_one_implementation():
    from faceinpaint_core.config import resolve
    from faceinpaint_core.methods import get_method_class

    cls = get_method_class("tsgan")
    assert cls.task == "frontalize" and cls.evaluated_by_protocol is False and cls.label == "TSGAN"
    assert {"no-ip", "no-mam", "no-triplet", "no-adv", "no-tv", "full"} <= set(cls.ABLATIONS)
    full = cls(resolve(cls.config_cls, cls.PROFILES, "tiny", None))
    nomam = cls(resolve(cls.config_cls, cls.PROFILES, "tiny", cls.ABLATIONS["no-mam"][1]))
    noadv = cls(resolve(cls.config_cls, cls.PROFILES, "tiny", cls.ABLATIONS["no-adv"][1]))
    assert len(full.build_networks()["G_d"].mam) > 0 and len(nomam.build_networks()["G_d"].mam) == 0
    assert "D_d" not in noadv.build_networks()
    batch = {"image": torch.rand(2, 3, 32, 32), "frontal": torch.rand(2, 3, 32, 32),
             "occlusion": torch.zeros(2, 1, 32, 32), "label": torch.tensor([0, 1])}
    nets = noadv.build_networks()
    _, terms = noadv.generator_loss(nets, batch, noadv.forward(nets, batch))
    assert "adv" not in terms and "pixel" in terms


def test_frontal_pixel_aligned_scores_only_pixel_aligned_pairs_and_resize_upsampling_builds():
    """frontal_pixel="aligned": stage f's pixel term is the mean over the pairs whose frontal is the input's own photo
    (a real pair's other photo changes nothing); upsample=resize builds generators without transposed convolutions."""
    from faceinpaint_core.config import resolve
    from faceinpaint_core.losses.reconstruction import charbonnier
    from faceinpaint_core.methods import get_method_class

    cls = get_method_class("tsgan")
    m = cls(resolve(cls.config_cls, cls.PROFILES, "tiny", {"frontal_pixel": "aligned", "upsample": "resize"}))
    pred, target = torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32)
    other = target.clone()
    other[1] = torch.rand(3, 32, 32)  # the real pair's frontal: another photo
    aligned = {"aligned": torch.tensor([1.0, 0.0])}
    got = m._frontal_pixel(pred, target, aligned)
    assert torch.allclose(got, charbonnier(pred[:1], target[:1], m.cfg.charbonnier_eps))
    assert torch.equal(got, m._frontal_pixel(pred, other, aligned))
    assert float(m._frontal_pixel(pred, target, {"aligned": torch.zeros(2)})) == 0.0
    from faceinpaint_core.train.data import to_device  # the trainer's batch keeps the flag

    assert "aligned" in to_device({"image": pred, **aligned}, "cpu", keys=cls.batch_keys)
    g = m.build_networks()["G_f"]
    assert not any(isinstance(x, torch.nn.ConvTranspose2d) for x in g.modules())
    assert g(torch.rand(1, 3, 32, 32), torch.zeros(1, 1, 32, 32)).shape == (1, 3, 32, 32)
    with pytest.raises(ValueError, match="frontal_pixel"):
        resolve(cls.config_cls, cls.PROFILES, "tiny", {"frontal_pixel": "some"})


def test_frontal_residual_starts_g_f_at_the_identity_map_and_leaves_g_d_alone():
    """frontal_residual: the untrained G_f returns the de-occluded face it is given (the full pipeline starts at
    condition (c)); a non-zero correction moves it, the output stays in [0, 1]; G_d keeps its sigmoid head."""
    from faceinpaint_core.config import resolve
    from faceinpaint_core.methods import get_method_class

    cls = get_method_class("tsgan")
    m = cls(resolve(cls.config_cls, cls.PROFILES, "tiny", {"frontal_residual": True}))
    nets = m.build_networks()
    x, mask = torch.rand(2, 3, 32, 32), torch.zeros(2, 1, 32, 32)
    mask[..., 8:16, 8:20] = 1
    assert torch.equal(nets["G_f"].eval()(x, mask), x)
    assert not nets["G_d"].residual and isinstance(nets["G_d"].out[-1], torch.nn.Sigmoid)
    out = m.run({k: v.eval() for k, v in nets.items()}, x, mask)
    assert torch.equal(out["pred"], out["deoccluded"])
    with torch.no_grad():
        nets["G_f"].out.bias.fill_(5.0)
    moved = nets["G_f"](x, mask)
    assert not torch.equal(moved, x) and moved.min() >= 0 and moved.max() <= 1
    plain = cls(resolve(cls.config_cls, cls.PROFILES, "tiny", None)).build_networks()["G_f"].eval()
    assert not torch.equal(plain(x, mask), x)


def test_a_frontal_residual_checkpoint_loads_with_its_head(tmp_path):
    """A trained frontal_residual run reloads into a residual G_f (the config travels with the checkpoint) with the
    trained, non-zero correction head, and its frontal output is reproduced bit for bit."""
    from faceinpaint_core.train.checkpoint import load_checkpoint, load_for_inference
    from faceinpaint_core.train.trainer import train_main

    with pytest.warns(UserWarning, match="RANDOM-INIT"):
        run = train_main("tsgan", "tiny", out=str(tmp_path), sets={"train.steps": 2, "frontal_residual": True})
    ckpt = load_checkpoint(run / "checkpoints" / "final.pt")
    assert ckpt["config"]["frontal_residual"] is True and "out.weight" in ckpt["nets"]["G_f"]
    method, nets = load_for_inference(run / "checkpoints" / "final.pt")
    assert nets["G_f"].residual and not nets["G_d"].residual
    assert float(nets["G_f"].out.weight.abs().sum()) > 0  # trained away from the zero initialisation
    img, mask = torch.rand(1, 3, 32, 32), torch.zeros(1, 1, 32, 32)
    mask[..., 8:20, 8:24] = 1
    _, nets2 = load_for_inference(run / "checkpoints" / "final.pt")
    assert torch.equal(method.frontalize(nets, img, mask)["pred"], method.frontalize(nets2, img, mask)["pred"])


def test_stage_one_never_reads_the_hole(tsgan_run):
    from faceinpaint_core.train.checkpoint import load_for_inference

    method, nets = load_for_inference(tsgan_run / "checkpoints" / "final.pt")
    img, mask = torch.rand(1, 3, 32, 32), torch.zeros(1, 1, 32, 32)
    mask[..., 8:20, 8:20] = 1
    other = img.clone()
    other[..., 8:20, 8:20] = torch.rand(1, 3, 12, 12)
    a, b = method.frontalize(nets, img, mask), method.frontalize(nets, other, mask)
    assert torch.equal(a["pred"], b["pred"]) and torch.equal(a["deoccluded"][..., :4, :], img[..., :4, :])


def test_frontalize_photo_without_a_face_returns_it_unchanged():
    pytest.importorskip("dlib")
    from faceinpaint_core.frontalize import frontalize_photo

    photo = np.full((80, 96, 3), 127, np.uint8)
    photo[10:30, 20:50] = 200
    out, info = frontalize_photo(photo)
    assert np.array_equal(out, photo) and out is not photo and info["faces"] == 0 and "no face" in info["message"]
    with pytest.raises(ValueError, match="does not match"):
        frontalize_photo(photo, mask=np.zeros((10, 10)))


def test_frontalize_cli_bad_file_is_one_line(tmp_path, capsys):
    from faceinpaint_core.cli import main

    bad = tmp_path / "bad.jpg"
    bad.write_text("not an image")
    assert main(["frontalize", "--image", str(bad), "--out", str(tmp_path / "o.png")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "not a readable image" in err


# -- study ---------------------------------------------------------------------------------------------------
def test_study_picks_inpainters_and_the_recogniser_by_contract():
    from faceinpaint_core.study.profiles import STUDY_METHODS
    from faceinpaint_core.study.tsgan_study import study_inpainters, study_recogniser
    from faceinpaint_core.study.workflow import ablations, checkpoint_inputs

    recs = {m: {"checkpoint": f"runs/{m}.pt"} for m in ("identity", "tsgan", "parser", "clgn", "lgnet")}
    assert study_inpainters(recs, STUDY_METHODS) == ["clgn", "lgnet"]
    assert study_recogniser(recs, STUDY_METHODS) == "runs/identity.pt"
    inputs = checkpoint_inputs("tsgan")
    assert "results/checkpoints/identity.json" in inputs
    # condition (e) reads the study's first inpainter only: editing another inpainter does not rerun TSGAN
    assert "results/checkpoints/clgn.json" in inputs and "results/checkpoints/lgnet.json" not in inputs
    # every source-004 ablation is a workflow job of its own, scored by verification
    from faceinpaint_core.methods.tsgan import ABLATIONS

    assert {v for m, v in ablations("smoke") if m == "tsgan"} == set(ABLATIONS)


def test_scoring_jobs_read_the_checkpoints_a_method_infers_with():
    """facestyle's identity_eval job reads the study parser's record (its contract's infers_with_tasks), others none."""
    from faceinpaint_core.study.workflow import inference_inputs

    assert inference_inputs("facestyle") == ["results/checkpoints/parser.json"]
    assert inference_inputs("clgn") == []


def test_verification_table_on_synthetic_pose_pairs(tsgan_run):
    from faceinpaint_core.data.pose_faces import open_pose_pairs
    from faceinpaint_core.eval.embedders import NetworkEmbedder
    from faceinpaint_core.nets.identity import IdentityResNet
    from faceinpaint_core.study.tsgan_study import galleries, probe_pairs, summary_table, verification_table
    from faceinpaint_core.train.checkpoint import load_for_inference

    method, nets = load_for_inference(tsgan_run / "checkpoints" / "final.pt")
    faces = open_pose_pairs("synthetic", 32, "test", seed=0, held_out_fraction=0.5, limit=24)
    gal = galleries(faces)
    assert gal and all(g not in (faces.pairs[i]["profile"], faces.pairs[i]["frontal"]) for i, g in gal.items())
    pairs = probe_pairs(faces, gal, n_folds=3)
    assert (pairs.groupby("pair")["same"].sum() == 1).all()
    assert all(faces.pairs[r.pair]["identity"] != r.identity for r in pairs[pairs.same == 0].itertuples())
    torch.manual_seed(0)
    emb = {"net": NetworkEmbedder(IdentityResNet(32, (8, 16), (1, 1), 16), "net")}
    images = {f: faces.load(f) for f in set(pairs["gallery"])}
    table = verification_table(method, nets, faces, pairs, images, emb, ("eyes",),
                               inpainter=lambda x, m: torch.zeros_like(x))
    assert set(table["condition"].str[:3]) == {"(a)", "(b)", "(c)", "(d)", "(e)", "(f)"}
    assert table["auc"].between(0, 1).all() and (table["n_pairs"] > 0).all()
    assert summary_table(table).shape[0] == 6


def test_verification_probes_sets_how_many_test_pairs_are_scored():
    """``verification_probes`` (TSGAN's config) overrides the study's n_eval // 2 probes; 0 keeps it; more than
    exist scores them all; a negative count is refused."""
    from faceinpaint_core.config import resolve
    from faceinpaint_core.data.pose_faces import open_pose_pairs
    from faceinpaint_core.methods.tsgan import TSGANMethod
    from faceinpaint_core.study.tsgan_study import galleries, verification_setup

    faces = open_pose_pairs("synthetic", 32, "test", seed=0, held_out_fraction=0.5, limit=24)
    available = len(galleries(faces))
    assert available > 5
    idx, pairs, images = verification_setup(faces, 8, 0)
    assert len(idx) == 4 and pairs["same"].sum() == 4 and set(pairs["gallery"]) == set(images)
    idx5, pairs5, _ = verification_setup(faces, 8, 0, probes=5)
    assert idx5[:4] == idx and len(idx5) == 5 and pairs5["same"].sum() == 5
    assert len(verification_setup(faces, 8, 0, probes=10 * available)[0]) == available
    assert resolve(TSGANMethod.config_cls, TSGANMethod.PROFILES, "cpu", {}).verification_probes >= 200
    with pytest.raises(ValueError, match="verification_probes"):
        resolve(TSGANMethod.config_cls, TSGANMethod.PROFILES, "tiny", {"verification_probes": -1})


def test_versus_input_pairs_each_condition_with_the_occluded_input():
    """acc_diff is exactly the difference of the two 10-fold ACCs; a condition that separates the pairs beats a
    random input, the input against itself ties at 0, and a condition worse than the input is said so."""
    import pandas as pd

    from faceinpaint_core.metrics.verification import verification_metrics
    from faceinpaint_core.study.tsgan_study import versus_input

    g = np.random.default_rng(0)
    n = 120  # probes: one same + one different pair each, 40 identities, 10 identity-disjoint folds
    ident = np.repeat(np.arange(40), 3)
    pairs = pd.DataFrame({"pair": np.repeat(np.arange(n), 2), "same": np.tile([1, 0], n),
                          "gallery": [f"g{k}" for k in range(2 * n)],
                          "identity": np.where(np.tile([1, 0], n) == 1, np.repeat(ident, 2), -1),
                          "fold": np.repeat(ident % 10, 2)})
    same = pairs["same"].to_numpy()
    noisy = g.normal(size=2 * n) + 1.2 * same       # the input: partly separable
    clean = g.normal(size=2 * n) * 0.2 + 2.0 * same  # a restoration that separates the pairs
    frames = [pairs.assign(embedder="e", occlusion="eyes", cond=c, condition=f"({c}) x", score=s)
              for c, s in (("b", noisy), ("f", clean), ("c", noisy.copy()), ("d", g.normal(size=2 * n)))]
    table = versus_input(pd.concat(frames, ignore_index=True), resamples=500)
    v = table.set_index("condition")
    assert list(v.index) == ["(c) x", "(d) x", "(f) x"]
    acc = {c: verification_metrics(s, same, pairs["fold"])["acc_mean"] for c, s in (("b", noisy), ("f", clean))}
    assert abs(v.loc["(f) x", "acc_diff"] - (acc["f"] - acc["b"])) < 1e-12
    assert v.loc["(f) x", "verdict"] == "better" and v.loc["(f) x", "ci_low"] > 0
    assert v.loc["(c) x", "acc_diff"] == 0 and v.loc["(c) x", "verdict"] == "tie"
    assert v.loc["(c) x", "only_condition_right"] == v.loc["(c) x", "only_input_right"] == 0
    assert v.loc["(d) x", "verdict"] == "worse" and v.loc["(d) x", "ci_high"] < 0
    assert (v["n_pairs"] == 2 * n).all() and (v["n_identities"] == 40).all()


def test_cells_with_one_fold_are_reported_not_scored():
    import pandas as pd

    from faceinpaint_core.study.tsgan_study import _cells

    sc = pd.DataFrame({"same": [1, 0, 1, 0], "fold": [0, 0, 0, 0], "score": [0.9, 0.1, 0.8, 0.2],
                       "yaw_bin": ["15-30"] * 4, "source": ["real"] * 4})
    rows = _cells(sc, {"embedder": "x"})
    assert rows and all(np.isnan(r["acc_mean"]) and "too few" in r["note"] for r in rows)


def test_ablation_summary_of_older_cell_rows_shows_each_variant_with_the_folds_spread():
    """Cell rows (an older study's jobs): one row per embedder x variant, one ACC column per occlusion, and the
    largest fold std among the row's cells; no paired columns without per-pair scores."""
    import pandas as pd

    from faceinpaint_core.study.tsgan_study import ablation_summary

    rows = pd.DataFrame([
        {"embedder": "dlib", "variant": v, "occlusion": occ, "acc_mean": acc, "acc_std": std}
        for v, occ, acc, std in (("w/o MAM", "eyes", 0.7, 0.05), ("w/o MAM", "mouth", 0.8, 0.11),
                                 ("full", "eyes", 0.75, 0.08), ("full", "mouth", 0.9, 0.02))])
    table = ablation_summary(rows)
    assert list(table["variant"]) == ["w/o MAM", "full"]
    assert list(table["max fold std"]) == [0.11, 0.08]
    assert table.set_index("variant").loc["full", "mouth"] == 0.9
    assert not [c for c in table.columns if "CI" in str(c)]
    assert ablation_summary(rows.iloc[:0]).empty


def test_ablation_summary_pairs_each_variant_with_the_full_model():
    """Per-pair rows: each variant's ACC equals the protocol's on its own scores, and its difference to the full
    model is paired on the same pairs: a variant whose scores separate worse is 'worse', an identical one a tie."""
    import pandas as pd

    from faceinpaint_core.metrics.verification import verification_metrics
    from faceinpaint_core.study.tsgan_study import ablation_summary

    gen = np.random.default_rng(0)
    n = 200
    pairs = pd.DataFrame({"pair": np.repeat(np.arange(n), 2), "same": np.tile([1, 0], n),
                          "gallery": [f"g{i}" for i in range(2 * n)], "identity": np.repeat(np.arange(n) % 50, 2),
                          "fold": np.repeat(np.arange(n) % 10, 2), "found": True, "yaw_bin": "15-30",
                          "source": "real"})
    signal = pairs["same"].to_numpy() * 1.0
    scores = {"full": signal + 0.3 * gen.standard_normal(2 * n), "no-mam": signal + 2.0 * gen.standard_normal(2 * n)}
    scores["no-tv"] = scores["full"].copy()
    labels = {"full": "TSGAN (all components)", "no-mam": "w/o MAM", "no-tv": "w/o L_tv"}
    rows = pd.concat([pairs.assign(embedder="dlib", occlusion="eyes", score=s, variant=labels[v], variant_slug=v,
                                   cond="f", condition="(f) full TSGAN") for v, s in scores.items()])
    table = ablation_summary(rows).set_index("variant")
    for v, s in scores.items():
        want = verification_metrics(s, pairs["same"], pairs["fold"])["acc_mean"]
        assert abs(table.loc[labels[v], "eyes"] - round(want, 3)) < 1e-9
    assert table.loc["w/o MAM", "eyes − full [95 % CI]"].endswith("worse")
    same = table.loc["w/o L_tv", "eyes − full [95 % CI]"]
    assert same.startswith("+0.000") and same.endswith("tie")
    assert table.loc["TSGAN (all components)", "eyes − full [95 % CI]"] == ""


def test_tsgan_diagnostic_script_names_a_study_folder_without_tsgan_runs(tmp_path):
    """benchmarks/diagnose_tsgan_verification.py imports what it uses and says which folder lacks the study's runs."""
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "diagnose_tsgan_verification.py"
    spec = importlib.util.spec_from_file_location("diagnose_tsgan_verification", path)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    with pytest.raises(SystemExit, match="no results/checkpoints"):
        script.main([str(tmp_path), str(tmp_path / "out.csv"), "--variant", "x"])
    assert not (tmp_path / "out.csv").exists()
