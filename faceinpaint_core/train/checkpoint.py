"""Checkpoints: write atomically, find the newest, resume, and load for inference.

A checkpoint is a plain dict readable with ``torch.load(..., weights_only=True)``::

    {"format": "faceinpaint-checkpoint", "version": 1, "method": name, "method_class": "module:Class",
     "profile": str, "config": to_dict(cfg), "step": completed steps,
     "nets": {name: state_dict}, "ema": {name: state_dict}, "optimizers": {"G"|"D": state_dict},
     "rng": [per-rank {"python", "numpy", "torch", "cuda"}],
     "lr_schedule": {"name", "start", "steps", "base_lr": {"G"|"D": lr}, "lr": {"lr_G"|"lr_D": lr}}}

(``lr_schedule`` is informative: the rate is a function of the step, see ``train/lr_schedule.py``.)

NumPy's RNG state is stored as ints and an int64 tensor (no pickled ndarray).
"""
from __future__ import annotations

import importlib
import random
import re
from pathlib import Path

import numpy as np
import torch

from ..config import from_dict
from ..utils.io import atomic_torch_save

FORMAT, VERSION = "faceinpaint-checkpoint", 1
_STEP_FILE = re.compile(r"^step-(\d{7,})\.pt$")


class CheckpointError(ValueError):
    """A file is not a (complete) faceinpaint checkpoint; the message names the file."""


# -- RNG states ---------------------------------------------------------------------------------
def rng_state() -> dict:
    """Python, NumPy (legacy global), torch CPU and CUDA RNG states as weights-only-safe values."""
    version, internal, gauss = random.getstate()
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() and torch.cuda.is_initialized() else []
    return {"python": {"version": version, "state": list(internal), "gauss": gauss},
            "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                      "has_gauss": int(has_gauss), "cached": float(cached)},
            "torch": torch.get_rng_state(), "cuda": list(cuda)}


def set_rng_state(state: dict) -> None:
    """Restore what :func:`rng_state` returned."""
    py = state["python"]
    random.setstate((py["version"], tuple(py["state"]), py["gauss"]))
    n = state["numpy"]
    np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached"]))
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


# -- files --------------------------------------------------------------------------------------
def step_path(ckpt_dir: Path, step: int) -> Path:
    return Path(ckpt_dir) / f"step-{step:07d}.pt"


def save_checkpoint(state: dict, path: Path) -> Path:
    """Atomically write ``state`` (a dict built by the trainer; ``format``/``version`` are added)."""
    return atomic_torch_save({"format": FORMAT, "version": VERSION, **state}, path)


def prune_checkpoints(ckpt_dir: Path, keep: int) -> None:
    """Delete all but the ``keep`` newest ``step-*.pt`` files (``final.pt`` is never deleted)."""
    steps = sorted(p for p in Path(ckpt_dir).glob("step-*.pt") if _STEP_FILE.match(p.name))
    for p in steps[: max(0, len(steps) - max(keep, 1))]:
        p.unlink(missing_ok=True)


def checkpoint_step(path: Path) -> int:
    """Completed steps recorded in a checkpoint (from the name of ``step-*.pt``, else read lazily)."""
    m = _STEP_FILE.match(Path(path).name)
    return int(m.group(1)) if m else int(load_checkpoint(path, mmap=True)["step"])


def latest_checkpoint(ckpt_dir: Path) -> Path | None:
    """The checkpoint with the most completed steps in ``ckpt_dir`` (``final.pt`` wins ties), or None."""
    cands = [p for p in Path(ckpt_dir).glob("*.pt") if _STEP_FILE.match(p.name) or p.name == "final.pt"]
    if not cands:
        return None
    return max(cands, key=lambda p: (checkpoint_step(p), p.name == "final.pt"))


def load_checkpoint(path: str | Path, map_location="cpu", mmap: bool = False) -> dict:
    """Read and validate a checkpoint; :class:`CheckpointError` naming ``path`` when it is not one or is torn."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint file does not exist")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True, mmap=mmap)
    except Exception as exc:
        raise CheckpointError(f"{path}: cannot read checkpoint (truncated or corrupt?): "
                              f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from exc
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a faceinpaint checkpoint (no format={FORMAT!r} marker)")
    missing = [k for k in ("method", "config", "step", "nets") if k not in ckpt]
    if missing:
        raise CheckpointError(f"{path}: faceinpaint checkpoint lacks {missing}")
    return ckpt


# -- methods ------------------------------------------------------------------------------------
def resolve_method_class(name: str):
    """A registered method name (``faceinpaint_core.methods``) or an importable ``"module:Class"`` path."""
    if ":" in name:
        module, qual = name.split(":", 1)
        try:
            return getattr(importlib.import_module(module), qual)
        except (ImportError, AttributeError) as exc:
            raise ValueError(f"cannot import method class {name!r}: {exc}") from exc
    from ..methods import get_method_class

    return get_method_class(name)


def method_class_path(cls) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def _class_of(ckpt: dict, path: Path):
    from ..methods import METHODS

    name = ckpt["method"] if ckpt["method"] in METHODS else ckpt.get("method_class", ckpt["method"])
    try:
        return resolve_method_class(name)
    except ValueError as exc:
        raise CheckpointError(f"{path}: {exc}") from exc


_WRAPPER_PREFIXES = ("_orig_mod.", "module.")  # torch.compile's and DistributedDataParallel's wrappers


def clean_state_dict(state: dict) -> dict:
    """``state`` with the key prefixes of wrappers removed (``_orig_mod.`` from ``torch.compile``, ``module.`` from
    DDP, in any nesting), so weights saved from a compiled or DDP-wrapped module load into the plain network."""
    out = {}
    for key, val in state.items():
        changed = True
        while changed:
            changed = False
            for pre in _WRAPPER_PREFIXES:
                if key.startswith(pre):
                    key, changed = key[len(pre):], True
        out[key] = val
    return out


def load_for_inference(path: str | Path, device="cpu"):
    """``(method, nets)`` from a checkpoint: EMA weights for the generators when present, eval mode, on ``device``.

    Builds only :meth:`~faceinpaint_core.methods.base.InpaintMethod.build_inference_networks` (the
    generators): no discriminator, no loss network, so no pretrained loss weights are needed.

    Args:
        path: a ``step-*.pt`` or ``final.pt`` written by the trainer.
        device: where to put the networks.
    """
    path = Path(path)
    ckpt = load_checkpoint(path)
    cls = _class_of(ckpt, path)
    method = cls(from_dict(cls.config_cls, ckpt["config"]))
    with torch.random.fork_rng(devices=[]):  # building nets must not move the caller's RNG
        nets = method.build_inference_networks()
    states = {**ckpt["nets"], **ckpt.get("ema", {})}
    for name, net in nets.items():
        if name not in states:
            raise CheckpointError(f"{path}: no weights for network {name!r} (has {sorted(ckpt['nets'])})")
        try:
            net.load_state_dict(clean_state_dict(states[name]))
        except RuntimeError as exc:
            raise CheckpointError(f"{path}: weights of {name!r} do not fit {type(net).__name__}: "
                                  f"{str(exc).splitlines()[0]}") from exc
        net.to(device).eval().requires_grad_(False)
    return method, nets
