"""The ``faceinpaint`` command: masks, evaluate, train, describe, bench, inpaint, restore, frontalize, verify,
study, weights, userstudy, app.

Bad input gets one line naming the option and what is allowed, and exit code 2, before any work starts.
"""
from __future__ import annotations

import argparse
import logging
import sys

from .masks import BINS, KINDS
from .methods import METHODS
from .utils.cliargs import HelpFormatter, OneLineParser, csv_of, device, existing_file, int_at_least, print_error

CLASSICAL_NAMES = ("telea", "ns", "biharmonic")  # faceinpaint_core.eval.classical.CLASSICAL (imports torch)
SPLITS = ("train", "val", "test", "all")
MASK_HELP = (f"mask kinds: {', '.join(KINDS)}\n"
             "  rect = one rectangle, circle = one disc, regular = rect or circle (fair coin),\n"
             "  irregular = generated brush strokes, nvidia / qdimd = those mask datasets under the data root\n"
             f"hole-ratio bins, lo-hi in percent of the image (lo <= hole ratio < hi): {', '.join(BINS)}")


def cmd_masks(a) -> int:
    from .masks import build_mask_set

    man = build_mask_set(a.kind, a.bin, a.n, a.size, a.seed, a.out, source_root=a.source)
    ratios = man.get("ratios", [])
    print(f"wrote {len(man['files'])} masks to {a.out} (sha256 {man['sha256']}); hole ratio "
          f"min {min(ratios):.3f} max {max(ratios):.3f}" if ratios else f"wrote {a.out}")
    return 0


def evaluate_spec(a):
    """The :class:`~faceinpaint_core.eval.protocol.EvalSpec` of parsed ``evaluate`` arguments."""
    from .eval.protocol import EvalSpec

    if a.parser_checkpoint and a.parsing != "predicted":
        raise ValueError("--parser-checkpoint is used only with --parsing predicted")
    return EvalSpec(size=a.size, n=a.n, mask_kinds=a.masks, bins=a.bins, seed=a.seed, batch_size=a.batch_size,
                    fid=not a.no_fid, lpips=not a.no_lpips, mask_root=a.mask_root, profile=a.profile,
                    quantize=a.quantize, parsing=a.parsing, parser_checkpoint=a.parser_checkpoint)


def cmd_evaluate(a) -> int:
    from .eval.run import run_evaluation

    spec = evaluate_spec(a)
    methods = [m.strip() for m in a.method.split(",") if m.strip()]
    ckpts = {m: a.checkpoint for m in methods} if a.checkpoint else {}
    run_evaluation(methods, spec, out_csv=a.out, images=a.images, dataset=a.dataset, data_root=a.data_root,
                   split=a.split, checkpoints=ckpts, device=a.device)
    return 0


def cmd_train(a) -> int:
    from .config import parse_sets
    from .train.trainer import train_main

    if a.dry_run:
        return _dry_run(a, parse_sets(a.set))
    if a.method == "all":
        raise ValueError("--method all is for --dry-run only; name one trainable method to train")
    run = train_main(a.method, a.profile, data_root=a.data_root, out=a.out, resume=a.resume,
                     sets=parse_sets(a.set))
    print(f"run folder: {run}")
    return 0


def _dry_run(a, sets) -> int:
    from .train.probe import dry_run, format_dry_run

    for m in (list(METHODS) if a.method == "all" else [a.method]):
        print(format_dry_run(dry_run(m, a.profile, sets, data_root=a.data_root, device=a.device)), flush=True)
    return 0


def cmd_bench(a) -> int:
    from .config import parse_sets
    from .train.bench import run_bench

    methods = list(a.methods) if a.methods else list(METHODS)
    path, _ = run_bench(methods, a.size, a.batch, a.profile, a.device, a.steps, a.out_dir, a.peak_tflops,
                        a.data_root, parse_sets(a.set), a.notes)
    print(f"wrote {path}")
    return 0


def cmd_describe(a) -> int:
    from .train.describe import describe

    describe(a.method, a.size, profile=a.profile)
    return 0


def cmd_restore(a) -> int:
    from .restore import restore_main

    restore_main(a.image, a.out, method=a.method, checkpoint=a.checkpoint, device=a.device)
    return 0


