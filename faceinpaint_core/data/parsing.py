"""The patent's 8-region face parsing map (skin, nose, eyes, brows, ears, mouth, hair, neck), built from CelebAMask-HQ labels.

The facial-style method (patent, region normalisation eqs (13)-(15)) normalises each of 8 face
regions separately. CelebAMask-HQ labels 19 classes; this module merges them into the 8 regions:

==========================  ======  =====================================================
CelebAMask-HQ id / name      region  why
==========================  ======  =====================================================
0 background                 0       --
1 skin                       1 skin
2 nose                       2 nose
3 eyeglasses (eye_g)         1 skin  see below
4 l_eye, 5 r_eye             3 eyes  left/right merged
6 l_brow, 7 r_brow           4 brows left/right merged
8 l_ear, 9 r_ear             5 ears  left/right merged
10 mouth, 11 u_lip, 12 l_lip 6 mouth inner mouth and both lips are one region
13 hair                      7 hair
14 hat                       7 hair  a hat covers the hair and takes its place in the layout
15 earring (ear_r)           5 ears  small, always on an ear
16 necklace (neck_l)         8 neck  lies on the neck
17 neck                      8 neck
18 cloth                     0       clothing is not face: background
==========================  ======  =====================================================

Eyeglasses go to **skin**, not eyes: in CelebAMask-HQ's part order (skin, nose, eye_g, l_eye, r_eye,
...) the eyes are drawn *after* the glasses, so every pixel still labelled eyeglasses is frame or
lens over the cheeks, temples and brow bone -- skin. Mapping it to "eyes" would turn the small eye
region into a large ring dominated by frame/lens pixels and distort the eye region's style statistics.

The official per-part layout (``CelebAMask-HQ-mask-anno/<k>/<id:05d>_<part>.png``) is merged with
:func:`labels_from_parts`: parts are painted in :data:`CELEBAMASK_PARTS` order, later parts overwrite
earlier ones, which reproduces the combined one-id-per-pixel label PNGs.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

#: Region names; ``REGIONS[k - 1]`` names parsing value ``k`` (0 is background).
REGIONS: tuple[str, ...] = ("skin", "nose", "eyes", "brows", "ears", "mouth", "hair", "neck")
N_REGIONS: int = len(REGIONS)

#: CelebAMask-HQ class names; index = label id in the combined label PNGs.
CELEBAMASK_LABELS: tuple[str, ...] = (
    "background", "skin", "nose", "eyeglasses", "l_eye", "r_eye", "l_brow", "r_brow", "l_ear",
    "r_ear", "mouth", "u_lip", "l_lip", "hair", "hat", "earring", "necklace", "neck", "cloth")

#: Official per-part file suffixes, in painting order; part ``CELEBAMASK_PARTS[i]`` has label id ``i + 1``.
CELEBAMASK_PARTS: tuple[str, ...] = (
    "skin", "nose", "eye_g", "l_eye", "r_eye", "l_brow", "r_brow", "l_ear", "r_ear", "mouth",
    "u_lip", "l_lip", "hair", "hat", "ear_r", "neck_l", "neck", "cloth")

#: The merge table: ``LABEL_TO_REGION[celebamask_id] -> region`` (see the module docstring).
LABEL_TO_REGION: tuple[int, ...] = (0, 1, 2, 1, 3, 3, 4, 4, 5, 5, 6, 6, 6, 7, 7, 5, 8, 8, 0)

#: One CelebAMask id per region (used to write synthetic labels; round-trips exactly).
REGION_TO_LABEL: tuple[int, ...] = (0, 1, 2, 4, 6, 8, 10, 13, 17)

#: The palette of the CelebAMask-HQ label PNGs (id -> RGB).
CELEBAMASK_PALETTE: tuple[tuple[int, int, int], ...] = (
    (0, 0, 0), (204, 0, 0), (76, 153, 0), (204, 204, 0), (51, 51, 255), (204, 0, 204), (0, 255, 255),
    (255, 204, 204), (102, 51, 0), (255, 0, 0), (102, 204, 0), (255, 255, 0), (0, 0, 153), (0, 0, 204),
    (255, 51, 153), (0, 204, 204), (0, 51, 0), (255, 153, 51), (0, 204, 0))

#: Fixed palette of :func:`colorize` (region -> RGB), background black.
REGION_PALETTE: np.ndarray = np.array([
    (0, 0, 0), (230, 180, 150), (255, 120, 0), (0, 120, 255), (120, 60, 20),
    (255, 0, 200), (220, 0, 0), (255, 230, 0), (0, 170, 90)], dtype=np.uint8)

_LUT = np.array(LABEL_TO_REGION, dtype=np.uint8)


def celebamask_to_regions(label: np.ndarray) -> np.ndarray:
    """Merge a CelebAMask-HQ label map (ids 0..18) into the patent's 8-region parsing map.

    Args:
        label: ``(H, W)`` integer array of CelebAMask-HQ ids 0..18.

    Returns:
        ``(H, W)`` uint8 array, 0 = background, 1..8 = :data:`REGIONS`.
    """
    label = np.asarray(label)
    if label.ndim != 2:
        raise ValueError(f"celebamask_to_regions: expected an (H, W) label map, got shape {label.shape}")
    if label.size and (label.min() < 0 or label.max() >= len(_LUT)):
        raise ValueError(f"celebamask_to_regions: label ids must be in 0..{len(_LUT) - 1}, "
                         f"got {label.min()}..{label.max()}")
    return _LUT[label.astype(np.intp)]


def regions_onehot(parsing: torch.Tensor, n_regions: int = N_REGIONS) -> torch.Tensor:
    """One-hot region masks of a parsing map, background dropped (the patent's per-region masks).

    Args:
        parsing: ``(N, H, W)`` long, values in ``0..n_regions`` (0 = background).
        n_regions: number of face regions (8).

    Returns:
        ``(N, n_regions, H, W)`` float, channel ``k - 1`` is 1 where ``parsing == k``.
    """
    if parsing.dim() != 3:
        raise ValueError(f"regions_onehot: expected parsing (N, H, W), got shape {tuple(parsing.shape)}")
    if parsing.numel() and (int(parsing.min()) < 0 or int(parsing.max()) > n_regions):
        raise ValueError(f"regions_onehot: parsing values must be in 0..{n_regions}, "
                         f"got {int(parsing.min())}..{int(parsing.max())}")
    onehot = torch.nn.functional.one_hot(parsing.long(), n_regions + 1)[..., 1:]
    return onehot.permute(0, 3, 1, 2).float()


def colorize(parsing) -> np.ndarray:
    """Fixed-palette colour picture of a parsing map, for figures.

    Args:
        parsing: ``(H, W)`` (or ``(N, H, W)``) array/tensor of region ids 0..8.

    Returns:
        uint8 ``(H, W, 3)`` (or ``(N, H, W, 3)``) RGB image.
    """
    if isinstance(parsing, torch.Tensor):
        parsing = parsing.detach().cpu().numpy()
    parsing = np.asarray(parsing)
    if parsing.size and (parsing.min() < 0 or parsing.max() >= len(REGION_PALETTE)):
        raise ValueError(f"colorize: region ids must be in 0..{len(REGION_PALETTE) - 1}")
    return REGION_PALETTE[parsing.astype(np.intp)]


def read_label_png(path: str | Path) -> np.ndarray:
    """Read a combined CelebAMask-HQ label PNG (palette or grayscale, one id per pixel).

    Returns:
        ``(H, W)`` uint8 array of ids 0..18.
    """
    with Image.open(path) as im:
        if im.mode not in ("P", "L", "I", "I;16"):
            raise ValueError(f"{path}: label PNG must hold one id per pixel (mode P or L), got mode {im.mode}")
        label = np.array(im)
    if label.max(initial=0) >= len(CELEBAMASK_LABELS):
        raise ValueError(f"{path}: label ids must be in 0..18, found {int(label.max())}")
    return label.astype(np.uint8)


def write_label_png(path: str | Path, label: np.ndarray) -> Path:
    """Write CelebAMask ids ``(H, W)`` as a palette PNG like the dataset's (atomic)."""
    import io

    from ..utils.io import atomic_write_bytes

    im = Image.fromarray(np.asarray(label, dtype=np.uint8), mode="P")
    im.putpalette([c for rgb in CELEBAMASK_PALETTE for c in rgb])
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return atomic_write_bytes(path, buf.getvalue())


def labels_from_parts(part_files: dict[str, Path]) -> np.ndarray:
    """Combine official per-part binary masks into one CelebAMask id map (later parts overwrite earlier).

    Args:
        part_files: ``{part_name: png_path}`` with names from :data:`CELEBAMASK_PARTS`; missing parts are absent.

    Returns:
        ``(H, W)`` uint8 array of ids 0..18.
    """
    unknown = set(part_files) - set(CELEBAMASK_PARTS)
    if unknown:
        raise ValueError(f"labels_from_parts: unknown part names {sorted(unknown)}")
    label = None
    for label_id, part in enumerate(CELEBAMASK_PARTS, start=1):
        if part not in part_files:
            continue
        with Image.open(part_files[part]) as im:
            on = np.array(im.convert("L")) > 127
        if label is None:
            label = np.zeros(on.shape, np.uint8)
        if on.shape != label.shape:
            raise ValueError(f"{part_files[part]}: part mask shape {on.shape} != {label.shape} of the other parts")
        label[on] = label_id
    if label is None:
        raise ValueError("labels_from_parts: no part files given")
    return label
