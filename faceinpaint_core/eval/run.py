"""One call from method name to a written results table (used by the CLI and the notebooks)."""
from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import pandas as pd

from ..data import open_dataset
from ..utils.io import atomic_write_csv
from .predictors import load_predictor, use_predicted_parsing
from .protocol import (EvalSpec, PerceptualMetrics, add_average, evaluate, format_table, load_faces, prepare_mask_sets,
                       with_provenance, write_results)


def open_eval_faces(spec: EvalSpec, images: str | None = None, dataset: str | None = None,
                    data_root: str | None = None, split: str = "val", with_parsing: bool = False):
    """The evaluation face set: a folder given by ``images`` or a known dataset's ``split``."""
    source = images or dataset or "celebamask-hq"
    # synthetic faces are split 80/10/10 like any dataset: draw enough that the split holds n faces
    limit = 10 * spec.n + 10 if source == "synthetic" and split != "all" else spec.n if source == "synthetic" else None
    try:
        ds = open_dataset(source, size=spec.size, split="all" if images else split, data_root=data_root,
                          with_parsing=with_parsing, seed=spec.seed, limit=limit)
    except ValueError as err:
        if not with_parsing or "label" not in str(err):
            raise
        raise ValueError(f"{err}; or evaluate with the project's face parser instead of labels: parsing='predicted' "
                         f"(--parsing predicted --parser-checkpoint PATH)") from None
    return ds, load_faces(ds, spec.n)


def run_evaluation(methods: list[str], spec: EvalSpec, out_csv: str | Path | None = None,
                   images: str | None = None, dataset: str | None = None, data_root: str | None = None,
                   split: str = "val", checkpoints: dict[str, str] | None = None, device: str = "cpu",
                   verbose: bool = True, per_image_csv: str | Path | None = None) -> pd.DataFrame:
    """Evaluate each method through the protocol and return (and optionally write) the combined table.

    Args:
        methods: names (``telea``, ``ns``, ``biharmonic``, or a trained method with a checkpoint).
        spec: faces, masks and scoring; ``spec.parsing="predicted"`` gives parsing-conditioned methods the
            face parser ``spec.parser_checkpoint`` so that ``images`` may be a plain folder without labels.
        checkpoints: ``{method: path}`` for trained methods.
        per_image_csv: also write one row per (method, mask type, bin, output, image) here (hole ratio + metrics).
    """
    checkpoints = checkpoints or {}
    predictors = [load_predictor(m, checkpoints.get(m), device=device) for m in methods]
    parsing_users = [p for p in predictors if getattr(p, "needs_parsing", False)]
    if spec.parsing == "predicted":
        for pred in parsing_users:
            use_predicted_parsing(pred, spec.parser_checkpoint)
    with_labels = bool(parsing_users) and spec.parsing == "labels"
    ds, faces = open_eval_faces(spec, images, dataset, data_root, split, with_parsing=with_labels)
    mask_sets = prepare_mask_sets(replace(spec, mask_source=spec.mask_source or data_root))
    tables, per_image = [], []
    perceptual = PerceptualMetrics(spec.fid, spec.lpips, device)
    for pred in predictors:
        t0 = time.perf_counter()
        per_img, cells = evaluate(pred, faces, mask_sets, spec, device=device, perceptual=perceptual)
        rows = with_provenance(add_average(cells), pred, spec, ds.split_hash, ds.name, device,
                               split="all" if images else split)
        tables.append(rows)  # wall time is printed, not stored: result CSVs must be byte-reproducible
        per_image.append(per_img.drop(columns=["mask_set_sha256"])
                         .assign(method=pred.name, quantize=spec.quantize, parsing=rows["parsing"].iloc[0]))
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
