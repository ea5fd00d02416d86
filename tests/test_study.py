"""The papermill study: committed notebooks are clean, the ``tiny`` study runs end to end and writes sane
results, a rerun skips every step, a failing notebook is reported by name and cell; table builders."""
from __future__ import annotations

import ast
import json
import math
import time
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from faceinpaint_core.study import tables as T
from faceinpaint_core.study.records import read_checkpoint_records
from faceinpaint_core.study.pipeline import list_notebooks, run_study
from faceinpaint_core.study.profiles import STUDY_METHODS, STUDY_PROFILES, study_parameters
from faceinpaint_core.methods.clgn import ABLATIONS
from faceinpaint_core.utils.io import sha256_file

REQUIRED_PARAMS = {"profile", "data_root", "synthetic", "out_root", "dataset", "size", "n_eval", "bins", "mask_kinds",
                   "eval_fid", "eval_lpips", "train_profile", "ablation_sets", "n_visual", "seed", "train_sets",
                   "irregular_kind", "method"}
EXPECTED_NOTEBOOKS = {"00_data", "01_classical_floor", "02_train_clgn", "03_train_facestyle", "03_train_parser",
                      "04_train_edge_diffusion", "05_identity", "06_train_tsgan", "07_train_restoration",
                      "08_train_baselines", "20_tables", "21_ablations_clgn", "22_visual_comparisons", "23_user_study",
                      "99_report"}
STEP_NOTEBOOKS = {"00_data", "01_classical_floor", "20_tables", "21_ablations_clgn", "22_visual_comparisons",
                  "23_user_study", "99_report"}
TRAINED = ("clgn", "lgnet", "facestyle", "edge-diffusion")
TINY_ABLATIONS = STUDY_PROFILES["tiny"]["ablations"]  # variant slugs; jobs: W.ablations("tiny")


# -- committed notebooks --------------------------------------------------------------------------------------
def _code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def test_every_notebook_is_committed() -> None:
    assert EXPECTED_NOTEBOOKS <= {p.stem for p in list_notebooks()}


def test_every_notebook_is_a_job_of_the_workflow() -> None:
    """A committed notebook that no job runs would never be re-executed by a reviewer: each one is a step of the
    workflow or the training notebook of a registered study method (and each of those exists)."""
    from faceinpaint_core.study.profiles import STUDY_METHODS

    assert {p.stem for p in list_notebooks()} == STEP_NOTEBOOKS | set(STUDY_METHODS.values())


def test_a_profile_may_train_a_subset_of_the_methods(monkeypatch) -> None:
    """``methods`` picks study methods in study order (the protocol, identity and ablation jobs follow it); unknown
    names and a method whose jobs read a left-out method's checkpoint are refused, naming them."""
    from faceinpaint_core.study import workflow as W

    assert W.study_methods("smoke") == list(STUDY_METHODS) == W.study_methods(None)
    tiny = W.study_methods("tiny")
    assert tiny == [m for m in STUDY_METHODS if m in tiny] and "ce" not in tiny and "clgn" in tiny
    assert set(W.protocol_methods("tiny")) <= set(tiny) and "ce" in W.protocol_methods()
    assert {m for m, _ in W.ablations("tiny")} <= set(tiny)
    from faceinpaint_core.study.pipeline import step_targets

    assert "reports/executed/train/ce.ipynb" in step_targets(("08",), "smoke")  # --only 08: that notebook's methods
    assert step_targets(("08",), "tiny") == [f"reports/executed/train/{m}.ipynb" for m in tiny
                                             if STUDY_METHODS[m] == "08_train_baselines"]
    monkeypatch.setitem(W.STUDY_PROFILES, "subset", {"methods": ("clgn", "nope")})
    with pytest.raises(ValueError, match="'nope'"):
        W.study_methods("subset")
    monkeypatch.setitem(W.STUDY_PROFILES, "subset", {"methods": ("clgn", "facestyle")})
    with pytest.raises(ValueError, match=r"facestyle reads the checkpoints of \['parser'\]"):
        W.study_methods("subset")
    monkeypatch.setitem(W.STUDY_PROFILES, "subset", {"methods": ("facestyle", "parser", "clgn")})
    assert W.study_methods("subset") == ["clgn", "parser", "facestyle"]


