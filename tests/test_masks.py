"""Masks: bins hit exactly, frozen-set hashes stable, external polarities converted to 1 = hole."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from faceinpaint_core.masks import (BINS, TrainMaskSampler, build_mask_set, generate_mask, hole_ratio,
                                    load_external_mask, load_mask_set, mask_set_dirname, parse_bin,
                                    resize_nearest)
from faceinpaint_core.utils.seeding import rng

GENERATED = ("rect", "circle", "regular", "irregular")
# Frozen sets pinned so that any change of a generator (or of its RNG use) is caught.
EXPECTED_SHA = {
    ("regular", "20-30", 4, 32, 0): "670b2b72698a2fc52dbe361e455d6ee67bfb3d5a003e39aad259f894f3cc8253",
    ("irregular", "10-20", 4, 32, 0): "86f1f7de2ebd23498ad76d7c87609fecc62c6c433d9a533474242bf5404b1c2c",
}
realdata = pytest.mark.realdata


def _assert_binary_in_bin(m: np.ndarray, b: str, size: int) -> None:
    lo, hi = parse_bin(b)
    assert m.shape == (size, size) and m.dtype == np.uint8
    assert set(np.unique(m)) <= {0, 1}
    assert lo <= hole_ratio(m) < hi


def test_parse_bin_and_ratio():
    assert parse_bin("20-30") == (0.2, 0.3) and parse_bin("1-10") == (0.01, 0.10)
    assert list(BINS) == ["1-10", "10-20", "20-30", "30-40", "40-50", "50-60"]
    with pytest.raises(ValueError, match="1-10, 10-20"):
        parse_bin("0-10")
    m = np.zeros((4, 4), np.uint8)
    m[0, :2] = 1
    assert hole_ratio(m) == 2 / 16


@pytest.mark.parametrize("size", [64, 128])
@pytest.mark.parametrize("kind", GENERATED)
def test_generated_masks_in_bin(kind, size):
    for b in BINS:
        for i in range(6):
            _assert_binary_in_bin(generate_mask(kind, b, size, rng(0, f"test-{kind}-{b}", i)), b, size)


def test_generate_errors():
    with pytest.raises(ValueError, match="unknown mask kind"):
        generate_mask("star", "1-10", 32, rng(0))
    with pytest.raises(ValueError, match="too small"):
        generate_mask("rect", "1-10", 3, rng(0))


def test_mask_set_hash_stable_and_reused(tmp_path):
    out = tmp_path / mask_set_dirname("irregular", "20-30", 5, 64, 0)
    assert out.name == "irregular_20-30_n5_s64_seed0"
    man = build_mask_set("irregular", "20-30", 5, 64, 0, out)
    mtime = (out / "00000.png").stat().st_mtime_ns
    again = build_mask_set("irregular", "20-30", 5, 64, 0, out)  # reuse, no rewrite
    assert again["sha256"] == man["sha256"] and (out / "00000.png").stat().st_mtime_ns == mtime
    other = build_mask_set("irregular", "20-30", 5, 64, 0, tmp_path / "elsewhere")
    assert other["sha256"] == man["sha256"]
    masks, loaded = load_mask_set(out)
    assert masks.shape == (5, 64, 64) and loaded["ratios"] == man["ratios"]
    assert np.unique(np.array(Image.open(out / "00000.png"))).tolist() == [0, 255]  # 255 = hole on disk
    assert not list(tmp_path.glob(".*tmp"))  # temp folder renamed away


@pytest.mark.parametrize("key", sorted(EXPECTED_SHA))
def test_mask_set_fixed_hash(tmp_path, key):
    kind, b, n, size, seed = key
    man = build_mask_set(kind, b, n, size, seed, tmp_path / "set")
    assert man["sha256"] == EXPECTED_SHA[key], "mask generator changed: frozen evaluation sets would differ"


def test_mask_set_tamper_and_conflict(tmp_path):
    out = tmp_path / "set"
    build_mask_set("rect", "10-20", 3, 32, 0, out)
    with pytest.raises(ValueError, match="different or incomplete"):
        build_mask_set("rect", "10-20", 3, 32, 1, out)
    Image.fromarray(np.full((32, 32), 255, np.uint8)).save(out / "00001.png")
    with pytest.raises(ValueError, match=str(out)):
        load_mask_set(out)


def _fake_nvidia(folder: Path, names, ratio: float) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        a = np.zeros((128, 128), np.uint8)
        a[: int(round(ratio * 128)), :] = 255  # 255 = hole
        Image.fromarray(a).save(folder / name)


def _fake_qdimd(folder: Path, split: str, k: int, ratio: float) -> None:
    (folder / split).mkdir(parents=True, exist_ok=True)
    for i in range(k):
        a = np.ones((128, 128), bool)
        a[:, : int(round(ratio * 128))] = False  # black (0) = hole
        Image.fromarray(a).convert("1").save(folder / split / f"{i:05d}_{split}.png")


def test_external_polarity(tmp_path):
    _fake_nvidia(tmp_path / "nv", ["00000.png"], 0.25)
    _fake_qdimd(tmp_path / "qd", "test", 1, 0.25)
    assert Image.open(tmp_path / "qd/test/00000_test.png").mode == "1"
    nv = load_external_mask(tmp_path / "nv/00000.png", "nvidia", 64)
    qd = load_external_mask(tmp_path / "qd/test/00000_test.png", "qdimd", 64)
    assert nv[:16].all() and not nv[16:].any()  # top rows were white = hole
    assert qd[:, :16].all() and not qd[:, 16:].any()  # left columns were black = hole
    with pytest.raises(ValueError, match="polarity"):
        load_external_mask(tmp_path / "nv/00000.png", "white", 64)


@pytest.mark.parametrize("size", [37, 64, 100, 200])
def test_nearest_resize_keeps_binary(tmp_path, size):
    a = (rng(0, "resize").random((97, 131)) < 0.3).astype(np.uint8)
    r = resize_nearest(a, size)
    assert r.shape == (size, size) and set(np.unique(r)) <= {0, 1}
    Image.fromarray(a * 255).save(tmp_path / "m.png")
    assert set(np.unique(load_external_mask(tmp_path / "m.png", "nvidia", size))) <= {0, 1}


def test_corrupt_file_named(tmp_path):
    bad = tmp_path / "00000.png"
    bad.write_bytes(b"not a png")
    with pytest.raises(ValueError, match="00000.png"):
        load_external_mask(bad, "nvidia", 32)


def test_external_mask_sets(tmp_path, monkeypatch):
    monkeypatch.setenv("FACEINPAINT_CACHE", str(tmp_path / "cache"))
    from faceinpaint_core.masks.ratio_index import nvidia_split_of

    names = [f"{i:05d}.png" for i in range(200)]
    _fake_nvidia(tmp_path / "data/nvidia-irregular-masks", names, 0.15)
    man = build_mask_set("nvidia", "10-20", 4, 32, 0, tmp_path / "nv", source_root=tmp_path / "data")
    assert all(nvidia_split_of(s) == "eval" for s in man["sources"]) and len(set(man["sources"])) == 4
    assert man["source_folder"] == "$FACEINPAINT_DATA/nvidia-irregular-masks"  # relative to source_root
    masks, _ = load_mask_set(tmp_path / "nv")
    assert all(0.10 <= hole_ratio(m) < 0.20 for m in masks)
    _fake_qdimd(tmp_path / "qd", "test", 3, 0.35)
    _fake_qdimd(tmp_path / "qd", "train", 5, 0.35)
    man = build_mask_set("qdimd", "30-40", 3, 32, 0, tmp_path / "q", source_root=tmp_path / "qd")
    assert sorted(man["sources"]) == [f"test/{i:05d}_test.png" for i in range(3)]
    with pytest.raises(ValueError, match="fewer than n=4"):
        build_mask_set("qdimd", "30-40", 4, 32, 0, tmp_path / "q4", source_root=tmp_path / "qd")
    with pytest.raises(FileNotFoundError, match="NVIDIA"):
        build_mask_set("nvidia", "10-20", 1, 32, 0, tmp_path / "x", source_root=tmp_path / "qd")


def test_train_sampler_deterministic():
    s = TrainMaskSampler(size=64, seed=3)
    assert np.array_equal(s(7), TrainMaskSampler(size=64, seed=3)(7))
    masks = [s(i) for i in range(12)]
    assert any(not np.array_equal(masks[0], m) for m in masks[1:])
    for m in masks:
        assert m.shape == (64, 64) and 0.01 <= hole_ratio(m) < 0.60
    only = TrainMaskSampler(kinds=("rect",), bins=("40-50",), size=32, seed=0)
    _assert_binary_in_bin(only(5), "40-50", 32)
    with pytest.raises(ValueError, match="unknown mask kind"):
        TrainMaskSampler(kinds=("blob",))


def test_cli_masks(tmp_path, capsys):
    from faceinpaint_core.cli import main

    out = tmp_path / "cli"
    assert main(["masks", "--kind", "circle", "--bin", "20-30", "--n", "3", "--size", "32", "--out", str(out)]) == 0
    assert json.loads((out / "manifest.json").read_text())["kind"] == "circle"
    assert "sha256" in capsys.readouterr().out


@realdata
def test_realdata_nvidia_polarity(tmp_path, real_data_root):
    from faceinpaint_core.masks.ratio_index import nvidia_split_of

    folder = real_data_root / "nvidia-irregular-masks"
    small = [hole_ratio(load_external_mask(folder / f"{i:05d}.png", "nvidia", 128)) for i in range(0, 2000, 400)]
    large = [hole_ratio(load_external_mask(folder / f"{i:05d}.png", "nvidia", 128)) for i in range(10000, 12000, 400)]
    assert max(small) < 0.12 and min(large) > 0.48  # bin 0 small holes, bin 5 large: 255 = hole
    man = build_mask_set("nvidia", "30-40", 4, 64, 0, tmp_path / "nv", source_root=real_data_root)
    assert all(nvidia_split_of(s) == "eval" for s in man["sources"])
    assert all(0.30 <= r < 0.40 for r in man["ratios"])  # measured at 64 px, whatever the file order says


@realdata
def test_realdata_qdimd_polarity(tmp_path, real_data_root):
    folder = real_data_root / "qd-imd-sample"
    ratios = [hole_ratio(load_external_mask(p, "qdimd", 128)) for p in sorted(folder.glob("*/*.png"))]
    assert len(ratios) >= 10 and max(ratios) < 0.5 and min(ratios) > 0.0  # strokes (0 = hole) are the minority
    man = build_mask_set("qdimd", "10-20", 4, 64, 0, tmp_path / "qd", source_root=real_data_root)
    assert len(man["sources"]) == 4
