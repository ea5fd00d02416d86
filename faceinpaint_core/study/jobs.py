"""The study's jobs, one process each, as the workflow (``workflow/Snakefile``) runs them.

``python -m faceinpaint_core.study.jobs notebook NN_name [--method M] ...`` executes one notebook with
papermill (the study profile's parameters, plus ``method`` for a notebook that covers several methods)
and writes its executed copy; ``evaluate`` scores one trained method through the protocol;
``ablation`` trains and scores one ablation variant; ``identity-eval`` runs the identity study of one inpainter. A failing notebook is reported by name and cell,
with the path of the executed copy that holds the traceback, and the job exits 1.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ..utils.io import atomic_write_json
from ..utils.provenance import REPO_ROOT
from .profiles import study_parameters, train_profile_for

NOTEBOOK_DIR = REPO_ROOT / "notebooks"
KERNEL_ATTEMPTS = 2  # a kernel that fails to start (not a failing cell) is tried once more


def _params(a) -> dict:
    params = study_parameters(a.profile, a.data_root or None, str(Path(a.out_root).resolve()))
    if getattr(a, "method", None):
        params["method"] = a.method
        params["train_profile"] = train_profile_for(a.method, a.profile)
    return params


def _timing(out_root: Path, job: str, seconds: float, profile: str) -> None:
    """Wall time of a job, for the report's timing table (console numbers, never a result)."""
    atomic_write_json(out_root / "reports" / "executed" / "timings" / f"{job}.json",
                      {"job": job, "seconds": round(seconds, 1), "profile": profile})


def _import_papermill():
    """papermill, without jsonschema's optional IRI-format checker: ``rfc3987_syntax`` compiles a Lark grammar at
    import (1.4 s of the 1.9 s papermill takes here, paid by every notebook job), and nbformat validates notebooks
    without format checks. Blocking the import makes jsonschema skip that one checker; the kernel is unaffected."""
    sys.modules.setdefault("rfc3987_syntax", None)
    import papermill

    return papermill


def run_notebook(a) -> int:
    pm = _import_papermill()
    from papermill.exceptions import PapermillExecutionError

    nb = Path(a.notebook) if a.notebook.endswith(".ipynb") else NOTEBOOK_DIR / f"{a.notebook}.ipynb"
    if not nb.is_file():
        raise FileNotFoundError(f"notebook {nb} does not exist")
    executed = Path(a.executed)
    executed.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    for attempt in range(1, KERNEL_ATTEMPTS + 1):
        try:
            pm.execute_notebook(str(nb), str(executed), parameters=_params(a), kernel_name="python3",
                                cwd=str(REPO_ROOT), progress_bar=False, log_output=False,
                                request_save_on_cell_execute=False)
            break
        except PapermillExecutionError as err:
            print(f"faceinpaint study: notebook {nb.name}{f' (method {a.method})' if a.method else ''} failed in "
                  f"cell {err.cell_index} (execution count {err.exec_count}): {err.ename}: {err.evalue}\n"
                  f"  executed copy with the traceback: {executed}", file=sys.stderr)
            return 1
        except Exception as err:  # noqa: BLE001 - not a cell's error: the kernel did not start or died
            # (parallel jobs' kernels can race for ports on a loaded machine); a fresh kernel is tried once more
            print(f"faceinpaint study: notebook {nb.name}: the kernel failed ({type(err).__name__}: {err}); "
                  + ("retrying with a fresh kernel" if attempt < KERNEL_ATTEMPTS else "giving up"), file=sys.stderr)
            if attempt == KERNEL_ATTEMPTS:
                return 1
    job = nb.stem if not a.method else f"{nb.stem}-{a.method}"
    _timing(Path(a.out_root), job, time.perf_counter() - t0, a.profile)
    return 0


def run_evaluate(a) -> int:
    from .study_jobs import evaluate_method

    t0 = time.perf_counter()
    evaluate_method(a.method, _params(a), Path(a.out_root))
    _timing(Path(a.out_root), f"evaluate-{a.method}", time.perf_counter() - t0, a.profile)
    return 0


def run_ablation(a) -> int:
    from .study_jobs import ablation_variant

    t0 = time.perf_counter()
    ablation_variant(a.method, a.variant, _params(a), Path(a.out_root))
    _timing(Path(a.out_root), f"ablation-{a.method}-{a.variant}", time.perf_counter() - t0, a.profile)
    return 0


def run_identity_eval(a) -> int:
    from .study_jobs import identity_eval

    t0 = time.perf_counter()
    identity_eval(a.method, _params(a), Path(a.out_root))
    _timing(Path(a.out_root), f"identity-eval-{a.method}", time.perf_counter() - t0, a.profile)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m faceinpaint_core.study.jobs", description=__doc__)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--profile", required=True, help="study profile (tiny, smoke, cpu, full)")
    common.add_argument("--out-root", default=".", help="folder holding results/ figures/ reports/ runs/")
    common.add_argument("--data-root", default="", help="datasets folder; empty = synthetic faces")
    sub = p.add_subparsers(dest="kind", required=True)
    n = sub.add_parser("notebook", parents=[common], help="execute one notebook with papermill")
    n.add_argument("notebook", help="notebook stem under notebooks/ (e.g. 02_train_clgn) or a .ipynb path")
    n.add_argument("--method", default="", help="the method parameter of a per-method notebook")
    n.add_argument("--executed", required=True, help="where to write the executed copy")
    n.set_defaults(fn=run_notebook)
    e = sub.add_parser("evaluate", parents=[common], help="score one trained method through the protocol")
    e.add_argument("--method", required=True)
    e.set_defaults(fn=run_evaluate)
    b = sub.add_parser("ablation", parents=[common], help="train and score one ablation variant")
    b.add_argument("--method", required=True)
    b.add_argument("--variant", required=True)
    b.set_defaults(fn=run_ablation)
    i = sub.add_parser("identity-eval", parents=[common],
                       help="identity study of one inpainter: restored-probe verification, identity distance, LMD")
    i.add_argument("--method", required=True)
    i.set_defaults(fn=run_identity_eval)
    return p


def main(argv: list[str] | None = None) -> int:
    a = build_parser().parse_args(argv)
    try:
        return int(a.fn(a))
    except (ValueError, FileNotFoundError) as err:
        print(f"faceinpaint study job {a.kind}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
