"""Explicit, purpose-keyed random generators: no global RNG state in library code.

Every random draw in the package comes from ``rng(seed, purpose, index)`` (numpy) or
``torch_generator(seed, purpose, index)``: the same triple gives the same stream on any machine,
and different purposes never share a stream.
"""
from __future__ import annotations

import hashlib
import random

import numpy as np


def derive_seed(seed: int, purpose: str = "", index: int = 0) -> int:
    """A 63-bit integer seed derived from (global seed, purpose, index) with sha256."""
    digest = hashlib.sha256(f"{int(seed)}|{purpose}|{int(index)}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


def rng(seed: int, purpose: str = "", index: int = 0) -> np.random.Generator:
    """A numpy Generator for one (seed, purpose, index)."""
    return np.random.default_rng(derive_seed(seed, purpose, index))


def torch_generator(seed: int, purpose: str = "", index: int = 0, device: str = "cpu"):
    """A torch.Generator for one (seed, purpose, index)."""
    import torch

    g = torch.Generator(device=device)
    g.manual_seed(derive_seed(seed, purpose, index))
    return g


def seed_everything(seed: int, deterministic: bool = False) -> None:
    """Seed python/numpy/torch global RNGs (for third-party code we do not control) and
    optionally switch torch to deterministic kernels (used by tests and resume checks)."""
    import torch

    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)
    if deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