def cmd_inpaint(a) -> int:
    from .inpaint import inpaint_main

    inpaint_main(a.method, a.image, a.mask, a.out, checkpoint=a.checkpoint, parser_checkpoint=a.parser_checkpoint,
                 size=a.size, mask_polarity=a.mask_polarity, steps=a.steps, align=a.align,
                 detector=a.detector)
    return 0


def cmd_frontalize(a) -> int:
    from .frontalize import frontalize_main

    info = frontalize_main(a.image, a.out, checkpoint=a.checkpoint, mask=a.mask, method=a.method, device=a.device)
    print(info["message"] if not info["faces"] else
          f"wrote the frontalised face ({info['size']} px, weights: {info['weights']}) to {a.out}")
    return 0


def cmd_verify(a) -> int:
    from .verify import run_verify

    return run_verify(a)


def cmd_study(a) -> int:
    from .study.pipeline import run_study

    only = tuple(x.strip() for x in a.only.split(",") if x.strip()) if a.only else None
    return run_study(a.profile, only=only, force=a.force, data_root=a.data_root, out_root=a.out_root, jobs=a.jobs,
                     dry_run=a.dry_run, cluster=a.cluster)


def cmd_weights(a) -> int:
    from . import weights as W

    entries = [W.get(k) for k in a.keys] if a.keys else list(W.WEIGHTS.values())
    if a.action == "list":
        for w in entries:
            path = W.locate(w)
            size = f"{w.size / 2**20:.1f} MiB" if w.size >= 2**20 else f"{w.size} B"
            print(f"{w.key:<17} {w.filename:<38} {size:>10}  "
                  f"{'present: ' + str(path) if path else 'missing: goes in ' + str(W.destination(w).parent)}\n"
                  f"{'':<17} sha256 {w.sha256}  used by {w.used_by}\n{'':<17} url {w.url}")
        return 0
    if a.action == "fetch":
        for w in entries:
            print(f"{w.key}: {W.fetch(w, progress=sys.stderr.isatty())} (sha256 verified)")
        return 0
    states = [(w, *W.status(w)) for w in entries]
    for w, state, path in states:
        print(f"{w.key:<17} {state}{': ' + str(path) if path else ''}")
    return 0 if all(state == "ok" for _, state, _ in states) else 1


def _sub(sub, name: str, help: str, fn, epilog: str | None = None) -> argparse.ArgumentParser:
    p = sub.add_parser(name, help=help, description=help, epilog=epilog, formatter_class=HelpFormatter)
    p.set_defaults(fn=fn)
    return p


def _add_masks(sub) -> None:
    m = _sub(sub, "masks", "write a frozen evaluation mask set (PNG, 255 = hole) + manifest.json", cmd_masks,
             MASK_HELP)
    m.add_argument("--kind", required=True, choices=KINDS, help="mask kind (required)")
    m.add_argument("--bin", required=True, choices=tuple(BINS), help="hole-ratio bin in percent, lo-hi (required)")
    m.add_argument("--n", type=int_at_least(1), default=50, help="number of masks (>= 1)")
    m.add_argument("--size", type=int_at_least(16), default=256, help="mask side in pixels (>= 16)")
    m.add_argument("--seed", type=int_at_least(0), default=0, help="global seed (>= 0)")
    m.add_argument("--out", required=True, help="output folder (required)")
    m.add_argument("--source", default=None, help="dataset folder for nvidia/qdimd (None: $FACEINPAINT_DATA)")


