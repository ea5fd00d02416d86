"""Face embedders behind one interface, and dlib's 128-d descriptor with an on-disk cache.

An :class:`Embedder` maps faces ``(N, 3, H, W)`` in [0, 1] to an :class:`Embedding`: ``vectors``
``(N, D)`` float64 and ``found`` ``(N,)`` bool (was a face detected). Its :meth:`~Embedder.score`
turns two rows into a similarity (higher = more alike) for the verification metrics: minus the
Euclidean distance for dlib (its same-person rule is ``distance < 0.6``), the cosine for networks.

:class:`DlibEmbedder` (King 2009; ``dlib_face_recognition_resnet_model_v1``, the face aligned with the
5-point shape predictor) finds the face with the HOG detector on the image upsampled to ``min_size``.
When no face is found the image is *counted* (``found = False``, :attr:`DlibEmbedder.stats`) and, with
``on_miss="fullbox"`` (default: the study's faces are already aligned crops), described from the
whole image as the face box; with ``on_miss="drop"`` its row is NaN and the verification leaves its
pairs out, counted. ``reference`` images (e.g. the clean faces of occluded probes) may supply the box.

Descriptors are cached on disk (``cache_dir``) under the sha256 of the 8-bit image bytes, its shape, the
reference's hash and every setting, so repeated runs (clean pairs, the ground truth of each method)
compute each face once. The network embedders live in :mod:`faceinpaint_core.eval.embedders`.
"""
from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .identity import dlib_model, face_model_path, import_dlib, to_uint8_rgb

SCORES = ("euclidean", "cosine")
MISS_POLICIES = ("fullbox", "drop")


@dataclass
class Embedding:
    """``vectors`` ``(N, D)`` float64 (NaN rows = no embedding) and ``found`` ``(N,)`` bool."""

    vectors: np.ndarray
    found: np.ndarray


