"""Face identities: CelebA's ``identity_CelebA.txt``, a seeded identity-disjoint split, and identity-labelled faces.

CelebA (Liu et al. 2015) labels each aligned image with one of 10,177 identities in
``Anno/identity_CelebA.txt`` (``<file> <identity>`` per line, no header); the project's 10k sample
ships the file's first 10,000 lines beside the images. Recognition is trained on one part of the
identities and verified on the others, so the split here is by *identity*, not by file: identity
``k`` is ranked by ``sha256(f"{seed}|identity-split|{k}")`` and the last ``held_out_fraction`` of
the ranking is held out (as :mod:`.splits` ranks file names). Synthetic faces
(:class:`~.synthetic.SyntheticFaces`) carry their identity, so everything here runs without data.

Items of :class:`IdentityFaces` are the base dataset's items plus ``"identity"`` (the dataset's own
label, a string) and ``"label"`` (a long class index ``0..n_classes-1`` over the identities kept).
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import torch
from torch.utils.data import Dataset

IDENTITY_FILE = "identity_CelebA.txt"
PARTS = ("train", "test", "all")
#: where the identity file lies relative to a CelebA image folder: beside the images (the 10k sample),
#: or in the full download's ``Anno/`` (``img_align_celeba/``, ``Img/img_align_celeba/``)
IDENTITY_FILE_PLACES = (IDENTITY_FILE, f"../Anno/{IDENTITY_FILE}", f"../../Anno/{IDENTITY_FILE}")
SYNTHETIC_PER_IDENTITY = 4  # synthetic identity datasets: four views (yaw, lighting) per identity


def read_identity_file(path: str | Path) -> dict[str, str]:
    """``{image file name: identity}`` from a CelebA-style ``<file> <identity>`` file.

    Raises:
        FileNotFoundError: no such file.  ValueError: a malformed or duplicated line (named by number).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"identity file {path} does not exist")
    out: dict[str, str] = {}
    for no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 2:
            raise ValueError(f"{path}:{no}: expected '<file> <identity>', got {line.strip()!r}")
        if fields[0] in out:
            raise ValueError(f"{path}:{no}: file {fields[0]} is listed twice")
        out[fields[0]] = fields[1]
    if not out:
        raise ValueError(f"identity file {path} is empty")
    return out


def find_identity_file(image_folder: str | Path) -> Path:
    """The ``identity_CelebA.txt`` of a CelebA image folder (see :data:`IDENTITY_FILE_PLACES`)."""
    folder = Path(image_folder)
    for place in IDENTITY_FILE_PLACES:
        if (folder / place).is_file():
            return (folder / place).resolve()
    tried = ", ".join(str(folder / p) for p in IDENTITY_FILE_PLACES)
    raise FileNotFoundError(f"no {IDENTITY_FILE} for the images in {folder}; tried {tried}")


def _identity_rank(seed: int, identity: str) -> bytes:
    return hashlib.sha256(f"{int(seed)}|identity-split|{identity}".encode("utf-8")).digest()


def identity_split(identities, seed: int = 0, held_out_fraction: float = 0.2) -> dict[str, list[str]]:
    """Split identities into ``train`` and held-out ``test`` (sorted lists), deterministic in (seed, labels).

    Args:
        identities: identity labels (any iterable; duplicates are merged).
        held_out_fraction: share of identities held out, in ``(0, 1)``.
    """
    if not 0 < float(held_out_fraction) < 1:
        raise ValueError(f"held_out_fraction must be in (0, 1), got {held_out_fraction!r}")
    ids = sorted({str(i) for i in identities})
    if len(ids) < 2:
        raise ValueError(f"identity_split needs at least 2 identities, got {len(ids)}")
    ranked = sorted(ids, key=lambda k: (_identity_rank(seed, k), k))
    n_test = min(max(1, round(len(ids) * float(held_out_fraction))), len(ids) - 1)
    return {"train": sorted(ranked[:-n_test]), "test": sorted(ranked[-n_test:])}


def identity_split_sha256(split: dict[str, list[str]]) -> str:
    """sha256 of lines ``"<part>\\t<identity>"`` (train then test, sorted)."""
    text = "".join(f"{k}\t{i}\n" for k in ("train", "test") for i in sorted(split[k]))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def identity_table(dataset) -> dict[str, str]:
    """``{relative file name: identity}`` for every file of ``dataset`` (a CelebA folder or synthetic faces).

    Files without an identity line raise ``ValueError`` naming the first one and the identity file.
    """
    if hasattr(dataset, "identity_of"):  # SyntheticFaces: identity = index % n_identities
        return {f: str(dataset.identity_of(int(Path(f).stem))) for f in dataset.files}
    path = find_identity_file(dataset.root)
    labels = read_identity_file(path)
    missing = [f for f in dataset.files if Path(f).name not in labels]
    if missing:
        raise ValueError(f"{path}: no identity for {len(missing)} of {len(dataset.files)} images "
                         f"in {dataset.root}, e.g. {missing[0]}")
    return {f: labels[Path(f).name] for f in dataset.files}


