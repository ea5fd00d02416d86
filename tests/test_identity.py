"""Face identity toolkit: identity labels and split, frozen verification pairs, verification metrics,
dlib embedder (cache, misses), LMD, alignment and paste-back, ArcFace loss and weights, the identity method,
``faceinpaint verify`` and ``inpaint --align``. Synthetic data only (no ../shared)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from faceinpaint_core.data.identities import (find_identity_file, identity_split, open_identity_faces,
                                              read_identity_file)
from faceinpaint_core.data.pairs import build_pairs, load_pairs, make_pairs, read_lfw_pairs, read_pairs_file
from faceinpaint_core.metrics.verification import (acc_10fold, best_threshold, roc_auc, tar_at_far,
                                                   verification_metrics)

sklearn_metrics = pytest.importorskip("sklearn.metrics")


def _table(n_ids: int = 60, seed: int = 1) -> dict[str, str]:
    """A hand-made identity table: identity k has 1..4 images."""
    g = np.random.default_rng(seed)
    return {f"{k:03d}_{j}.jpg": str(k) for k in range(n_ids) for j in range(int(g.integers(1, 5)))}


# -- identity labels and split ---------------------------------------------------------------------------
def test_identity_file_found_beside_images_or_in_anno(tmp_path):
    img = tmp_path / "CelebA" / "Img" / "img_align_celeba"
    img.mkdir(parents=True)
    (tmp_path / "CelebA" / "Anno").mkdir()
    (tmp_path / "CelebA" / "Anno" / "identity_CelebA.txt").write_text("000001.jpg 7\n000002.jpg 7\n000003.jpg 9\n")
    assert find_identity_file(img).parent.name == "Anno"
    assert read_identity_file(find_identity_file(img)) == {"000001.jpg": "7", "000002.jpg": "7", "000003.jpg": "9"}
    (img / "identity_CelebA.txt").write_text("000001.jpg 1 extra\n")
    with pytest.raises(ValueError, match=r"identity_CelebA.txt:1: expected"):
        read_identity_file(find_identity_file(img))
    with pytest.raises(FileNotFoundError, match="tried"):
        find_identity_file(tmp_path)


def test_identity_split_is_disjoint_seeded_and_sized():
    ids = [str(i) for i in range(100)]
    a, b = identity_split(ids, seed=0, held_out_fraction=0.2), identity_split(reversed(ids), seed=0)
    assert a == b and len(a["test"]) == 20 and not set(a["train"]) & set(a["test"])
    assert identity_split(ids, seed=1)["test"] != a["test"]
    with pytest.raises(ValueError, match="held_out_fraction"):
        identity_split(ids, held_out_fraction=1.0)


def test_synthetic_identity_faces_train_part_excludes_held_out_identities():
    train = open_identity_faces("synthetic", 32, "train", seed=0)
    test = open_identity_faces("synthetic", 32, "test", seed=0)
    assert not set(train.identities) & set(test.identities)
    item = train[0]
    assert item["image"].shape == (3, 32, 32) and 0 <= int(item["label"]) < train.n_classes
    assert train.identities[int(item["label"])] == item["identity"]


# -- pairs -------------------------------------------------------------------------------------------------
def test_pairs_folds_are_identity_disjoint_balanced_and_seeded():
    pairs = make_pairs(_table(), n_folds=10, pairs_per_fold=6, seed=0)
    assert len(pairs) == 60
    per_fold = pairs.groupby("fold")["same"].agg(["sum", "count"])
    assert (per_fold["count"] == 6).all() and (per_fold["sum"] == 3).all()
    ids = {f: set(g["identity_a"]) | set(g["identity_b"]) for f, g in pairs.groupby("fold")}
    for f in ids:
        for h in ids:
            assert f == h or not ids[f] & ids[h], f"folds {f} and {h} share identities"
    same = pairs[pairs["same"] == 1]
    assert (same["identity_a"] == same["identity_b"]).all() and (same["file_a"] != same["file_b"]).all()
    diff = pairs[pairs["same"] == 0]
    assert (diff["identity_a"] != diff["identity_b"]).all()
    assert make_pairs(_table(), 10, 6, seed=0).equals(pairs)
    assert not make_pairs(_table(), 10, 6, seed=1).equals(pairs)


def test_pairs_too_many_per_fold_is_a_clear_error():
    with pytest.raises(ValueError, match="same-identity pairs are possible"):
        make_pairs(_table(20), n_folds=10, pairs_per_fold=40)
    with pytest.raises(ValueError, match="even"):
        make_pairs(_table(), pairs_per_fold=5)


def test_frozen_pairs_hash_checked(tmp_path):
    pairs, man = build_pairs(_table(), tmp_path / "p", 10, 6, 0, source="hand")
    again, man2 = load_pairs(tmp_path / "p")
    assert man2["sha256"] == man["sha256"] and again.equals(pairs) and man["n_pairs"] == 60
    assert build_pairs(_table(), tmp_path / "p", 10, 6, 0, source="hand")[1]["sha256"] == man["sha256"]  # reused
    with pytest.raises(ValueError, match="another protocol"):
        build_pairs(_table(), tmp_path / "p", 10, 6, 1, source="hand")
    csv = tmp_path / "p" / "pairs.csv"
    csv.write_text(csv.read_text().replace(",1,", ",0,", 1))
    with pytest.raises(ValueError, match="does not match"):
        load_pairs(tmp_path / "p")


def test_read_lfw_pairs_format(tmp_path):
    path = tmp_path / "pairs.txt"
    path.write_text("2\t1\nAbel_Pacheco\t1\t4\nAkhmed_Zakayev\t1\tAbdullah\t3\n"
                    "Bob\t2\t3\nAnn\t1\tZoe\t12\n")
    pairs = read_lfw_pairs(path)
    assert list(pairs["fold"]) == [0, 0, 1, 1] and list(pairs["same"]) == [1, 0, 1, 0]
    assert pairs.loc[0, "file_a"] == "Abel_Pacheco/Abel_Pacheco_0001.jpg"
    assert pairs.loc[3, "file_b"] == "Zoe/Zoe_0012.jpg"
    assert read_pairs_file(path)[1]["n_pairs"] == 4
    path.write_text("2\t1\nAbel_Pacheco\t1\t4\n")
    with pytest.raises(ValueError, match="header promises"):
        read_lfw_pairs(path)


# -- verification metrics ----------------------------------------------------------------------------------
HAND_SCORES = np.array([0.9, 0.8, 0.7, 0.6, 0.55, 0.5, 0.4, 0.3])
HAND_SAME = np.array([1, 1, 0, 1, 1, 0, 0, 0])


def test_acc_and_auc_on_a_hand_made_example():
    # positives {.9, .8, .6, .55} vs negatives {.7, .5, .4, .3}: 14 of 16 ordered right
    assert roc_auc(HAND_SCORES, HAND_SAME) == pytest.approx(14 / 16)
    assert roc_auc(HAND_SCORES, HAND_SAME) == pytest.approx(sklearn_metrics.roc_auc_score(HAND_SAME, HAND_SCORES))
    t = best_threshold(HAND_SCORES, HAND_SAME)
    assert t == pytest.approx(0.525)  # accepts all 4 positives, rejects 3 of 4 negatives: 7/8


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_best_threshold_accuracy_matches_sklearn_roc(seed):
    g = np.random.default_rng(seed)
    y = g.integers(0, 2, 200)
    s = g.normal(size=200) + y * 0.8
    s[:20] = np.round(s[:20], 1)  # some ties
    fpr, tpr, _ = sklearn_metrics.roc_curve(y, s)
    best = np.max((tpr * y.sum() + (1 - fpr) * (len(y) - y.sum())) / len(y))
    t = best_threshold(s, y)
    assert np.mean((s >= t) == y) == pytest.approx(best)


def test_threshold_is_chosen_without_the_test_fold():
    folds = np.repeat(np.arange(10), 4)
    same = np.tile([1, 1, 0, 0], 10)
    scores = np.where(same == 1, 1.0, 0.0)
    scores[:4] = [0.4, 0.4, 0.3, 0.3]  # fold 0 alone would be separable at 0.35
    out = acc_10fold(scores, same, folds)
    assert out["thresholds"][0] == pytest.approx(0.5)  # from folds 1..9 only
    assert out["acc_folds"][0] == pytest.approx(0.5) and all(a == 1.0 for a in out["acc_folds"][1:])
    assert out["acc_mean"] == pytest.approx(0.95) and out["acc_std"] == pytest.approx(np.std([0.5] + [1.0] * 9))


def test_tar_at_far_needs_enough_negatives_and_nan_pairs_are_counted():
    tar, note = tar_at_far(HAND_SCORES, HAND_SAME, 1e-3)
    assert np.isnan(tar) and "1000" in note
    g = np.random.default_rng(0)
    y = np.r_[np.ones(100, int), np.zeros(2000, int)]
    s = np.r_[g.uniform(0.5, 1.0, 100), g.uniform(0.0, 0.6, 2000)]
    tar, note = tar_at_far(s, y, 1e-3)
    neg_sorted = np.sort(s[y == 0])[::-1]
    assert note == "" and tar == pytest.approx(np.mean(s[y == 1] > neg_sorted[2]))  # at most 2 false accepts
    m = verification_metrics(np.r_[HAND_SCORES, np.nan, np.nan], np.r_[HAND_SAME, 1, 0], [0, 0, 0, 0, 1, 1, 1, 1, 0, 1])
    assert m["n_pairs"] == 10 and m["n_scored"] == 8 and m["n_dropped"] == 2


# -- dlib embedder, LMD ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def dlib_faces():
    pytest.importorskip("dlib")
    from faceinpaint_core.data.synthetic import SyntheticFaces

    faces = SyntheticFaces(2, 64, seed=0, with_parsing=False)
    return torch.stack([faces[i]["image"] for i in range(2)])


def test_descriptor_cache_hit_skips_the_network(tmp_path, dlib_faces):
    from faceinpaint_core.metrics.embedders import DlibEmbedder

    first = DlibEmbedder(cache_dir=tmp_path)
    a = first.embed(dlib_faces)
    assert first.stats["n_cache_hits"] == 0 and len(list(tmp_path.rglob("*.npy"))) == 2
    second = DlibEmbedder(cache_dir=tmp_path)
    second.encoder = None  # any descriptor computation would now fail: every row must come from disk
    b = second.embed(dlib_faces)
    assert second.stats["n_cache_hits"] == 2 and np.array_equal(a.vectors, b.vectors)
    assert np.array_equal(a.found, b.found)


def test_face_free_image_is_a_counted_detection_failure(dlib_faces):
    from faceinpaint_core.metrics.embedders import DlibEmbedder
    from faceinpaint_core.metrics.landmarks import LandmarkDistance

    grey = torch.full((1, 3, 64, 64), 0.5)
    full = DlibEmbedder(on_miss="fullbox")
    e = full.embed(grey)
    assert not e.found[0] and np.isfinite(e.vectors).all() and full.stats["n_detect_fail"] == 1
    dropped = DlibEmbedder(on_miss="drop").embed(grey)
    assert not dropped.found[0] and np.isnan(dropped.vectors).all()
    lmd, missing = LandmarkDistance()(grey, grey)
    assert missing == 1 and torch.isnan(lmd).all()


def test_landmark_distance_is_normalised_by_the_inter_ocular_distance():
    from faceinpaint_core.metrics.landmarks import landmark_distance

    t = np.zeros((68, 2))
    t[45] = [10.0, 0.0]
    assert landmark_distance(t + [2.0, 0.0], t) == pytest.approx(0.2)
    assert landmark_distance(t * 3 + [6.0, 0.0], t * 3) == pytest.approx(0.2)


# -- alignment and paste-back ------------------------------------------------------------------------------
def _smooth_photo(h: int = 150, w: int = 200) -> np.ndarray:
    ys, xs = np.mgrid[0:h, 0:w]
    return np.stack([xs * 255 / w, ys * 255 / h, (xs + ys) * 127 / (w + h) + 60], -1).astype(np.uint8)


def test_similarity_transform_recovers_a_known_warp():
    from faceinpaint_core.data.face_alignment import CANONICAL_FIVE_POINTS, similarity_transform

    a = np.deg2rad(20)
    m = 1.7 * np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    src = CANONICAL_FIVE_POINTS * 100
    dst = src @ m.T + [5.0, -3.0]
    assert np.allclose(similarity_transform(src, dst), np.c_[m, [5.0, -3.0]], atol=1e-8)


def test_align_then_paste_back_leaves_pixels_outside_the_face_unchanged():
    from faceinpaint_core.data.face_alignment import CANONICAL_FIVE_POINTS, align_face, face_weight, paste_face

    photo = _smooth_photo()
    a = np.deg2rad(-12)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    points = (CANONICAL_FIVE_POINTS - 0.5) @ rot.T * 70 + [110.0, 70.0]  # a tilted 70-px face
    crop, m = align_face(photo, points, 64)
    back = paste_face(photo, crop, m)
    w = face_weight(m, 64, photo.shape[:2])
    assert (w == 0).sum() > 0.5 * w.size and (w == 1).sum() > 500
    assert np.array_equal(back[w == 0], photo[w == 0])
    inner = w == 1
    assert np.abs(back[inner].astype(int) - photo[inner].astype(int)).mean() < 3.0  # a resampled round trip


def test_inpaint_aligned_changes_only_the_hole():
    from faceinpaint_core.data.face_alignment import CANONICAL_FIVE_POINTS, Face
    from faceinpaint_core.inpaint import inpaint_aligned

    photo = torch.from_numpy(_smooth_photo()).permute(2, 0, 1)[None].float() / 255
    mask = torch.zeros(1, 1, 150, 200)
    mask[..., 60:90, 90:130] = 1
    face = Face((75.0, 35.0, 145.0, 105.0), CANONICAL_FIVE_POINTS * 70 + [75.0, 35.0])
    fill = lambda x, m: torch.full_like(x, 0.25)  # noqa: E731
    out, n = inpaint_aligned(fill, photo, mask, 64, faces=[face])
    assert n == 1 and torch.equal(out[mask.expand_as(out) == 0], photo[mask.expand_as(photo) == 0])
    assert torch.allclose(out[..., 65:85, 95:125], torch.tensor(0.25), atol=1e-4)


def test_mtcnn_without_facenet_pytorch_is_a_one_line_error():
    from faceinpaint_core.data.face_alignment import make_face_finder

    try:
        import facenet_pytorch  # noqa: F401
        pytest.skip("facenet-pytorch is installed here")
    except ImportError:
        pass
    with pytest.raises(ImportError, match="needs facenet-pytorch"):
        make_face_finder("mtcnn")
    with pytest.raises(ValueError, match="known: dlib, mtcnn"):
        make_face_finder("retinaface")


def test_keypoint_blocks_cover_their_landmarks():
    from faceinpaint_core.eval.verification import keypoint_block

    lm = np.zeros((68, 2))
    lm[:, 0], lm[:, 1] = np.linspace(10, 50, 68), 30
    lm[36], lm[45] = [20, 25], [44, 25]
    for region, idx in (("eyes", range(36, 48)), ("mouth", range(48, 68))):
        m = keypoint_block(lm, region, 64, pad=0.2)
        xs, ys = lm[list(idx), 0].astype(int), lm[list(idx), 1].astype(int)
        assert m[ys, xs].all() and 0 < m.mean() < 0.5


# -- ArcFace loss, ArcFace weights -------------------------------------------------------------------------
def test_arcface_loss_margin_and_continuation():
    from faceinpaint_core.losses.identity import additive_angular_margin_loss

    g = torch.Generator().manual_seed(0)
    cos = torch.rand(6, 5, generator=g) * 2 - 1
    y = torch.tensor([0, 1, 2, 3, 4, 0])
    plain = torch.nn.functional.cross_entropy(cos * 16, y)
    assert torch.allclose(additive_angular_margin_loss(cos, y, s=16, m=0.0), plain, atol=1e-5)
    assert additive_angular_margin_loss(cos, y, s=16, m=0.5) > plain
    theta = torch.linspace(0.0, 3.1, 50, requires_grad=True)  # loss keeps rising with the target angle
    c = torch.stack([torch.cos(theta), torch.zeros(50)], 1)
    losses = torch.stack([additive_angular_margin_loss(c[i:i + 1], torch.tensor([0]), 8, 0.5) for i in range(50)])
    assert (losses.diff() > 0).all()
    losses.sum().backward()
    assert torch.isfinite(theta.grad).all()


def test_arcface_backbone_loads_and_missing_weights_are_clear(tmp_path):
    from faceinpaint_core.nets.identity import IRESNET_LAYERS, IResNet, load_arcface_backbone

    torch.manual_seed(0)
    ref = IResNet(IRESNET_LAYERS[18]).eval()
    state = {f"module.{k}": v for k, v in ref.state_dict().items()}  # as saved from DataParallel
    torch.save(state, tmp_path / "backbone.pth")
    net = load_arcface_backbone(tmp_path / "backbone.pth")
    x = torch.rand(2, 3, 112, 112)
    with torch.no_grad():
        assert torch.allclose(net(x), torch.nn.functional.normalize(ref(x * 2 - 1), dim=1), atol=1e-5)
    with pytest.raises(FileNotFoundError, match="backbone.pth"):
        load_arcface_backbone(tmp_path / "missing.pth")
    torch.save({"conv1.weight": torch.zeros(1)}, tmp_path / "wrong.pth")
    with pytest.raises(ValueError, match="blocks per stage"):
        load_arcface_backbone(tmp_path / "wrong.pth")


# -- the identity method, verification end to end, the CLI -------------------------------------------------
@pytest.fixture(scope="module")
def identity_run(tmp_path_factory):
    from faceinpaint_core.train.trainer import train_main

    return train_main("identity", "tiny", out=str(tmp_path_factory.mktemp("runs")))


def test_tiny_identity_training_run(identity_run):
    from faceinpaint_core.eval.embedders import make_embedder
    from faceinpaint_core.train.checkpoint import load_checkpoint

    ckpt = load_checkpoint(identity_run / "checkpoints" / "final.pt")
    train = open_identity_faces("synthetic", 32, "train", seed=0, held_out_fraction=0.5, min_images=2)
    assert ckpt["method"] == "identity" and ckpt["config"]["n_classes"] == train.n_classes
    log = pd.read_csv(identity_run / "log.csv")
    assert np.isfinite(log["G/arcface"]).all() and "G/train_top1" in log
    emb = make_embedder("identity", identity_run / "checkpoints" / "final.pt")
    e = emb.embed(torch.stack([train[i]["image"] for i in range(3)]))
    assert e.vectors.shape == (3, 128) and np.allclose(np.linalg.norm(e.vectors, axis=1), 1.0)


@pytest.mark.slow
def test_identity_training_with_dlib_distillation(tmp_path):
    pytest.importorskip("dlib")
    from faceinpaint_core.train.trainer import train_main

    run = train_main("identity", "tiny", out=str(tmp_path / "runs"),
                     sets={"train.steps": 1, "train.batch_size": 3, "distill_weight": 1.0,
                           "distill_cache": str(tmp_path / "cache")})
    log = pd.read_csv(run / "log.csv")
    assert (log["G/distill"] > 0).all() and "G/teacher_detected" in log
    assert len(list((tmp_path / "cache").rglob("*.npy"))) == 3  # the teacher's descriptors were cached


def test_describe_builds_the_identity_network_without_data():
    from faceinpaint_core.train.describe import describe

    info = describe("identity", 32, profile="tiny", show=False)
    assert set(info["params"]) == {"G"} and info["g_forward_flops"] > 0


def test_identity_preserving_loss_with_the_trained_recogniser(identity_run):
    from faceinpaint_core.losses.identity import identity_preserving_loss, load_recogniser

    net = load_recogniser(identity_run / "checkpoints" / "final.pt")
    target = torch.rand(2, 3, 32, 32)
    pred = target.flip(-1).clone().requires_grad_(True)
    assert float(identity_preserving_loss(net, target, target)) == pytest.approx(0.0, abs=1e-5)
    loss = identity_preserving_loss(net, pred, target)
    loss.backward()
    assert float(loss.detach()) > 0 and pred.grad is not None and pred.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="distance"):
        identity_preserving_loss(net, pred, target, distance="l2")


def test_identity_method_is_not_an_inpainter_nor_protocol_evaluated(identity_run):
    from faceinpaint_core.study.workflow import protocol_methods
    from faceinpaint_core.train.checkpoint import load_for_inference

    method, nets = load_for_inference(identity_run / "checkpoints" / "final.pt")
    assert set(nets) == {"G"} and "identity" not in protocol_methods()
    with pytest.raises(ValueError, match="not an inpainter"):
        method.inpaint(nets, torch.rand(1, 3, 32, 32), torch.zeros(1, 1, 32, 32))


def test_verify_counts_pairs_and_holes(identity_run, tmp_path):
    from faceinpaint_core.eval.embedders import make_embedder
    from faceinpaint_core.eval.verification import ProbeOcclusion, held_out_pairs, pair_images, verify, verify_config

    cfg = verify_config("tiny")
    pairs, man, faces = held_out_pairs("synthetic", cfg, pairs_root=tmp_path)
    images = pair_images(pairs, faces)
    emb = make_embedder("identity", identity_run / "checkpoints" / "final.pt")
    clean, scores = verify(pairs, images, emb)
    occ, _ = verify(pairs, images, emb, ProbeOcclusion("irregular", cfg))
    assert clean["n_pairs"] == len(pairs) == len(scores) == cfg.n_folds * cfg.pairs_per_fold
    assert clean["n_same"] == clean["n_diff"] and clean["hole_ratio"] == 0 and clean["n_detect_fail"] == 0
    assert 0.2 <= occ["hole_ratio"] < 0.3 and occ["occlusion"] == "irregular"


def test_verify_cli(identity_run, tmp_path, capsys):
    from faceinpaint_core.cli import main
    from faceinpaint_core.eval.embedders import embedder_names, recognisers
    from faceinpaint_core.eval.verification import OCCLUSIONS
    from faceinpaint_core.verify import OCCLUSION_CHOICES

    assert OCCLUSION_CHOICES == OCCLUSIONS
    # the recogniser embedders are the registry's methods of task "recognise", not a hard-coded list
    assert "identity" in recognisers() and set(embedder_names()) == {"dlib", "arcface", *recognisers()}
    ckpt = str(identity_run / "checkpoints" / "final.pt")
    base = ["verify", "--dataset", "synthetic", "--embedder", "identity", "--checkpoint", ckpt, "--size", "32",
            "--folds", "3", "--pairs-per-fold", "4", "--pairs-dir", str(tmp_path / "pairs")]
    assert main(base + ["--occlude", "rect", "--method", "telea", "--no-align-restore",
                        "--out", str(tmp_path / "v.csv")]) == 0
    assert "restored by telea" in capsys.readouterr().out
    row = pd.read_csv(tmp_path / "v.csv")
    assert row.loc[0, "n_pairs"] == 12 and row.loc[0, "restoration"] == "telea"
    assert main(base + ["--method", "telea"]) == 2
    assert "--method restores occluded probes" in capsys.readouterr().err
    assert main(["verify", "--dataset", "synthetic", "--embedder", "arcface"]) == 2
    assert "--identity-weights" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["verify", "--dataset", "synthetic", "--occlude", "ears"])
    assert exc.value.code == 2


def test_study_trains_identity_on_celeba_with_real_data_else_synthetic():
    from faceinpaint_core.study.profiles import STUDY_METHODS, study_parameters

    assert STUDY_METHODS["identity"] == "05_identity"
    real = study_parameters("smoke", "/some/data", "/tmp/x")["train_sets"]
    assert real["identity"]["train.dataset"] == "celeba" and real["clgn"]["train.dataset"] == "celebamask-hq"
    assert study_parameters("smoke", None, "/tmp/x")["train_sets"]["identity"]["train.dataset"] == "synthetic"


def test_dlib_detector_and_landmark_models_are_built_once_per_process():
    """Every aligner / embedder / identity metric shares one HOG detector and one of each landmark predictor (each
    build cost ~1-1.5 s per instance); each embedder keeps its own ResNet (dlib's DNN forward is not thread-safe)."""
    pytest.importorskip("dlib")
    from faceinpaint_core.data.face_alignment import DlibFaceFinder
    from faceinpaint_core.metrics.embedders import DlibEmbedder
    from faceinpaint_core.metrics.identity import dlib_model

    a, b = DlibFaceFinder(), DlibFaceFinder()
    assert a.detector is b.detector is dlib_model("detector") and a.shape68 is b.shape68 is dlib_model("shape68")
    e1, e2 = DlibEmbedder(), DlibEmbedder()
    assert e1.detector is a.detector and e1.shape5 is e2.shape5 is dlib_model("shape5")
    assert e1.encoder is not e2.encoder
    with pytest.raises(ValueError, match="unknown model 'resnet'"):
        dlib_model("resnet")
