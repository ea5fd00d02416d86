"""Plain result frames the data and training notebooks write (kept apart from the report and the tables, so a
job's code inputs (:mod:`.codedeps`) do not include them: editing a table caption never reruns the data step)."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..paths import portable_path
from ..utils.io import atomic_write_csv, atomic_write_text


def mask_sets_frame(mask_sets: dict) -> pd.DataFrame:
    """One row per frozen mask set: kind, bin, n, size, seed, sha256, hole-ratio min/mean/max."""
    rows = []
    for (kind, b), (masks, man) in mask_sets.items():
        ratios = masks.reshape(len(masks), -1).mean(axis=1)
        rows.append({"kind": kind, "bin": b, "n": len(masks), "size": masks.shape[-1], "seed": man.get("seed", ""),
                     "sha256": man["sha256"], "ratio_min": ratios.min(), "ratio_mean": ratios.mean(),
                     "ratio_max": ratios.max()})
    return pd.DataFrame(rows)


def write_frame(frame: pd.DataFrame, results_dir: str | Path, stem: str, caption: str = "") -> Path:
    """A plain result table as ``<stem>.csv`` + ``<stem>.md`` (atomic)."""
    results_dir = Path(results_dir)
    csv = atomic_write_csv(results_dir / f"{stem}.csv", frame)
    md = frame.to_markdown(index=False, floatfmt=".4g")
    atomic_write_text(results_dir / f"{stem}.md", (f"**{caption}**\n\n" if caption else "") + md + "\n")
    return csv


def datasets_found(data_root: str | Path | None, size: int) -> pd.DataFrame:
    """Which known datasets exist under ``data_root`` (file listing only, nothing decoded).

    Folders are written as ``$FACEINPAINT_DATA/<folder>``: committed results name no one's machine.
    """
    from ..data import open_dataset
    from ..data.datasets import DATASETS

    if not data_root:
        return pd.DataFrame([{"dataset": "synthetic", "folder": "(procedural)", "images": "unbounded",
                              "note": "no data root given: the study runs on synthetic faces"}])
    rows = []
    for name in (n for n in DATASETS if n != "synthetic"):
        try:
            ds = open_dataset(name, size, data_root=data_root)
            rows.append({"dataset": name, "folder": portable_path(ds.root, data_root), "images": len(ds), "note": ""})
        except (FileNotFoundError, ValueError) as err:
            note = str(err).split(";")[0].replace(str(Path(data_root).resolve()), "$FACEINPAINT_DATA")
            rows.append({"dataset": name, "folder": "", "images": 0, "note": note})
    return pd.DataFrame(rows)


# -- the report ---------------------------------------------------------------------------------------------


def parser_miou_frame(result: dict) -> pd.DataFrame:
    """Rows ``condition (clean | masked), class, iou`` + the means, from ``methods.parser.evaluate_parser``."""
    rows = []
    for key, value in result.items():
        if key.startswith("miou_"):
            rows.append({"condition": key.rsplit("_", 1)[-1], "class": "mean (mIoU)", "iou": float(value)})
        elif key.startswith("iou_"):
            _, cond, name = key.split("_", 2)
            rows.append({"condition": cond, "class": name, "iou": float(value)})
    frame = pd.DataFrame(rows)
    for k in ("split", "size", "n_images", "checkpoint_sha256"):
        frame[k] = result.get(k, "")
    return frame.sort_values(["condition"], kind="stable").reset_index(drop=True)
