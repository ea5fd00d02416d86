"""The ``faceinpaint`` command: masks, evaluate, train, describe, inpaint, study."""
from __future__ import annotations

import argparse
import logging
import sys


def _csv(s: str) -> tuple[str, ...]:
    return tuple(x.strip() for x in s.split(",") if x.strip())


def cmd_masks(a) -> int:
    from .masks import build_mask_set

    man = build_mask_set(a.kind, a.bin, a.n, a.size, a.seed, a.out, source_root=a.source)
    ratios = man.get("ratios", [])
    print(f"wrote {len(man['files'])} masks to {a.out} (sha256 {man['sha256']}); hole ratio "
          f"min {min(ratios):.3f} max {max(ratios):.3f}" if ratios else f"wrote {a.out}")
    return 0


def cmd_evaluate(a) -> int:
    from .eval.protocol import EvalSpec
    from .eval.run import run_evaluation

    spec = EvalSpec(size=a.size, n=a.n, mask_kinds=_csv(a.masks), bins=_csv(a.bins), seed=a.seed,
                    batch_size=a.batch_size, fid=not a.no_fid, lpips=not a.no_lpips, mask_root=a.mask_root,
                    profile=a.profile)
    ckpts = {m: a.checkpoint for m in _csv(a.method)} if a.checkpoint else {}
    run_evaluation(list(_csv(a.method)), spec, out_csv=a.out, images=a.images, dataset=a.dataset,
                   data_root=a.data_root, split=a.split, checkpoints=ckpts, device=a.device)
    return 0


def cmd_train(a) -> int:
    from .config import parse_sets
    from .train.trainer import train_main

    run = train_main(a.method, a.profile, data_root=a.data_root, out=a.out, resume=a.resume,
                     sets=parse_sets(a.set))
    print(f"run folder: {run}")
    return 0


def cmd_describe(a) -> int:
    from .train.describe import describe

    describe(a.method, a.size, profile=a.profile)
    return 0


def cmd_inpaint(a) -> int:
    from .inpaint import inpaint_main

    inpaint_main(a.method, a.image, a.mask, a.out, checkpoint=a.checkpoint, parser_checkpoint=a.parser_checkpoint,
                 size=a.size, mask_polarity=a.mask_polarity)
    return 0


def cmd_study(a) -> int:
    from .study.pipeline import run_study

    return run_study(a.profile, only=_csv(a.only) if a.only else None, force=a.force, data_root=a.data_root,
                     jobs=a.jobs, dry_run=a.dry_run, cluster=a.cluster)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="faceinpaint", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    m = sub.add_parser("masks", help="write a frozen evaluation mask set (PNG, 255 = hole) + manifest.json")
    m.add_argument("--kind", required=True, choices=["rect", "circle", "regular", "irregular", "nvidia", "qdimd"])
    m.add_argument("--bin", required=True, help="hole-ratio bin, e.g. 20-30")
    m.add_argument("--n", type=int, default=50)
    m.add_argument("--size", type=int, default=256)
    m.add_argument("--seed", type=int, default=0)
    m.add_argument("--out", required=True)
    m.add_argument("--source", default=None, help="dataset folder for nvidia/qdimd (default: FACEINPAINT_DATA)")
    m.set_defaults(fn=cmd_masks)

    e = sub.add_parser("evaluate", help="evaluate methods through the protocol and print the table")
    e.add_argument("--method", required=True, help="telea, ns, biharmonic, or a trained method (with --checkpoint)")
    e.add_argument("--checkpoint", default=None)
    src = e.add_mutually_exclusive_group()
    src.add_argument("--images", default=None, help="any folder of face images")
    src.add_argument("--dataset", default=None, help="a known dataset name (celebamask-hq, celeba, utkface, ...)")
    e.add_argument("--data-root", default=None, help="datasets folder (default: $FACEINPAINT_DATA)")
    e.add_argument("--split", default="val", choices=["train", "val", "test", "all"])
    e.add_argument("--size", type=int, default=128)
    e.add_argument("--n", type=int, default=100)
    e.add_argument("--masks", default="regular,irregular")
    e.add_argument("--bins", default="1-10,20-30,40-50")
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--batch-size", type=int, default=16)
    e.add_argument("--no-fid", action="store_true")
    e.add_argument("--no-lpips", action="store_true")
    e.add_argument("--mask-root", default="results/cache/mask_sets")
    e.add_argument("--profile", default="adhoc", help="label written into the provenance columns")
    e.add_argument("--device", default="cpu")
    e.add_argument("--out", default=None, help="CSV path (a .md table is written beside it)")
    e.set_defaults(fn=cmd_evaluate)

    t = sub.add_parser("train", help="train a method with the generic trainer")
    t.add_argument("--method", required=True)
    t.add_argument("--profile", default="smoke")
    t.add_argument("--data-root", default=None)
    t.add_argument("--out", default="runs")
    t.add_argument("--resume", action="store_true", help="continue the newest run of this method/profile")
    t.add_argument("--set", action="append", metavar="KEY=VALUE", help="config override, e.g. train.steps=50")
    t.set_defaults(fn=cmd_train)

    d = sub.add_parser("describe", help="parameter count and forward FLOPs of a method's networks")
    d.add_argument("--method", required=True)
    d.add_argument("--size", type=int, default=256)
    d.add_argument("--profile", default="full")
    d.set_defaults(fn=cmd_describe)

    i = sub.add_parser("inpaint", help="inpaint one image with a trained method")
    i.add_argument("--method", required=True)
    i.add_argument("--image", required=True)
    i.add_argument("--mask", required=True)
    i.add_argument("--out", required=True)
    i.add_argument("--checkpoint", default=None)
    i.add_argument("--parser-checkpoint", default=None)
    i.add_argument("--size", type=int, default=None)
    i.add_argument("--mask-polarity", default="white-hole", choices=["white-hole", "black-hole"])
    i.set_defaults(fn=cmd_inpaint)

    s = sub.add_parser("study", help="run the numbered notebooks with papermill")
    s.add_argument("--profile", default="smoke", choices=["tiny", "smoke", "full"])
    s.add_argument("--only", default=None, help="comma-separated notebook numbers, e.g. 02,20")
    s.add_argument("--force", action="store_true", help="rerun steps even when nothing changed")
    s.add_argument("--data-root", default=None)
    s.add_argument("--jobs", type=int, default=1, help="workflow jobs run at once on this machine (default 1)")
    s.add_argument("--dry-run", action="store_true", help="print the jobs that would run, and why; run nothing")
    s.add_argument("--cluster", default=None, help="submit jobs through a workflow profile, e.g. slurm "
                   "(workflow/profiles/<name>/config.yaml)")
    s.set_defaults(fn=cmd_study)
    return p


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        return int(args.fn(args) or 0)
    except (ValueError, FileNotFoundError) as err:
        print(f"faceinpaint {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
