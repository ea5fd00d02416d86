"""Face-image readers for the study's datasets (CelebA-HQ, CelebAMask-HQ, CelebA, UTKFace, FFHQ, plain folders).

Every reader yields items ``{"image": (3, S, S) float in [0, 1], "path": str, "index": int}`` plus
``"parsing": (S, S) long`` (0 background, 1..8 the patent's regions, see :mod:`.parsing`) when
labels are requested. Geometry: optional ``crop_box`` (pixels of the source image), then a square
centre crop (``crop="center"``) or none (``crop="none"``, resize only), then a resize to ``S x S``
(bicubic or area for images, NEAREST for label maps; label maps of another resolution than their
image -- the official CelebAMask-HQ masks are 512 for 1024 images -- get the same box, scaled).

``__init__`` only lists files; decoding happens in ``__getitem__``. An unreadable or corrupt image is
skipped there with a warning naming it, counted once in ``dataset.skipped``, and the next readable
item in file order is returned instead (wrapping around), so the substitution is deterministic.
With DataLoader workers each worker counts its own skips. A missing label file or an empty folder
raises at construction, naming the path.

Where the images came from is recorded portably: ``dataset.folder`` is the folder relative to the data
root (``"$FACEINPAINT_DATA/celebamask-hq-1k"``), never an absolute path of the machine that ran, and
``dataset.n_files_total`` counts its images over all splits (see :func:`portable_folder`).
"""
from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from ..paths import data_root as _default_data_root
from .parsing import CELEBAMASK_PARTS, celebamask_to_regions, labels_from_parts, read_label_png
from .splits import SPLIT_NAMES, make_splits, splits_sha256

IMAGE_EXTS = (".jpg", ".jpeg", ".png")
CROPS = ("center", "none")
INTERPS = {"bicubic": Image.BICUBIC, "area": Image.BOX}
SPLITS = ("all",) + SPLIT_NAMES
LabelReader = Callable[[str], np.ndarray]  # relative image name -> CelebAMask ids (H, W)
DATA_ROOT_VAR = "$FACEINPAINT_DATA"
log = logging.getLogger(__name__)


class FaceDataset(Dataset):
    """Faces read lazily from a folder, with an optional label reader; see the module docstring.

    Attributes:
        root: dataset folder; ``files`` are relative (posix) names under it.
        files: this split's relative file names, sorted.
        name: dataset name.  skipped: corrupt images skipped so far.
        folder: ``root`` as recorded in provenance (:func:`portable_folder`; defaults to ``.../<name>``).
        n_files_total: image files in the folder, all splits together (before ``split`` and ``limit``).
        split_hash: sha256 of the dataset's whole train/val/test split (:func:`.splits.splits_sha256`).
    """

    def __init__(self, root: str | Path, files: list[str], size: int, *, name: str,
                 labels: LabelReader | None = None, split: str = "all", seed: int = 0,
                 crop: str = "center", crop_box: tuple[int, int, int, int] | None = None,
                 limit: int | None = None, interp: str = "bicubic", memory_cache_mb: float = 256.0):
        _check_options(size, split, crop, crop_box, interp, limit)
        self.root, self.name, self.size = Path(root), name, int(size)
        # decoded + resized items kept in memory up to this budget (per process; each loader worker has its own):
        # a training run reads every face many times, and decoding a full-size JPEG to return a 64-px face took
        # 0.044 s of a 0.26-s 64-px cpu GFPGAN step (8 faces). 0 = off
        self.memory_cache_mb, self._memo, self._memo_bytes = float(memory_cache_mb), {}, 0
        self.crop, self.crop_box, self.interp = crop, crop_box, interp
        self._labels, self.skipped, self._bad = labels, 0, set()
        if not files:
            raise FileNotFoundError(f"{name}: no face images ({'/'.join(IMAGE_EXTS)}) found under {self.root}")
        self.folder, self.n_files_total = portable_folder(self.root, None), len(files)
        splits = make_splits(files, seed)
        self.split_hash = splits_sha256(splits)
        self.files = sorted(files) if split == "all" else splits[split]
        self.files = self.files[:limit] if limit is not None else self.files

    @property
    def with_parsing(self) -> bool:
        return self._labels is not None

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> dict:
        n = len(self.files)
        if not -n <= i < n:
            raise IndexError(f"{self.name}: index {i} out of range for {n} items")
        i %= n
        if i in self._memo:
            return dict(self._memo[i])
        for k in range(n):
            j = (i + k) % n
            rel = self.files[j]
            if rel in self._bad:
                continue
            try:
                img = read_rgb(self.root / rel)
            except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as err:
                self._mark_bad(rel, err)
                continue
            return self._remember(i, self._item(j, rel, img))
        raise RuntimeError(f"{self.name}: none of the {n} images under {self.root} could be read")

    def _remember(self, i: int, item: dict) -> dict:
        size = sum(v.numel() * v.element_size() for v in item.values() if torch.is_tensor(v))
        if self._memo_bytes + size <= self.memory_cache_mb * 2**20:
            self._memo[i], self._memo_bytes = item, self._memo_bytes + size
        return dict(item)

    def _mark_bad(self, rel: str, err: Exception) -> None:
        self._bad.add(rel)
        self.skipped += 1
        warnings.warn(f"{self.name}: skipping unreadable image {self.root / rel}: {err}", stacklevel=3)

    def _item(self, j: int, rel: str, img: np.ndarray) -> dict:
        box = square_box(img.shape[:2], self.crop, self.crop_box, self.root / rel)
        image = resize_image(crop_to(img, box), self.size, self.interp)
        item = {"image": torch.from_numpy(image).permute(2, 0, 1).float().div_(255),
                "path": str(self.root / rel), "index": j}
        if self._labels is not None:
            label = self._labels(rel)
            lbox = scale_box(box, img.shape[:2], label.shape[:2], self.root / rel)
            parsing = celebamask_to_regions(resize_label(crop_to(label, lbox), self.size))
            item["parsing"] = torch.from_numpy(parsing.astype(np.int64))
        return item


