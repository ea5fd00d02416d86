"""Registry of every pretrained weight file the study can use: where it goes, its size and sha256.

``faceinpaint weights list|fetch|verify`` reads this registry. The files live in the first folder of
:func:`faceinpaint_core.paths.weights_dirs` (``$FACEINPAINT_WEIGHTS``, else the torch hub cache
``~/.cache/torch/hub/checkpoints``), except the LPIPS linear layers, which ship inside the ``lpips`` wheel.

The sha256 values are the full digests of the official files. torchvision and pytorch-fid embed the
first 8 hex digits of that digest in the file name (``vgg16-397923af.pth``), which is what
``torch.hub``'s ``check_hash`` verifies; the full digests and sizes below are the values recorded by
several independent public projects that pin these downloads, and each one's first 8 digits match the
file name's prefix. :func:`verify_file` checks size and the full digest.
"""
from __future__ import annotations

import http.client
import urllib.error
from dataclasses import dataclass
from pathlib import Path

from .paths import weights_dirs
from .utils.io import sha256_file


@dataclass(frozen=True)
class WeightFile:
    """One pretrained file: ``filename`` as the loaders look it up, its download ``url``, ``sha256``, ``size`` (bytes)."""

    key: str
    filename: str
    url: str
    sha256: str
    size: int
    used_by: str
    package: str | None = None  # ships inside this pip package (not fetched; reinstall the package)


WEIGHTS: dict[str, WeightFile] = {w.key: w for w in (
    WeightFile("fid-inception", "pt_inception-2015-12-05-6726825d.pth",
               "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/"
               "pt_inception-2015-12-05-6726825d.pth",
               "6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2", 95_628_359,
               "FID (metrics/fid.py: pytorch-fid's Inception-v3, pool3 features)"),
    WeightFile("vgg16-imagenet", "vgg16-397923af.pth", "https://download.pytorch.org/models/vgg16-397923af.pth",
               "397923af8e79cdbb6a7127f12361acd7a2f83e06b05044ddf496e83de57a5bf0", 553_433_881,
               "perceptual and style losses (losses/perceptual.py: torchvision VGG16, ImageNet)"),
    WeightFile("alexnet-imagenet", "alexnet-owt-7be5be79.pth",
               "https://download.pytorch.org/models/alexnet-owt-7be5be79.pth",
               "7be5be791159472b1fbf3c69796f7cb30dca7ad8466c2df70058c37116cdee02", 244_408_911,
               "LPIPS trunk (metrics/lpips.py: torchvision AlexNet, ImageNet)"),
    WeightFile("lpips-alex-lin", "alex.pth",
               "https://github.com/richzhang/PerceptualSimilarity/raw/master/lpips/weights/v0.1/alex.pth",
               "df73285e35b22355a2df87cdb6b70b343713b667eddbda73e1977e0c860835c0", 6_009,
               "LPIPS v0.1 linear layers (metrics/lpips.py)", package="lpips"),
)}


class WeightsFetchError(RuntimeError):
    """A download failed or its hash did not match; the message is one line naming file and URL."""


def get(key: str) -> WeightFile:
    """The registry entry ``key``; unknown → ``ValueError`` listing the known keys."""
    if key not in WEIGHTS:
        raise ValueError(f"unknown weight file {key!r}; known: {', '.join(WEIGHTS)}")
    return WEIGHTS[key]


def destination(w: WeightFile) -> Path:
    """Where ``w`` belongs: the lpips package's ``weights/v0.1/`` or the first of :func:`weights_dirs`."""
    if w.package == "lpips":  # metrics/lpips.py loads lpips/weights/v0.1/alex.pth from the installed wheel
        import lpips

        return Path(lpips.__file__).parent / "weights" / "v0.1" / w.filename
    return weights_dirs()[0] / w.filename


def locate(w: WeightFile) -> Path | None:
    """The existing file for ``w`` (packaged location or the first weights folder holding it), or None."""
    if w.package:
        path = destination(w)
        return path if path.is_file() else None
    return next((d / w.filename for d in weights_dirs() if (d / w.filename).is_file()), None)


def verify_file(path: str | Path, w: WeightFile) -> str | None:
    """None when ``path`` has ``w``'s size and sha256, else a short reason (``"size 12 != 95628359"``)."""
    size = Path(path).stat().st_size
    if size != w.size:
        return f"size {size} != {w.size} bytes"
    digest = sha256_file(path)
    return None if digest == w.sha256 else f"sha256 {digest} != {w.sha256}"


def fetch(w: WeightFile, progress: bool = False) -> Path:
    """Download ``w`` into :func:`destination` with ``torch.hub.download_url_to_file`` and verify it.

    An existing valid file is kept. Offline, or on a hash mismatch, raises :class:`WeightsFetchError`
    with one line naming the file, the URL to fetch it from elsewhere and the folder to put it in.
    """
    dest = destination(w)
    if dest.is_file() and verify_file(dest, w) is None:
        return dest
    if w.package:
        raise WeightsFetchError(f"{w.filename} ships inside the {w.package} wheel ({dest}); reinstall it: "
                                f"pip install --force-reinstall --no-deps {w.package}")
    import torch.hub

    dest.parent.mkdir(parents=True, exist_ok=True)
    try:  # download_url_to_file writes a temp file and moves it into place only when complete
        torch.hub.download_url_to_file(w.url, str(dest), hash_prefix=w.sha256[:8], progress=progress)
    except (OSError, urllib.error.URLError, http.client.HTTPException) as err:
        reason = (str(getattr(err, "reason", err)) or type(err).__name__).splitlines()[0]
        raise WeightsFetchError(f"cannot download {w.filename} ({reason}); fetch {w.url} on a machine with "
                                f"internet and put it in {dest.parent}") from None
    except RuntimeError as err:  # torch.hub's hash-prefix check (it has already deleted the download)
        raise WeightsFetchError(f"{w.filename} from {w.url}: {str(err).splitlines()[0]}") from None
    problem = verify_file(dest, w)
    if problem:
        dest.unlink()
        raise WeightsFetchError(f"{w.filename} from {w.url}: {problem}; file removed")
    return dest


def status(w: WeightFile) -> tuple[str, Path | None]:
    """``("ok" | "missing" | "bad: <reason>", path)`` for ``w`` (hashes the file: seconds for VGG16)."""
    path = locate(w)
    if path is None:
        return "missing", None
    problem = verify_file(path, w)
    return ("ok" if problem is None else f"bad: {problem}"), path
