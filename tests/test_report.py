"""The report as a reviewer reads it: no machine paths, a dirty-tree warning, figures whose text all fits."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from matplotlib.text import Text
from PIL import Image

from faceinpaint_core.paths import portable_path
from faceinpaint_core.study import figures as F
from faceinpaint_core.study import report as R
from faceinpaint_core.utils.provenance import git_dirty, git_sha, is_dirty, provenance


# -- paths and provenance ------------------------------------------------------------------------------------
def test_portable_path(tmp_path):
    data = tmp_path / "datasets"
    (data / "celebamask-hq-1k").mkdir(parents=True)
    assert portable_path(data / "celebamask-hq-1k", data) == "$FACEINPAINT_DATA/celebamask-hq-1k"
    assert portable_path(data, data) == "$FACEINPAINT_DATA"
    assert portable_path(tmp_path / "elsewhere" / "x.pt") == "<elsewhere>/x.pt"
    assert str(tmp_path) not in portable_path(tmp_path / "a")


def test_datasets_found_names_no_absolute_folder(tmp_path):
    from faceinpaint_core.data import write_synthetic_folder

    root = tmp_path / "data"
    write_synthetic_folder(root / "utkface-3k", 3, size=16, seed=0)
    frame = R.datasets_found(root, 16)
    text = frame.to_csv(index=False)
    assert str(tmp_path) not in text
    assert "$FACEINPAINT_DATA/utkface-3k" in set(frame["folder"])


def test_record_checkpoint_outside_out_root_is_not_absolute(tmp_path):
    run = tmp_path / "elsewhere" / "00001-clgn-smoke"
    (run / "checkpoints").mkdir(parents=True)
    (run / "checkpoints" / "final.pt").write_bytes(b"weights")
    rec = R.record_checkpoint(tmp_path / "study" / "results", "clgn", run)
    assert not rec["run_dir"].startswith("/") and not rec["checkpoint"].startswith("/")


def test_provenance_has_git_dirty_flag():
    prov = provenance()
    assert prov["git_dirty"] is git_dirty() and prov["git_dirty"] == is_dirty(git_sha())
    assert is_dirty("abc123-dirty") and not is_dirty("abc123")


def _result_csv(path, sha):
    pd.DataFrame({"method": ["telea"], "metric": ["psnr"], "value": [30.0], "git_sha": [sha]}).to_csv(path, index=False)


def test_report_warns_on_dirty_results(tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    _result_csv(results / "clean.csv", "a" * 40)
    pd.DataFrame({"x": [1]}).to_csv(results / "no_provenance.csv", index=False)
    params = {"profile": "smoke", "synthetic": False, "dataset": "celebamask-hq", "data_root": str(tmp_path),
              "size": 64}
    assert "dirty tree" not in R.report_markdown(tmp_path, params)
    _result_csv(results / "table.csv", "b" * 40 + "-dirty")
    text = R.report_markdown(tmp_path, params)
    assert "Warning: dirty tree" in text and "`table.csv`" in text and "clean.csv" not in text.split("##")[0]
    assert str(tmp_path) not in text  # the data root appears as $FACEINPAINT_DATA only


def test_report_shows_the_cpu_profile_beside_the_smoke_one(tmp_path):
    """The smoke report gains a section labelled `cpu` when the cpu study's tables exist under results/cpu/ (and
    not before); the cpu study's own report does not repeat itself."""
    results = tmp_path / "results"
    results.mkdir()
    params = {"profile": "smoke", "synthetic": False, "dataset": "celebamask-hq", "size": 64}
    assert "`cpu` profile" not in R.report_markdown(tmp_path, params)
    cpu = tmp_path / "results" / "cpu" / "results"
    cpu.mkdir(parents=True)
    (cpu / "table_vs_biharmonic.md").write_text("| method | PSNR |\n|---|---|\n| clgn | 31.5 |\n")
    _result_csv(cpu / "table_vs_biharmonic.csv", "c" * 40)
    text = R.report_markdown(tmp_path, params)
    section = text.split("## `cpu` profile (`results/cpu/`)", 1)[1].split("\n## ", 1)[0]
    assert "| clgn | 31.5 |" in section and "cccccccccccc" in section and "NOT the `smoke` numbers" in section
    assert "table vs biharmonic (cpu profile)" in section
    assert "## `cpu` profile" not in R.report_markdown(tmp_path / "results" / "cpu", {**params, "profile": "cpu"})
    # the files it read are the smoke report job's inputs (a new cpu run reruns the report); none for the cpu report
    from faceinpaint_core.utils.provenance import REPO_ROOT

    files = R.profile_section_files(tmp_path, "smoke")
    assert set(files) == {cpu / "table_vs_biharmonic.md", cpu / "table_vs_biharmonic.csv"}
    assert R.profile_section_files(tmp_path, "cpu") == []
    assert 'profile_section_files(".", PROFILE)' in (REPO_ROOT / "workflow" / "Snakefile").read_text()


# -- figures: every drawn text lies inside the canvas -----------------------------------------------------------
def _drawn_texts(fig, monkeypatch) -> list[Text]:
    """Texts matplotlib actually draws (tick labels outside the view limits exist but are not drawn)."""
    drawn, original = [], Text.draw

    def record(self, renderer):
        drawn.append(self)
        return original(self, renderer)

    with monkeypatch.context() as m:
        m.setattr(Text, "draw", record)
        fig.canvas.draw()
    return [t for t in drawn if t.get_visible() and t.get_text().strip()]


