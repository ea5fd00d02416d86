"""Pose-pair faces for TSGAN: (occluded profile, clean profile, frontal, identity) items, identity-split.

:func:`open_pose_pairs` opens one part (``train`` / ``test``) of the identity split
(:func:`~.identities.identity_split`: no test identity is seen in training) and builds its pose pairs
(:mod:`.pose`): real pairs from the dlib yaw estimates (cached, :class:`~.pose.PoseCache`) and synthetic
pairs (frontal faces turned by :func:`~.pose.rotate_face`). Items of :class:`PosePairFaces`::

    {"image": (3, S, S) clean profile, "frontal": (3, S, S) frontal of the same person,
     "occlusion": (1, S, S) float 1 = hole (one landmark-placed kind per item, seeded),
     "label": long identity class, "yaw": float, "kind": str, "pair": int}

``pool`` = ``{file: (identity, |yaw|)}`` of every face of the part with a pose (gallery candidates) and
``load(file)`` its image.

Synthetic faces (tests, ``tiny``): :class:`~.synthetic.SyntheticFaces` renders the same identity at yaw 0
and at a drawn yaw, and their landmarks are the 3-D template projected at that yaw (approximate: the
drawings are not dlib faces) [ours].
"""
from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from .occlusion import OCCLUSION_KINDS, occlusion_for
from .pose import PoseCache, pose_summary, project_template, real_pose_pairs, rotate_face, synthetic_pose_pairs

SYNTHETIC_EYE_SCALE = 0.2  # eye distance / image side of the synthetic drawings (approximate)


def to_uint8(image: torch.Tensor) -> np.ndarray:
    """``(3, H, W)`` [0, 1] -> ``(H, W, 3)`` uint8."""
    return (image.permute(1, 2, 0).clamp(0, 1).numpy() * 255 + 0.5).astype(np.uint8)


def to_tensor(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).float().div(255)


class PosePairFaces(Dataset):
    """Pose pairs as training / evaluation items (see the module docstring).

    Args:
        load: ``file -> (3, S, S)`` face at the working size.  pairs: rows of :func:`~.pose.real_pose_pairs`
        / :func:`~.pose.synthetic_pose_pairs` (+ ``"landmarks"`` (68, 2) px at size S of the profile source).
        size: S.  seed: occlusion seed.  kinds: occlusion kinds dealt to items (seeded).
    """

    def __init__(self, load, pairs: list[dict], size: int, seed: int = 0, kinds=OCCLUSION_KINDS):
        if not pairs:
            raise ValueError("PosePairFaces: no pose pair (too few faces, or none frontal / non-frontal)")
        self.load, self.pairs, self.size, self.seed, self.kinds = load, pairs, int(size), int(seed), tuple(kinds)
        self.identities = sorted({p["identity"] for p in pairs})
        self._label = {k: i for i, k in enumerate(self.identities)}
        self.n_classes = len(self.identities)
        self.files = [p["profile"] + (f"@{p['rotate']:+g}" if p["rotate"] is not None else "") for p in pairs]
        self.name, self.folder, self.n_files_total, self.split_hash = "pose-pairs", "unknown", len(pairs), "unknown"

    def __len__(self) -> int:
        return len(self.pairs)

    def kind_of(self, i: int) -> str:
        from ..utils.seeding import rng

        return self.kinds[int(rng(self.seed, "pose-occlusion-kind", i).integers(len(self.kinds)))]

    def profile(self, i: int) -> tuple[torch.Tensor, np.ndarray]:
        """``(profile image (3, S, S), its landmarks (68, 2) px)`` of pair ``i`` (rotated when synthetic)."""
        p = self.pairs[i]
        img = self.load(p["profile"])
        if p["rotate"] is None:
            return img, p["landmarks"]
        warped, lm = rotate_face(to_uint8(img), p["landmarks"], p["rotate"])
        return to_tensor(warped), lm

    def item(self, i: int, kind: str | None = None) -> dict:
        """Item ``i`` with occlusion ``kind`` (default: the item's dealt kind)."""
        p = self.pairs[i]
        kind = kind or self.kind_of(i)
        image, lm = self.profile(i)
        occ = occlusion_for(kind, lm, self.size, self.seed, i)
        return {"image": image, "frontal": self.load(p["frontal"]), "occlusion": torch.from_numpy(occ).float()[None],
                "label": torch.tensor(self._label[p["identity"]], dtype=torch.long), "yaw": float(p["yaw"]),
                "aligned": torch.tensor(float(p.get("aligned", p["rotate"] is not None))),
                "kind": kind, "pair": i}

    def __getitem__(self, i: int) -> dict:
        return self.item(i)