def test_profiles_pass_exactly_the_declared_parameters() -> None:
    assert set(study_parameters("tiny", None, "/tmp/x")) == REQUIRED_PARAMS


def test_every_study_profile_has_the_presets_its_notebooks_read() -> None:
    """Profile-keyed settings outside study/profiles.py cover every study profile (the cpu study once stopped in
    notebook 05 on a missing verification preset)."""
    from faceinpaint_core.eval.verification import verify_config
    from faceinpaint_core.userstudy.simulation import SIMULATED_PARTICIPANTS

    for profile in STUDY_PROFILES:
        assert verify_config(profile).n_folds >= 2, profile
        assert SIMULATED_PARTICIPANTS[profile] > 0, profile


@pytest.mark.parametrize("path", list_notebooks(), ids=lambda p: p.stem)
def test_notebook_is_output_free_with_one_parameters_cell(path: Path) -> None:
    nb = nbformat.read(str(path), as_version=4)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert nb.cells[0].cell_type == "markdown", "a notebook opens by telling the student what to look at"
    for cell in _code_cells(nb):
        assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: committed with outputs"
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: needs exactly one cell tagged 'parameters'"
    declared = {t.id for node in ast.parse(tagged[0].source).body if isinstance(node, ast.Assign) for t in node.targets}
    assert declared == REQUIRED_PARAMS


@pytest.mark.parametrize("path", list_notebooks(), ids=lambda p: p.stem)
def test_notebook_defines_no_library_logic(path: Path) -> None:
    nb = nbformat.read(str(path), as_version=4)
    for cell in _code_cells(nb):
        tree = ast.parse(cell.source)
        defs = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef,
                                                             ast.Lambda))]
        assert not defs, f"{path.name}: define helpers in faceinpaint_core/study, not in notebooks"
    assert "faceinpaint_core" in "".join(c.source for c in _code_cells(nb))


# -- the tiny study through papermill ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny_study(tmp_path_factory):
    out = tmp_path_factory.mktemp("study")
    t0 = time.perf_counter()
    rc = run_study("tiny", out_root=out, jobs=2)
    print(f"tiny study: {time.perf_counter() - t0:.1f}s")
    return out, rc


def _csv(out: Path, name: str) -> pd.DataFrame:
    path = out / "results" / name
    assert path.is_file(), f"{name} was not written"
    return pd.read_csv(path, dtype={"bin": str})


@pytest.mark.slow
def test_tiny_study_succeeds(tiny_study) -> None:
    out, rc = tiny_study
    assert rc == 0
    for nb in STEP_NOTEBOOKS:
        assert (out / "reports" / "executed" / f"{nb}.ipynb").is_file()
    from faceinpaint_core.study.workflow import study_methods

    for method in study_methods("tiny"):  # a per-method notebook runs once per method: one executed copy each
        assert (out / "reports" / "executed" / "train" / f"{method}.ipynb").is_file()
    skipped = set(STUDY_METHODS) - set(study_methods("tiny"))  # the baselines tiny leaves out: no job, no copy
    assert skipped and not any((out / "reports" / "executed" / "train" / f"{m}.ipynb").exists() for m in skipped)


@pytest.mark.slow
@pytest.mark.parametrize("name,methods", [("classical_floor.csv", ("telea", "ns", "biharmonic"))]
                         + [(f"eval_{m}.csv", (m,)) for m in TRAINED])
