"""One call from method name to a written results table (used by the CLI and the notebooks)."""
from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import pandas as pd

from ..data import open_dataset
from ..utils.io import atomic_write_csv
from .predictors import load_predictor
from .protocol import (EvalSpec, PerceptualMetrics, add_average, evaluate, format_table, load_faces, prepare_mask_sets,
                       with_provenance, write_results)


def open_eval_faces(spec: EvalSpec, images: str | None = None, dataset: str | None = None,
                    data_root: str | None = None, split: str = "val", with_parsing: bool = False):
    """The evaluation face set: a folder given by ``images`` or a known dataset's ``split``."""
    source = images or dataset or "celebamask-hq"
    # synthetic faces are split 80/10/10 like any dataset: draw enough that the split holds n faces
    limit = 10 * spec.n + 10 if source == "synthetic" and split != "all" else spec.n if source == "synthetic" else None
    ds = open_dataset(source, size=spec.size, split="all" if images else split, data_root=data_root,
                      with_parsing=with_parsing, seed=spec.seed, limit=limit)
    return ds, load_faces(ds, spec.n)


def run_evaluation(methods: list[str], spec: EvalSpec, out_csv: str | Path | None = None,
                   images: str | None = None, dataset: str | None = None, data_root: str | None = None,
                   split: str = "val", checkpoints: dict[str, str] | None = None, device: str = "cpu",
                   verbose: bool = True, per_image_csv: str | Path | None = None) -> pd.DataFrame:
    """Evaluate each method through the protocol and return (and optionally write) the combined table.

    Args:
        methods: names (``telea``, ``ns``, ``biharmonic``, or a trained method with a checkpoint).
        checkpoints: ``{method: path}`` for trained methods.
        per_image_csv: also write one row per (method, mask type, bin, image) here (hole ratio + metrics).
    """
    checkpoints = checkpoints or {}
    predictors = [load_predictor(m, checkpoints.get(m), device=device) for m in methods]
    needs_parsing = any(getattr(p, "needs_parsing", False) for p in predictors)
    ds, faces = open_eval_faces(spec, images, dataset, data_root, split, with_parsing=needs_parsing)
    mask_sets = prepare_mask_sets(replace(spec, mask_source=spec.mask_source or data_root))
    tables, per_image = [], []
    perceptual = PerceptualMetrics(spec.fid, spec.lpips, device)
    for pred in predictors:
        t0 = time.perf_counter()
        per_img, cells = evaluate(pred, faces, mask_sets, spec, device=device, perceptual=perceptual)
        rows = with_provenance(add_average(cells), pred, spec, ds.split_hash, ds.name, device)
        tables.append(rows)  # wall time is printed, not stored: result CSVs must be byte-reproducible
        per_image.append(per_img.drop(columns=["mask_set_sha256"]).assign(method=pred.name))
        if verbose:
            print(f"{pred.name}: evaluated {len(mask_sets)} cells x {spec.n} faces in {time.perf_counter() - t0:.1f}s")
    table = pd.concat(tables, ignore_index=True)
    if per_image_csv is not None:
        frame = pd.concat(per_image, ignore_index=True)
        atomic_write_csv(per_image_csv, frame[["method"] + [c for c in frame.columns if c != "method"]])
    if out_csv is not None:
        csv, md = write_results(table, out_csv)
        if verbose:
            print(f"wrote {csv} and {md}")
    if verbose:
        print(format_table(table))
    return table
