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
from faceinpaint_core.study.pipeline import list_notebooks, run_study
from faceinpaint_core.study.profiles import study_parameters
from faceinpaint_core.utils.io import sha256_file

REQUIRED_PARAMS = {"profile", "data_root", "synthetic", "out_root", "dataset", "size", "n_eval", "bins", "mask_kinds",
                   "eval_fid", "eval_lpips", "train_profile", "ablation_steps", "n_visual", "seed", "train_sets"}
EXPECTED_NOTEBOOKS = {"00_data", "01_classical_floor", "02_train_clgn", "03_train_facestyle", "04_train_edge_diffusion", "20_tables",
                      "21_ablations_clgn", "22_visual_comparisons", "99_report"}
TRAINED = ("clgn", "lgnet", "facestyle", "edge-diffusion")


# -- committed notebooks --------------------------------------------------------------------------------------
def _code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def test_every_notebook_is_committed() -> None:
    assert {p.stem for p in list_notebooks()} == EXPECTED_NOTEBOOKS


def test_profiles_pass_exactly_the_declared_parameters() -> None:
    assert set(study_parameters("tiny", None, "/tmp/x")) == REQUIRED_PARAMS


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
    rc = run_study("tiny", out_root=out)
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
    for nb in EXPECTED_NOTEBOOKS:
        assert (out / "reports" / "executed" / f"{nb}.ipynb").is_file()


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
        assert {"l1_percent", "psnr", "ssim"} <= set(mine["metric"])
    for metric, lo, hi in (("l1_percent", 0, 100), ("psnr", 5, math.inf), ("ssim", -1, 1)):
        vals = rows.loc[rows["metric"] == metric, "value"]
        assert vals.between(lo, hi).all(), f"{name}: {metric} out of [{lo}, {hi}]"
    for col in ("git_sha", "device", "split_hash", "mask_set_sha256", "checkpoint_sha256"):
        assert rows[col].notna().all() and (rows[col].astype(str) != "").all(), f"{name}: empty {col}"
    assert set(rows["profile"]) == {"tiny"} and set(rows["dataset"]) == {"synthetic"}
    if methods[0] in TRAINED:
        assert rows["checkpoint_sha256"].str.fullmatch(r"[0-9a-f]{64}").all()


@pytest.mark.slow
def test_checkpoints_recorded_with_their_hash(tiny_study) -> None:
    out = tiny_study[0]
    records = json.loads((out / "results" / "checkpoints.json").read_text())
    assert {"clgn", "lgnet", "facestyle", "parser"} <= set(records)
    assert sum(k.startswith("ablation: ") for k in records) == len(T.CLGN_ABLATIONS)
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
    assert set(run.loc[run["reported_method"] == "CA", "display"]) == {T.NOT_IMPLEMENTED}
    for m in ("telea", "clgn", "lgnet"):
        psnr = run[(run["method"] == m) & (run["metric"] == "psnr")]["value"]
        assert psnr.notna().all() and (psnr > 5).all()
    assert set(run.loc[run["metric"] == "fid", "display"]) <= {T.NOT_COMPUTED, T.NOT_IMPLEMENTED}
    patent = _csv(out, "table_patent_1.csv")
    fs = patent[(patent["block"] == T.THIS_RUN) & (patent["method"] == "facestyle") & (patent["metric"] == "psnr")]
    assert fs["value"].notna().all()


