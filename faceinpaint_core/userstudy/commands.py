"""``faceinpaint userstudy {build,serve,export}``: options (no torch at import) and their runs."""
from __future__ import annotations

import argparse
from pathlib import Path

from ..utils.cliargs import int_at_least

TIME_LIMIT_HELP = "seconds a participant has, enforced by the server (source 000: 3 minutes)"


def add_arguments(parser: argparse.ArgumentParser, sub_factory) -> None:
    """Add the ``build``, ``serve`` and ``export`` actions to the ``userstudy`` parser."""
    acts = parser.add_subparsers(dest="action", required=True, metavar="ACTION",
                                 help="build a study, serve it, or export its answers")
    b = sub_factory(acts, "build", "build a study folder: trial images and study.json from a frozen evaluation set")
    b.add_argument("--out", required=True, help="study folder to write (study.json, images/)")
    b.add_argument("--methods", default="telea,ns,biharmonic",
                   help="2-7 comma-separated methods: classical ones, or trained ones with a checkpoint record under "
                        "--results (results/checkpoints/<method>.json)")
    b.add_argument("--n-trials", type=int_at_least(1), default=5, help="main trials (source 000: 5 per participant)")
    b.add_argument("--n-attention", type=int_at_least(0), default=2, help="attention-check trials (GT vs broken)")
    b.add_argument("--size", type=int_at_least(16), default=128, help="face size in pixels")
    b.add_argument("--dataset", default=None, help="faces (None: celebamask-hq under the data root, else synthetic)")
    b.add_argument("--data-root", default=None, help="datasets folder (None: $FACEINPAINT_DATA)")
    b.add_argument("--results", default="results", help="the study's results folder (checkpoint records)")
    b.add_argument("--mask-kind", default="irregular", help="evaluation mask kind (frozen, as in the study)")
    b.add_argument("--bin", default="20-30", help="hole-ratio bin of the masks")
    b.add_argument("--time-limit", type=int_at_least(10), default=180, help=TIME_LIMIT_HELP)
    b.add_argument("--seed", type=int, default=0, help="seed of the masks and the attention checks")
    s = sub_factory(acts, "serve", "serve a study to participants (consent page, 3-minute limit, SQLite)")
    s.add_argument("--study", required=True, help="study folder made by `userstudy build`")
    s.add_argument("--host", default="127.0.0.1", help="address to bind (default: this machine only)")
    s.add_argument("--port", type=int_at_least(0), default=8765, help="port (0: any free port)")
    e = sub_factory(acts, "export", "write a study's stored answers to CSV (methods resolved, times included)")
    e.add_argument("--study", required=True, help="study folder")
    e.add_argument("--out", required=True, help="CSV file to write")


def run(a) -> int:
    if a.action == "build":
        return _build(a)
    if a.action == "serve":
        from .server import serve

        return serve(a.study, a.host, a.port)
    return _export(a)


def _build(a) -> int:
    from ..eval.predictors import load_predictor
    from ..eval.protocol import EvalSpec, prepare_mask_sets
    from ..eval.run import open_eval_faces
    from ..paths import data_root as find_data_root
    from ..study.records import load_checkpoints
    from .design import build_study

    methods = [m.strip() for m in a.methods.split(",") if m.strip()]
    records = load_checkpoints(a.results) if Path(a.results, "checkpoints").is_dir() else {}
    predictors = {}
    for m in methods:
        ckpt = records.get(m, {}).get("checkpoint")
        if m not in ("telea", "ns", "biharmonic") and ckpt is None:
            raise ValueError(f"method {m!r} has no checkpoint record under {a.results}/checkpoints (train it with "
                             f"the study first, or choose classical methods)")
        predictors[m] = load_predictor(m, ckpt)
    root = find_data_root(a.data_root) if a.dataset != "synthetic" else None
    dataset = a.dataset or ("celebamask-hq" if root else "synthetic")
    n = a.n_trials + a.n_attention
    spec = EvalSpec(size=a.size, n=n, mask_kinds=(a.mask_kind,), bins=(a.bin,), seed=a.seed, fid=False, lpips=False,
                    mask_root=str(Path(a.out) / "mask_sets"), mask_source=str(root) if root else None)
    masks = prepare_mask_sets(spec)[(a.mask_kind, a.bin)][0]
    _, faces = open_eval_faces(spec, dataset=dataset, data_root=str(root) if root else None, split="test")
    study = build_study(a.out, predictors, faces["image"], masks, a.n_trials, a.n_attention, a.seed, a.time_limit,
                        source=f"{dataset} test split at {a.size} px, {a.mask_kind} masks {a.bin} %")
    print(f"wrote {Path(a.out) / 'study.json'}: {len(study['trials'])} trials ({a.n_attention} attention checks), "
          f"methods {', '.join(study['methods'])}; serve it with `faceinpaint userstudy serve --study {a.out}`")
    return 0


def _export(a) -> int:
    from ..utils.io import atomic_write_csv
    from .analysis import export_frame
    from .design import load_study
    from .store import StudyStore

    study = load_study(a.study)
    db = Path(a.study) / "responses.sqlite"
    if not db.is_file():
        raise FileNotFoundError(f"{db}: no answers stored yet (serve the study first)")
    store = StudyStore(db)
    answers = store.answers()
    store.close()
    atomic_write_csv(a.out, export_frame(study, answers))
    print(f"wrote {a.out}: {len(answers)} answers from {len({x['token'] for x in answers})} participants")
    return 0
