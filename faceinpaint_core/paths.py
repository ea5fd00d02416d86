"""Where things live: the data root (``FACEINPAINT_DATA``) and pretrained weights (``FACEINPAINT_WEIGHTS``)."""
from __future__ import annotations

import os
from pathlib import Path

from .utils.provenance import REPO_ROOT


def data_root(explicit: str | os.PathLike | None = None) -> Path | None:
    """The datasets folder: ``explicit``, else ``$FACEINPAINT_DATA``, else ``./data`` if it exists, else None."""
    for cand in (explicit, os.environ.get("FACEINPAINT_DATA"), REPO_ROOT / "data"):
        if cand and Path(cand).is_dir():
            return Path(cand).resolve()
    if explicit:
        raise FileNotFoundError(f"data root {explicit} does not exist")
    return None


def weights_dirs() -> list[Path]:
    """Folders searched for pretrained weight files, in order: ``$FACEINPAINT_WEIGHTS``, the torch hub cache."""
    dirs = []
    if os.environ.get("FACEINPAINT_WEIGHTS"):
        dirs.append(Path(os.environ["FACEINPAINT_WEIGHTS"]))
    import torch.hub

    dirs.append(Path(torch.hub.get_dir()) / "checkpoints")
    return dirs


class WeightsMissing(FileNotFoundError):
    """A pretrained weight file is absent; the message names the file and where to put it."""


def find_weights(filename: str, what: str) -> Path:
    """Locate a pretrained weight file by name or raise :class:`WeightsMissing` with a one-line fix."""
    for d in weights_dirs():
        p = d / filename
        if p.is_file():
            return p
    places = " or ".join(str(d) for d in weights_dirs())
    raise WeightsMissing(f"{what}: weight file '{filename}' not found; put it in {places} "
                         f"(set FACEINPAINT_WEIGHTS=DIR to use another folder)")