def _add_evaluate(sub) -> None:
    e = _sub(sub, "evaluate", "evaluate methods through the protocol and print the table", cmd_evaluate, MASK_HELP)
    e.add_argument("--method", required=True,
                   help=f"comma-separated: training-free {', '.join(CLASSICAL_NAMES)}, or one trained method "
                        f"({', '.join(METHODS)}) with --checkpoint (required)")
    e.add_argument("--checkpoint", type=existing_file, default=None,
                   help="checkpoint of a trained method (runs/<run>/checkpoints/final.pt)")
    src = e.add_mutually_exclusive_group()
    src.add_argument("--images", default=None, help="any folder of face images (instead of --dataset)")
    src.add_argument("--dataset", default=None,
                     help="a known dataset name: celebamask-hq, celeba-hq, celeba, utkface, ffhq, synthetic")
    e.add_argument("--data-root", default=None, help="datasets folder (None: $FACEINPAINT_DATA, else ./data)")
    e.add_argument("--split", default="val", choices=SPLITS, help="which split of --dataset")
    e.add_argument("--size", type=int_at_least(16), default=128, help="evaluation resolution in pixels (>= 16)")
    e.add_argument("--n", type=int_at_least(1), default=100, help="faces per (mask kind, bin) cell (>= 1)")
    e.add_argument("--masks", type=csv_of(KINDS, "mask kind"), default=("regular", "irregular"),
                   help=f"comma-separated mask kinds from {','.join(KINDS)}")
    e.add_argument("--bins", type=csv_of(BINS, "bin"), default=("1-10", "20-30", "40-50"),
                   help=f"comma-separated hole-ratio bins (lo-hi percent) from {','.join(BINS)}")
    e.add_argument("--seed", type=int_at_least(0), default=0, help="seed of the frozen mask sets (>= 0)")
    e.add_argument("--batch-size", type=int_at_least(1), default=16, help="images per forward pass (>= 1)")
    e.add_argument("--quantize", choices=("uint8", "none"), default="uint8",
                   help="round outputs to 8 bits before PSNR/SSIM/L1 (uint8, as the sources save images) or not")
    e.add_argument("--parsing", choices=("labels", "predicted"), default="labels",
                   help="parsing maps for parsing-conditioned methods: the dataset's labels, or predicted by "
                        "the face parser (--parser-checkpoint) for plain image folders")
    e.add_argument("--parser-checkpoint", type=existing_file, default=None,
                   help="trained face parser checkpoint for --parsing predicted")
    e.add_argument("--no-fid", action="store_true", help="skip FID")
    e.add_argument("--no-lpips", action="store_true", help="skip LPIPS")
    e.add_argument("--mask-root", default="results/cache/mask_sets", help="cache folder of frozen mask sets")
    e.add_argument("--profile", default="adhoc", help="label written into the provenance columns")
    e.add_argument("--device", type=device, default="cpu", help="cpu, cuda, cuda:N or mps (must exist here)")
    e.add_argument("--out", default=None, help="CSV path (a .md table is written beside it; None: print only)")


def _add_train(sub) -> None:
    t = _sub(sub, "train", "train a method with the generic trainer", cmd_train,
             "--set takes dotted config keys, e.g. train.steps=500 train.batch_size=4 train.lr_g=2e-4 gam=false; "
             "`faceinpaint describe --method M` and the method's config dataclass list them.")
    t.add_argument("--method", required=True,
                   help=f"trainable method: {', '.join(METHODS)} (required; `all` with --dry-run)")
    t.add_argument("--profile", default="smoke", help="the method's named profile (smoke, full, ...)")
    t.add_argument("--dry-run", action="store_true",
                   help="build the method at the profile's size and batch, run two optimisation steps, print "
                        "parameters, activation memory, step time and the data loader's images/s; writes nothing")
    t.add_argument("--device", type=device, default="cpu", help="device of --dry-run (cpu, cuda, cuda:N)")
    t.add_argument("--data-root", default=None, help="datasets folder (None: $FACEINPAINT_DATA, else ./data)")
    t.add_argument("--out", default="runs", help="folder that receives the numbered run folder")
    t.add_argument("--resume", action="store_true", help="continue the newest run of this method/profile")
    t.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="config override, repeatable, e.g. train.steps=50")


def _add_bench(sub) -> None:
    b = _sub(sub, "bench", "time training steps per method and write results/benchmarks/train_<device>.csv",
             cmd_bench, "FLOPs: every matmul/convolution of a whole training step (G, D, loss networks; forward and "
             "backward), 2 per multiply-add. MFU needs --peak-tflops or a known GPU name (H100, H200, A100 bf16).")
    b.add_argument("--methods", type=csv_of(METHODS, "method"), default=None,
                   help=f"comma-separated, default all: {', '.join(METHODS)}")
    b.add_argument("--size", type=int_at_least(16), default=64, help="square resolution")
    b.add_argument("--batch", type=int_at_least(1), default=4, help="batch size")
    b.add_argument("--profile", default="full", help="profile whose networks are built (full = the papers' widths)")
    b.add_argument("--steps", type=int_at_least(1), default=3, help="timed steps after one warm-up step")
    b.add_argument("--device", type=device, default="cpu", help="cpu, cuda, cuda:N")
    b.add_argument("--peak-tflops", type=float, default=None, help="the device's peak TFLOP/s for MFU")
    b.add_argument("--out-dir", default="results/benchmarks", help="folder of train_<device>.csv")
    b.add_argument("--data-root", default=None, help="datasets folder (None: $FACEINPAINT_DATA, else ./data)")
    b.add_argument("--notes", default="", help="free text stored in every row (e.g. 'machine shared, loaded')")
    b.add_argument("--set", action="append", metavar="KEY=VALUE", help="config override, e.g. train.bf16_cpu=true")