class Embedder(ABC):
    """A face embedder: :meth:`embed` faces, :meth:`score` pairs. ``name``, ``dim``, ``distance`` (:data:`SCORES`)."""

    name: str = "embedder"
    dim: int = 0
    distance: str = "cosine"

    @abstractmethod
    def embed(self, images: torch.Tensor, reference: torch.Tensor | None = None) -> Embedding:
        """Embeddings of ``images`` ``(N, 3, H, W)`` in [0, 1]; ``reference`` (same shape) may locate the faces."""

    def score(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Similarity of rows ``a[k]``, ``b[k]`` ``(P, D)`` -> ``(P,)`` (NaN where either is NaN)."""
        if self.distance == "euclidean":
            return -np.linalg.norm(a - b, axis=1)
        na, nb = np.linalg.norm(a, axis=1), np.linalg.norm(b, axis=1)
        return np.sum(a * b, axis=1) / (na * nb)


def image_key(image: np.ndarray) -> str:
    """sha256 of an ``(H, W, 3)`` uint8 image's shape and bytes."""
    h = hashlib.sha256(str(image.shape).encode())
    h.update(np.ascontiguousarray(image).tobytes())
    return h.hexdigest()


class DescriptorCache:
    """Descriptor rows on disk: ``<dir>/<key[:2]>/<key>.npy`` (``[found, d_1..d_D]`` float64), and in memory."""

    def __init__(self, folder: str | Path | None):
        self.folder = Path(folder) if folder else None
        self.memory: dict[str, np.ndarray] = {}
        self.hits = self.misses = 0

    def get(self, key: str) -> np.ndarray | None:
        row = self.memory.get(key)
        if row is None and self.folder is not None and (self.folder / key[:2] / f"{key}.npy").is_file():
            try:
                row = np.load(self.folder / key[:2] / f"{key}.npy")
            except (OSError, ValueError):
                row = None  # a torn or foreign file is recomputed and rewritten
        self.hits, self.misses = self.hits + (row is not None), self.misses + (row is None)
        if row is not None:
            self.memory[key] = row
        return row

    def put(self, key: str, row: np.ndarray) -> None:
        import io

        from ..utils.io import atomic_write_bytes

        self.memory[key] = row
        if self.folder is not None:
            buf = io.BytesIO()
            np.save(buf, row)
            atomic_write_bytes(self.folder / key[:2] / f"{key}.npy", buf.getvalue())


class DlibEmbedder(Embedder):
    """dlib's 128-d face descriptor (see the module docstring).

    Args:
        min_size: upsample images whose short side is smaller (bicubic) before detection and description.
        upsample_times: dlib detector's pyramid upsampling.
        on_miss: ``"fullbox"`` | ``"drop"`` for faces the detector misses.
        cache_dir: descriptor cache folder (None: memory only).
    Attributes:
        stats: ``{"n_images", "n_detect_fail", "n_cache_hits"}`` over all calls.
    """

    name, dim, distance = "dlib", 128, "euclidean"

    def __init__(self, min_size: int = 160, upsample_times: int = 0, on_miss: str = "fullbox",
                 cache_dir: str | Path | None = None):
        if on_miss not in MISS_POLICIES:
            raise ValueError(f"on_miss={on_miss!r} unknown; use one of {MISS_POLICIES}")
        self.dlib = import_dlib()
        self.min_size, self.upsample_times, self.on_miss = int(min_size), int(upsample_times), on_miss
        self.detector, self.shape5 = dlib_model("detector"), dlib_model("shape5")
        self.encoder = self.dlib.face_recognition_model_v1(str(face_model_path("resnet")))
        self.cache = DescriptorCache(cache_dir)
        self.settings = f"dlib-v1|min{self.min_size}|up{self.upsample_times}|{on_miss}"
        self.stats = {"n_images": 0, "n_detect_fail": 0, "n_cache_hits": 0}
        self._boxes: dict[str, object] = {}

    def _upsample(self, img: np.ndarray) -> np.ndarray:
        import cv2

        scale = max(1.0, self.min_size / min(img.shape[:2]))
        if scale == 1.0:
            return img
        return cv2.resize(img, (round(img.shape[1] * scale), round(img.shape[0] * scale)),
                          interpolation=cv2.INTER_CUBIC)

    def _box(self, big: np.ndarray, key: str):
        """The largest detected face box of an upsampled image (memoised by the image key), or None."""
        if key not in self._boxes:
            rects = list(self.detector(big, self.upsample_times))
            self._boxes[key] = max(rects, key=lambda r: r.area()) if rects else None
        return self._boxes[key]

    def _row(self, img: np.ndarray, ref: np.ndarray | None) -> np.ndarray:
        big = self._upsample(img)
        ref_big, ref_key = (big, image_key(img)) if ref is None else (self._upsample(ref), image_key(ref))
        box = self._box(ref_big, ref_key)
        if box is None and self.on_miss == "drop":
            return np.full(1 + self.dim, np.nan)
        rect = box if box is not None else self.dlib.rectangle(0, 0, big.shape[1] - 1, big.shape[0] - 1)
        desc = np.asarray(self.encoder.compute_face_descriptor(big, self.shape5(big, rect)), np.float64)
        return np.concatenate([[float(box is not None)], desc])

    def embed(self, images: torch.Tensor, reference: torch.Tensor | None = None) -> Embedding:
        imgs = to_uint8_rgb(images, 0)
        refs = to_uint8_rgb(reference, 0) if reference is not None else [None] * len(imgs)
        rows = []
        for img, ref in zip(imgs, refs):
            key = hashlib.sha256(f"{self.settings}|{image_key(img)}|{image_key(ref) if ref is not None else ''}"
                                 .encode()).hexdigest()
            row = self.cache.get(key)
            self.stats["n_cache_hits"] += row is not None
            if row is None:
                row = self._row(img, ref)
                self.cache.put(key, row)
            rows.append(row)
        rows = np.stack(rows) if rows else np.zeros((0, 1 + self.dim))
        found = np.nan_to_num(rows[:, 0], nan=0.0) > 0.5
        self.stats["n_images"] += len(rows)
        self.stats["n_detect_fail"] += int((~found).sum())
        return Embedding(rows[:, 1:], found)
