"""``faceinpaint study``: the study's notebooks and jobs, run by the Snakemake workflow engine.

The jobs and their real inputs/outputs are declared in ``workflow/Snakefile`` (see
:mod:`.workflow`): one job per notebook step, one training and one evaluation job per method, one job
per ablation variant. Snakemake decides what to run: a job reruns when one of its inputs (its code
files, the notebook, the outputs it consumes, the data fingerprint) is newer than its outputs or its
parameters changed, so editing one method's network reruns that method's jobs and the tables and report
downstream, never the other methods' training. ``--force`` reruns everything; ``--jobs N`` runs up to
N jobs at once on this machine; ``--dry-run`` prints the jobs that would run and why;
``--cluster slurm`` submits every job to SLURM with the profile's per-job resources.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ..paths import data_root as find_data_root
from ..utils.io import sha256_json
from ..utils.provenance import REPO_ROOT, git_dirty, git_sha
from .profiles import STUDY_METHODS, default_out_root, study_parameters

SNAKEFILE = REPO_ROOT / "workflow" / "Snakefile"
CLUSTER_PROFILES = REPO_ROOT / "workflow" / "profiles"
NOTEBOOK_DIR = REPO_ROOT / "notebooks"
# notebook number -> the job outputs that stand for it (train notebooks: one per method they cover)
_STEP_TARGETS = {"00": ["reports/executed/00_data.ipynb"], "01": ["reports/executed/01_classical_floor.ipynb"],
                 "20": ["reports/executed/20_tables.ipynb"], "21": ["reports/executed/21_ablations_clgn.ipynb"],
                 "22": ["reports/executed/22_visual_comparisons.ipynb"],
                 "23": ["reports/executed/23_user_study.ipynb"], "99": ["reports/report.html"]}


def list_notebooks(folder: Path = NOTEBOOK_DIR) -> list[Path]:
    """``NN_name.ipynb`` files in number order."""
    return sorted(p for p in folder.glob("[0-9][0-9]_*.ipynb"))


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


def step_targets(only: tuple[str, ...], profile: str | None = None) -> list[str]:
    """Workflow targets for ``--only`` notebook numbers (``02`` → every method that notebook trains; with
    ``profile``, those the profile trains)."""
    from .workflow import study_methods

    methods = study_methods(profile)
    targets = []
    for num in only:
        trains = [m for m, nb in STUDY_METHODS.items() if nb.startswith(f"{num}_") and m in methods]
        if num not in _STEP_TARGETS and not trains:
            known = sorted(set(_STEP_TARGETS) | {nb[:2] for nb in STUDY_METHODS.values()})
            raise ValueError(f"--only {num}: no such notebook step; known: {', '.join(known)}")
        targets += _STEP_TARGETS.get(num, []) + [f"reports/executed/train/{m}.ipynb" for m in trains]
    return targets


def snakemake_command(profile: str, out_root: Path, data_root: str, jobs: int = 1, force: bool = False,
                      dry_run: bool = False, targets: list[str] | None = None, cluster: str | None = None) -> list[str]:
    """The Snakemake command line ``faceinpaint study`` runs (printed by ``--dry-run``). ``--keep-going``: a job
    that fails does not stop the jobs that do not depend on it (an hour of cpu-profile training is not thrown away
    by one failing table); the study still exits non-zero and names every failed job."""
    threads = max(1, (os.cpu_count() or 1) // max(1, jobs))
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(SNAKEFILE), "--directory", str(out_root),
           "--config", f"profile={profile}", f"data_root={data_root}", f"threads={threads}",
           "--rerun-incomplete", "--show-failed-logs", "--keep-going"]
    if cluster:
        cmd += ["--workflow-profile", str(cluster_profile(cluster)), "--jobs", str(max(jobs, 1))]
    else:
        cmd += ["--cores", str(max(1, jobs) * threads)]
    cmd += ["--forceall"] if force else []
    cmd += ["--dry-run"] if dry_run else []
    return cmd + list(targets or [])


def cluster_profile(name: str) -> Path:
    path = CLUSTER_PROFILES / name
    if not (path / "config.yaml").is_file():
        known = sorted(p.name for p in CLUSTER_PROFILES.iterdir() if (p / "config.yaml").is_file())
        raise ValueError(f"--cluster {name}: no workflow profile {path}/config.yaml; known: {known}")
    return path


def run_study(profile: str, only: tuple[str, ...] | None = None, force: bool = False,
              data_root: str | None = None, out_root: str | Path | None = None, jobs: int = 1,
              dry_run: bool = False, cluster: str | None = None) -> int:
    """Run (or dry-run) the study through Snakemake; returns the exit code (0 = everything up to date)."""
    if jobs < 1:
        raise ValueError(f"--jobs must be >= 1, got {jobs}")
    out_root = Path(out_root or default_out_root(profile, REPO_ROOT)).resolve()
    out_root.mkdir(parents=True, exist_ok=True)
    root = find_data_root(data_root) if profile != "tiny" else None
    params = study_parameters(profile, str(root) if root else None, str(out_root))
    targets = step_targets(tuple(only), profile) if only else []
    banner = "SYNTHETIC faces (no dataset found)" if params["synthetic"] else f"data {params['data_root']}"
    print(f"faceinpaint study: profile={profile}, {banner}, outputs under {out_root}", flush=True)
    if git_dirty():
        print(f"faceinpaint study: warning: the working tree has uncommitted changes; every result row will carry "
              f"git_sha {git_sha()[:12]}…-dirty and the report will say so (commit first for results to keep)",
              file=sys.stderr)
    cmd = snakemake_command(profile, out_root, params["data_root"], jobs, force, dry_run, targets, cluster)
    rc = subprocess.run(cmd, cwd=out_root).returncode
    if rc != 0:
        print(f"faceinpaint study: the workflow stopped (exit {rc}); the failing job's message above names the "
              f"notebook and cell; executed copies are under {out_root / 'reports' / 'executed'}", file=sys.stderr)
        return 1
    return 0