def _add_describe(sub) -> None:
    d = _sub(sub, "describe", "parameter count and forward FLOPs of a method's networks", cmd_describe)
    d.add_argument("--method", required=True, help=f"trainable method: {', '.join(METHODS)} (required)")
    d.add_argument("--size", type=int_at_least(16), default=256, help="input side in pixels (>= 16)")
    d.add_argument("--profile", default="full", help="the method's named profile")


def _add_inpaint(sub) -> None:
    i = _sub(sub, "inpaint", "inpaint one image with a trained (or training-free) method", cmd_inpaint)
    i.add_argument("--method", required=True,
                   help=f"{', '.join(CLASSICAL_NAMES)}, or a trained method with --checkpoint (required)")
    i.add_argument("--image", required=True, help="input image file (required)")
    i.add_argument("--mask", required=True, help="mask file, same size as the image (required)")
    i.add_argument("--out", required=True, help="output image file, .png or .jpg (required)")
    i.add_argument("--checkpoint", type=existing_file, default=None, help="checkpoint of a trained method")
    i.add_argument("--parser-checkpoint", type=existing_file, default=None,
                   help="face parser for methods that need a parsing map (facestyle)")
    i.add_argument("--size", type=int_at_least(16), default=None,
                   help="model working size (None: the checkpoint's training size; 256 for training-free)")
    i.add_argument("--steps", type=int_at_least(1), default=None,
                   help="sampler steps of a sampling method, e.g. edge-diffusion's DDIM (None: the checkpoint's "
                        "sample_steps; other methods reject it)")
    i.add_argument("--mask-polarity", default="white-hole", choices=("white-hole", "black-hole"),
                   help="white-hole: 255 = hole (NVIDIA style); black-hole: 0 = hole (QD-IMD style)")
    i.add_argument("--align", action="store_true",
                   help="also inpaint each detected face aligned to the models' canonical crop and paste it back "
                        "into the hole (photos with one or several faces)")
    i.add_argument("--detector", default="dlib", choices=("dlib", "mtcnn"),
                   help="face detector for --align (mtcnn needs facenet-pytorch)")


def _add_restore(sub) -> None:
    r = _sub(sub, "restore", "restore every face of a degraded photo (blind face restoration, GFPGAN-WGAN)",
             cmd_restore, "faces are detected with dlib, aligned, restored and pasted back with a feathered edge; "
             "the rest of the photo is unchanged; a photo without a face is written unchanged")
    r.add_argument("--image", required=True, help="input photo (required)")
    r.add_argument("--out", required=True, help="output image file, .png or .jpg (required)")
    r.add_argument("--method", default=None, help="restoration method, a trained method of task 'restore' (None: the "
                   "first registered one)")
    r.add_argument("--checkpoint", type=existing_file, default=None,
                   help="restorer checkpoint (None: the study's record results/checkpoints/<method>.json)")
    r.add_argument("--device", default="cpu", help="torch device")


def _add_frontalize(sub) -> None:
    f = _sub(sub, "frontalize", "detect, align, de-occlude and frontalise the largest face of a photo "
             "(a 'frontalize' method such as tsgan)", cmd_frontalize,
             "writes the frontal aligned face crop; a photo without a detected face is written unchanged")
    f.add_argument("--image", required=True, help="input photo (required)")
    f.add_argument("--out", required=True, help="output image file, .png or .jpg (required)")
    f.add_argument("--checkpoint", type=existing_file, default=None,
                   help="checkpoint of a trained frontalize method (None: random-init networks, labelled)")
    f.add_argument("--mask", type=existing_file, default=None,
                   help="occlusion mask, same size as the photo, white = occluded (None: no occlusion)")
    f.add_argument("--method", default=None, choices=sorted(METHODS), help="method when no checkpoint is given (None: the "
                   "first registered method of task 'frontalize')")
    f.add_argument("--device", type=device, default="cpu", help="cpu, cuda, cuda:N or mps")