# -- geometry ---------------------------------------------------------------------------------

def _check_options(size, split, crop, crop_box, interp, limit) -> None:
    if int(size) < 8:
        raise ValueError(f"size must be >= 8, got {size}")
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    if crop not in CROPS:
        raise ValueError(f"crop must be one of {CROPS}, got {crop!r}")
    if interp not in INTERPS:
        raise ValueError(f"interp must be one of {tuple(INTERPS)}, got {interp!r}")
    if crop_box is not None and (len(crop_box) != 4 or crop_box[0] >= crop_box[2] or crop_box[1] >= crop_box[3]):
        raise ValueError(f"crop_box must be (left, top, right, bottom) with left < right, top < bottom, got {crop_box}")
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be >= 1 or None, got {limit}")


def square_box(hw: tuple[int, int], crop: str, crop_box, path) -> tuple[int, int, int, int]:
    """The (left, top, right, bottom) pixel box taken from an ``(H, W)`` image: ``crop_box``, then centre square."""
    h, w = hw
    left, top, right, bottom = crop_box if crop_box is not None else (0, 0, w, h)
    if left < 0 or top < 0 or right > w or bottom > h:
        raise ValueError(f"{path}: crop_box {crop_box} lies outside the {w}x{h} image")
    if crop == "center":
        side = min(right - left, bottom - top)
        left += (right - left - side) // 2
        top += (bottom - top - side) // 2
        right, bottom = left + side, top + side
    return int(left), int(top), int(right), int(bottom)


def scale_box(box, src_hw, dst_hw, path) -> tuple[int, int, int, int]:
    """The same box on a map of another resolution (label maps of half-resolution, ...)."""
    sy, sx = dst_hw[0] / src_hw[0], dst_hw[1] / src_hw[1]
    if abs(sy - sx) > 0.02 * max(sx, sy):
        raise ValueError(f"{path}: label map {dst_hw[1]}x{dst_hw[0]} does not have the image's "
                         f"aspect ratio ({src_hw[1]}x{src_hw[0]})")
    return (round(box[0] * sx), round(box[1] * sy), round(box[2] * sx), round(box[3] * sy))


def crop_to(arr: np.ndarray, box) -> np.ndarray:
    return arr[box[1]:box[3], box[0]:box[2]]


def resize_image(img: np.ndarray, size: int, interp: str = "bicubic") -> np.ndarray:
    """``(H, W, 3)`` uint8 -> ``(size, size, 3)`` uint8 (PIL bicubic is antialiased when shrinking)."""
    if img.shape[:2] == (size, size):
        return np.array(img)
    return np.array(Image.fromarray(img).resize((size, size), INTERPS[interp]))


def resize_label(label: np.ndarray, size: int) -> np.ndarray:
    """``(H, W)`` uint8 ids -> ``(size, size)`` with NEAREST (ids must never be blended)."""
    if label.shape[:2] == (size, size):
        return label
    return np.array(Image.fromarray(label.astype(np.uint8)).resize((size, size), Image.NEAREST))


def read_rgb(path: str | Path) -> np.ndarray:
    """Decode an image file fully into ``(H, W, 3)`` uint8 RGB (raises on corrupt/truncated files)."""
    with Image.open(path) as im:
        im.load()
        return np.array(im.convert("RGB"))


# -- layouts ----------------------------------------------------------------------------------

