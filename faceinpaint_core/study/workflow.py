"""What the workflow engine needs to know about the study: its jobs, their code inputs and resources.

``workflow/Snakefile`` is a thin declaration over this module; ``faceinpaint study`` (study/pipeline.py)
drives Snakemake. Jobs (rule names):

* ``data``       — notebook 00: split, frozen mask sets, datasets found;
* ``classical``  — notebook 01: the classical floor through the protocol;
* ``train``      — one per method (wildcard ``method``): the method's notebook with ``method=<m>``;
* ``evaluate``   — one per protocol-evaluated method: ``results/eval_<m>.csv``;
* ``ablation``   — one per (method, variant) a method declares in ``ABLATIONS``, scored by its task's measure;
* ``identity_eval`` — one per inpainter: verification of occluded probes it restores, identity distance and LMD;
* ``tables``, ``ablation_tables``, ``visual``, ``report`` — notebooks 20, 21, 22, 99.

A job's code inputs are the package files its entry modules import (:mod:`.codedeps`), so an edit
reruns exactly the jobs that use the edited file and those that consume their outputs.
"""
from __future__ import annotations

import ast
import json
from pathlib import Path

from ..utils.provenance import REPO_ROOT
from .codedeps import code_closure, method_module
from .profiles import STUDY_METHODS, STUDY_PROFILES, study_parameters

NOTEBOOK_DIR = REPO_ROOT / "notebooks"
FINGERPRINT = "results/cache/data_fingerprint.json"
TRAIN_ENTRIES = ("faceinpaint_core.train.trainer",)
EVAL_ENTRIES = ("faceinpaint_core.eval.run", "faceinpaint_core.study.study_jobs", "faceinpaint_core.study.jobs")


def notebook_path(stem: str) -> Path:
    return NOTEBOOK_DIR / f"{stem}.ipynb"