def test_protocol_results_are_sane_with_provenance(tiny_study, name, methods) -> None:
    rows = _csv(tiny_study[0], name)
    assert set(rows["method"]) == set(methods)
    cells = {(k, b) for k in ("regular", "irregular") for b in ("1-10", "20-30", "40-50", "average")}
    for m in methods:
        mine = rows[rows["method"] == m]
        assert {(k, b) for k, b in zip(mine["mask_type"], mine["bin"])} == cells
        assert {"l1_percent", "psnr", "ssim_gauss", "ssim_skimage"} <= set(mine["metric"])
        assert set(mine["output"]) == {"composite", "raw"}
    for metric, lo, hi in (("l1_percent", 0, 100), ("psnr", 5, math.inf), ("ssim_gauss", -1, 1),
                           ("ssim_skimage", -1, 1)):
        vals = rows.loc[rows["metric"] == metric, "value"]
        assert vals.between(lo, hi).all(), f"{name}: {metric} out of [{lo}, {hi}]"
    assert set(rows["quantize"]) == {"uint8"} and set(rows["split"]) == {"test"}
    for col in ("git_sha", "device", "split_hash", "mask_set_sha256", "checkpoint_sha256"):
        assert rows[col].notna().all() and (rows[col].astype(str) != "").all(), f"{name}: empty {col}"
    assert set(rows["profile"]) == {"tiny"} and set(rows["dataset"]) == {"synthetic"}
    if methods[0] in TRAINED:
        assert rows["checkpoint_sha256"].str.fullmatch(r"[0-9a-f]{64}").all()


@pytest.mark.slow
def test_checkpoints_recorded_with_their_hash(tiny_study) -> None:
    out = tiny_study[0]
    records = read_checkpoint_records(out / "results")
    assert {"clgn", "lgnet", "facestyle", "parser"} <= set(records)
    clgn_variants = [v for v in TINY_ABLATIONS if v in ABLATIONS]
    assert sum(k.startswith("ablation-clgn-") for k in records) == len(clgn_variants)
    # every ablation job, whatever the method's task, records its checkpoint (TSGAN's and GFPGAN's included)
    from faceinpaint_core.study.workflow import ablations

    assert {f"ablation-{m}-{v}" for m, v in ablations("tiny")} <= set(records)
    for rec in records.values():
        assert sha256_file(out / rec["checkpoint"]) == rec["sha256"]
    evals = _csv(out, "eval_clgn.csv")
    assert set(evals["checkpoint_sha256"]) == {records["clgn"]["sha256"]}


@pytest.mark.slow
def test_seed_tables_show_reported_beside_this_run(tiny_study) -> None:
    out = tiny_study[0]
    for stem in ("table_clgn_1_regular", "table_clgn_2_irregular", "table_patent_1", "ablations_clgn"):
        for ext in ("csv", "md", "tex"):
            assert (out / "results" / f"{stem}.{ext}").is_file()
        tex = (out / "results" / f"{stem}.tex").read_text()
        assert r"\toprule" in tex and r"\bottomrule" in tex and "tiny" in tex
    t1 = _csv(out, "table_clgn_1_regular.csv")
    rep = t1[(t1["block"] == T.REPORTED) & (t1["reported_method"] == "CLGN") & (t1["row"] == "PSNR 1-10 %")]
    assert rep["value"].tolist() == [42.25]
    run = t1[t1["block"] == T.THIS_RUN]
    # every method the slides compare with is implemented: no reproduced cell says "not implemented"
    assert T.NOT_IMPLEMENTED not in set(run.loc[run["metric"] != "fid", "display"])
    assert set(run.loc[run["reported_method"] == "CA", "method"]) == {"ca"}
    for m in ("telea", "clgn", "lgnet", "ca", "gmcnn", "rfr", "medfe"):
        psnr = run[(run["method"] == m) & (run["metric"] == "psnr")]["value"]
        assert psnr.notna().all() and (psnr > 5).all()
    # a study method the profile does not train is "not run", never a number (tiny leaves out four baselines)
    skipped = run["method"].isin(["pic", "ce", "deepfill2", "lama"])
    assert set(run.loc[skipped, "method"]) == {"pic", "ce", "deepfill2", "lama"}
    assert set(run.loc[skipped, "display"]) == {T.NOT_RUN} and run.loc[skipped, "value"].isna().all()
    assert set(run.loc[(run["metric"] == "fid") & ~skipped, "display"]) <= {T.NOT_COMPUTED, T.NOT_IMPLEMENTED}
    assert set(run.loc[run["method"] == "clgn", "output"]) == {"composite"}
    patent = _csv(out, "table_patent_1.csv")
    fs = patent[(patent["block"] == T.THIS_RUN) & (patent["method"] == "facestyle") & (patent["metric"] == "psnr")]
    assert fs["value"].notna().all() and set(fs["output"]) == {"raw"}
    absent = patent[(patent["block"] == T.THIS_RUN) & patent["method"].isin(["ce", "deepfill2"])]
    assert set(absent["method"]) == {"ce", "deepfill2"} and set(absent["display"]) == {T.NOT_RUN}
    for stem in ("table_clgn_1_regular", "table_clgn_2_irregular", "table_patent_1"):
        md = (out / "results" / f"{stem}.md").read_text()
        assert "8 images per cell" in md and "32×32 px" in md and "test split" in md and "8 bits" in md


