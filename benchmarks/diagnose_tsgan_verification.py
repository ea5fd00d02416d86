"""TSGAN against the occluded input, one variant at a time (issue 17): train a variant of TSGAN's study run (or take
a trained run) and score it with notebook 06's verification protocol, dlib only, on the study's probes.

Usage:
  python benchmarks/diagnose_tsgan_verification.py STUDY_DIR OUT.csv --variant NAME [--set KEY=VALUE ...]
         [--run RUN_DIR] [--profile cpu] [--conditions bcdf] [--data-root ROOT]

STUDY_DIR is a study folder that already ran TSGAN's job (``faceinpaint study --profile cpu`` or the workflow): its
``results/`` holds the recorded recogniser (L_ip / dual triplet), the pose cache and dlib's descriptor cache, so the
occluded input's pairs are not re-embedded. Without ``--run`` the variant is trained first, with the study's sets
plus ``--set`` (``runs/`` under OUT's folder). Rows: :func:`~faceinpaint_core.study.tsgan_study.versus_input` (each
condition minus (b), paired, 95 % interval over probe identities) for every occlusion type, with the variant, its
overrides, training and scoring minutes, git SHA and device; appended to OUT (rows of the same variant replaced),
written atomically. The probes are the profile's ``verification_probes`` (notebook 06's), so the committed study
run scored here reproduces notebook 06's ``tsgan_vs_input`` dlib rows exactly.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import pandas as pd

from faceinpaint_core.config import parse_sets
from faceinpaint_core.paths import data_root as find_data_root
from faceinpaint_core.study.records import final_checkpoint
from faceinpaint_core.study.tsgan_study import (pair_scores, pose_pairs, study_embedders, study_sets,
                                                verification_setup, versus_input)
from faceinpaint_core.train.checkpoint import load_for_inference
from faceinpaint_core.train.trainer import train_main
from faceinpaint_core.utils.io import atomic_write_csv
from faceinpaint_core.utils.provenance import device_name, git_sha

METHOD = "tsgan"


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("study_dir", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--variant", required=True, help="the rows' label")
    ap.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--run", type=Path, default=None, help="a trained run folder (no training)")
    ap.add_argument("--profile", default="cpu", help="TSGAN's training profile (the study's train_profile)")
    ap.add_argument("--conditions", default="bcf", help="condition letters to score besides (b)")
    ap.add_argument("--n-eval", type=int, default=200, help="the study's n_eval (probes when the profile sets none)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data-root", default=None)
    args = ap.parse_args(argv)
    results = args.study_dir / "results"
    if not (results / "checkpoints").is_dir():
        raise SystemExit(f"{args.study_dir}: no results/checkpoints (run TSGAN's study job there first)")
    root = find_data_root(args.data_root)
    if root is None:
        raise SystemExit("no face data: pass --data-root or set FACEINPAINT_DATA")
    overrides = parse_sets(args.sets)
    sets = study_sets(METHOD, {}, results)
    test_faces, tcfg = pose_pairs(METHOD, args.profile, {**sets, **overrides}, str(root), "test")
    t0 = time.time()
    run = args.run or Path(train_main(METHOD, args.profile, data_root=str(root), out=str(args.out.parent / "runs"),
                                      sets={**sets, **overrides}))
    train_min = (time.time() - t0) / 60 if args.run is None else float("nan")
    method, nets = load_for_inference(final_checkpoint(run), device="cpu")
    _, pairs, gallery = verification_setup(test_faces, args.n_eval, args.seed, tcfg.verification_probes)
    embedders = {"dlib": study_embedders(results, None)["dlib"]}
    t1 = time.time()
    conditions = tuple(dict.fromkeys("b" + args.conditions))
    scores = pair_scores(method, nets, test_faces, pairs, gallery, embedders, tcfg.occlusions, None, conditions)
    rows = versus_input(scores, seed=args.seed)
    rows.insert(0, "variant", args.variant)
    rows = rows.assign(overrides=json.dumps(overrides), run=run.name, train_minutes=round(train_min, 1),
                       score_minutes=round((time.time() - t1) / 60, 1), profile=args.profile,
                       git_sha=git_sha(), device=device_name("cpu"))
    if args.out.exists():
        old = pd.read_csv(args.out)
        rows = pd.concat([old[old["variant"] != args.variant], rows], ignore_index=True)
    atomic_write_csv(args.out, rows)
    mine = rows[rows["variant"] == args.variant]
    print(mine[["occlusion", "condition", "acc", "acc_input", "acc_diff", "ci_low", "ci_high", "verdict"]]
          .to_string(index=False))


if __name__ == "__main__":
    main()