def _assert_text_fits(fig, monkeypatch):
    texts = _drawn_texts(fig, monkeypatch)
    renderer, box = fig.canvas.get_renderer(), fig.bbox
    assert texts
    for t in texts:
        e = t.get_window_extent(renderer)
        inside = e.x0 >= box.x0 - 1 and e.y0 >= box.y0 - 1 and e.x1 <= box.x1 + 1 and e.y1 <= box.y1 + 1
        assert inside, f"text {t.get_text()!r} at {e.extents} leaves the canvas {box.extents}"
    return texts, renderer


LONG = "ablation: CLGN: stages=3, GAM, all five losses"


def _images(n=2, size=8):
    g = torch.Generator().manual_seed(0)
    return torch.rand(n, 3, size, size, generator=g), (torch.rand(n, 1, size, size, generator=g) > 0.6).float()


def _fig_image_grid(tmp_path):
    img, _ = _images()
    return F.image_grid({"masked input": img, "output": img, "ground truth": img}, title=LONG)


def _fig_comparison(tmp_path):
    img, mask = _images()
    return F.comparison_figure(img, mask, {"clgn": img, "lgnet": img, LONG: img}, "irregular masks, 20-30 % "
                               "holes (celebamask-hq, 64 px, profile smoke)")


def _fig_mask_bins(tmp_path):
    rng = np.random.default_rng(0)
    sets = {(k, b): ((rng.random((2, 8, 8)) > 0.7).astype(np.uint8), {"sha256": "0"})
            for k in ("regular", "irregular") for b in ("1-10", "40-50")}
    return F.mask_bins_figure(sets)


def _fig_parsing(tmp_path):
    img, _ = _images()
    return F.parsing_figure(img, torch.randint(0, 9, (2, 8, 8), generator=torch.Generator().manual_seed(0)))


def _fig_loss_curves(tmp_path):
    logs = {}
    for i, label in enumerate([LONG, "ablation: GAM off (stages=3)", "ablation: total variation loss only", "x"]):
        path = tmp_path / f"log{i}.csv"
        terms = {t: np.linspace(1, 0, 5) for t in ("G_total", "G_hole", "G_valid", "G_perceptual", "G_style",
                                                   "D_total")}
        pd.DataFrame({"step": range(5), **terms}).to_csv(path, index=False)
        logs[label] = path
    return F.loss_curves_figure(logs)


def _fig_png(tmp_path):
    Image.fromarray(np.zeros((20, 70, 3), np.uint8)).save(tmp_path / "grid.png")
    return F.png_figure(tmp_path / "grid.png", "clgn: last sample grid of 00008-clgn-smoke")


def _fig_metric_vs_ratio(tmp_path):
    rows = [dict(method=m, mask_type=k, hole_ratio=r, psnr=20 + r, ssim=0.5, l1_percent=3.0)
            for m in ("telea", "clgn", "facestyle") for k in ("regular", "irregular") for r in (0.05, 0.25, 0.45)]
    return F.metric_vs_ratio_figure(pd.DataFrame(rows))


def _fig_learning_curves(tmp_path):
    curves = {}
    for i, label in enumerate(["CLGN", "facial-style (patent)", "edge-guided diffusion", "x"]):
        path = tmp_path / f"val{i}.csv"
        pd.DataFrame({"step": [0, 500, 1000], "psnr": [15.0, 22.0, 24.5], "ssim": [0.6, 0.7, 0.8],
                      "biharmonic_psnr": 23.4, "biharmonic_ssim": 0.75, "n_images": 32}).to_csv(path, index=False)
        curves[label] = path
    return F.learning_curves_figure(curves)


FIGURES = {f.__name__[5:]: f for f in (_fig_image_grid, _fig_comparison, _fig_mask_bins, _fig_parsing,
                                       _fig_loss_curves, _fig_png, _fig_metric_vs_ratio, _fig_learning_curves)}


def test_every_figure_function_is_covered():
    public = {name for name in dir(F) if name.endswith("_figure") or name == "image_grid"} - {"save_figure"}
    covered = {"image_grid", "comparison_figure", "mask_bins_figure", "parsing_figure", "loss_curves_figure",
               "png_figure", "metric_vs_ratio_figure", "learning_curves_figure"}
    assert public <= covered, f"add a text-fit case for {public - covered}"


@pytest.mark.parametrize("name", FIGURES)
def test_figure_text_fits_canvas(name, tmp_path, monkeypatch):
    import matplotlib.pyplot as plt

    fig = FIGURES[name](tmp_path)
    try:
        _assert_text_fits(fig, monkeypatch)
    finally:
        plt.close(fig)


def test_grid_column_titles_fit_their_columns(monkeypatch):
    import matplotlib.pyplot as plt

    img, _ = _images()
    fig = F.image_grid({"ground truth": img, LONG: img, "output": img})
    try:
        _assert_text_fits(fig, monkeypatch)
        renderer = fig.canvas.get_renderer()
        for ax in fig.axes[:3]:
            title = ax.title.get_window_extent(renderer)
            assert title.width <= ax.get_window_extent(renderer).width + 8, ax.title.get_text()
        assert "ground truth" in fig.axes[0].title.get_text()
    finally:
        plt.close(fig)


def test_sample_grid_keeps_whole_titles(tmp_path):
    """The trainer's PNG grid: a title wider than its 32-px column wraps or enlarges the grid, never truncates."""
    from PIL import ImageDraw, ImageFont

    from faceinpaint_core.train.runlog import _titled

    body = Image.new("RGB", (3 * 34, 34), "white")
    names = ["masked input", "output", "ground truth"]
    page = _titled(body, names)
    font = ImageFont.load_default()
    widest = max(ImageDraw.Draw(page).textlength(w, font=font) for n in names for w in n.split())
    assert page.width // 3 >= widest and page.height > body.height * (page.width // body.width)