@pytest.mark.slow
def test_other_tasks_ablations_are_jobs_scored_by_their_measure(tiny_study) -> None:
    """TSGAN's variants are scored by verification, GFPGAN's on the degradation sets; notebook 21 tabulates both."""
    out = tiny_study[0]
    tsgan = _csv(out, "ablations_tsgan.csv")
    assert set(tsgan["embedder"]) >= {"dlib"} and "TSGAN (all components)" in set(tsgan["variant"])
    gfp = _csv(out, "ablations_gfpgan.csv")
    assert set(gfp["severity"]) == {"mild", "medium", "severe"} and gfp["psnr"].between(5, 60).all()
    assert set(gfp["variant"]) == {"w/o GFP (U-Net alone)"}


@pytest.mark.slow
def test_identity_rows_collected_per_method(tiny_study) -> None:
    out = tiny_study[0]
    restored = _csv(out, "identity_restored.csv")
    kept = _csv(out, "identity_preservation.csv")
    from faceinpaint_core.study.workflow import identity_evaluated

    methods = identity_evaluated("tiny")
    assert set(restored["restoration"]) == {"none", *methods}
    assert list(kept["method"]) == ["masked input (no inpainting)", *methods]
    assert (out / "results" / "identity" / f"{methods[0]}.csv").is_file()
    # a parsing-conditioned inpainter verifies the unlabelled pair faces with the study's face parser
    from faceinpaint_core.methods import get_method_class

    parsed = [m for m in methods if get_method_class(m).needs_parsing]
    rows = restored[restored["restoration"].isin(parsed)]
    assert parsed and rows["acc_mean"].notna().all() and rows["parsing"].str.contains("study's face parser").all()


@pytest.mark.slow
def test_ablations_every_variant_evaluated(tiny_study) -> None:
    table = _csv(tiny_study[0], "ablations_clgn.csv")
    run = table[(table["block"] == T.THIS_RUN) & (table["metric"] == "psnr")]
    assert list(run["row"]) == [label for label, _, _ in T.CLGN_ABLATIONS]
    ran = {ABLATIONS[v][0] for v in TINY_ABLATIONS if v in ABLATIONS}
    assert run.loc[run["row"].isin(ran), "value"].notna().all()
    assert set(run.loc[~run["row"].isin(ran), "display"]) == {T.NOT_RUN}  # variants the tiny profile skips
    rep = table[(table["block"] == T.REPORTED) & (table["metric"] == "lpips")]
    assert rep["value"].notna().sum() == 6  # five losses alone + all five (the slides' table)


