"""Mask generation by kind, frozen evaluation mask sets (PNG + manifest + hash), and the training sampler.

On-disk format of a frozen set (folder named by :func:`mask_set_dirname`):

* ``00000.png`` ... : 8-bit grayscale PNG, **0 / 255 with 255 = hole** (NVIDIA's polarity);
  :func:`load_mask_set` returns 1 = hole.
* ``manifest.json``: parameters, ``files``, per-mask ``ratios`` (measured at ``size``), ``sources``
  (external kinds: the dataset file each mask came from), ``name`` (:data:`MASK_SET_NAMES`) and ``sha256``.

The hash is sha256 over the canonical JSON of the parameters (and sources) followed by the raw
uint8 {0,1} pixel arrays, never the PNG bytes, so it is the same on every machine and libpng version.
Mask ``i`` of a generated kind is drawn from ``rng(seed, f"mask-{kind}-{bin}", i)``. External kinds
draw from their evaluation pool only, never from the masks training uses (:data:`EXTERNAL_SELECTION`,
hashed with the set): ``nvidia`` takes the first ``n`` of the evaluation-split files whose measured
ratio at ``size`` lies in the bin (:mod:`.ratio_index`), in the order of one seeded permutation
``rng(seed, f"mask-{kind}-{bin}", 0)``; ``qdimd`` visits ``test/`` in such an order and keeps the masks
whose ratio at ``size`` lies in the bin.
"""
from __future__ import annotations

import hashlib
import logging
import io
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image

from ..paths import data_root
from ..utils.io import atomic_write_json
from ..utils.seeding import rng as seeded_rng
from .bins import BINS, hole_ratio, in_bin, parse_bin
from .external import (load_external_mask, nvidia_dir, nvidia_files, qdimd_dir, qdimd_files,
                       _read_gray)
from .irregular import irregular_mask
from .ratio_index import NVIDIA_EVAL_FRACTION, cache_dir, nvidia_pool
from .regular import circle_mask, rect_mask, regular_mask

log = logging.getLogger(__name__)
FORMAT_VERSION = 1
GENERATORS: dict[str, Callable[[str, int, np.random.Generator], np.ndarray]] = {
    "rect": rect_mask,
    "circle": circle_mask,
    "regular": regular_mask,
    "irregular": irregular_mask,
}
EXTERNAL_KINDS = ("nvidia", "qdimd")
KINDS = (*GENERATORS, *EXTERNAL_KINDS)
POLARITY_ON_DISK = "8-bit grayscale PNG, 0 = known, 255 = hole (load_mask_set returns 1 = hole)"
#: Human-readable name of each mask kind, for table captions.
MASK_SET_NAMES: dict[str, str] = {
    "irregular": "generated free-form strokes (DeepFill v2 style)",
    "nvidia": "NVIDIA irregular masks (Liu et al. 2018), binned by measured hole ratio",
    "qdimd": "QD-IMD test masks",
    "rect": "rectangles",
    "circle": "circles",
    "regular": "rectangles and circles",
}
#: How an external kind's evaluation masks are chosen (hashed with the set; sets built otherwise are refused).
EXTERNAL_SELECTION: dict[str, str] = {
    "nvidia": f"eval split (sha256 name hash < {NVIDIA_EVAL_FRACTION}), binned by hole ratio measured at size",
    "qdimd": "test/ only (train/ is for training), binned by hole ratio measured at size",
}


def _check_kind(kind: str, allowed=KINDS) -> str:
    if kind not in allowed:
        raise ValueError(f"unknown mask kind {kind!r}; known kinds: {', '.join(allowed)}")
    return kind


def generate_mask(kind: str, bin: str, size: int, rng: np.random.Generator) -> np.ndarray:
    """One generated mask of ``kind`` whose hole ratio lies in ``bin`` (``lo <= r < hi``).

    Args:
        kind: ``rect`` | ``circle`` | ``regular`` | ``irregular``.
        bin: hole-ratio bin name, e.g. ``"20-30"``.
        size: side of the square mask.
        rng: explicit numpy generator.
    Returns:
        (size, size) uint8 mask in {0, 1}, 1 = hole.
    """
    _check_kind(kind, tuple(GENERATORS))
    parse_bin(bin)
    return GENERATORS[kind](bin, int(size), rng)


