"""``faceinpaint verify``: its options (light: no torch at import, the CLI stays fast) and its run."""
from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

from .masks.bins import BINS
from .utils.cliargs import device, existing_file, int_at_least

# the same tuple as eval.verification.OCCLUSIONS (tests check), kept here so that building the CLI parser
# imports no torch; embedder names (dlib, arcface and the registered recognisers) are checked after parsing
OCCLUSION_CHOICES = ("none", "eyes", "nose", "mouth", "irregular", "rect")


def fraction(text: str) -> float:
    """An argparse type: a number strictly between 0 and 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1), got {text!r}") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1), got {value}")
    return value


def add_verify_arguments(v: argparse.ArgumentParser) -> None:
    src = v.add_mutually_exclusive_group(required=True)
    src.add_argument("--pairs", default=None, help="pair file: a frozen pairs.csv or its folder, or LFW pairs.txt")
    src.add_argument("--dataset", default=None, help="pair the held-out identities of this dataset: celeba, "
                     "synthetic, or a CelebA image folder with its identity_CelebA.txt")
    v.add_argument("--images", default=None, help="folder the --pairs file names are relative to (LFW: lfw/)")
    v.add_argument("--align", action="store_true", help="with --images: align each face to the canonical crop "
                   "(dlib) instead of a centre crop")
    v.add_argument("--data-root", default=None, help="datasets folder (None: $FACEINPAINT_DATA, else ./data)")
    v.add_argument("--embedder", default="dlib", metavar="NAME",
                   help="dlib = dlib's 128-d descriptor; identity = the project's network (--checkpoint); "
                        "arcface = a pretrained insightface backbone (--identity-weights)")
    v.add_argument("--checkpoint", type=existing_file, default=None, help="identity-network checkpoint "
                   "(runs/<identity run>/checkpoints/final.pt); its identity split is used for --dataset")
    v.add_argument("--identity-weights", default=None, help="insightface arcface_torch backbone.pth for --embedder arcface")
    v.add_argument("--occlude", default="none", choices=OCCLUSION_CHOICES,
                   help="occlusion of the probe face: key-point blocks (eyes, nose, mouth from dlib landmarks) "
                        "or irregular / rect holes of --occlusion-bin")
    v.add_argument("--occlusion-bin", default="20-30", choices=tuple(BINS), help="hole-ratio bin of irregular / rect")
    v.add_argument("--method", default=None, help="inpainting method restoring the occluded probe: telea, ns, "
                   "biharmonic, or a trained method with --method-checkpoint")
    v.add_argument("--method-checkpoint", type=existing_file, default=None, help="checkpoint of --method")
    v.add_argument("--no-align-restore", action="store_true",
                   help="restore at the method's size without aligning the face to the canonical crop")
    v.add_argument("--size", type=int_at_least(32), default=112, help="faces are scored at size x size (>= 32)")
    v.add_argument("--folds", type=int_at_least(2), default=10, help="identity-disjoint folds with --dataset (>= 2)")
    v.add_argument("--pairs-per-fold", type=int_at_least(2), default=600,
                   help="pairs per fold with --dataset, even: half same, half different (LFW: 600)")
    v.add_argument("--seed", type=int_at_least(0), default=None,
                   help="protocol and identity-split seed (None: the --checkpoint's, else 0)")
    v.add_argument("--held-out", type=fraction, default=None,
                   help="share of identities held out (None: the --checkpoint's, else 0.2)")
    v.add_argument("--on-miss", default="fullbox", choices=("fullbox", "drop"),
                   help="dlib faces not detected: describe the whole (aligned) image, or drop their pairs; "
                        "counted either way")
    v.add_argument("--pairs-dir", default="results/cache/pairs", help="where --dataset protocols are frozen")
    v.add_argument("--cache-dir", default="results/cache/dlib_descriptors", help="dlib descriptor cache folder")
    v.add_argument("--device", type=device, default="cpu", help="cpu, cuda, cuda:N or mps (must exist here)")
    v.add_argument("--out", default=None, help="CSV of the result row (a .md beside it; None: print only)")
    v.add_argument("--scores", default=None, help="CSV of the per-pair scores (for ROC curves)")


def check_verify_args(a) -> None:
    """Option combinations argparse cannot express; ``ValueError`` names the options."""
    if a.pairs and not a.images:
        raise ValueError("--pairs needs --images <folder the pair files are relative to> (LFW: the lfw/ folder)")
    if a.images and not a.pairs:
        raise ValueError("--images is used only with --pairs")
    if a.method and a.occlude == "none":
        raise ValueError("--method restores occluded probes: give --occlude eyes|nose|mouth|irregular|rect")
    if a.method_checkpoint and not a.method:
        raise ValueError("--method-checkpoint needs --method")
    if a.pairs_per_fold % 2:
        raise ValueError(f"--pairs-per-fold must be even (half same, half different), got {a.pairs_per_fold}")
    from .eval.embedders import embedder_names, recognisers

    if a.embedder not in embedder_names():
        raise ValueError(f"--embedder {a.embedder!r} is unknown; known: {', '.join(embedder_names())}")
    if a.checkpoint and a.embedder not in recognisers():
        raise ValueError(f"--checkpoint is a recogniser network's: use it with --embedder "
                         f"{' or '.join(recognisers()) or '<a registered recogniser>'}")
    if a.identity_weights and a.embedder != "arcface":
        raise ValueError("--identity-weights is a pretrained ArcFace backbone: use it with --embedder arcface")


def _config(a):
    from .eval.verification import VerifyConfig, checkpoint_split

    split = checkpoint_split(a.checkpoint) if a.checkpoint else {"seed": 0, "held_out_fraction": 0.2}
    seed, held = split["seed"], split["held_out_fraction"]
    seed = seed if a.seed is None else a.seed
    held = held if a.held_out is None else a.held_out
    return replace(VerifyConfig(), size=a.size, n_folds=a.folds, pairs_per_fold=a.pairs_per_fold, seed=seed,
                   held_out_fraction=held, occlusion_bin=a.occlusion_bin, restore_align=not a.no_align_restore)


def _pairs_and_faces(a, cfg):
    from .data.pairs import read_pairs_file
    from .eval.verification import FolderFaces, held_out_pairs

    if a.dataset:
        return held_out_pairs(a.dataset, cfg, a.data_root, a.pairs_dir)
    pairs, manifest = read_pairs_file(a.pairs)
    finder = None
    if a.align:
        from .data.face_alignment import DlibFaceFinder

        finder = DlibFaceFinder()
    return pairs, manifest, FolderFaces(a.images, cfg.size, finder)


def _restorer(a, cfg):
    if not a.method:
        return None
    from .eval.predictors import load_predictor
    from .eval.verification import Restorer

    pred = load_predictor(a.method, a.method_checkpoint, device=a.device)
    return Restorer(pred, getattr(pred, "size", cfg.size), cfg.restore_align)


def summary_line(row: dict) -> str:
    """One line: ACC mean ± std, AUC, TAR@FAR and the counts."""
    tar = f"{row['tar_at_far']:.3f}" if row["tar_at_far"] == row["tar_at_far"] else "n/a"
    rest = f", restored by {row['restoration']}" if row["restoration"] != "none" else ""
    return (f"{row['embedder']}, occlusion {row['occlusion']}{rest}: ACC {row['acc_mean']:.4f} ± {row['acc_std']:.4f}, "
            f"AUC {row['auc']:.4f}, TAR@FAR={row['far']:g} {tar} over {row['n_pairs']} pairs ({row['n_same']} same, "
            f"{row['n_diff']} different, {row['n_folds']} folds); {row['n_dropped']} pairs dropped, "
            f"{row['n_detect_fail']} of {row['n_images']} faces not detected")


def run_verify(a) -> int:
    import pandas as pd

    from .study.report import write_frame
    from .utils.io import atomic_write_csv
    from .eval.embedders import make_embedder
    from .eval.verification import ProbeOcclusion, pair_images, verify

    check_verify_args(a)
    cfg = _config(a)
    embedder = make_embedder(a.embedder, a.checkpoint, a.identity_weights, a.cache_dir, a.on_miss, a.device)
    restorer = _restorer(a, cfg)
    pairs, manifest, faces = _pairs_and_faces(a, cfg)
    occlusion = None if a.occlude == "none" else ProbeOcclusion(a.occlude, cfg)
    row, scores = verify(pairs, pair_images(pairs, faces), embedder, occlusion, restorer)
    row.update(pairs_sha256=manifest["sha256"], pairs_source=json.dumps(manifest.get("params", {}), sort_keys=True))
    print(summary_line(row))
    if row["note"]:
        print(f"note: {row['note']}")
    if a.out:
        write_frame(pd.DataFrame([row]), Path(a.out).parent, Path(a.out).stem, "faceinpaint verify")
    if a.scores:
        atomic_write_csv(a.scores, scores)
    return 0