@pytest.mark.slow
def test_parser_miou_and_data_records(tiny_study) -> None:
    out = tiny_study[0]
    miou = _csv(out, "parser_miou.csv")
    assert miou["iou"].between(0, 1).all() and (miou["class"] == "mean (mIoU)").sum() == 2
    masks = _csv(out, "mask_sets.csv")
    assert len(masks) == 6 and masks["sha256"].str.fullmatch(r"[0-9a-f]{64}").all()
    splits = _csv(out, "splits.csv")
    assert splits["sha256"].iloc[0] == (out / "results" / "splits" / "synthetic" / "splits.json").read_text() \
        .split('"sha256": "')[1][:64]


@pytest.mark.slow
def test_figures_png_and_pdf(tiny_study) -> None:
    figures = tiny_study[0] / "figures"
    stems = {p.stem for p in figures.glob("*.png")}
    for stem in ("00_masks_per_bin", "00_faces_parsing_maps", "02_loss_curves_clgn", "08_loss_curves_lgnet",
                 "02_samples_clgn",
                 "03_loss_curves_facestyle", "21_loss_curves_ablations", "22_comparison_irregular_20-30",
                 "22_comparison_regular_20-30", "22_metric_vs_hole_ratio"):
        assert stem in stems
    for stem in stems:
        assert (figures / f"{stem}.pdf").stat().st_size > 1000


@pytest.mark.slow
def test_report_has_provenance_banner_and_every_figure(tiny_study) -> None:
    out = tiny_study[0]
    md = (out / "reports" / "report.md").read_text()
    html = (out / "reports" / "report.html").read_text()
    assert "Warning" in md and "SYNTHETIC" in md and "`tiny`" in md
    masks = _csv(out, "mask_sets.csv")
    assert all(sha[:16] in md for sha in masks["sha256"])
    assert "git SHA" in md and "device" in md
    for fig in (out / "figures").glob("*.png"):
        assert f"../figures/{fig.name}" in md and f'src="../figures/{fig.name}"' in html
    assert "<table>" in html and "42.25" in html


@pytest.mark.slow
def test_rerun_with_nothing_changed_runs_nothing(tiny_study, capfd) -> None:
    out, rc = tiny_study
    assert rc == 0
    capfd.readouterr()
    t0 = time.perf_counter()
    assert run_study("tiny", out_root=out) == 0
    secs = time.perf_counter() - t0
    captured = capfd.readouterr()
    assert "Nothing to be done" in captured.out + captured.err, "a job re-ran (did package code change?)"
    assert secs < 30


