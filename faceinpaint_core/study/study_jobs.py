"""The library side of the workflow's non-notebook jobs: score one method, run one ablation variant.

Both read the study parameters (:func:`.profiles.study_parameters`) so a job scores exactly what the
notebooks would: the same faces (test split), the same frozen mask sets, the same protocol.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..eval.protocol import EvalSpec
from ..utils.io import atomic_write_csv

SPLIT = "test"  # every table is scored on the held-out test split


def eval_spec(params: dict, out_root: Path) -> EvalSpec:
    """The protocol's :class:`EvalSpec` for a study profile's parameters."""
    return EvalSpec(size=params["size"], n=params["n_eval"], mask_kinds=tuple(params["mask_kinds"]),
                    bins=tuple(params["bins"]), seed=params["seed"], fid=params["eval_fid"],
                    lpips=params["eval_lpips"], mask_root=str(Path(out_root) / "results" / "cache" / "mask_sets"),
                    mask_source=params["data_root"] or None, profile=params["profile"])


def _data(params: dict) -> tuple[str, str | None]:
    return ("synthetic", None) if params["synthetic"] else (params["dataset"], params["data_root"])


def ablation_variants(method: str) -> dict[str, tuple[str, dict]]:
    """``{slug: (row label, config overrides)}`` a method declares as ``ABLATIONS`` (empty if none)."""
    from ..methods import get_method_class

    return dict(getattr(get_method_class(method), "ABLATIONS", {}))


def evaluate_method(method: str, params: dict, out_root: Path) -> Path:
    """Score the checkpoint recorded for ``method`` → ``results/eval_<method>.csv`` (+ per-image rows)."""
    from ..eval.run import run_evaluation
    from .records import load_checkpoints

    results = Path(out_root) / "results"
    ckpts = load_checkpoints(results)
    if method not in ckpts:
        raise FileNotFoundError(f"no checkpoint recorded for {method!r} under {results / 'checkpoints'}: "
                                f"run its training job first")
    dataset, data_root = _data(params)
    out = results / f"eval_{method}.csv"
    run_evaluation([method], eval_spec(params, out_root), out_csv=out, dataset=dataset, data_root=data_root,
                   split=SPLIT, checkpoints={method: str(ckpts[method]["checkpoint"])}, device=_device(),
                   verbose=False, per_image_csv=results / "per_image" / f"eval_{method}.csv")
    return out


def ablation_variant(method: str, variant: str, params: dict, out_root: Path) -> Path:
    """Train ``method`` with the overrides of ``variant`` (after the profile's ``ablation_sets[method]``, its
    training length) and score it on the
    study's irregular masks, middle bin → ``results/ablations/<method>/<variant>.csv``."""
    from dataclasses import replace

    from ..eval.run import run_evaluation
    from ..train.trainer import train_main
    from .records import final_checkpoint, record_checkpoint

    variants = ablation_variants(method)
    if variant not in variants:
        raise ValueError(f"unknown ablation {variant!r} of {method!r}; known: {sorted(variants)}")
    label, overrides = variants[variant]
    dataset, data_root = _data(params)
    sets = {**params["train_sets"].get(method, {}), **params["ablation_sets"].get(method, {}), **overrides}
    run = Path(train_main(method, params["train_profile"], data_root=data_root,
                          out=str(Path(out_root) / "runs" / "ablations"), sets=sets))
    results = Path(out_root) / "results"
    record_checkpoint(results, f"ablation-{method}-{variant}", run)
    spec = replace(eval_spec(params, out_root), mask_kinds=(params["irregular_kind"],), bins=(ablation_bin(params),))
    rows = run_evaluation([method], spec, dataset=dataset, data_root=data_root, split=SPLIT, device=_device(),
                          checkpoints={method: str(final_checkpoint(run))}, verbose=False)
    out = results / "ablations" / method / f"{variant}.csv"
    atomic_write_csv(out, rows.assign(variant=label, variant_slug=variant, run_dir=run.name))
    return out


def ablation_bin(params: dict) -> str:
    """The bin ablations are scored on: 20-30 % when the profile has it, else its middle bin."""
    bins = list(params["bins"])
    return "20-30" if "20-30" in bins else bins[len(bins) // 2]


def load_ablations(results: Path, method: str) -> pd.DataFrame:
    """Every ablation variant's rows of ``method``, in the method's declared order."""
    order = list(ablation_variants(method))
    files = [Path(results) / "ablations" / method / f"{v}.csv" for v in order]
    frames = [pd.read_csv(f, dtype={"bin": str}) for f in files if f.is_file()]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"
