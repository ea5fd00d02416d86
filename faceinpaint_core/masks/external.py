"""Loaders for external mask datasets; polarity is converted here, once, to 1 = hole.

* NVIDIA irregular masks (Liu et al. 2018, PConv test set): 512x512 grayscale PNG, **255 = hole**,
  ``00000.png``..``11999.png``, published as six hole-area groups of 2000 files in file order
  (0-10 %, 10-20 %, ..., 50-60 %, measured by its authors at 512 px). The study does not use that
  order: it bins each mask by its ratio measured at the working size (:mod:`.ratio_index`), which also
  splits the files into fixed training and evaluation pools.
* QD-IMD (Quick Draw Irregular Mask Dataset): 1-bit PNG, **0 (black) = hole**, folders ``train/``
  and ``test/``, kept apart: training masks come from ``train/`` only, evaluation masks from
  ``test/`` only (:func:`qdimd_files`).

Masks are resized to the working size with nearest neighbour, written in numpy (pixel-centre
sampling) so the result is bit-identical on every machine and stays in {0, 1}.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..paths import data_root

POLARITIES = ("nvidia", "qdimd")
NVIDIA_DIRNAMES = ("nvidia-irregular-masks", "nvidia_irregular_masks", "irregular_mask")
QDIMD_DIRNAMES = ("qd-imd", "qd-imd-sample", "qd_imd")
QDIMD_SPLITS = {"train": "train", "eval": "test"}  # purpose -> QD-IMD subfolder
_NVIDIA_NAME = re.compile(r"^(\d{5})\.png$")


def resize_nearest(mask: np.ndarray, size: int) -> np.ndarray:
    """Nearest-neighbour resize of a (H, W) {0,1} array to (size, size), sampling pixel centres."""
    h, w = mask.shape
    ys = np.minimum(((np.arange(size) + 0.5) * h / size).astype(np.int64), h - 1)
    xs = np.minimum(((np.arange(size) + 0.5) * w / size).astype(np.int64), w - 1)
    return np.ascontiguousarray(mask[ys[:, None], xs[None, :]])


def _read_gray(path: Path) -> np.ndarray:
    """(H, W) uint8 grayscale pixels of an image file; ``ValueError`` naming the file if unreadable."""
    try:
        with Image.open(path) as im:
            im.load()
            return np.asarray(im.convert("L"), dtype=np.uint8)
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError) as err:
        raise ValueError(f"mask file {path}: cannot be read as an image ({err})") from err


def load_external_mask(path: str | os.PathLike, polarity: str, size: int) -> np.ndarray:
    """Load one external mask and convert it to 1 = hole at the working size.

    Args:
        path: PNG file.
        polarity: ``"nvidia"`` (255 = hole) or ``"qdimd"`` (0 = hole).
        size: working size; the mask is resized to (size, size) with nearest neighbour.
    Returns:
        (size, size) uint8 mask in {0, 1}, 1 = hole.
    """
    if polarity not in POLARITIES:
        raise ValueError(f"unknown mask polarity {polarity!r}; known: {', '.join(POLARITIES)}")
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"mask file {path}: does not exist")
    gray = _read_gray(path)
    if gray.ndim != 2 or min(gray.shape) < 1:
        raise ValueError(f"mask file {path}: unexpected image shape {gray.shape}")
    hole = gray > 127 if polarity == "nvidia" else gray < 128
    return resize_nearest(hole.astype(np.uint8), int(size))


def _find_dir(source_root, names: tuple[str, ...], looks_right, what: str) -> Path:
    """The dataset folder: ``source_root`` itself if it has the layout, else a known subfolder of it
    (or of the data root, ``$FACEINPAINT_DATA``, when ``source_root`` is None)."""
    root = Path(source_root) if source_root is not None else data_root()
    if root is None or not root.is_dir():
        raise FileNotFoundError(f"{what} masks need a source folder: pass source_root/--source or set "
                                f"FACEINPAINT_DATA (got {source_root!r})")
    for cand in (root, *(root / n for n in names)):
        if cand.is_dir() and looks_right(cand):
            return cand
    raise FileNotFoundError(f"{what} masks not found in {root} (looked for the layout there and in "
                            f"subfolders {', '.join(names)})")


def _has_nvidia_files(folder: Path) -> bool:
    return any(_NVIDIA_NAME.match(p.name) for p in folder.glob("[0-9][0-9][0-9][0-9][0-9].png"))


def nvidia_dir(source_root=None) -> Path:
    """Folder holding the NVIDIA ``NNNNN.png`` files (``source_root`` or its ``nvidia-irregular-masks/``)."""
    return _find_dir(source_root, NVIDIA_DIRNAMES, _has_nvidia_files, "NVIDIA irregular")


def qdimd_dir(source_root=None) -> Path:
    """Folder holding QD-IMD's ``train/`` and/or ``test/`` (``source_root`` or a known subfolder)."""
    return _find_dir(source_root, QDIMD_DIRNAMES,
                     lambda d: (d / "test").is_dir() or (d / "train").is_dir(), "QD-IMD")


def nvidia_files(folder: Path) -> list[Path]:
    """All NVIDIA ``NNNNN.png`` files of ``folder``, sorted by name (binning: :mod:`.ratio_index`)."""
    files = sorted(p for p in folder.iterdir() if _NVIDIA_NAME.match(p.name))
    if not files:
        raise FileNotFoundError(f"NVIDIA irregular masks: no NNNNN.png files in {folder}")
    return files


def qdimd_files(folder: Path, purpose: str) -> list[Path]:
    """QD-IMD PNG files for ``purpose`` ``"train"`` (``train/``) or ``"eval"`` (``test/``), sorted by name.

    The two pools never mix, so no evaluation mask is ever a training mask; a missing or empty
    subfolder raises ``FileNotFoundError`` naming it.
    """
    if purpose not in QDIMD_SPLITS:
        raise ValueError(f"unknown QD-IMD purpose {purpose!r}; known: {', '.join(QDIMD_SPLITS)}")
    sub = folder / QDIMD_SPLITS[purpose]
    files = sorted(sub.glob("*.png")) if sub.is_dir() else []
    if not files:
        raise FileNotFoundError(f"QD-IMD {purpose} masks come from {sub}/ only, and it "
                                f"{'has no .png files' if sub.is_dir() else 'does not exist'}")
    return files
