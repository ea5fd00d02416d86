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
    """Score the checkpoint recorded for ``method`` → ``results/eval_<method>.csv`` (+ per-image rows), and measure
    its generator's cost (parameters, GFLOPs, CPU ms per image) → ``results/costs/<method>.csv``."""
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
    from .leaderboard import write_cost_row

    write_cost_row(method, params["size"], params["train_profile"], None if params["profile"] == "tiny" else 256,
                   results / "costs" / f"{method}.csv")
    return out


def study_train_sets(method: str, train_sets: dict, results_dir) -> dict:
    """``--set`` overrides of a study run of ``method``: the profile's, then those its contract derives from the
    recorded checkpoints of the tasks it builds on (:meth:`~faceinpaint_core.methods.base.InpaintMethod.sets_from_checkpoints`)."""
    from ..methods import get_method_class
    from .records import checkpoints_by_task

    cls = get_method_class(method)
    if not cls.builds_on_tasks:
        return dict(train_sets)
    return {**train_sets, **cls.sets_from_checkpoints(checkpoints_by_task(results_dir, cls.builds_on_tasks))}


#: how an ablation variant is trained, scored and summarised, by the method's contract ``task``: a module with
#: ``ablation_job(method, variant, label, overrides, params, out_root) -> rows``, ``ablation_summary(rows)`` and
#: ``ablation_figures(rows, runs_dir) -> {name: figure}``. Inpainters go through the inpainting protocol (below,
#: notebook 21's own tables); a task without an entry cannot declare ablations.
ABLATION_JOBS = {
    "frontalize": "faceinpaint_core.study.tsgan_study",
    "restore": "faceinpaint_core.study.restoration_study",
}


def _task_module(method: str):
    import importlib

    from ..methods import get_method_class

    task = getattr(get_method_class(method), "task", "inpaint")
    if task not in ABLATION_JOBS:
        raise ValueError(f"{method!r} declares ABLATIONS but the study has no ablation measure for its task "
                         f"{task!r} (known: inpaint, {', '.join(sorted(ABLATION_JOBS))})")
    return importlib.import_module(ABLATION_JOBS[task])


def ablation_summary(method: str, rows: pd.DataFrame) -> pd.DataFrame:
    """The ablation table of a non-inpainting method from its variants' rows (its task module's summary)."""
    return _task_module(method).ablation_summary(rows) if not rows.empty else rows


def ablation_figures(method: str, rows: pd.DataFrame, runs_dir) -> dict:
    """``{name: figure}`` of a non-inpainting method's ablation runs (e.g. the WGAN critics' curves)."""
    return _task_module(method).ablation_figures(rows, Path(runs_dir)) if not rows.empty else {}


def ablation_variant(method: str, variant: str, params: dict, out_root: Path) -> Path:
    """Train ``method`` with the overrides of ``variant`` (after the profile's ``ablation_sets[method]``, its
    training length) and score it with its task's measure → ``results/ablations/<method>/<variant>.csv``.

    Inpainters are scored on the study's irregular masks, middle bin (:func:`ablation_bin`); other tasks by the
    module :data:`ABLATION_JOBS` names for them (verification for frontalisation, the degradation sets for
    restoration)."""
    from ..methods import get_method_class

    variants = ablation_variants(method)
    if variant not in variants:
        raise ValueError(f"unknown ablation {variant!r} of {method!r}; known: {sorted(variants)}")
    label, overrides = variants[variant]
    if getattr(get_method_class(method), "task", "inpaint") == "inpaint":
        rows = _inpainting_ablation(method, variant, label, overrides, params, out_root)
    else:
        rows = _task_module(method).ablation_job(method, variant, label, overrides, params, out_root)
    out = Path(out_root) / "results" / "ablations" / method / f"{variant}.csv"
    atomic_write_csv(out, rows)
    return out


def _inpainting_ablation(method: str, variant: str, label: str, overrides: dict, params: dict,
                         out_root: Path) -> pd.DataFrame:
    from dataclasses import replace

    from ..eval.run import run_evaluation
    from ..train.trainer import train_main
    from .records import final_checkpoint, record_checkpoint

    dataset, data_root = _data(params)
    results = Path(out_root) / "results"
    sets = {**study_train_sets(method, params["train_sets"].get(method, {}), results),
            **params["ablation_sets"].get(method, {}), **overrides}
    run = Path(train_main(method, params["train_profile"], data_root=data_root,
                          out=str(Path(out_root) / "runs" / "ablations"), sets=sets))
    record_checkpoint(results, f"ablation-{method}-{variant}", run)
    spec = replace(eval_spec(params, out_root), mask_kinds=(params["irregular_kind"],), bins=(ablation_bin(params),))
    rows = run_evaluation([method], spec, dataset=dataset, data_root=data_root, split=SPLIT, device=_device(),
                          checkpoints={method: str(final_checkpoint(run))}, verbose=False)
    return rows.assign(variant=label, variant_slug=variant, run_dir=run.name)