def notebook_modules(stem: str) -> list[str]:
    """Package modules the code cells of notebook ``stem`` import."""
    nb = json.loads(notebook_path(stem).read_text())
    mods: set[str] = {"faceinpaint_core.study.jobs"}
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        for node in ast.walk(ast.parse("".join(cell["source"]))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("faceinpaint_core"):
                mods.add(node.module)
            elif isinstance(node, ast.Import):
                mods.update(a.name for a in node.names if a.name.startswith("faceinpaint_core"))
    return sorted(mods)


# Declarative files every job imports; what a job uses of them is passed as Snakemake params instead (the
# method's registry entry, the profile's parameters), so that registering a new method or adding a profile
# key reruns only the jobs it concerns.
DECLARATIVE = ("methods/__init__.py", "study/profiles.py")


def _files(entries) -> list[str]:
    from .codedeps import PACKAGE_DIR

    skip = {PACKAGE_DIR / f for f in DECLARATIVE}
    return [str(p) for p in code_closure(sorted(set(entries))) if p not in skip]


def registry_entry(method: str) -> str:
    """The method's ``"module:Class"`` registry string (a Snakemake param of its jobs)."""
    from ..methods import METHODS

    return METHODS[method]


def notebook_code(stem: str) -> list[str]:
    """Code inputs of a notebook job: the notebook file and the package files it imports."""
    return [str(notebook_path(stem))] + _files(notebook_modules(stem))


def method_code(method: str) -> list[str]:
    """Code inputs of a method's jobs: its method/network files plus the shared core they import."""
    return _files([method_module(method), *TRAIN_ENTRIES, *EVAL_ENTRIES])


def ablation_code(method: str) -> list[str]:
    """Code inputs of a method's ablation jobs: its method code plus the module scoring its task's ablations."""
    from ..methods import get_method_class
    from .study_jobs import ABLATION_JOBS

    scorer = ABLATION_JOBS.get(getattr(get_method_class(method), "task", "inpaint"))
    return sorted(set(method_code(method)) | (set(_files([scorer.split(":")[0]])) if scorer else set()))


def identity_eval_code(method: str) -> list[str]:
    """Code inputs of a method's ``identity_eval`` job: its method code plus the identity study's modules."""
    return sorted(set(method_code(method)) | set(_files(["faceinpaint_core.study.identity_study"])))


def inference_inputs(method: str) -> list[str]:
    """Checkpoint records a method's scoring jobs read: those of the study methods whose task is in its contract's
    ``infers_with_tasks`` (a parsing-conditioned inpainter's face parser)."""
    from ..methods import get_method_class

    tasks = getattr(get_method_class(method), "infers_with_tasks", ())
    return [f"results/checkpoints/{m}.json" for m in STUDY_METHODS
            if m != method and getattr(get_method_class(m), "task", "inpaint") in tasks]


def train_code(method: str) -> list[str]:
    stem = STUDY_METHODS[method]
    return sorted(set(method_code(method)) | set(notebook_code(stem)))


def study_methods(profile: str | None = None) -> list[str]:
    """The study methods ``profile`` trains, in study order: every one, or the profile's ``methods`` (``tiny`` leaves
    out some baselines to keep ``make test`` short; the others run them all). A chosen method whose jobs read the
    checkpoint record of a method the profile leaves out is refused, naming both."""
    chosen = STUDY_PROFILES[profile].get("methods") if profile else None
    if chosen is None:
        return list(STUDY_METHODS)
    unknown = sorted(set(chosen) - set(STUDY_METHODS))
    if unknown:
        raise ValueError(f"study profile {profile!r}: methods {unknown} are not study methods; known: "
                         f"{list(STUDY_METHODS)}")
    methods = [m for m in STUDY_METHODS if m in chosen]
    for m in methods:
        needs = {Path(p).stem for p in checkpoint_inputs(m) + inference_inputs(m)} - set(methods)
        if needs:
            raise ValueError(f"study profile {profile!r}: {m} reads the checkpoints of {sorted(needs)}, which the "
                             "profile's methods leave out")
    return methods


def protocol_methods(profile: str | None = None) -> list[str]:
    """Study methods the protocol scores (a method opts out with ``evaluated_by_protocol = False``); with
    ``profile``, those the profile trains."""
    from ..methods import get_method_class

    return [m for m in study_methods(profile) if getattr(get_method_class(m), "evaluated_by_protocol", True)]


def ablations(profile: str) -> list[tuple[str, str]]:
    """``(method, variant)`` of every ablation job of ``profile``, in declaration order: every study method's
    ``ABLATIONS`` (the profile's ``ablations`` may choose variant slugs). Each job trains its variant and scores it
    with the measure of the method's task (:func:`.study_jobs.ablation_variant`)."""
    from .study_jobs import ablation_variants

    chosen = STUDY_PROFILES[profile].get("ablations")
    return [(m, v) for m in study_methods(profile) for v in ablation_variants(m) if chosen is None or v in chosen]


def identity_evaluated(profile: str | None = None) -> list[str]:
    """Study methods whose outputs the identity study scores, one ``identity_eval`` job each (the protocol's
    inpainters); empty when the study trains no recogniser (its record gives the held-out identity split)."""
    return protocol_methods(profile) if study_recogniser_method() else []


def study_recogniser_method() -> str | None:
    """The study method of task ``"recognise"`` (first in study order), or None."""
    from ..methods import get_method_class

    return next((m for m in STUDY_METHODS if getattr(get_method_class(m), "task", "") == "recognise"), None)


def study_default(task: str) -> str | None:
    """The first study method of ``task`` the protocol scores (what a method's ``compares_with_tasks`` uses)."""
    from ..methods import get_method_class

    return next((m for m in protocol_methods() if getattr(get_method_class(m), "task", "inpaint") == task), None)


def train_priority(method: str) -> int:
    """Scheduling priority of a method's training job (higher starts first among ready jobs): 2 when another study
    method builds on or compares with its task (it unlocks a chain: the prior, the recogniser, the parser, the
    first inpainter), 1 when it builds on another task (the chain's second link), else 0. With two local cores the
    study's wall time is its longest chain's, so the chains start first."""
    from ..methods import get_method_class

    task = getattr(get_method_class(method), "task", "inpaint")
    unlocks = any(m != method and (task in get_method_class(m).builds_on_tasks
                                   or (task in getattr(get_method_class(m), "compares_with_tasks", ())
                                       and study_default(task) == method))
                  for m in STUDY_METHODS)
    return 2 if unlocks else 1 if get_method_class(method).builds_on_tasks else 0


def resources(profile: str, kind: str) -> dict:
    """Per-job resources of a profile (``gpu``, ``mem_mb``, ``runtime`` in minutes) for the cluster executor."""
    table = STUDY_PROFILES[profile].get("resources", {})
    return dict(table.get(kind, table.get("default", {})))


#: the per-method entries of the study parameters (what one method's jobs read of them is its own entry)
PER_METHOD_PARAMS = ("train_sets", "ablation_sets")


def params_key(profile: str, data_root: str | None, method: str | None = None, shared: bool = False) -> str:
    """The profile's parameters as canonical JSON: a job reruns when they change (Snakemake ``params``).

    With ``method``, the per-method entries (``train_sets``, ``ablation_sets``) are reduced to that method's,
    so registering another method does not rerun this one's jobs. ``shared=True`` (the jobs every method's jobs
    stand on: the data and mask sets, the classical floor) drops them: changing one method's training or ablation
    settings must not rerun the data job and, through its outputs, the whole study.
    """
    params = study_parameters(profile, data_root, "")
    params.pop("out_root")
    if shared:
        for key in PER_METHOD_PARAMS:
            params.pop(key, None)
    elif method is not None:
        for key in PER_METHOD_PARAMS:
            params[key] = {method: params.get(key, {}).get(method, {})}
    return json.dumps(params, sort_keys=True)


def checkpoint_inputs(method: str) -> list[str]:
    """Checkpoint records a method's jobs read: those of the study methods whose task is in its
    ``builds_on_tasks`` (e.g. a restorer's frozen prior, an identity loss's recogniser), plus the record of each
    task's first protocol-scored method in its ``compares_with_tasks`` (e.g. TSGAN's condition (e) inpainter)."""
    from ..methods import get_method_class

    cls = get_method_class(method)
    built_on = [f"results/checkpoints/{m}.json" for m in STUDY_METHODS
                if m != method and getattr(get_method_class(m), "task", "inpaint") in cls.builds_on_tasks]
    compared = [study_default(t) for t in getattr(cls, "compares_with_tasks", ())]
    return built_on + [f"results/checkpoints/{m}.json" for m in compared if m and m != method]


def write_fingerprint(out_root: Path, fingerprint: str) -> bool:
    """Write the data fingerprint file only when it changed (its mtime then reruns the data job)."""
    path = Path(out_root) / FINGERPRINT
    current = json.loads(path.read_text()).get("fingerprint") if path.is_file() else None
    if current == fingerprint:
        return False
    from ..utils.io import atomic_write_json

    atomic_write_json(path, {"fingerprint": fingerprint})
    return True
