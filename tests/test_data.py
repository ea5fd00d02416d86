"""Data module: layout readers, parsing merge table, splits, synthetic faces (all on tiny generated folders)."""
from __future__ import annotations

import json
import logging
import pickle
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from faceinpaint_core.data import (N_REGIONS, REGIONS, FaceDataset, SyntheticFaces, celebamask_to_regions,
                                   colorize, make_splits, open_dataset, read_splits, regions_onehot,
                                   render_face, write_splits, write_synthetic_folder)
from faceinpaint_core.data.datasets import parse_utkface_name, square_box
from faceinpaint_core.data.parsing import (CELEBAMASK_PARTS, LABEL_TO_REGION, REGION_TO_LABEL,
                                           labels_from_parts)
from faceinpaint_core.data.splits import splits_sha256

# sha256 of make_splits([f"{i:05d}.png" for i in range(100)], seed=0): frozen so a change of the
# split algorithm (which would silently change every published number) fails here.
EXPECTED_SPLIT_SHA = "5e3453de4717a6b5b8a419a107b4d1e501425eea848a400b65dce9e726a39c92"


def _save(path: Path, arr: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)
    return path


# -- plain folders ----------------------------------------------------------------------------

@pytest.fixture
def messy_dir(synthetic_faces_dir, tmp_path) -> Path:
    """12 faces + a nested folder + a name with spaces + a corrupt and a truncated .jpg + a hidden file."""
    root = tmp_path / "messy"
    shutil.copytree(synthetic_faces_dir, root)
    _save(root / "nested" / "deeper" / "face with spaces.png", render_face(1, 0, 40)[0])
    (root / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    whole = _save(tmp_path / "whole.jpg", render_face(1, 1, 64)[0]).read_bytes()
    (root / "truncated.jpg").write_bytes(whole[: len(whole) // 2])
    (root / ".hidden.png").write_bytes(b"junk")
    (root / "notes.txt").write_text("not an image")
    return root


def test_plain_folder_lists_recursively_and_skips_corrupt(messy_dir):
    ds = open_dataset(str(messy_dir), size=32)
    assert isinstance(ds, FaceDataset) and len(ds) == 15
    assert "nested/deeper/face with spaces.png" in ds.files and ".hidden.png" not in ds.files
    bad = ds.files.index("broken.jpg")
    with pytest.warns(UserWarning, match="broken.jpg"):
        item = ds[bad]
    assert item["index"] == bad + 1 and ds.skipped == 1  # the next readable file, deterministically
    assert item["image"].shape == (3, 32, 32) and item["image"].dtype == torch.float32
    assert 0 <= item["image"].min() and item["image"].max() <= 1 and "parsing" not in item
    ds[bad]
    assert ds.skipped == 1  # counted once per file
    with pytest.warns(UserWarning, match="truncated.jpg"):
        ds[ds.files.index("truncated.jpg")]
    assert ds.skipped == 2
    spaced = ds[ds.files.index("nested/deeper/face with spaces.png")]
    assert spaced["path"].endswith("face with spaces.png") and spaced["image"].shape == (3, 32, 32)


def test_empty_folder_and_unknown_name_raise_clear_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="empty"):
        open_dataset(str(tmp_path / "empty"), size=32)
    with pytest.raises(ValueError, match="celebamask-hq"):
        open_dataset("no-such-dataset", size=32)


def test_plain_folder_has_no_parsing(synthetic_faces_dir):
    with pytest.raises(ValueError, match="parsing"):
        open_dataset(str(synthetic_faces_dir), size=32, with_parsing=True)


# -- CelebAMask-HQ layouts --------------------------------------------------------------------

def test_combined_layout_labels_are_exact(celebamask_layout_dir):
    ds = open_dataset(str(celebamask_layout_dir), size=64, with_parsing=True)
    assert len(ds) == 12 and ds.files[0] == "images/00000.jpg"
    for i in (0, 5):
        item = ds[i]
        assert item["parsing"].dtype == torch.int64 and item["parsing"].shape == (64, 64)
        assert torch.equal(item["parsing"], torch.from_numpy(render_face(0, i, 64)[1].astype(np.int64)))
    batch = next(iter(torch.utils.data.DataLoader(pickle.loads(pickle.dumps(ds)), batch_size=4)))
    assert batch["image"].shape == (4, 3, 64, 64) and batch["parsing"].shape == (4, 64, 64)
    small = open_dataset(str(celebamask_layout_dir), size=32, with_parsing=True)[0]
    assert small["parsing"].shape == (32, 32) and set(small["parsing"].unique().tolist()) <= set(range(9))


def test_missing_label_raises_naming_it(celebamask_layout_dir, tmp_path):
    root = tmp_path / "cm"
    shutil.copytree(celebamask_layout_dir, root)
    (root / "labels" / "00003.png").unlink()
    with pytest.raises(FileNotFoundError, match="00003.png"):
        open_dataset(str(root), size=32, with_parsing=True)
    assert len(open_dataset(str(root), size=32)) == 12  # images alone are fine


def _write_official(root: Path, ids, label_scale: int = 1) -> dict[int, np.ndarray]:
    """Official layout from synthetic faces: CelebA-HQ-img/<id>.jpg + mask-anno/<id//2000>/<id:05d>_<part>.png."""
    drawn = {}
    for n, ident in enumerate(ids):
        image, regions = render_face(0, n, 64)
        _save(root / "CelebA-HQ-img" / f"{ident}.jpg", image)
        label = np.array(REGION_TO_LABEL, np.uint8)[regions][::label_scale, ::label_scale]
        for k in np.unique(label)[1:]:
            part = root / "CelebAMask-HQ-mask-anno" / str(ident // 2000) / f"{ident:05d}_{CELEBAMASK_PARTS[k - 1]}.png"
            _save(part, ((label == k) * 255).astype(np.uint8))
        drawn[ident] = regions
    return drawn


@pytest.mark.parametrize("label_scale", [1, 2])
def test_official_per_part_layout(tmp_path, label_scale):
    drawn = _write_official(tmp_path / "CelebAMask-HQ", [0, 1, 2001], label_scale)
    ds = open_dataset("celebamask-hq", size=64, data_root=tmp_path, with_parsing=True)
    assert ds.files == ["CelebA-HQ-img/0.jpg", "CelebA-HQ-img/1.jpg", "CelebA-HQ-img/2001.jpg"]
    parsing = ds[2]["parsing"].numpy()
    if label_scale == 1:
        np.testing.assert_array_equal(parsing, drawn[2001])
    else:  # half-resolution masks are scaled onto the image: most pixels agree with the full-res drawing
        assert parsing.shape == (64, 64) and (parsing == drawn[2001]).mean() > 0.9


def test_official_missing_parts_raise(tmp_path):
    _write_official(tmp_path / "CelebAMask-HQ", [7])
    _save(tmp_path / "CelebAMask-HQ" / "CelebA-HQ-img" / "8.jpg", render_face(0, 8, 64)[0])
    with pytest.raises(FileNotFoundError, match="00008_skin.png"):
        open_dataset("celebamask-hq", size=32, data_root=tmp_path, with_parsing=True)


def test_parts_later_overwrite_earlier(tmp_path):
    skin = _save(tmp_path / "skin.png", np.full((8, 8), 255, np.uint8))
    hair = np.zeros((8, 8), np.uint8)
    hair[:3] = 255
    label = labels_from_parts({"skin": skin, "hair": _save(tmp_path / "hair.png", hair)})
    assert (label[:3] == 13).all() and (label[3:] == 1).all()


def test_celeba_hq_reuses_celebamask_files_and_split(celebamask_layout_dir, tmp_path):
    shutil.copytree(celebamask_layout_dir, tmp_path / "celebamask-hq-1k")
    masked = open_dataset("celebamask-hq", 32, split="test", data_root=tmp_path, with_parsing=True)
    plain = open_dataset("celeba-hq", 32, split="test", data_root=tmp_path)
    assert masked.files == plain.files and masked.split_hash == plain.split_hash
    with pytest.raises(ValueError, match="parsing"):
        open_dataset("celeba-hq", 32, data_root=tmp_path, with_parsing=True)


# -- other layouts and geometry ---------------------------------------------------------------

def test_celeba_aligned_crops(tmp_path):
    img = np.zeros((109, 89, 3), np.uint8)
    img[:10] = 255  # a white band above the centre square: cropped away by crop="center"
    _save(tmp_path / "celeba-aligned-10k" / "000001.jpg", img)
    centre = open_dataset("celeba", 16, data_root=tmp_path)[0]["image"]
    assert centre.shape == (3, 16, 16) and centre.max() < 0.1
    squashed = open_dataset("celeba", 16, data_root=tmp_path, crop="none")[0]["image"]
    assert squashed[:, 0].mean() > 0.5
    boxed = open_dataset("celeba", 16, data_root=tmp_path, crop_box=(0, 0, 89, 20))[0]["image"]
    assert boxed.shape == (3, 16, 16)
    assert square_box((109, 89), "center", None, "x") == (0, 10, 89, 99)
    assert square_box((218, 178), "center", (0, 20, 178, 218), "x") == (0, 30, 178, 208)
    with pytest.raises(ValueError, match="outside"):
        open_dataset("celeba", 16, data_root=tmp_path, crop_box=(0, 0, 200, 200))[0]


def test_utkface_names_with_spaces(tmp_path):
    names = ["24_0_1_20170116220224657 .jpg.chip.jpg", "1_1_2_20161219140530307.jpg.chip.jpg"]
    for n, name in enumerate(names):
        _save(tmp_path / "utkface-3k" / name, render_face(0, n, 40)[0])
    ds = open_dataset("utkface", 32, data_root=tmp_path)
    assert sorted(ds.files) == sorted(names) and ds[0]["image"].shape == (3, 32, 32)
    assert parse_utkface_name(names[0]) == {"age": 24, "gender": 0, "race": 1}
    assert parse_utkface_name("39_1_20170116174525125.jpg.chip.jpg") is None


def test_ffhq_nested_folders(tmp_path):
    for ident in (0, 1000, 1001):
        _save(tmp_path / "ffhq" / f"{ident // 1000 * 1000:05d}" / f"{ident:05d}.png", render_face(0, ident, 32)[0])
    ds = open_dataset("ffhq", 32, data_root=tmp_path)
    assert ds.files == ["00000/00000.png", "01000/01000.png", "01000/01001.png"]
    assert len(open_dataset("ffhq", 32, data_root=tmp_path, limit=2)) == 2


# -- splits -----------------------------------------------------------------------------------

NAMES = [f"{i:05d}.png" for i in range(100)]


def test_splits_deterministic_disjoint_and_sized():
    a = make_splits(NAMES, seed=0)
    assert a == make_splits(list(reversed(NAMES)), seed=0)  # input order does not matter
    assert [len(a[k]) for k in ("train", "val", "test")] == [80, 10, 10]
    assert sorted(sum(a.values(), [])) == NAMES
    assert make_splits(NAMES, seed=1) != a
    assert splits_sha256(a) == EXPECTED_SPLIT_SHA


def test_write_read_splits_roundtrip(tmp_path):
    splits = make_splits(NAMES, seed=0)
    digest = write_splits(splits, tmp_path / "a")
    assert digest == write_splits(splits, tmp_path / "b") == EXPECTED_SPLIT_SHA  # location-independent
    assert read_splits(tmp_path / "a") == splits
    (tmp_path / "a" / "val.txt").write_text("00000.png\n")
    with pytest.raises(ValueError, match="sha256"):
        read_splits(tmp_path / "a")


def test_dataset_splits_partition_files(synthetic_faces_dir):
    parts = {s: open_dataset(str(synthetic_faces_dir), 32, split=s).files for s in ("train", "val", "test")}
    assert sorted(sum(parts.values(), [])) == open_dataset(str(synthetic_faces_dir), 32).files
    assert all(parts.values())
    with pytest.raises(ValueError, match="split"):
        open_dataset(str(synthetic_faces_dir), 32, split="validation")


# -- parsing ----------------------------------------------------------------------------------

def test_merge_table():
    regions = celebamask_to_regions(np.arange(19, dtype=np.uint8)[None])
    assert regions[0].tolist() == list(LABEL_TO_REGION)
    named = dict(zip(("skin", "eye_g", "l_eye", "r_eye", "hair", "hat", "ear_r", "neck_l", "cloth", "u_lip"),
                     regions[0, [1, 3, 4, 5, 13, 14, 15, 16, 18, 11]]))
    assert named == {"skin": 1, "eye_g": 1, "l_eye": 3, "r_eye": 3, "hair": 7, "hat": 7, "ear_r": 5,
                     "neck_l": 8, "cloth": 0, "u_lip": 6}
    assert celebamask_to_regions(np.array(REGION_TO_LABEL, np.uint8)[None]).tolist() == [list(range(9))]
    assert REGIONS[2] == "eyes" and N_REGIONS == 8
    with pytest.raises(ValueError, match="0..18"):
        celebamask_to_regions(np.full((2, 2), 19, np.uint8))


@pytest.mark.parametrize("shape", [(1, 4, 4), (3, 8, 6)])
def test_regions_onehot_and_colorize(shape):
    parsing = torch.randint(0, 9, shape, generator=torch.Generator().manual_seed(0))
    onehot = regions_onehot(parsing)
    assert onehot.shape == (shape[0], 8, *shape[1:]) and onehot.dtype == torch.float32
    assert torch.equal(onehot.sum(1), (parsing > 0).float())
    assert torch.equal(onehot[:, 2].bool(), parsing == 3)
    rgb = colorize(parsing[0])
    assert rgb.shape == (*shape[1:], 3) and rgb.dtype == np.uint8
    with pytest.raises(ValueError, match="0..8"):
        regions_onehot(parsing + 9)


# -- synthetic faces --------------------------------------------------------------------------

def test_synthetic_deterministic_in_seed_and_index():
    img, lab = render_face(3, 7, 48)
    img2, lab2 = render_face(3, 7, 48)
    assert np.array_equal(img, img2) and np.array_equal(lab, lab2)
    assert img.shape == (48, 48, 3) and img.dtype == np.uint8 and lab.dtype == np.uint8
    assert not np.array_equal(img, render_face(3, 8, 48)[0])
    assert not np.array_equal(img, render_face(4, 7, 48)[0])


@pytest.mark.parametrize("size", [32, 64, 128])
def test_synthetic_frontal_faces_have_every_region(size):
    for index in range(6):
        _, lab = render_face(0, index, size, yaw=0.0)
        assert set(np.unique(lab).tolist()) == set(range(9)), (size, index)


def test_synthetic_labels_are_what_was_drawn():
    img, lab = render_face(0, 2, 64, yaw=0.0)
    hair_colour = img[lab == 7].astype(float).mean(0)
    skin_colour = img[lab == 1].astype(float).mean(0)
    assert np.abs(hair_colour - skin_colour).max() > 10  # regions carry their own colours
    # a region's pixels are one colour up to lighting and noise (no other region leaks into it)
    assert img[lab == 8].astype(float).std(0).max() < 25


def test_synthetic_identity_and_yaw():
    a_img, a_lab = render_face(0, 10, 64, yaw=0.0, identity=2)
    b_img, b_lab = render_face(0, 11, 64, yaw=0.0, identity=2)
    assert np.array_equal(a_lab, b_lab) and not np.array_equal(a_img, b_img)  # same face, other lighting
    nose_x = [np.argwhere(render_face(0, 0, 64, yaw=y, identity=2)[1] == 2)[:, 1].mean() for y in (-25, 0, 25)]
    assert nose_x[0] < nose_x[1] < nose_x[2]
    ears = [render_face(0, 0, 64, yaw=y, identity=2)[1] == 5 for y in (-30, 30)]
    left, right = [(e[:, :32].sum(), e[:, 32:].sum()) for e in ears]
    assert left[0] < left[1] and right[0] > right[1]  # the far ear hides behind the face


def test_synthetic_dataset_items_and_splits():
    ds = SyntheticFaces(8, 32, seed=1, n_identities=3)
    item = ds[4]
    assert item["identity"] == 1 and isinstance(item["yaw"], float) and item["index"] == 4
    assert item["image"].shape == (3, 32, 32) and item["parsing"].shape == (32, 32)
    assert item["parsing"].dtype == torch.int64 and ds.skipped == 0
    assert ds.render(4, yaw=0.0)["yaw"] == 0.0
    val = open_dataset("synthetic", 32, split="val", limit=20, seed=1)
    assert len(val) == 2 and "parsing" not in val[0] and isinstance(val, FaceDataset)
    assert val.split_hash == open_dataset("synthetic", 32, split="test", limit=20, seed=1).split_hash


# -- real data --------------------------------------------------------------------------------

@pytest.mark.realdata
def test_real_celebamask_hq_1k(real_data_root):
    ds = open_dataset("celebamask-hq", 128, split="test", data_root=real_data_root, with_parsing=True, limit=3)
    assert len(ds) == 3 and len(ds.split_hash) == 64
    for i in range(3):
        item = ds[i]
        assert item["image"].shape == (3, 128, 128) and item["parsing"].shape == (128, 128)
        present = set(item["parsing"].unique().tolist())
        assert {1, 2, 3} <= present <= set(range(9)), item["path"]


# -- which folder: full datasets before the project's samples, recorded relative to the data root ------

def _both_celebamask_layouts(root: Path) -> None:
    """The 1k sample (combined layout, 6 faces) beside the full set (official per-part layout, 10 faces)."""
    write_synthetic_folder(root / "celebamask-hq-1k", 6, 32, seed=0, with_labels=True, image_ext=".jpg")
    _write_official(root / "CelebAMask-HQ", range(10))


def test_full_dataset_preferred_over_sample(tmp_path, caplog):
    _both_celebamask_layouts(tmp_path)
    with caplog.at_level(logging.INFO, logger="faceinpaint_core.data.datasets"):
        ds = open_dataset("celebamask-hq", 32, data_root=tmp_path, with_parsing=True)
    assert ds.root.resolve() == (tmp_path / "CelebAMask-HQ").resolve()
    assert ds.folder == "$FACEINPAINT_DATA/CelebAMask-HQ" and ds.n_files_total == 10 == len(ds)
    assert "$FACEINPAINT_DATA/CelebAMask-HQ (10 images" in caplog.text
    assert open_dataset("celeba-hq", 32, data_root=tmp_path).folder == "$FACEINPAINT_DATA/CelebAMask-HQ"
    shutil.rmtree(tmp_path / "CelebAMask-HQ")
    sample = open_dataset("celebamask-hq", 32, split="train", data_root=tmp_path)
    assert sample.folder == "$FACEINPAINT_DATA/celebamask-hq-1k" and sample.n_files_total == 6


@pytest.mark.parametrize("name, full, sample", [("celeba", "img_align_celeba", "celeba-aligned-10k"),
                                                ("utkface", "UTKFace", "utkface-3k")])
def test_full_names_before_sample_names(tmp_path, name, full, sample):
    for folder, n in ((full, 3), (sample, 2)):
        for i in range(n):
            _save(tmp_path / folder / f"{i + 1:06d}.jpg", render_face(0, i, 24)[0])
    ds = open_dataset(name, 16, data_root=tmp_path)
    assert ds.folder == f"$FACEINPAINT_DATA/{full}" and ds.n_files_total == 3


def test_folder_outside_data_root_records_no_absolute_path(synthetic_faces_dir, tmp_path):
    ds = open_dataset(str(synthetic_faces_dir), 32, data_root=tmp_path)
    assert ds.folder == f".../{synthetic_faces_dir.name}" and str(tmp_path) not in ds.folder
    assert open_dataset("synthetic", 32, limit=5).n_files_total == 5


def test_provenance_records_the_folder_used(tmp_path):
    """A training run on a root holding both layouts records the full one, relative to the data root."""
    sys.path.insert(0, str(Path(__file__).parent))
    import toy_method
    from faceinpaint_core.train import trainer as tr

    _both_celebamask_layouts(tmp_path / "data")
    run = tr.train_main("toy_method:ToyMethod", "tiny", data_root=tmp_path / "data", out=tmp_path / "runs",
                        sets={"train.steps": 1, "train.dataset": "celebamask-hq"})
    data = json.loads((run / "provenance.json").read_text())["data"]
    assert data["folder"] == "$FACEINPAINT_DATA/CelebAMask-HQ" and data["n_files_total"] == 10
    assert str(tmp_path) not in json.dumps(data)


def test_decoded_faces_are_kept_in_memory_within_the_budget(synthetic_faces_dir, monkeypatch):
    """A face is decoded once per process (the same values as a fresh read), and not at all kept with budget 0."""
    from faceinpaint_core.data import datasets

    reads = []
    real_read = datasets.read_rgb
    monkeypatch.setattr(datasets, "read_rgb", lambda path: reads.append(path) or real_read(path))
    ds = open_dataset(str(synthetic_faces_dir), 16)
    first = ds[1]
    first["image"] = None  # a caller's change to its dict does not reach the cache
    again, fresh = ds[1], open_dataset(str(synthetic_faces_dir), 16)[1]
    assert len(reads) == 2 and torch.equal(again["image"], fresh["image"]) and again["path"] == fresh["path"]
    assert torch.equal(ds[1 - len(ds)]["image"], fresh["image"]) and len(reads) == 2  # negative index: same face
    off = datasets.FaceDataset(ds.root, ds.files, 16, name="x", memory_cache_mb=0)
    off[1], off[1]
    assert len(reads) == 4


def test_a_seed_sweep_keeps_the_held_out_faces_out_of_training(synthetic_faces_dir):
    """train.seed (init, order, masks) does not move the data split: a run with seed 1 trains on exactly the faces of
    seed 0, none of the test split the study evaluates on; split_seed is what moves it."""
    from faceinpaint_core.config import resolve
    from faceinpaint_core.methods import get_method_class

    cls = get_method_class("clgn")

    def train_files(**sets):
        cfg = resolve(cls.config_cls, cls.PROFILES, "tiny", {"train.dataset": str(synthetic_faces_dir), **sets})
        return set(cls.training_faces(cfg)[0].files)

    test = set(open_dataset(str(synthetic_faces_dir), 16, split="test", seed=0).files)
    base = train_files()
    assert base and not base & test
    assert train_files(**{"train.seed": 1}) == base
    assert train_files(**{"train.split_seed": 1}) != base
