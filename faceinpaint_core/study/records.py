"""Records of the study's trained checkpoints: ``results/checkpoints/<key>.json``, one file per run.

Kept apart from the report so that a training job's code inputs (:mod:`.codedeps`) do not include the
table and report builders.
"""
from __future__ import annotations

import json
from pathlib import Path

from ..paths import portable_path
from ..utils.io import atomic_write_json, sha256_file


def final_checkpoint(run_dir: str | Path) -> Path:
    """``<run>/checkpoints/final.pt`` of a training run (clear error when the run did not finish)."""
    path = Path(run_dir) / "checkpoints" / "final.pt"
    if not path.is_file():
        raise FileNotFoundError(f"training run {run_dir} has no checkpoints/final.pt (did it finish?)")
    return path


def record_checkpoint(results_dir: str | Path, key: str, run_dir: str | Path) -> dict:
    """Write ``results/checkpoints/<key>.json`` = ``{run dir, checkpoint, sha256}`` (atomic); return it.

    One file per key, so that parallel workflow jobs never write the same file.
    """
    results_dir = Path(results_dir)
    ckpt = final_checkpoint(run_dir)
    root = results_dir.parent
    record = {"key": key, "run_dir": _relative(run_dir, root), "checkpoint": _relative(ckpt, root),
              "sha256": sha256_file(ckpt)}
    atomic_write_json(results_dir / "checkpoints" / f"{key}.json", record)
    return record


def _relative(path: str | Path, root: Path) -> str:
    """``path`` relative to the study's ``out_root`` when inside it; else :func:`portable_path` (no absolute paths)."""
    path = Path(path).resolve()
    try:
        return str(path.relative_to(root.resolve()))
    except ValueError:
        return portable_path(path)


def read_checkpoint_records(results_dir: str | Path) -> dict[str, dict]:
    """The records of ``results/checkpoints/*.json`` by key, as written (paths relative to out_root)."""
    folder = Path(results_dir) / "checkpoints"
    records = [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))] if folder.is_dir() else []
    return {r["key"]: {k: v for k, v in r.items() if k != "key"} for r in records}


def load_checkpoints(results_dir: str | Path) -> dict[str, dict]:
    """The checkpoint records with ``run_dir``/``checkpoint`` made absolute (empty when none ran yet)."""
    root = Path(results_dir).resolve().parent
    return {k: {**v, "run_dir": str(root / v["run_dir"]), "checkpoint": str(root / v["checkpoint"])}
            for k, v in read_checkpoint_records(results_dir).items()}


def checkpoints_by_task(results_dir: str | Path, tasks) -> dict[str, str]:
    """``{task: checkpoint path}`` of the recorded study methods whose contract ``task`` is in ``tasks`` (what a
    method's :meth:`~faceinpaint_core.methods.base.InpaintMethod.sets_from_checkpoints` takes); a task with two
    recorded methods is an error naming them."""
    from ..methods import METHODS, get_method_class

    found: dict[str, list[tuple[str, str]]] = {}
    for key, rec in load_checkpoints(results_dir).items():
        if key in METHODS and getattr(get_method_class(key), "task", "inpaint") in tasks:
            found.setdefault(get_method_class(key).task, []).append((key, rec["checkpoint"]))
    many = {t: [k for k, _ in v] for t, v in found.items() if len(v) > 1}
    if many:
        raise ValueError(f"several recorded checkpoints per task {many}: cannot choose one")
    return {t: v[0][1] for t, v in found.items()}
