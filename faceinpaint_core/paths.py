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


DATA_ROOT_VAR = "$FACEINPAINT_DATA"


def portable_path(path: str | os.PathLike | None, data_root: str | os.PathLike | None = None) -> str:
    """``path`` as committed results may show it, naming no one's machine.

    Under ``data_root`` → ``$FACEINPAINT_DATA/<relative>``; under the repository → relative to it;
    anything else → only its last component, ``<elsewhere>/<name>``. Empty → ``""``.
    """
    if not path:
        return ""
    p = Path(path).resolve()
    for root, prefix in ((data_root, DATA_ROOT_VAR), (REPO_ROOT, "")):
        if root:
            try:
                rel = p.relative_to(Path(root).resolve())
            except ValueError:
                continue
            if rel == Path("."):
                return prefix or "."
            return f"{prefix}/{rel.as_posix()}" if prefix else rel.as_posix()
    return f"<elsewhere>/{p.name}"


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
