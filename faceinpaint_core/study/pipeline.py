"""``faceinpaint study``: execute the numbered notebooks in order with papermill.

A step is skipped when its *key* is unchanged: the sha256 of its parameters, the notebook file, the
package's source code, the data it reads (a cheap fingerprint: file names and sizes) and the key of
the step before it (so a change upstream re-runs everything downstream). ``--force`` reruns all.
Executed copies go to ``<out_root>/reports/executed/``; a failing notebook stops the run with a
non-zero exit naming the notebook and the failing cell.
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from ..paths import data_root as find_data_root
from ..utils.io import atomic_write_json, sha256_bytes, sha256_json
from ..utils.provenance import REPO_ROOT, git_dirty, git_sha
from .profiles import study_parameters

NOTEBOOK_DIR = REPO_ROOT / "notebooks"
PACKAGE_DIR = REPO_ROOT / "faceinpaint_core"


def list_notebooks(folder: Path = NOTEBOOK_DIR) -> list[Path]:
    """``NN_name.ipynb`` files in number order."""
    return sorted(p for p in folder.glob("[0-9][0-9]_*.ipynb"))


def code_fingerprint(package: Path = PACKAGE_DIR) -> str:
    """sha256 over the package's ``.py`` files (path + bytes)."""
    parts = [f"{p.relative_to(package)}:{sha256_bytes(p.read_bytes())}" for p in sorted(package.rglob("*.py"))]
    return sha256_json(parts)


def data_fingerprint(root: str | None) -> str:
    """Cheap fingerprint of a data root: relative names and sizes of its files (no decoding)."""
    if not root:
        return "synthetic"
    entries = []
    for dirpath, _, files in os.walk(root):
        for f in files:
            p = os.path.join(dirpath, f)
            entries.append(f"{os.path.relpath(p, root)}:{os.path.getsize(p)}")
    return sha256_json(sorted(entries))


def _step_key(nb: Path, params: dict, code: str, data: str, prev: str) -> str:
    return sha256_json({"params": params, "notebook": sha256_bytes(nb.read_bytes()), "code": code,
                        "data": data, "prev": prev})


def _run_one(nb: Path, params: dict, executed: Path) -> None:
    import papermill as pm

    pm.execute_notebook(str(nb), str(executed), parameters=params, kernel_name="python3",
                        cwd=str(REPO_ROOT), progress_bar=sys.stderr.isatty(), log_output=False,
                        request_save_on_cell_execute=False)


def run_study(profile: str, only: tuple[str, ...] | None = None, force: bool = False,
              data_root: str | None = None, out_root: str | Path | None = None,
              notebooks: list[Path] | None = None) -> int:
    """Run the study; returns the process exit code (0 = every step ran or was up to date)."""
    from papermill.exceptions import PapermillExecutionError

    out_root = Path(out_root or REPO_ROOT).resolve()
    root = find_data_root(data_root) if profile != "tiny" else None
    params = study_parameters(profile, str(root) if root else None, str(out_root))
    executed_dir = out_root / "reports" / "executed"
    executed_dir.mkdir(parents=True, exist_ok=True)
    code, data = code_fingerprint(), data_fingerprint(params["data_root"])
    banner = "SYNTHETIC faces (no dataset found)" if params["synthetic"] else f"data {params['data_root']}"
    print(f"faceinpaint study: profile={profile}, {banner}, outputs under {out_root}")
    if git_dirty():
        print(f"faceinpaint study: warning: the working tree has uncommitted changes; every result row will carry "
              f"git_sha {git_sha()[:12]}…-dirty and the report will say so (commit first for results to keep)",
              file=sys.stderr)
    prev, total0 = "", time.perf_counter()
    for nb in notebooks or list_notebooks():
        key = _step_key(nb, params, code, data, prev)
        prev = key
        executed = executed_dir / nb.name
        state = executed_dir / f".{nb.stem}.{profile}.json"
        if only and nb.name[:2] not in only:
            print(f"  {nb.stem:<28} not selected (--only)")
            continue
        if not force and state.is_file() and executed.is_file() and json.loads(state.read_text())["key"] == key:
            print(f"  {nb.stem:<28} skipped: parameters, package code, data and upstream steps unchanged")
            continue
        print(f"  {nb.stem:<28} running ...", flush=True)
        t0 = time.perf_counter()
        try:
            _run_one(nb, params, executed)
        except PapermillExecutionError as err:
            print(f"faceinpaint study: notebook {nb.name} failed in cell {err.cell_index} "
                  f"(execution count {err.exec_count}): {err.ename}: {err.evalue}\n"
                  f"  executed copy with the traceback: {executed}", file=sys.stderr)
            state.unlink(missing_ok=True)
            return 1
        secs = time.perf_counter() - t0
        atomic_write_json(state, {"key": key, "seconds": round(secs, 1), "profile": profile})
        print(f"  {nb.stem:<28} done in {secs:.1f}s", flush=True)
    print(f"faceinpaint study: finished in {time.perf_counter() - total0:.1f}s")
    return 0