class IdentityFaces(Dataset):
    """The faces of some identities of a base dataset, labelled (see the module docstring).

    Args:
        base: a face dataset over *all* files (``split="all"``), items with ``"image"``.
        table: ``{relative file: identity}`` for the files of ``base`` (:func:`identity_table`).
        identities: the identities kept (None: all).
        min_images: drop identities with fewer images than this.
    Attributes:
        files: kept relative file names (sorted); identities: kept identities (sorted, class order);
        n_classes; name, folder, n_files_total, split_hash (provenance, as the trainer records them).
    """

    def __init__(self, base, table: dict[str, str], identities=None, min_images: int = 1):
        keep = None if identities is None else {str(i) for i in identities}
        counts: dict[str, int] = {}
        for ident in table.values():
            counts[ident] = counts.get(ident, 0) + 1
        self.base, self.table = base, table
        self._index = {f: i for i, f in enumerate(base.files)}
        self.files = sorted(f for f, ident in table.items()
                            if (keep is None or ident in keep) and counts[ident] >= min_images)
        if not self.files:
            raise ValueError(f"{getattr(base, 'name', 'dataset')}: no image of the requested identities "
                             f"(with >= {min_images} images each)")
        self.identities = sorted({table[f] for f in self.files}, key=_natural)
        self._label = {ident: k for k, ident in enumerate(self.identities)}
        self.n_classes = len(self.identities)
        self.name, self.size = getattr(base, "name", "faces"), getattr(base, "size", None)
        self.folder = getattr(base, "folder", "unknown")
        self.n_files_total = getattr(base, "n_files_total", len(base.files))
        self.split_hash = "unknown"

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> dict:
        return self.item_of_file(self.files[i])

    def item_of_file(self, rel: str) -> dict:
        """The item of relative file ``rel`` (any file of the base dataset, kept or not)."""
        if rel not in self._index:
            raise KeyError(f"{self.name}: no image {rel!r}")
        item = dict(self.base[self._index[rel]])
        ident = self.table[rel]
        item["identity"] = ident
        item["label"] = torch.tensor(self._label.get(ident, -1), dtype=torch.long)
        return item

    def images_per_identity(self) -> dict[str, list[str]]:
        """``{identity: [files]}`` of the kept files."""
        out: dict[str, list[str]] = {}
        for f in self.files:
            out.setdefault(self.table[f], []).append(f)
        return out


def _natural(label: str):
    """Numeric labels in numeric order, others after them in text order."""
    return (0, int(label), "") if label.isdigit() else (1, 0, label)


def open_identity_faces(dataset: str, size: int, part: str = "train", data_root=None, seed: int = 0,
                        held_out_fraction: float = 0.2, min_images: int = 1, limit: int | None = None,
                        ) -> IdentityFaces:
    """Identity-labelled faces of one part of the identity split.

    Args:
        dataset: ``"celeba"`` (or a CelebA image folder with its identity file) or ``"synthetic"``.
        size: working resolution (square centre crop, as :func:`~.datasets.open_dataset`).
        part: ``"train"`` | ``"test"`` (held-out identities) | ``"all"``.
        seed: identity-split seed (and render seed for synthetic faces).
        held_out_fraction: share of identities held out for verification.
        min_images: keep identities with at least this many images.
        limit: synthetic faces only: how many to render (default 96, four per identity).
    """
    from .datasets import open_dataset
    from .synthetic import SyntheticFaces

    if part not in PARTS:
        raise ValueError(f"part must be one of {PARTS}, got {part!r}")
    if dataset == "synthetic":
        n = int(limit or 96)
        base = SyntheticFaces(n, size, seed, n_identities=max(2, n // SYNTHETIC_PER_IDENTITY), with_parsing=False)
    else:
        base = open_dataset(dataset, size=size, split="all", data_root=data_root, seed=seed)
    table = identity_table(base)
    split = identity_split(table.values(), seed, held_out_fraction)
    faces = IdentityFaces(base, table, None if part == "all" else split[part], min_images)
    faces.split_hash = identity_split_sha256(split)
    return faces