def identity_eval(method: str, params: dict, out_root: Path) -> Path:
    """The identity study of one inpainter (a workflow job): dlib verification of the held-out identity pairs
    with the probe occluded by irregular 20-30 % holes and restored by ``method``, then identity distance and
    LMD of its composited outputs on the study's test faces and frozen irregular 20-30 % masks.

    The pair protocol is the one notebook 05 froze on the recogniser's held-out identity split (its checkpoint
    record gives the split). Writes ``results/identity/<method>.csv`` (both kinds of row, column ``table``)."""
    from dataclasses import replace

    import torch

    from ..eval.embedders import make_embedder
    from ..eval.predictors import load_predictor
    from ..eval.protocol import prepare_mask_sets
    from ..eval.run import open_eval_faces
    from ..eval.verification import held_out_pairs, pair_images
    from ..metrics.landmarks import LandmarkDistance
    from .identity_study import identity_preservation_table, identity_protocol, occlusions, restored_verification
    from .records import load_checkpoints
    from .workflow import study_recogniser_method

    results = Path(out_root) / "results"
    ckpts = load_checkpoints(results)
    recogniser = study_recogniser_method()
    for m in (method, recogniser):
        if m not in ckpts:
            raise FileNotFoundError(f"no checkpoint recorded for {m!r} under {results / 'checkpoints'}: "
                                    f"run its training job first")
    dataset, data_root = _data(params)
    device = _device()
    vcfg, id_dataset = identity_protocol(ckpts[recogniser]["checkpoint"], params["profile"])
    pairs, manifest, id_faces = held_out_pairs(id_dataset, vcfg, data_root, results / "cache" / "pairs")
    images = pair_images(pairs, id_faces)
    dlib = make_embedder("dlib", cache_dir=results / "cache" / "dlib_descriptors")
    pred = load_predictor(method, ckpts[method]["checkpoint"], device=device)
    parsing = _use_study_parser(pred, results)
    restored, _ = restored_verification(pairs, images, dlib, occlusions(vcfg)["irregular"], [pred], vcfg,
                                        manifest["sha256"])
    kind = params["irregular_kind"]
    spec = replace(eval_spec(params, out_root), mask_kinds=(kind,), bins=("20-30",))
    mask_set = prepare_mask_sets(spec)[(kind, "20-30")]
    n = vcfg.n_method_faces
    _, faces = open_eval_faces(replace(spec, n=n), dataset=dataset, data_root=data_root, split=SPLIT,
                               with_parsing=bool(getattr(pred, "needs_parsing", False)))
    masks = torch.from_numpy(mask_set[0][:n]).float().unsqueeze(1)
    kept = identity_preservation_table([pred], faces, masks, dlib, LandmarkDistance(), f"{kind} 20-30",
                                       mask_set[1]["sha256"])
    if parsing:
        restored = restored.assign(parsing=parsing)
    out = results / "identity" / f"{method}.csv"
    atomic_write_csv(out, pd.concat([restored.assign(table="restored"),
                                     kept.assign(table="preservation")], ignore_index=True))
    return out


def _use_study_parser(pred, results: Path) -> str:
    """Give a parsing-conditioned predictor the study's face parser (the recorded checkpoint of task ``parse``, when
    its contract's ``infers_with_tasks`` names it and it has no parser of its own): the identity pairs' faces have
    no parsing labels. Returns what the rows say about the parsing maps ("" when the predictor needs none)."""
    from ..eval.predictors import use_predicted_parsing
    from .records import checkpoints_by_task

    method = getattr(pred, "method", None)
    if not getattr(pred, "needs_parsing", False) or method is None:
        return ""
    if getattr(method.cfg, "parser_checkpoint", ""):
        use_predicted_parsing(pred, None)
        return f"predicted by its configured parser (sha256 {pred.parser_sha256[:12]})"
    helpers = checkpoints_by_task(results, getattr(method, "infers_with_tasks", ()))
    if "parse" not in helpers:
        return ""  # restored_verification's row says it was not run, and why
    use_predicted_parsing(pred, helpers["parse"])
    return f"predicted by the study's face parser (sha256 {pred.parser_sha256[:12]})"


def load_identity_rows(results: Path, methods) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(restored verification rows, identity preservation rows)`` of the ``identity_eval`` jobs of ``methods``
    (in that order; the ``masked input`` preservation row once, first)."""
    frames = [pd.read_csv(f) for m in methods if (f := Path(results) / "identity" / f"{m}.csv").is_file()]
    if not frames:
        return pd.DataFrame(), pd.DataFrame()
    rows = pd.concat(frames, ignore_index=True)
    restored = rows[rows["table"] == "restored"].drop(columns=["table"]).dropna(axis=1, how="all")
    kept = rows[rows["table"] == "preservation"].drop(columns=["table"]).dropna(axis=1, how="all")
    kept = pd.concat([kept[kept["method"].str.startswith("masked input")].head(1),
                      kept[~kept["method"].str.startswith("masked input")]], ignore_index=True)
    kept = kept[["method", *[c for c in kept if c != "method"]]]
    return restored.reset_index(drop=True), kept


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