def mask_set_dirname(kind: str, bin: str, n: int, size: int, seed: int) -> str:
    """Folder name of a frozen set, e.g. ``irregular_20-30_n50_s128_seed0``."""
    return f"{kind}_{bin}_n{int(n)}_s{int(size)}_seed{int(seed)}"


def _hash_params(kind, bin, n, size, seed, sources) -> dict:
    p = {"format_version": FORMAT_VERSION, "kind": kind, "bin": bin, "n": int(n), "size": int(size),
         "seed": int(seed)}
    if sources is not None:
        p["sources"] = list(sources)
    if kind in EXTERNAL_SELECTION:
        p["selection"] = EXTERNAL_SELECTION[kind]
    return p


def mask_set_hash(params: dict, masks) -> str:
    """sha256 over canonical-JSON ``params`` then each (H, W) uint8 {0,1} mask's raw bytes."""
    h = hashlib.sha256(json.dumps(params, sort_keys=True, separators=(",", ":")).encode())
    for m in masks:
        h.update(np.ascontiguousarray(m, dtype=np.uint8).tobytes())
    return h.hexdigest()


def _external_masks(kind, bin, n, size, seed, source_root) -> tuple[list[np.ndarray], list[str]]:
    """Seeded selection of ``n`` evaluation masks of an external kind whose ratio at ``size`` lies in ``bin``."""
    if kind == "nvidia":
        return _nvidia_masks(bin, n, size, seed, nvidia_dir(source_root))
    folder = qdimd_dir(source_root)
    files = qdimd_files(folder, "eval")
    order = seeded_rng(seed, f"mask-{kind}-{bin}", 0).permutation(len(files))
    masks, sources = [], []
    for j in order:
        m = load_external_mask(files[j], kind, size)
        if in_bin(hole_ratio(m), bin):
            masks.append(m)
            sources.append(files[j].relative_to(folder).as_posix())
            if len(masks) == n:
                return masks, sources
    raise ValueError(f"{kind} masks in {folder}: only {len(masks)} of {len(files)} test/ files have a "
                     f"hole ratio in bin {bin!r} at size {size}, fewer than n={n}")


