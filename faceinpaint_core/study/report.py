"""The study's report (``reports/report.md`` + ``reports/report.html``) and its provenance records.

The report gathers every table the notebooks wrote under ``<out_root>/results`` and every figure under
``<out_root>/figures`` (embedded by relative path), with the provenance a reader needs to trace a number:
git SHA, profile, data, split and mask-set hashes, checkpoints, device. A banner says when the faces were
synthetic or the profile was ``smoke``/``tiny`` (numbers that show the pipeline works, not the papers'
results).
"""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from ..paths import portable_path
from ..utils.io import atomic_write_csv, atomic_write_json, atomic_write_text, sha256_file
from ..utils.provenance import device_name, git_sha, is_dirty, package_versions
from .frames import datasets_found, mask_sets_frame, write_frame  # noqa: F401
from .records import final_checkpoint, load_checkpoints, read_checkpoint_records, record_checkpoint  # noqa: F401

CSS = Path(__file__).with_name("report.css")

# (heading, what to look at, result-table stems, figure-name prefixes) in report order
SECTIONS: tuple[tuple[str, str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("Data and evaluation masks",
     "Faces, their 8-region parsing maps (patent regions) and the frozen evaluation mask sets: every mask of "
     "a bin lies inside it, and every method is scored on exactly these masks.",
     ("datasets_found", "splits", "mask_sets"), ("00_",)),
    ("Classical floor",
     "Training-free inpainting (Telea, Navier-Stokes, biharmonic) through the same protocol: a trained method "
     "that does not beat these has not learned anything useful.",
     ("classical_floor",), ("01_",)),
    ("CLGN tables (slides tables 1 and 2)",
     "Reported numbers are the slides' claims at 256 px after 1150 GPU-hours; this run's are from the "
     "study profile named in the caption.",
     ("table_clgn_1_regular", "table_clgn_2_irregular"), ()),
    ("Facial-style table (patent table 1)", "", ("table_patent_1",), ()),
    ("Edge-guided diffusion (source 002 table 1)",
     "The completion network is the conditional denoiser of a DDPM, sampled with DDIM and the known pixels "
     "pasted back at every step; the figures show the completed edges, the reverse process and how quality "
     "and time per image grow with the number of sampler steps.",
     ("table_edge_diffusion_1",), ("04_",)),
    ("Trained methods against the classical floor",
     "Every trained inpainting method cell by cell against biharmonic inpainting (same faces, masks and bins), "
     "with the cells that still lose listed; learning curves: validation PSNR / SSIM during training with the "
     "biharmonic level of the same faces and masks (runs with train.val_every > 0).",
     ("table_vs_biharmonic",), ("20_learning_curves",)),
    ("Leaderboard and costs",
     "Every method scored by the protocol, the training-free floor in italics, ranked by PSNR in each mask kind and "
     "bin; then what each inpainting method costs (parameters, GFLOPs, CPU time per image).",
     ("leaderboard", "method_costs"), ()),
    ("Training", "Loss curves (every logged term) and the trainer's last sample grid of each run.",
     ("parser_miou",), ("02_", "03_", "08_")),
    ("Ablations", "", ("ablations_clgn", "ablations_edge_diffusion"), ("21_loss",)),
    ("Face identity",
     "Verification of held-out CelebA identities (LFW protocol: 10 identity-disjoint folds) by dlib and the study's "
     "identity network, clean and with the probe occluded; then occluded probes restored by each inpainting method, "
     "and each method's identity distance and landmark distance to the ground truth.",
     ("identity_verification", "identity_restored", "identity_preservation"), ("05_",)),
    ("Blind face restoration (source 003: GFPGAN with a Wasserstein loss)",
     "A StyleGAN2 prior trained here (no pretrained weights can be downloaded), then GFPGAN restoring faces degraded by "
     "GFPGAN's blur-downsample-noise-JPEG model with the source's WGAN recipe (weight clipping, RMSProp) and two other "
     "adversarial losses; the critic's Wasserstein estimate is logged. Source 003 reports no numbers.",
     ("restoration_table", "restoration_vs_input", "restoration_vs_deblur", "restoration_training_gfpgan",
      "restoration_curve_gfpgan", "ablations_gfpgan"), ("07_", "21_adversarial")),
    ("User study (SIMULATED observers)",
     "The study's software (`faceinpaint userstudy build | serve | export`) runs source 000's perceptual study for "
     "real; no participant has answered yet, so these tables and figures come from SIMULATED observers whose "
     "choices follow each method's measured SSIM. They show the analysis (Wilson intervals, Bradley-Terry, "
     "agreement) and the number of participants a real study needs, not what people prefer.",
     ("user_study_support", "user_study_ranking", "user_study_features", "user_study_agreement"), ("23_",)),
    ("TSGAN: de-occlusion and frontalisation (source 004)",
     "Face verification of held-out CelebA identities' pose pairs (real: non-frontal photos with a frontal one of the "
     "same person; synthetic: frontal faces turned by a landmark-driven 3-D warp) under landmark-placed occlusions, "
     "per condition (a)-(f), occlusion kind and yaw bin, with dlib and the study's identity network; then TSGAN's "
     "ablations. Source 004 reports its ACC and AUC only as bar charts: there are no reported values to compare with.",
     ("tsgan_pose_pairs", "tsgan_rotation_check", "tsgan_verification_summary", "tsgan_vs_input", "ablations_tsgan"),
     ("06_",)),
    ("Visual comparisons",
     "Original, masked input (grey = hole) and each method's composited output, as in the slides' "
     "figures 1-2; then each image's metric against its hole ratio.", (), ("22_",)),
)


# -- provenance records written by the notebooks -----------------------------------------------------------
def dirty_results(results_dir: str | Path) -> dict[str, list[str]]:
    """``{result file: [its -dirty git SHAs]}`` for every result CSV with a row made from an uncommitted tree."""
    out = {}
    for csv in sorted(Path(results_dir).glob("*.csv")):
        try:
            shas = pd.read_csv(csv, usecols=["git_sha"], dtype=str)["git_sha"].dropna().unique()
        except (ValueError, pd.errors.EmptyDataError):  # a table without provenance columns
            continue
        dirty = sorted(sha for sha in shas if is_dirty(sha))
        if dirty:
            out[csv.name] = dirty
    return out


def dirty_warning(results_dir: str | Path) -> str:
    """A visible warning when any result row was made from a dirty tree (empty when all are clean)."""
    dirty = dirty_results(results_dir)
    if not dirty:
        return ""
    files = ", ".join(f"`{name}` ({', '.join(s[:12] + '…-dirty' for s in shas)})" for name, shas in dirty.items())
    return ("> **Warning: dirty tree.** These results were made from a working tree with uncommitted changes, "
            f"so no commit holds the exact code that made them: {files}. Commit, then rerun "
            "`make study-force` to get results traceable to a clean git SHA.\n")


def banner(params: dict) -> str:
    """The warning shown at the top when the numbers are not the protocol's."""
    notes = []
    if params.get("synthetic"):
        notes.append("the faces are SYNTHETIC (procedurally drawn; no real dataset used)")
    if params.get("profile") in ("smoke", "tiny"):
        notes.append(f"the profile is `{params['profile']}`: minutes of CPU training at "
                     f"{params.get('size')} px, so the numbers show the pipeline works end to end and are "
                     "not comparable with the sources' numbers")
    return ("> **Warning:** " + "; ".join(notes) + ".\n") if notes else ""


def study_provenance(out_root: str | Path, params: dict) -> dict:
    """Everything needed to trace the report's numbers: code, profile, data, hashes, device."""
    results = Path(out_root) / "results"
    masks = pd.read_csv(results / "mask_sets.csv") if (results / "mask_sets.csv").is_file() else None
    splits = pd.read_csv(results / "splits.csv") if (results / "splits.csv").is_file() else None
    sha = git_sha()
    return {"git SHA": sha, "git dirty": "yes: uncommitted changes" if is_dirty(sha) else "no",
            "profile": params.get("profile", "?"),
            "data": "synthetic faces" if params.get("synthetic") else f"{params.get('dataset')} under "
                                                                     "$FACEINPAINT_DATA",
            "resolution": f"{params.get('size')} px", "faces per evaluation cell": params.get("n_eval"),
            "seed": params.get("seed"), "device": device_name(),
            "split sha256": "; ".join(f"{r.dataset}: {r.sha256}" for r in splits.itertuples()) if splits is not None
            else "not recorded",
            "mask sets": "; ".join(f"{r.kind} {r.bin}: {r.sha256[:16]}" for r in masks.itertuples())
            if masks is not None else "not recorded",
            "checkpoints": "; ".join(f"{k}: {v['sha256'][:16]}" for k, v in load_checkpoints(results).items())
            or "none", "packages": ", ".join(f"{k} {v}" for k, v in package_versions().items())}


def _timings(out_root: Path, profile: str) -> str:
    """Per-job wall time written by the workflow's jobs (console-only numbers, not results)."""
    rows = []
    for path in sorted((out_root / "reports" / "executed" / "timings").glob("*.json")):
        rec = json.loads(path.read_text())
        if rec.get("profile") == profile:
            rows.append({"job": rec["job"], "seconds": rec.get("seconds")})
    return pd.DataFrame(rows).to_markdown(index=False) if rows else "(no timings recorded yet)"


def _checkpoints_md(results: Path) -> str:
    """The trained runs: run folder and checkpoint sha256 (from ``results/checkpoints.json``)."""
    records = read_checkpoint_records(results)
    if not records:
        return "*no trained checkpoints in this run*"
    rows = [{"run": k, "run folder": v["run_dir"], "checkpoint sha256": v["sha256"]} for k, v in records.items()]
    return "**Trained checkpoints**\n\n" + pd.DataFrame(rows).to_markdown(index=False)


def _figure_md(fig: Path) -> str:
    title = fig.stem.split("_", 1)[-1].replace("_", " ")
    return f"![{title}](../figures/{fig.name})\n\n*{title}* ([PDF](../figures/{fig.stem}.pdf))\n"


def report_markdown(out_root: str | Path, params: dict) -> str:
    """The whole report as Markdown (figures referenced relative to ``reports/``)."""
    out_root = Path(out_root)
    results, figures = out_root / "results", out_root / "figures"
    parts = ["# faceinpaint study report", "", banner(params), dirty_warning(results)]
    prov = study_provenance(out_root, params)
    parts += ["## Provenance", "", pd.DataFrame({"item": list(prov), "value": list(prov.values())})
              .to_markdown(index=False), ""]
    all_figs = sorted(figures.glob("*.png"))
    used: set[Path] = set()
    for heading, text, stems, prefixes in SECTIONS:
        parts += [f"## {heading}", "", text, ""] if text else [f"## {heading}", ""]
        for stem in stems:
            md = results / f"{stem}.md"
            parts += [md.read_text().rstrip(), ""] if md.is_file() else [f"*{stem}: not produced in this run*", ""]
        if heading == "Training":
            parts += [_checkpoints_md(results), ""]
        if heading == "Ablations":
            from .labels import CLGN_ABLATION_CLAIMS
            parts += [f"> {CLGN_ABLATION_CLAIMS}", ""]
        for fig in (f for f in all_figs if f.name.startswith(prefixes) and prefixes):
            used.add(fig)
            parts.append(_figure_md(fig))
    others = [f for f in all_figs if f not in used]
    if others:
        parts += ["## Other figures", ""] + [_figure_md(f) for f in others]
    parts += profile_sections(out_root, params)
    parts += ["## Job wall times", "", _timings(out_root, str(params.get("profile"))), ""]
    return "\n".join(parts)


# the tables a study profile's section shows in another profile's report (the comparison with the classical
# floor first: what a reader of the longer profile looks for)
PROFILE_SECTION_TABLES = ("table_vs_biharmonic", "leaderboard", "restoration_table", "tsgan_verification_summary")


def other_profile_roots(out_root: str | Path, profile: str | None) -> list[tuple[str, dict, Path]]:
    """``(profile, its STUDY_PROFILES entry, its root)`` of every other study profile that writes under
    ``out_root`` (``out_subdir``: the ``cpu`` study's ``results/cpu/``), whether or not it has run."""
    from .profiles import STUDY_PROFILES

    return [(name, prof, Path(out_root) / prof["out_subdir"]) for name, prof in STUDY_PROFILES.items()
            if prof.get("out_subdir") and name != profile]


def profile_section_files(out_root: str | Path, profile: str | None) -> list[Path]:
    """Every existing file :func:`profile_sections` reads (tables, the CSVs it takes git SHAs from, the learning
    curves): the report job's inputs, so that a new ``cpu`` study run refreshes the smoke report's section."""
    files = []
    for _, _, root in other_profile_roots(out_root, profile):
        results = root / "results"
        files += [results / f"{stem}.md" for stem in PROFILE_SECTION_TABLES if (results / f"{stem}.md").is_file()]
        files += sorted(results.glob("*.csv")) + sorted((root / "figures").glob("20_learning_curves*.png"))
    return files


def profile_sections(out_root: str | Path, params: dict) -> list[str]:
    """Markdown sections, one per other study profile whose outputs live under this report's ``out_root`` (the
    ``cpu`` study's ``results/cpu/`` beside the smoke study's), each headed and captioned with its profile, its
    git SHA and its own report; empty when none has been run. The tables are read as that study wrote them."""
    parts = []
    for profile, prof, root in other_profile_roots(out_root, params.get("profile")):
        sub = prof["out_subdir"]
        results = root / "results"
        tables = [(stem, results / f"{stem}.md") for stem in PROFILE_SECTION_TABLES]
        if not any(md.is_file() for _, md in tables):
            continue
        shas = sorted({sha for csv in results.glob("*.csv") for sha in _csv_shas(csv)})
        parts += [f"## `{profile}` profile (`{sub}/`)", "",
                  f"*Profile `{profile}`: {prof.get('size')} px, {prof.get('n_eval')} samples per cell, methods "
                  f"trained with their `{prof.get('train_profile')}` training profile (else "
                  f"`{prof.get('train_profile_fallback')}`). These are NOT the `{params.get('profile')}` numbers "
                  f"above. Made at git {', '.join(s[:12] for s in shas) or 'unrecorded'}; the whole study: "
                  f"[{sub}/reports/report.md](../{sub}/reports/report.md).*", ""]
        for stem, md in tables:
            if md.is_file():
                parts += [f"**{stem.replace('_', ' ')} ({profile} profile)**", "", md.read_text().rstrip(), ""]
        for fig in sorted((root / "figures").glob("20_learning_curves*.png")):
            parts += [f"![learning curves, {profile} profile](../{sub}/figures/{fig.name})", "",
                      f"*learning curves, `{profile}` profile*", ""]
    return parts


def _csv_shas(csv: Path) -> list[str]:
    try:
        return list(pd.read_csv(csv, usecols=["git_sha"], dtype=str)["git_sha"].dropna().unique())
    except (ValueError, pd.errors.EmptyDataError):
        return []


def to_html(markdown_text: str, title: str = "faceinpaint study report") -> str:
    """Markdown → a standalone HTML page with the report stylesheet inlined."""
    import markdown

    body = markdown.markdown(markdown_text, extensions=["tables", "fenced_code", "sane_lists"])
    css = CSS.read_text() if CSS.is_file() else ""
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>\n"
            f"<style>\n{css}</style></head>\n<body>\n{body}\n</body></html>\n")


def build_report(out_root: str | Path, params: dict) -> tuple[Path, Path]:
    """Write ``<out_root>/reports/report.md`` and ``report.html``; returns both paths."""
    out_root = Path(out_root)
    text = report_markdown(out_root, params)
    md = atomic_write_text(out_root / "reports" / "report.md", text)
    html = atomic_write_text(out_root / "reports" / "report.html", to_html(text))
    return md, html