def _add_verify(sub) -> None:
    from .verify import add_verify_arguments

    v = _sub(sub, "verify", "face verification (LFW protocol: 10-fold ACC, ROC AUC, TAR@FAR) on clean, occluded "
             "or restored faces", cmd_verify,
             "--dataset celeba pairs the held-out identities (frozen under --pairs-dir, sha256 in the manifest); "
             "--pairs takes a frozen pairs.csv (or its folder) or LFW's pairs.txt with --images <lfw folder>. "
             "The gallery face of each pair stays clean; --occlude hides part of the probe face and --method "
             "restores it before embedding.")
    add_verify_arguments(v)


def _add_study(sub) -> None:
    s = _sub(sub, "study", "run the study's notebooks and jobs through the Snakemake workflow (workflow/Snakefile)",
             cmd_study, "a job reruns only when its code files, notebook, inputs, parameters or the data changed")
    s.add_argument("--profile", default="smoke", choices=("tiny", "smoke", "cpu", "full"),
                   help="study profile (study/profiles.py); cpu writes under results/cpu/ unless --out-root")
    s.add_argument("--out-root", default=None, help="folder that receives results/ figures/ reports/ runs/ "
                   "(None: the repository root; the cpu profile: results/cpu/)")
    s.add_argument("--only", default=None, help="comma-separated notebook numbers, e.g. 02,20: run those steps "
                   "(and whatever they need that is missing or out of date) (None: the whole study)")
    s.add_argument("--force", action="store_true", help="rerun every job even when nothing changed")
    s.add_argument("--data-root", default=None, help="datasets folder (None: $FACEINPAINT_DATA, else ./data)")
    s.add_argument("--jobs", type=int_at_least(1), default=1, help="jobs run at once on this machine (>= 1)")
    s.add_argument("--dry-run", action="store_true", help="print the jobs that would run, and why; run nothing")
    s.add_argument("--cluster", default=None, help="submit every job through a workflow profile under "
                   "workflow/profiles/, e.g. slurm (None: run locally)")


def _add_weights(sub) -> None:
    from .weights import WEIGHTS

    w = _sub(sub, "weights", "list, fetch or verify the pretrained weight files (FID, LPIPS, VGG16)", cmd_weights,
             "files go in $FACEINPAINT_WEIGHTS if set, else the torch hub cache; fetch needs internet and "
             "verifies the sha256; verify exits 1 when a file is missing or wrong")
    w.add_argument("action", choices=("list", "fetch", "verify"), help="what to do")
    w.add_argument("keys", nargs="*", metavar="KEY", help=f"weight files (none: all): {', '.join(WEIGHTS)}")


def cmd_userstudy(a) -> int:
    from .userstudy.commands import run

    return run(a)


def _add_userstudy(sub) -> None:
    from .userstudy.commands import add_arguments

    u = _sub(sub, "userstudy", "the perceptual user study: build a study, serve it to participants, export answers",
             cmd_userstudy, "answers are POSTed as JSON to /api/answer and validated by the server; the analysis "
             "(support rates, Bradley-Terry, agreement, power) is notebook 23")
    add_arguments(u, lambda acts, name, help: acts.add_parser(name, help=help, description=help,
                                                              formatter_class=HelpFormatter))


def cmd_app(a) -> int:
    from .app.server import serve_app

    return serve_app(a.host, a.port, a.results)


def _add_app(sub) -> None:
    p = _sub(sub, "app", "a local web app: inpaint (brush or generated mask), restore and frontalise photos with "
             "every registered method", cmd_app, "binds this machine only unless --host says otherwise; there is no "
             "public sharing; methods' checkpoints come from the study's records under --results")
    p.add_argument("--host", default="127.0.0.1", help="address to bind")
    p.add_argument("--port", type=int_at_least(0), default=7860, help="port (0: any free port)")
    p.add_argument("--results", default="results", help="the study's results folder (checkpoint records)")


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="faceinpaint", description=__doc__, formatter_class=HelpFormatter)
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in (_add_masks, _add_evaluate, _add_train, _add_describe, _add_bench, _add_inpaint, _add_restore,
                _add_frontalize, _add_verify, _add_study, _add_weights, _add_userstudy, _add_app):
        add(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    from .weights import WeightsFetchError

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        return int(args.fn(args) or 0)
    except (ValueError, FileNotFoundError, ImportError, WeightsFetchError) as err:
        return print_error(args.command, err)


if __name__ == "__main__":
    sys.exit(main())