def _synthetic_pairs(n: int, size: int, seed: int, part: str, held_out_fraction: float):
    from .identities import identity_split
    from .synthetic import SyntheticFaces

    faces = SyntheticFaces(n, size, seed, n_identities=max(2, n // 2), with_parsing=False)
    split = identity_split([faces.identity_of(i) for i in range(n)], seed, held_out_fraction)
    keep = set(split[part]) if part != "all" else None
    cache: dict[str, torch.Tensor] = {}

    def load(key: str) -> torch.Tensor:
        if key not in cache:
            index, yaw = key.split("@")
            cache[key] = faces.render(int(index), yaw=None if yaw == "view" else float(yaw))["image"]
        return cache[key]

    pairs = []
    for i in range(n):
        ident = str(faces.identity_of(i))
        if keep is not None and ident not in keep:
            continue
        yaw = float(faces.render(i)["yaw"])
        pairs.append({"profile": f"{i}@view", "frontal": f"{i}@0", "identity": ident, "yaw": yaw, "rotate": None,
                      "landmarks": project_template(yaw, size, scale=SYNTHETIC_EYE_SCALE)})
    return load, pairs, split


def open_pose_pairs(dataset: str, size: int, part: str = "train", data_root=None, seed: int = 0,
                    held_out_fraction: float = 0.2, limit: int | None = None, pose_size: int = 128,
                    cache_dir="results/cache/pose", synthetic_per_face: int = 1, kinds=OCCLUSION_KINDS,
                    finder=None) -> PosePairFaces:
    """The pose pairs of one part of the identity split of ``dataset`` (``celeba`` / a CelebA folder, or
    ``synthetic``); ``limit`` caps the faces whose pose is estimated (files of multi-image identities,
    grouped by identity); ``pose_size`` is the resolution dlib sees. Attributes ``summary``
    (:func:`~.pose.pose_summary`), ``pool`` and ``split_hash`` are set."""
    from .identities import identity_split, identity_split_sha256, identity_table

    if dataset == "synthetic":
        load, pairs, split = _synthetic_pairs(int(limit or 48), size, seed, part, held_out_fraction)
        faces = PosePairFaces(load, pairs, size, seed, kinds)
        faces.summary = {"n_real_pairs": len(pairs), "n_synthetic_pairs": 0, "n_pair_identities": faces.n_classes}
        faces.pool = {f"{p['profile'].split('@')[0]}@0": (p["identity"], 0.0) for p in pairs}
        faces.split_hash = identity_split_sha256(split)
        return faces
    from .datasets import open_dataset

    base = open_dataset(dataset, size=size, split="all", data_root=data_root, seed=seed)
    big = open_dataset(dataset, size=pose_size, split="all", data_root=data_root, seed=seed)
    table = identity_table(base)
    split = identity_split(table.values(), seed, held_out_fraction)
    keep = set(split[part]) if part != "all" else set(table.values())
    files = _pose_files(table, keep, limit)
    index = {f: i for i, f in enumerate(base.files)}
    cache = PoseCache(cache_dir, f"{getattr(base, 'name', dataset)}", pose_size, finder)
    records = cache.get(files, lambda f: to_uint8(big[index[f]]["image"]))
    sub = {f: table[f] for f in files}
    pairs = real_pose_pairs(sub, records) + synthetic_pose_pairs(sub, records, per_face=synthetic_per_face, seed=seed)
    for p in pairs:
        p["landmarks"] = records[p["profile"]].landmarks * (size / pose_size)
    faces = PosePairFaces(lambda f: base[index[f]]["image"], pairs, size, seed, kinds)
    faces.summary = pose_summary(records, pairs)
    faces.pool = {f: (table[f], abs(r.yaw)) for f, r in records.items() if r.found}
    faces.split_hash, faces.folder = identity_split_sha256(split), getattr(base, "folder", "unknown")
    faces.name = f"{getattr(base, 'name', dataset)} pose pairs ({part})"
    return faces


def _pose_files(table: dict[str, str], keep: set, limit: int | None) -> list[str]:
    """Files of kept identities with 2+ images (pairs need two), grouped by identity (identities in label order,
    so a ``limit`` keeps whole identities rather than scattered single images), the first ``limit``."""
    from .identities import _natural

    counts: dict[str, int] = {}
    for ident in table.values():
        counts[ident] = counts.get(ident, 0) + 1
    files = sorted((f for f, i in table.items() if i in keep and counts[i] >= 2), key=lambda f: (_natural(table[f]), f))
    return files[:limit] if limit else files