def _nvidia_masks(bin, n, size, seed, folder: Path) -> tuple[list[np.ndarray], list[str]]:
    """The first ``n`` evaluation-split NVIDIA masks measured in ``bin``, in a seeded order."""
    pool = nvidia_pool(nvidia_files(folder), "eval", *parse_bin(bin), size)
    if not pool:
        raise ValueError(f"nvidia masks in {folder}: no evaluation-split file has a measured hole ratio in bin "
                         f"{bin!r} at size {size}")
    order = seeded_rng(seed, f"mask-nvidia-{bin}", 0).permutation(len(pool))
    if len(pool) < n:  # the 12k test masks hold ~200 evaluation masks per bin: reuse them, each with new faces
        log.warning("nvidia masks in %s: %d evaluation-split masks in bin %s at %d px for n=%d faces; mask i is "
                    "paired with face i, so each mask is reused up to %d times (manifest: n_unique)",
                    folder, len(pool), bin, size, n, -(-n // len(pool)))
        order = np.resize(order, n)
    order = order[:n]
    masks = [load_external_mask(pool[j][0], "nvidia", size) for j in order]
    for j, m in zip(order, masks):
        if hole_ratio(m) != pool[j][1]:
            raise ValueError(f"{pool[j][0]}: hole ratio {hole_ratio(m)} differs from the cached ratio index "
                             f"({pool[j][1]}); the file changed: delete the index in {cache_dir()} to rebuild it")
    return masks, [pool[j][0].name for j in order]


def _make_masks(kind, bin, n, size, seed, source_root) -> tuple[list[np.ndarray], list[str] | None]:
    if kind in EXTERNAL_KINDS:
        return _external_masks(kind, bin, n, size, seed, source_root)
    return [generate_mask(kind, bin, size, seeded_rng(seed, f"mask-{kind}-{bin}", i)) for i in range(n)], None


def _portable(folder: Path, source_root) -> str:
    """``"$FACEINPAINT_DATA/<rel>"`` when ``folder`` lies inside the data root (``$FACEINPAINT_DATA``, or the
    ``source_root`` that holds it), else ``".../<name>"``: manifests never record an absolute path."""
    folder = folder.resolve()
    for root in (data_root(), source_root):
        if root is not None and Path(root).resolve() in folder.parents:
            return f"$FACEINPAINT_DATA/{folder.relative_to(Path(root).resolve()).as_posix()}"
    return f".../{folder.name}"


def _png_bytes(mask: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray((mask * 255).astype(np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def _existing(out: Path, sha: str) -> dict | None:
    """The manifest of ``out`` if it already holds this set; None if ``out`` is absent or empty."""
    if not out.exists() or (out.is_dir() and not any(out.iterdir())):
        return None
    try:
        man = json.loads((out / "manifest.json").read_text())
    except (OSError, ValueError) as err:
        raise ValueError(f"mask set folder {out} exists but has no readable manifest.json ({err}); "
                         f"remove it or choose another --out") from err
    if man.get("sha256") != sha or not all((out / f).is_file() for f in man.get("files", [])):
        raise ValueError(f"mask set folder {out} holds a different or incomplete mask set "
                         f"(sha256 {man.get('sha256')} != {sha}); remove it or choose another --out")
    return man


def _write_set(out: Path, masks, manifest: dict) -> None:
    """Write PNGs + manifest into a temp folder beside ``out``, then rename it into place."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        for name, m in zip(manifest["files"], masks):
            (tmp / name).write_bytes(_png_bytes(m))
        atomic_write_json(tmp / "manifest.json", manifest)
        os.chmod(tmp / "manifest.json", 0o644)  # mkstemp / mkdtemp create 0600 / 0700
        os.chmod(tmp, 0o755)
        os.rename(tmp, out)  # atomic; also replaces an empty folder
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if _existing(out, manifest["sha256"]) is None:  # lost a race to an identical writer: fine
            raise


def build_mask_set(kind: str, bin: str, n: int, size: int, seed: int, out, source_root=None) -> dict:
    """Build (or reuse) the frozen mask set ``(kind, bin, n, size, seed)`` in folder ``out``.

    Args:
        kind: one of :data:`KINDS`; ``nvidia`` / ``qdimd`` need ``source_root`` (the dataset folder
            or the data root holding it; default ``$FACEINPAINT_DATA``).
        bin: hole-ratio bin name, e.g. ``"20-30"``.
        n, size, seed: number of masks, side in pixels, global seed.
        out: folder to write (created atomically; reused if it already holds the same set).
    Returns:
        The manifest dict (``sha256``, ``files``, ``ratios``, ``sources`` for external kinds, ...).
    """
    _check_kind(kind)
    lo, hi = parse_bin(bin)
    if int(n) < 1 or int(size) < 1:
        raise ValueError(f"mask set needs n >= 1 and size >= 1, got n={n}, size={size}")
    masks, sources = _make_masks(kind, bin, int(n), int(size), int(seed), source_root)
    params = _hash_params(kind, bin, n, size, seed, sources)
    sha = mask_set_hash(params, masks)
    out = Path(out)
    man = _existing(out, sha)
    if man is not None:
        return man
    manifest = {**params, "name": MASK_SET_NAMES[kind], "bin_range": [lo, hi], "polarity_on_disk": POLARITY_ON_DISK,
                "files": [f"{i:05d}.png" for i in range(len(masks))],
                "ratios": [hole_ratio(m) for m in masks], "sha256": sha,
                "n_unique": len(set(sources)) if sources is not None else len(masks)}
    if kind in EXTERNAL_KINDS:  # informational only, not hashed; relative to the data root, never absolute
        folder = nvidia_dir(source_root) if kind == "nvidia" else qdimd_dir(source_root)
        manifest["source_folder"] = _portable(folder, source_root)
    _write_set(out, masks, manifest)
    return manifest


def load_mask_set(folder) -> tuple[np.ndarray, dict]:
    """Load a frozen set and verify its hash.

    Returns:
        ``(masks, manifest)``: masks (n, H, W) uint8 in {0, 1}, 1 = hole. A missing file, a wrong
        shape or a hash mismatch raises ``ValueError`` naming the folder.
    """
    folder = Path(folder)
    try:
        man = json.loads((folder / "manifest.json").read_text())
        size = int(man["size"])
        params = _hash_params(man["kind"], man["bin"], man["n"], size, man["seed"], man.get("sources"))
    except (OSError, ValueError, KeyError) as err:
        raise ValueError(f"mask set {folder}: missing or invalid manifest.json ({err})") from err
    if man.get("selection") != params.get("selection"):
        was = man.get("selection") or "file-order bins / train+test pool"
        raise ValueError(f"mask set {folder}: built with another {man['kind']} selection ({was}); "
                         f"delete the folder to rebuild it")
    masks = []
    for name in man["files"]:
        m = (_read_gray(folder / name) > 127).astype(np.uint8)
        if m.shape != (size, size):
            raise ValueError(f"mask set {folder}: {name} has shape {m.shape}, expected {(size, size)}")
        masks.append(m)
    if mask_set_hash(params, masks) != man.get("sha256"):
        raise ValueError(f"mask set {folder}: pixel/parameter hash does not match manifest sha256 "
                         f"{man.get('sha256')} (files changed?); rebuild it")
    return np.stack(masks) if masks else np.zeros((0, size, size), np.uint8), man


class TrainMaskSampler:
    """Deterministic random masks for training: ``sampler(index)`` always gives the same mask.

    Kind and bin are drawn from ``rng(seed, "train-mask", index)``, which then draws the mask itself.
    External kinds draw from their training pool only (never an evaluation mask), with random flips:
    ``nvidia`` a random training-split file whose measured ratio at ``size`` lies in the drawn bin
    (:mod:`.ratio_index`), ``qdimd`` a random ``train/`` file (its ratio is not forced into the bin).
    ``pools[(kind, bin)]`` lists the files an external kind draws from; it is filled (and the NVIDIA ratio
    index built or read) at construction.
    """

    def __init__(self, kinds=("rect", "circle", "irregular"), bins=tuple(BINS), size: int = 256,
                 seed: int = 0, source_root=None):
        self.kinds = tuple(_check_kind(k) for k in kinds)
        self.bins = tuple(bins)
        for b in self.bins:
            parse_bin(b)
        if not self.kinds or not self.bins:
            raise ValueError("TrainMaskSampler needs at least one kind and one bin")
        self.size, self.seed, self.source_root = int(size), int(seed), source_root
        self.pools = {(k, b): self._pool(k, b) for k in self.kinds if k in EXTERNAL_KINDS for b in self.bins}

    def _pool(self, kind: str, b: str) -> list[Path]:
        if kind == "qdimd":
            return qdimd_files(qdimd_dir(self.source_root), "train")
        folder = nvidia_dir(self.source_root)
        files = [p for p, _ in nvidia_pool(nvidia_files(folder), "train", *parse_bin(b), self.size)]
        if not files:
            raise FileNotFoundError(f"TrainMaskSampler: no training-split nvidia mask in {folder} has a measured "
                                    f"hole ratio in bin {b!r} at size {self.size}")
        return files

    def __call__(self, index: int) -> np.ndarray:
        """The mask for sample ``index``: (size, size) uint8 in {0, 1}, 1 = hole."""
        g = seeded_rng(self.seed, "train-mask", int(index))
        kind = self.kinds[int(g.integers(len(self.kinds)))]
        b = self.bins[int(g.integers(len(self.bins)))]
        if kind in GENERATORS:
            return generate_mask(kind, b, self.size, g)
        files = self.pools[(kind, b)]
        m = load_external_mask(files[int(g.integers(len(files)))], kind, self.size)
        if g.random() < 0.5:
            m = m[:, ::-1]
        if g.random() < 0.5:
            m = m[::-1, :]
        return np.ascontiguousarray(m)
