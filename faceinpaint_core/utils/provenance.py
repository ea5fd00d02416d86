"""Provenance of a run or a table: git SHA, package versions, device."""
from __future__ import annotations

import platform
import subprocess
from functools import lru_cache
from importlib import metadata
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DIRTY_SUFFIX = "-dirty"


# The study's own outputs: writing them while the study runs must not mark its later rows `-dirty`.
STUDY_OUTPUTS = (":(exclude)results", ":(exclude)figures", ":(exclude)reports")


@lru_cache(maxsize=1)
def git_sha(short: bool = False) -> str:
    """The repository's HEAD SHA, with ``-dirty`` when code, notebooks or configuration differ from it
    (modified or untracked files; the study's outputs ``results/ figures/ reports/`` do not count), or ``unknown``."""
    try:
        args = ["git", "rev-parse", "--short" if short else "--verify", "HEAD"]
        sha = subprocess.run(args, cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", ".", *STUDY_OUTPUTS], cwd=REPO_ROOT,
                               capture_output=True, text=True, check=True).stdout.strip()
        return sha + (DIRTY_SUFFIX if dirty else "")
    except Exception:
        return "unknown"


def is_dirty(sha: str) -> bool:
    """True for a SHA recorded from a working tree with uncommitted changes (``<sha>-dirty``)."""
    return str(sha).endswith(DIRTY_SUFFIX)


def git_dirty() -> bool:
    """True when the repository's tracked files differ from HEAD (results then carry ``-dirty``)."""
    return is_dirty(git_sha())


def package_versions(names=("torch", "torchvision", "numpy", "scikit-image", "opencv-python-headless",
                            "pytorch-fid", "lpips", "papermill", "faceinpaint")) -> dict[str, str]:
    out = {}
    for n in names:
        try:
            out[n] = metadata.version(n)
        except metadata.PackageNotFoundError:
            out[n] = "absent"
    return out


def device_name(device=None) -> str:
    """Human-readable device: the GPU's name, or the CPU model and core count."""
    import os

    import torch

    if device is not None and str(device).startswith("cuda") and torch.cuda.is_available():
        return torch.cuda.get_device_name(torch.device(device))
    cpu = platform.processor() or platform.machine()
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"CPU {cpu} x{os.cpu_count()}"


def provenance(device=None, **extra) -> dict:
    """One dict with everything a reader needs to trace a number back to code and machine.

    ``git_dirty`` is True when the tree had uncommitted changes: such a run is not exactly any commit.
    ``torch_threads``: CPU kernels sum in a thread-count-dependent order, so a CPU training run is bit-reproducible
    only with the same count (measured: TSGAN's cpu run with 1 and with 2 threads differs by up to 0.09 in
    verification ACC, results/cpu/README.md).
    """
    import torch

    return {"git_sha": git_sha(), "git_dirty": git_dirty(), "python": platform.python_version(),
            "packages": package_versions(), "device": device_name(device), "torch_threads": torch.get_num_threads(),
            **extra}