@pytest.mark.slow
def test_ablations_every_variant_evaluated(tiny_study) -> None:
    table = _csv(tiny_study[0], "ablations_clgn.csv")
    run = table[(table["block"] == T.THIS_RUN) & (table["metric"] == "psnr")]
    assert list(run["row"]) == [label for label, _, _ in T.CLGN_ABLATIONS]
    assert run["value"].notna().all()
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
    for stem in ("00_masks_per_bin", "00_faces_parsing_maps", "02_loss_curves_clgn_lgnet", "02_samples_clgn",
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
def test_rerun_with_nothing_changed_skips_every_step(tiny_study, capsys) -> None:
    out, rc = tiny_study
    assert rc == 0
    capsys.readouterr()
    t0 = time.perf_counter()
    assert run_study("tiny", out_root=out) == 0
    secs = time.perf_counter() - t0
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("  ")]
    assert len(lines) == len(EXPECTED_NOTEBOOKS) and all("skipped" in ln for ln in lines), \
        f"a step re-ran (did package code change during the test?): {lines}"
    assert secs < 20


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


@pytest.mark.slow
def test_failing_notebook_returns_nonzero_naming_notebook_and_cell(tmp_path, capsys) -> None:
    nb = _failing_notebook(tmp_path)
    assert run_study("tiny", out_root=tmp_path / "out", notebooks=[nb]) == 1
    err = capsys.readouterr().err
    assert "50_fails.ipynb" in err and "cell" in err and "deliberate failure" in err
    assert not (tmp_path / "out" / "reports" / "executed" / ".50_fails.tiny.json").exists()


# -- table builders on hand-made rows (no study needed) ----------------------------------------------------------
def _measured() -> pd.DataFrame:
    base = dict(mask_type="regular", bin="1-10", note="", result_file="x.csv")
    return pd.DataFrame([{**base, "method": "telea", "metric": "psnr", "value": 30.0},
                         {**base, "method": "clgn", "metric": "fid", "value": float("nan"),
                          "note": "n/a (weights missing)"}])


def test_clgn_table_absent_methods_are_never_zero() -> None:
    table = T.clgn_table(T.load_reported(), _measured(), "table 1", "regular")
    run = table[table["block"] == T.THIS_RUN].set_index(["col", "row"])["display"]
    assert run[("CA", "PSNR 1-10 %")] == T.NOT_IMPLEMENTED
    assert run[("LG-Net (lgnet)", "PSNR 1-10 %")] == T.NOT_RUN
    assert run[("Telea", "PSNR 1-10 %")] == "30.00"
    assert run[("Telea", "SSIM 1-10 %")] == T.NOT_COMPUTED
    assert run[("CLGN (clgn)", "FID 1-10 %")] == "n/a (weights missing)"
    rep = table[table["block"] == T.REPORTED].set_index(["col", "row"])["display"]
    assert rep[("Telea", "PSNR 1-10 %")] == T.ABSENT and rep[("LG-Net (lgnet)", "FID 1-10 %")] == "0.40"
    assert "0" not in set(table["display"])


def test_patent_table_maps_facial_style(tmp_path) -> None:
    table = T.patent_table(T.load_reported(), _measured(), ours=("telea",))
    rows = list(dict.fromkeys(table["row"]))
    assert rows[:4] == ["CE", "CA", "DeepFill v2 (gated conv)", "facial-style (patent) (facestyle)"]
    rep = table[(table["block"] == T.REPORTED) & (table["row"] == "CE")].set_index("col")["display"]
    assert rep["PSNR"] == "18.69" and rep["FID"] == T.ABSENT
    paths = T.write_table(table, tmp_path, "patent", "caption with 50% & under_score")
    tex = paths["tex"].read_text()
    assert r"50\% \& under\_score" in tex and tex.count(r"\midrule") == 2
    assert pd.read_csv(paths["csv"]).shape[0] == len(table)
    assert "*this run*" in paths["md"].read_text()


def test_parser_miou_frame() -> None:
    res = {"split": "val", "size": 32, "n_images": 2, "checkpoint_sha256": "a" * 64, "miou_val_clean": 0.5,
           "miou_val_masked": 0.4, "iou_clean_skin": 0.7, "iou_masked_skin": 0.6}
    frame = T.parser_miou_frame(res)
    assert set(frame["condition"]) == {"clean", "masked"} and frame["iou"].max() == 0.7
