"""External mask sources: NVIDIA binned by measured ratio (cached index, fixed train/eval split), QD-IMD
train/ and test/ kept apart, and the human-readable mask-set names. All on tiny generated folders."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import faceinpaint_core.masks.ratio_index as ri
from faceinpaint_core.masks import (KINDS, MASK_SET_NAMES, TrainMaskSampler, build_mask_set, hole_ratio,
                                    load_mask_set)

# (bin, rows of 20 that are hole): 3/20 = 15 %, 9/20 = 45 %
RATIO_ROWS = {"10-20": 3, "40-50": 9}


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    """Ratio indexes go to a temp cache, never the repository's results/cache; memory cache emptied."""
    monkeypatch.setenv("FACEINPAINT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(ri, "_MEMORY", {})


def _names(split: str, k: int, start: int = 0) -> list[str]:
    """The first ``k`` NVIDIA-style names from ``start`` that the fixed split puts in ``split``."""
    out, i = [], start
    while len(out) < k:
        if ri.nvidia_split_of(f"{i:05d}.png") == split:
            out.append(f"{i:05d}.png")
        i += 1
    return out


def _write_nvidia(folder: Path, names, rows: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        a = np.zeros((20, 20), np.uint8)
        a[:rows] = 255  # 255 = hole
        Image.fromarray(a).save(folder / name)


@pytest.fixture
def nvidia_root(tmp_path) -> Path:
    """Large holes in the LOW file numbers and small ones in the high ones (the opposite of NVIDIA's
    file order), 6 eval + 6 train files per bin."""
    folder = tmp_path / "data" / "nvidia-irregular-masks"
    for b, start in (("40-50", 0), ("10-20", 10000)):
        _write_nvidia(folder, _names("eval", 6, start) + _names("train", 6, start), RATIO_ROWS[b])
    return tmp_path / "data"


def test_split_is_fixed_and_about_ten_percent():
    names = [f"{i:05d}.png" for i in range(12000)]
    split = [ri.nvidia_split_of(n) for n in names]
    assert split == [ri.nvidia_split_of(n) for n in names]
    assert 0.08 < split.count("eval") / len(split) < 0.12
    for k in range(6):  # every one of NVIDIA's file-order groups contributes to the evaluation pool
        assert 0.07 < split[2000 * k: 2000 * (k + 1)].count("eval") / 2000 < 0.13


@pytest.mark.parametrize("b", sorted(RATIO_ROWS))
def test_nvidia_set_binned_by_measured_ratio(nvidia_root, tmp_path, b):
    man = build_mask_set("nvidia", b, 5, 40, 0, tmp_path / "set", source_root=nvidia_root)
    lo, hi = man["bin_range"]
    assert all(lo <= r < hi for r in man["ratios"]) and len(set(man["sources"])) == 5
    assert all(ri.nvidia_split_of(s) == "eval" for s in man["sources"])
    assert (int(man["sources"][0][:5]) < 10000) == (b == "40-50")  # not by file order
    assert man["name"] == MASK_SET_NAMES["nvidia"] and "measured" in man["selection"]
    masks, loaded = load_mask_set(tmp_path / "set")
    assert [hole_ratio(m) for m in masks] == loaded["ratios"]
    again = build_mask_set("nvidia", b, 5, 40, 0, tmp_path / "other", source_root=nvidia_root)
    assert again["sha256"] == man["sha256"] and again["sources"] == man["sources"]
    seven = build_mask_set("nvidia", b, 7, 40, 0, tmp_path / "seven", source_root=nvidia_root)  # pool holds 6
    assert len(seven["sources"]) == 7 and seven["n_unique"] == len(set(seven["sources"])) == 6


def test_nvidia_eval_masks_are_never_training_masks(nvidia_root, tmp_path):
    sampler = TrainMaskSampler(kinds=("nvidia",), bins=tuple(RATIO_ROWS), size=40, seed=0, source_root=nvidia_root)
    train = {p.name for files in sampler.pools.values() for p in files}
    evaluated = set()
    for b in RATIO_ROWS:
        evaluated |= set(build_mask_set("nvidia", b, 6, 40, 0, tmp_path / b, source_root=nvidia_root)["sources"])
    assert len(train) == 12 and len(evaluated) == 12 and not train & evaluated
    for b, files in ((b, sampler.pools[("nvidia", b)]) for b in RATIO_ROWS):
        assert all(ri.nvidia_split_of(p.name) == "train" for p in files)
    for i in range(8):  # flips keep the ratio, so every drawn mask lies in one of the bins
        assert hole_ratio(sampler(i)) in (3 / 20, 9 / 20)


def test_ratio_index_cached_on_disk_and_keyed_by_contents(nvidia_root, monkeypatch, tmp_path):
    files = sorted((nvidia_root / "nvidia-irregular-masks").glob("*.png"))
    first = ri.ratio_index(files, "nvidia", 40)
    cached = list((tmp_path / "cache" / "mask_index").glob("nvidia-ratios_s40_*.json"))
    assert len(cached) == 1 and json.loads(cached[0].read_text())["n_files"] == 24
    monkeypatch.setattr(ri, "_MEMORY", {})
    monkeypatch.setattr(ri, "load_external_mask", lambda *a: pytest.fail("index recomputed"))
    assert ri.ratio_index(files, "nvidia", 40) == first  # read back from disk
    assert ri.index_key(files, 40, "nvidia") != ri.index_key(files, 41, "nvidia")
    assert ri.index_key(files, 40, "nvidia") != ri.index_key(files[1:], 40, "nvidia")


def test_stale_nvidia_set_is_refused(nvidia_root, tmp_path):
    out = tmp_path / "set"
    build_mask_set("nvidia", "10-20", 2, 40, 0, out, source_root=nvidia_root)
    man = json.loads((out / "manifest.json").read_text())
    del man["selection"]  # as a set frozen by the old file-order binning
    (out / "manifest.json").write_text(json.dumps(man))
    with pytest.raises(ValueError, match="delete the folder to rebuild"):
        load_mask_set(out)


def _write_qdimd(folder: Path, split: str, k: int) -> None:
    (folder / split).mkdir(parents=True, exist_ok=True)
    for i in range(k):
        a = np.ones((32, 32), bool)
        a[:, : 8 + i % 2] = False  # black (0) = hole: 25 % or 28 %
        Image.fromarray(a).convert("1").save(folder / split / f"{i:05d}_{split}.png")


def test_qdimd_eval_masks_are_never_training_masks(tmp_path):
    root = tmp_path / "qd-imd"
    _write_qdimd(root, "train", 6)
    _write_qdimd(root, "test", 5)
    man = build_mask_set("qdimd", "20-30", 4, 32, 0, tmp_path / "set", source_root=root)
    evaluated = set(man["sources"])
    assert man["source_folder"] == ".../qd-imd" and man["name"] == "QD-IMD test masks"  # never an absolute path
    sampler = TrainMaskSampler(kinds=("qdimd",), bins=("20-30",), size=32, seed=0, source_root=root)
    train = {p.relative_to(root).as_posix() for p in sampler.pools[("qdimd", "20-30")]}
    assert all(s.startswith("test/") for s in evaluated) and all(s.startswith("train/") for s in train)
    assert len(train) == 6 and not train & evaluated
    assert sampler(0).shape == (32, 32)


@pytest.mark.parametrize("missing, use", [("test", "eval"), ("train", "train")])
def test_qdimd_missing_split_folder_is_named(tmp_path, missing, use):
    root = tmp_path / "qd-imd"
    _write_qdimd(root, "train" if missing == "test" else "test", 3)
    with pytest.raises(FileNotFoundError, match=f"{missing}/? only|{missing}.*does not exist"):
        if use == "eval":
            build_mask_set("qdimd", "20-30", 1, 32, 0, tmp_path / "set", source_root=root)
        else:
            TrainMaskSampler(kinds=("qdimd",), size=32, source_root=root)


def test_every_kind_has_a_caption_name():
    assert set(MASK_SET_NAMES) == set(KINDS) and all(MASK_SET_NAMES.values())


def test_nvidia_set_larger_than_its_pool_reuses_masks_and_says_so(tmp_path, caplog) -> None:
    folder = tmp_path / "nvidia-irregular-masks"
    folder.mkdir()
    from PIL import Image

    for i in range(40):  # 40 discs of growing radius: a few land in the evaluation split of bin 1-10
        yy, xx = np.mgrid[:64, :64]
        disc = ((yy - 32) ** 2 + (xx - 32) ** 2 < (4 + i % 8) ** 2).astype(np.uint8) * 255
        Image.fromarray(disc).save(folder / f"{i:05d}.png")
    from faceinpaint_core.masks.mask_sets import _nvidia_masks
    from faceinpaint_core.masks.ratio_index import nvidia_pool
    from faceinpaint_core.masks.external import nvidia_files

    pool = nvidia_pool(nvidia_files(folder), "eval", 0.01, 0.10, 64)
    if not pool:
        pytest.skip("no synthetic mask fell in the evaluation split")
    n = 3 * len(pool) + 1
    masks, sources = _nvidia_masks("1-10", n, 64, 0, folder)
    assert len(masks) == n and len(set(sources)) == len(pool)
    assert "reused" in caplog.text