def _failing_notebook(folder: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_markdown_cell("# a notebook that fails"),
                nbformat.v4.new_code_cell('profile = "smoke"', metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell("x = 1"),
                nbformat.v4.new_code_cell('raise RuntimeError("deliberate failure")')]
    path = folder / "50_fails.ipynb"
    nbformat.write(nb, str(path))
    return path


def test_failing_notebook_job_names_notebook_and_cell(tmp_path, capsys) -> None:
    from faceinpaint_core.study.jobs import main as job_main

    nb = _failing_notebook(tmp_path)
    executed = tmp_path / "out" / "reports" / "executed" / "50_fails.ipynb"
    rc = job_main(["notebook", str(nb), "--profile", "tiny", "--out-root", str(tmp_path / "out"),
                   "--executed", str(executed)])
    assert rc == 1
    err = capsys.readouterr().err
    assert "50_fails.ipynb" in err and "cell" in err and "deliberate failure" in err and str(executed) in err


# -- table builders on hand-made rows (no study needed) ----------------------------------------------------------
def _measured() -> pd.DataFrame:
    base = dict(mask_type="regular", bin="1-10", note="", quantize="uint8", result_file="x.csv")
    return pd.DataFrame([{**base, "method": "telea", "output": "composite", "metric": "psnr", "value": 30.0},
                         {**base, "method": "telea", "output": "raw", "metric": "psnr", "value": 29.0},
                         {**base, "method": "facestyle", "output": "raw", "metric": "psnr", "value": 21.0},
                         {**base, "method": "facestyle", "output": "composite", "metric": "psnr", "value": 22.0},
                         {**base, "method": "clgn", "output": "composite", "metric": "fid", "value": float("nan"),
                          "note": "n/a (weights missing)"},
                         {**base, "method": "lgnet", "output": "composite", "metric": "fid", "value": 51.234,
                          "note": "n=50, n<2048, not comparable"}])


def test_clgn_table_absent_methods_are_never_zero() -> None:
    rep = T.load_reported()
    # every reported method is implemented now; a made-up one ("XNet") keeps the "not implemented" path tested
    rep = pd.concat([rep, rep[rep["method"] == "CA"].assign(method="XNet", ours="")], ignore_index=True)
    table = T.clgn_table(rep, _measured(), "table 1", "regular")
    run = table[table["block"] == T.THIS_RUN].set_index(["col", "row"])["display"]
    assert run[("XNet", "PSNR 1-10 %")] == T.NOT_IMPLEMENTED
    assert run[("CA (ca)", "PSNR 1-10 %")] == T.NOT_RUN  # implemented, but not in this measured frame
    assert run[("LG-Net (lgnet)", "PSNR 1-10 %")] == T.NOT_COMPUTED
    assert run[("Telea", "PSNR 1-10 %")] == "30.00"  # the composite, not the raw 29.00
    assert run[("Telea", "SSIM (Gaussian σ=1.5) 1-10 %")] == T.NOT_COMPUTED
    assert run[("CLGN (clgn)", "FID 1-10 %")] == "n/a (weights missing)"
    assert run[("LG-Net (lgnet)", "FID 1-10 %")] == "51.23 (n=50, n<2048, not comparable)"
    rep = table[table["block"] == T.REPORTED].set_index(["col", "row"])["display"]
    assert rep[("Telea", "PSNR 1-10 %")] == T.ABSENT and rep[("LG-Net (lgnet)", "FID 1-10 %")] == "0.40"
    assert rep[("LG-Net (lgnet)", "SSIM (Gaussian σ=1.5) 1-10 %")] == "0.995"
    assert rep[("LG-Net (lgnet)", "SSIM (7×7 uniform, skimage default) 1-10 %")] == T.ABSENT
    assert "0" not in set(table["display"])


def test_lgnet_is_lgnet_itself_in_the_reported_column() -> None:
    """``lgnet`` is LG-Net's own network: one column holds the slides' LG-Net numbers and this run's, no stand-in."""
    table = T.clgn_table(T.load_reported(), _measured(), "table 1", "regular")
    cols = list(dict.fromkeys(table["col"]))
    assert "LG-Net (lgnet)" in cols and "LG-Net" not in cols
    assert not [c for c in cols if "w/o GAM" in c]
    assert (table.loc[(table["col"] == "LG-Net (lgnet)") & (table["block"] == T.THIS_RUN), "method"] == "lgnet").all()
    assert T.OUR_LABELS["lgnet"] == "LG-Net" and T.METHOD_MAP["LG-Net"] == "lgnet" and "LG-Net" not in T.STAND_INS


def test_captions_name_mask_set_images_split_size_output_quantisation() -> None:
    run = T.RunInfo("smoke", "celebamask-hq", False, 50, 64, split="test", quantize="uint8")
    for kind in ("irregular", "nvidia"):
        cap = T.clgn_caption(2, kind, ("1-10", "20-30"), run)
        assert T.mask_set_name(kind) in cap and "QD-IMD" in cap  # the slides' set beside this run's
        for words in ("50 images per cell", "64×64 px", "test split", "composite", "8 bits", "Gaussian σ=1.5",
                      "7×7 uniform", "2048"):
            assert words in cap
    assert "NVIDIA" in T.mask_set_name("nvidia") and "strokes" in T.mask_set_name("irregular")
    pat = T.patent_caption("nvidia", ("1-10",), run)
    assert "raw network output" in pat and "names neither the mask set" in pat and "QD-IMD" not in pat
    assert "not quantised" in T.RunInfo("x", "d", True, 8, 32, quantize="none").caption()
    assert T.recorded(_measured(), "quantize") == "uint8"
    tex = T.tex_escape(pat)
    assert "σ" not in tex and "×" not in tex


def test_patent_table_maps_facial_style(tmp_path) -> None:
    table = T.patent_table(T.load_reported(), _measured().assign(bin="average"), ours=("telea",),
                           mask_type="regular")
    rows = list(dict.fromkeys(table["row"]))
    assert rows[:4] == ["CE (ce)", "CA (ca)", "DeepFill v2 (gated conv) (deepfill2)", "facial-style (patent) (facestyle)"]
    rep = table[(table["block"] == T.REPORTED) & (table["row"] == "CE (ce)")].set_index("col")["display"]
    assert rep["PSNR"] == "18.69" and rep["FID"] == T.ABSENT
    run = table[table["block"] == T.THIS_RUN].set_index(["row", "col"])["display"]
    assert run[("facial-style (patent) (facestyle)", "PSNR")] == "21.00"  # the raw network output
    assert run[("Telea", "PSNR")] == "29.00"
    paths = T.write_table(table, tmp_path, "patent", "caption with 50% & under_score")
    tex = paths["tex"].read_text()
    assert r"50\% \& under\_score" in tex and tex.count(r"\midrule") == 2
    assert pd.read_csv(paths["csv"]).shape[0] == len(table)
    md = paths["md"].read_text()
    assert "*this run* — raw network output, 8-bit quantised" in md
    assert r"\emph{this run} --- raw network output, 8-bit quantised" in tex


def test_parser_miou_frame() -> None:
    res = {"split": "val", "size": 32, "n_images": 2, "checkpoint_sha256": "a" * 64, "miou_val_clean": 0.5,
           "miou_val_masked": 0.4, "iou_clean_skin": 0.7, "iou_masked_skin": 0.6}
    frame = T.parser_miou_frame(res)
    assert set(frame["condition"]) == {"clean", "masked"} and frame["iou"].max() == 0.7


# -- the workflow: precise reruns, --force, the cluster profile ---------------------------------------------------
def _dry_run_jobs(out: Path, capfd, **kw) -> list[tuple[str, str]]:
    """``(rule, wildcards)`` of every job a dry run would run (parsed from Snakemake's job listing)."""
    capfd.readouterr()
    assert run_study("tiny", out_root=out, dry_run=True, **kw) == 0
    captured = capfd.readouterr()
    text = captured.out + "\n" + captured.err  # Snakemake logs its job listing to stderr
    jobs, rule = [], None
    for line in text.splitlines():
        if line.startswith("rule ") and line.endswith(":"):
            rule = line[5:-1]
            jobs.append((rule, ""))
        elif line.strip().startswith("wildcards:") and rule:
            jobs[-1] = (rule, line.split(":", 1)[1].strip())
    return [j for j in jobs if j[0] != "all"]


@pytest.mark.slow
def test_editing_one_network_reruns_that_method_and_downstream_only(tiny_study, capfd) -> None:
    import os

    from faceinpaint_core.study.codedeps import PACKAGE_DIR

    out = tiny_study[0]
    path = PACKAGE_DIR / "nets" / "facestyle.py"
    original, st = path.read_bytes(), path.stat()
    try:  # an edit (Snakemake compares content, not only mtimes: a bare touch reruns nothing)
        path.write_bytes(original + b"\n# an edit made by test_editing_one_network_reruns_...\n")
        os.utime(path, (st.st_atime, time.time() + 5))
        jobs = _dry_run_jobs(out, capfd)
    finally:
        path.write_bytes(original)
        os.utime(path, (st.st_atime, st.st_mtime))
    rules = {r for r, _ in jobs}
    assert ("train", "method=facestyle") in jobs and ("evaluate", "method=facestyle") in jobs
    assert {"tables", "visual", "report"} <= rules
    assert not [j for j in jobs if "clgn" in j[1] or "lgnet" in j[1] or "parser" in j[1]], jobs
    # the methods that compare with inpainters read only what they use: neither the identity network nor TSGAN
    # (condition (e) uses the first inpainter, clgn) retrains; facestyle's identity row is rescored
    assert ("train", "method=identity") not in jobs and ("train", "method=tsgan") not in jobs, jobs
    assert ("identity_eval", "method=facestyle") in jobs
    assert not {"data", "classical"} & rules


@pytest.mark.slow
def test_force_reruns_every_job(tiny_study, capfd) -> None:
    jobs = _dry_run_jobs(tiny_study[0], capfd, force=True)
    trains = {w for r, w in jobs if r == "train"}
    from faceinpaint_core.study.workflow import study_methods

    assert trains == {f"method={m}" for m in study_methods("tiny")}
    from faceinpaint_core.study.workflow import ablations

    assert sum(r == "ablation" for r, _ in jobs) == len(ablations("tiny"))
    assert {"data", "classical", "tables", "ablation_tables", "visual", "report"} <= {r for r, _ in jobs}


def test_slurm_profile_requests_a_gpu_for_training(tmp_path) -> None:
    import subprocess
    import sys

    from faceinpaint_core.study.pipeline import cluster_profile, snakemake_command

    cmd = snakemake_command("full", tmp_path, "", jobs=4, dry_run=True, cluster="slurm")
    assert cmd[cmd.index("--workflow-profile") + 1] == str(cluster_profile("slurm"))
    cmd[cmd.index("--config") + 1:cmd.index("--config") + 4] = ["profile=full", "data_root=", "threads=8"]
    res = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    blocks = res.stdout.split("\nrule ")
    train = [b for b in blocks if b.startswith("train:")]
    assert len(train) == len(STUDY_METHODS)
    for block in train:
        res_line = next(ln for ln in block.splitlines() if ln.strip().startswith("resources:"))
        assert "gpu=1" in res_line and "runtime=4320" in res_line and "slurm_partition=" in res_line
    data = next(b for b in blocks if b.startswith("data:"))
    assert "gpu=" not in next(ln for ln in data.splitlines() if ln.strip().startswith("resources:"))


def test_unknown_cluster_profile_and_bad_jobs_are_clear_errors(tmp_path) -> None:
    with pytest.raises(ValueError, match="known"):
        run_study("tiny", out_root=tmp_path, cluster="nope", dry_run=True)
    with pytest.raises(ValueError, match="--jobs"):
        run_study("tiny", out_root=tmp_path, jobs=0)
    with pytest.raises(ValueError, match="--only 77"):
        run_study("tiny", out_root=tmp_path, only=("77",))


def test_variants_table_reads_rows_straight_from_csv(tmp_path) -> None:
    rows = pd.DataFrame([{"method": "m", "variant": "a", "mask_type": "irregular", "bin": "20-30",
                          "output": "composite", "metric": "psnr", "value": 21.5, "note": "", "quantize": "uint8"}])
    rows.to_csv(tmp_path / "a.csv", index=False)
    measured = pd.read_csv(tmp_path / "a.csv", dtype={"bin": str}).assign(result_file="a.csv")
    table = T.variants_table(measured, "m", ["a", "b"], metrics=("psnr",))
    shown = dict(zip(table["row"], table["display"]))
    assert shown == {"a": "21.50", "b": T.NOT_RUN}


def test_one_failing_job_does_not_stop_the_others(tmp_path) -> None:
    """The local and the cluster command keep going past a failed job (Snakemake still exits non-zero)."""
    from faceinpaint_core.study.pipeline import snakemake_command

    assert "--keep-going" in snakemake_command("cpu", tmp_path, "", jobs=2)
    assert "--keep-going" in snakemake_command("full", tmp_path, "", jobs=4, cluster="slurm")
