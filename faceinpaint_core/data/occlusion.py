"""Landmark-placed occlusions of TSGAN's evaluation (source 004), seeded and frozen with a manifest hash.

Source 004 occludes Multi-PIE / LFW faces at key points (eyes, left eye, right eye, nose, mouth), with
random blocks, and with irregular masks. Here every kind is a ``(S, S)`` uint8 mask (1 = hole):

* key-point kinds (:data:`LANDMARK_REGIONS`): the box of the region's dlib landmarks padded by
  ``pad`` x the outer-eye-corner distance. ``left_eye`` / ``right_eye`` are the eyes on the image's
  left / right (dlib 36-41 / 42-47: the subject's right / left eye) [ours: the slides do not say];
* ``block``: a random square of side ``block_side`` x the eye distance centred on a random landmark
  of the inner face (17-67) (source: "随机块遮挡"; placement ours);
* ``irregular``: the project's free-form strokes (:func:`faceinpaint_core.masks.generate_mask`) of a
  hole-ratio bin.

Each mask is drawn from ``rng(seed, "occlusion-<kind>", index)``; :func:`build_occlusion_set` freezes a
set (``masks.npz`` + ``manifest.json`` whose sha256 covers the parameters, the file list, the landmarks
and the mask bytes, like :mod:`faceinpaint_core.masks.mask_sets`), :func:`load_occlusion_set` checks it.
"""
from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np

from ..utils.seeding import rng

LANDMARK_REGIONS = {"eyes": tuple(range(36, 48)), "left_eye": tuple(range(36, 42)),
                    "right_eye": tuple(range(42, 48)), "nose": tuple(range(27, 36)),
                    "mouth": tuple(range(48, 68))}
OCCLUSION_KINDS = (*LANDMARK_REGIONS, "block", "irregular")
FORMAT_VERSION = 1


def _box(mask: np.ndarray, x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    h, w = mask.shape
    xa, ya = int(np.clip(np.floor(x0), 0, w)), int(np.clip(np.floor(y0), 0, h))
    xb, yb = int(np.clip(np.ceil(x1) + 1, 0, w)), int(np.clip(np.ceil(y1) + 1, 0, h))
    mask[ya:yb, xa:xb] = 1
    return mask


def occlusion_mask(kind: str, landmarks: np.ndarray, size: int, g: np.random.Generator, pad: float = 0.15,
                   block_side: float = 0.6, irregular_bin: str = "20-30") -> np.ndarray:
    """One ``(size, size)`` uint8 occlusion (1 = hole) of ``kind`` for a face with ``(68, 2)`` landmarks (px)."""
    if kind not in OCCLUSION_KINDS:
        raise ValueError(f"unknown occlusion {kind!r}; known: {', '.join(OCCLUSION_KINDS)}")
    lm = np.asarray(landmarks, np.float64)
    iod = float(np.linalg.norm(lm[45] - lm[36])) or size / 3
    mask = np.zeros((size, size), np.uint8)
    if kind in LANDMARK_REGIONS:
        pts = lm[list(LANDMARK_REGIONS[kind])]
        (x0, y0), (x1, y1) = pts.min(0) - pad * iod, pts.max(0) + pad * iod
        return _box(mask, x0, y0, x1, y1)
    if kind == "block":
        cx, cy = lm[17 + int(g.integers(51))]
        half = block_side * iod / 2
        return _box(mask, cx - half, cy - half, cx + half, cy + half)
    from ..masks import generate_mask

    return generate_mask("irregular", irregular_bin, size, g).astype(np.uint8)


def occlusion_for(kind: str, landmarks: np.ndarray, size: int, seed: int, index: int, **kw) -> np.ndarray:
    """The seeded occlusion of item ``index``: :func:`occlusion_mask` with ``rng(seed, "occlusion-<kind>", index)``."""
    return occlusion_mask(kind, landmarks, size, rng(seed, f"occlusion-{kind}", index), **kw)


def _npz_bytes(arrays: dict) -> bytes:
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def occlusion_set_sha256(params: dict, files: list[str], landmarks: np.ndarray, masks: np.ndarray) -> str:
    """sha256 of canonical-JSON params + file list, then the landmark (rounded to 0.01 px) and mask bytes."""
    import hashlib

    h = hashlib.sha256(json.dumps({"params": params, "files": list(files)}, sort_keys=True).encode())
    h.update(np.round(np.asarray(landmarks, np.float64), 2).astype("<f8").tobytes())
    h.update(np.ascontiguousarray(masks, np.uint8).tobytes())
    return h.hexdigest()


def make_occlusion_set(landmarks: dict[str, np.ndarray], kinds, size: int, seed: int, **kw) -> tuple[list, dict]:
    """``(files, {kind: (n, S, S) uint8})`` over the sorted files of ``landmarks`` (``{file: (68, 2) px}``)."""
    files = sorted(landmarks)
    return files, {k: np.stack([occlusion_for(k, landmarks[f], size, seed, i, **kw) for i, f in enumerate(files)])
                   for k in kinds}


def build_occlusion_set(landmarks: dict[str, np.ndarray], kinds, size: int, seed: int, out, **kw) -> dict:
    """Freeze the occlusions of ``kinds`` for the faces of ``landmarks`` into folder ``out``; an identical
    existing set is reused, a different one is a ``ValueError``. Returns the manifest."""
    from ..utils.io import atomic_write_bytes, atomic_write_json

    out = Path(out)
    files, masks = make_occlusion_set(landmarks, kinds, size, seed, **kw)
    params = {"format_version": FORMAT_VERSION, "kinds": list(kinds), "size": int(size), "seed": int(seed), **kw}
    lms = np.stack([landmarks[f] for f in files])
    stacked = np.stack([masks[k] for k in kinds])
    sha = occlusion_set_sha256(params, files, lms, stacked)
    man_path = out / "manifest.json"
    if man_path.is_file():
        old = json.loads(man_path.read_text())
        if old.get("sha256") != sha:
            raise ValueError(f"occlusion set {out} holds another set (sha256 {old.get('sha256')} != {sha}); "
                             f"remove it or choose another folder")
        return old
    atomic_write_bytes(out / "masks.npz", _npz_bytes({"masks": np.packbits(stacked, axis=-1), "landmarks": lms}))
    manifest = {"params": params, "files": files, "sha256": sha, "n": len(files),
                "hole_ratio": {k: float(masks[k].mean()) for k in kinds}}
    atomic_write_json(man_path, manifest)
    return manifest


def load_occlusion_set(folder) -> tuple[dict[str, dict[str, np.ndarray]], dict]:
    """``({kind: {file: (S, S) uint8}}, manifest)`` of a frozen set, its hash verified."""
    folder = Path(folder)
    try:
        manifest = json.loads((folder / "manifest.json").read_text())
        data = np.load(folder / "masks.npz")
        size, kinds, files = manifest["params"]["size"], manifest["params"]["kinds"], manifest["files"]
        stacked = np.unpackbits(data["masks"], axis=-1)[..., :size]
        lms = data["landmarks"]
    except (OSError, ValueError, KeyError) as err:
        raise ValueError(f"occlusion set {folder}: missing or invalid masks.npz / manifest.json ({err})") from err
    if occlusion_set_sha256(manifest["params"], files, lms, stacked) != manifest.get("sha256"):
        raise ValueError(f"occlusion set {folder}: masks.npz does not match the manifest's sha256 (edited?); "
                         f"rebuild it")
    return {k: dict(zip(files, stacked[i])) for i, k in enumerate(kinds)}, manifest