def list_images(folder: str | Path) -> list[str]:
    """Image files under ``folder`` (recursive, hidden entries skipped) as sorted relative posix names."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"image folder {folder} does not exist")
    out = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        rel_dir = Path(dirpath).relative_to(folder)
        out += [(rel_dir / f).as_posix() for f in filenames
                if not f.startswith(".") and f.lower().endswith(IMAGE_EXTS)]
    return sorted(out)


def layout_of(folder: Path) -> str:
    """``"combined"`` (images/ + labels/), ``"official"`` (CelebA-HQ-img/ + CelebAMask-HQ-mask-anno/) or ``"plain"``."""
    if (folder / "images").is_dir() and (folder / "labels").is_dir():
        return "combined"
    if (folder / "CelebA-HQ-img").is_dir() and (folder / "CelebAMask-HQ-mask-anno").is_dir():
        return "official"
    return "plain"


class _CombinedLabels:
    """Picklable label reader (DataLoader workers may be spawned) for ``labels/<id>.png``."""

    def __init__(self, root: Path):
        self.root = root

    @staticmethod
    def label_rel(rel: str) -> str:
        return Path("labels", *Path(rel).parts[1:]).with_suffix(".png").as_posix()

    def __call__(self, rel: str) -> np.ndarray:
        return read_label_png(self.root / self.label_rel(rel))


def combined_labels(root: Path, files: list[str]) -> LabelReader:
    """Label reader for ``images/<id>.jpg`` + ``labels/<id>.png``; raises if any label file is missing."""
    present = {f"labels/{p}" for p in list_images(root / "labels")}
    missing = [rel for rel in files if _CombinedLabels.label_rel(rel) not in present]
    if missing:
        raise FileNotFoundError(f"label file {root / _CombinedLabels.label_rel(missing[0])} is missing for image "
                                f"{root / missing[0]} ({len(missing)} of {len(files)} labels missing)")
    return _CombinedLabels(root)


def official_labels(root: Path, files: list[str]) -> LabelReader:
    """Label reader for the official per-part layout ``CelebAMask-HQ-mask-anno/<k>/<id:05d>_<part>.png``."""
    parts: dict[int, dict[str, Path]] = {}
    for rel in list_images(root / "CelebAMask-HQ-mask-anno"):
        stem = Path(rel).stem
        head, _, part = stem.partition("_")
        if head.isdigit() and part in CELEBAMASK_PARTS:
            parts.setdefault(int(head), {})[part] = root / "CelebAMask-HQ-mask-anno" / rel
    for rel in files:
        ident = _official_id(root, rel)
        if ident not in parts:
            raise FileNotFoundError(f"label file {root}/CelebAMask-HQ-mask-anno/{ident // 2000}/{ident:05d}_skin.png "
                                    f"(or any part of image {root / rel}) is missing")
    return _OfficialLabels(root, parts)


class _OfficialLabels:
    """Picklable label reader for the official per-part layout (part files indexed once at init)."""

    def __init__(self, root: Path, parts: dict[int, dict[str, Path]]):
        self.root, self.parts = root, parts

    def __call__(self, rel: str) -> np.ndarray:
        return labels_from_parts(self.parts[_official_id(self.root, rel)])


def _official_id(root: Path, rel: str) -> int:
    stem = Path(rel).stem
    if not stem.isdigit():
        raise ValueError(f"{root / rel}: official CelebA-HQ image names are numeric ids (<id>.jpg)")
    return int(stem)


def folder_dataset(folder: Path, size: int, name: str, with_parsing: bool, **kw) -> FaceDataset:
    """A dataset from one folder, its layout detected (combined / official CelebAMask-HQ / plain)."""
    layout = layout_of(folder)
    sub = {"combined": "images", "official": "CelebA-HQ-img", "plain": ""}[layout]
    files = [f"{sub}/{f}" if sub else f for f in list_images(folder / sub if sub else folder)]
    labels = None
    if with_parsing:
        if layout == "plain":
            raise ValueError(f"{name}: {folder} is a plain image folder without parsing labels "
                             f"(use celebamask-hq or synthetic for with_parsing=True)")
        if files:
            labels = (combined_labels if layout == "combined" else official_labels)(folder, files)
    return FaceDataset(folder, files, size, name=name, labels=labels, **kw)


# -- registry ---------------------------------------------------------------------------------

#: Known dataset names -> folder names tried under the data root, in order: the full datasets' standard
#: folder names first, the project's development samples (``celebamask-hq-1k``, ``celeba-aligned-10k``,
#: ``utkface-3k``) last, so a user who keeps the full set beside a sample trains on the full set.
DATASETS: dict[str, tuple[str, ...]] = {
    "celebamask-hq": ("CelebAMask-HQ", "celebamask-hq", "celebamask-hq-1k"),
    "celeba-hq": ("CelebA-HQ", "celeba-hq", "CelebA-HQ-img", "CelebAMask-HQ", "celebamask-hq", "celebamask-hq-1k"),
    "celeba": ("img_align_celeba", "celeba/img_align_celeba", "CelebA/Img/img_align_celeba", "celeba-aligned-10k"),
    "utkface": ("UTKFace", "utkface", "utkface-3k"),
    "ffhq": ("ffhq/images1024x1024", "FFHQ/images1024x1024", "images1024x1024", "ffhq", "FFHQ"),
    "synthetic": (),
}
_LABELLED = ("celebamask-hq",)


def find_dataset_folder(name: str, root: Path) -> Path:
    """The first existing candidate folder of a known dataset under ``root``."""
    for cand in DATASETS[name]:
        if (root / cand).is_dir():
            return root / cand
    tried = ", ".join(str(root / c) for c in DATASETS[name])
    raise FileNotFoundError(f"dataset {name!r} not found; tried {tried}")


def open_dataset(name_or_path: str, size: int, split: str = "all", data_root: str | Path | None = None,
                 with_parsing: bool = False, seed: int = 0, crop: str = "center", limit: int | None = None,
                 *, crop_box: tuple[int, int, int, int] | None = None, interp: str = "bicubic") -> FaceDataset:
    """Open a dataset by name (see :data:`DATASETS`) or folder path at ``size x size``.

    Args:
        name_or_path: known name or an existing folder (layout detected: combined, official, plain).
        size: working resolution S.   split: "all" | "train" | "val" | "test" (80/10/10 by ``seed``).
        data_root: datasets folder; default :func:`faceinpaint_core.paths.data_root`.
        with_parsing: add ``"parsing"`` (S, S) long; only CelebAMask-HQ layouts and synthetic have labels.
        seed: split seed (and render seed for "synthetic").   crop: "center" | "none".
        limit: keep the first ``limit`` files of the split (synthetic: number of faces, default 64).
        crop_box: (left, top, right, bottom) in source pixels, applied before the crop.
        interp: "bicubic" | "area" image resampling.
    """
    kw = dict(split=split, seed=seed, crop=crop, crop_box=crop_box, limit=limit, interp=interp)
    if name_or_path == "synthetic":
        from .synthetic import SyntheticFaces

        return SyntheticFaces(limit or 64, size, seed, split=split, with_parsing=with_parsing)
    if name_or_path in DATASETS:
        root = _default_data_root(data_root)
        if root is None:
            raise FileNotFoundError(f"dataset {name_or_path!r}: no data root; set FACEINPAINT_DATA or pass data_root")
        if with_parsing and name_or_path not in _LABELLED:
            raise ValueError(f"dataset {name_or_path!r} has no parsing labels; use one of {_LABELLED} or 'synthetic'")
        folder = find_dataset_folder(name_or_path, root)
        return _logged(folder_dataset(folder, size, name_or_path, with_parsing, **kw), root)
    if Path(name_or_path).is_dir():
        folder = Path(name_or_path).resolve()
        return _logged(folder_dataset(folder, size, folder.name, with_parsing, **kw), _root_or_none(data_root))
    raise ValueError(f"unknown dataset {name_or_path!r}: not a folder and not one of {sorted(DATASETS)}")


def portable_folder(folder: str | Path, root: str | Path | None) -> str:
    """``folder`` as provenance records it: ``"$FACEINPAINT_DATA/<rel>"`` under the data root ``root``,
    else ``".../<folder name>"`` (an absolute path names one machine's disks, so it is never recorded)."""
    folder = Path(folder).resolve()
    if root is not None:
        try:
            rel = folder.relative_to(Path(root).resolve()).as_posix()
            return DATA_ROOT_VAR if rel == "." else f"{DATA_ROOT_VAR}/{rel}"
        except ValueError:
            pass
    return f".../{folder.name}"


def _root_or_none(data_root) -> Path | None:
    try:
        return _default_data_root(data_root)
    except FileNotFoundError:  # a folder given by path needs no data root
        return None


def _logged(ds: FaceDataset, root: Path | None) -> FaceDataset:
    """Record ``ds.folder`` relative to the data root ``root`` and log the folder used with its image count."""
    ds.folder = portable_folder(ds.root, root)
    log.info("dataset %s: using folder %s (%d images, split %d)", ds.name, ds.folder, ds.n_files_total, len(ds))
    return ds


def parse_utkface_name(name: str) -> dict | None:
    """``<age>_<gender>_<race>_<date>.jpg.chip.jpg`` -> ``{"age", "gender", "race"}`` (None if malformed)."""
    fields = Path(name).name.split("_")
    try:
        return {"age": int(fields[0]), "gender": int(fields[1]), "race": int(fields[2])}
    except (IndexError, ValueError):
        return None
