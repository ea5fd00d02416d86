"""The evaluation protocol: raw vs composite, quantisation, SSIM variants, FID note, parsing source,
table shape, provenance, byte-reproducible rows, classical floor, CLI."""
import math

import numpy as np
import pandas as pd
import pytest
import torch

from faceinpaint_core.eval.classical import ClassicalInpainter
from faceinpaint_core.eval.predictors import load_predictor
from faceinpaint_core.eval.protocol import (METRICS, OUTPUTS, EvalSpec, add_average, evaluate, format_table,
                                            prepare_mask_sets)
from faceinpaint_core.eval.run import run_evaluation

PIXEL = ("l1_percent", "psnr", "ssim_gauss", "ssim_skimage")
ROW_COLUMNS = ["method", "mask_type", "bin", "output", "metric", "value", "n", "n_infinite", "note", "mask_set_sha256",
               "checkpoint_sha256", "dataset", "split", "split_hash", "size", "seed", "quantize", "parsing",
               "parser_sha256", "git_sha", "device", "profile"]


@pytest.fixture(scope="module")
def spec(tmp_path_factory):
    return EvalSpec(size=32, n=4, bins=("1-10", "40-50"), fid=False, lpips=False,
                    mask_root=str(tmp_path_factory.mktemp("masks")), profile="test")


@pytest.mark.parametrize("name", ["telea", "ns", "biharmonic"])
def test_classical_keeps_shape_and_range(name):
    x = torch.rand(2, 3, 32, 32)
    m = torch.zeros(2, 1, 32, 32)
    m[:, :, 8:20, 8:20] = 1
    y = ClassicalInpainter(name)(x, m)
    assert y.shape == x.shape and y.min() >= 0 and y.max() <= 1
    # a flat image stays flat inside the hole: the methods propagate the border
    flat = torch.full((1, 3, 32, 32), 0.5)
    assert torch.allclose(ClassicalInpainter(name)(flat, m[:1]), flat, atol=2 / 255)


def test_unknown_method_lists_known():
    with pytest.raises(ValueError, match="telea"):
        load_predictor("nope")


class _Oracle:
    """Returns the ground truth: every metric must be perfect after compositing."""
    name, checkpoint_sha256 = "oracle", "none"

    def __init__(self, gt):
        self.gt = gt

    def __call__(self, image, mask, parsing=None):
        assert torch.all(image[mask.expand_as(image) > 0] == 0), "hole pixels leaked into the input"
        return self.gt[: image.shape[0]]


def test_protocol_composites_and_aggregates(spec):
    faces = {"image": torch.rand(spec.n, 3, spec.size, spec.size)}
    sets = prepare_mask_sets(spec)
    assert set(sets) == {(k, b) for k in spec.mask_kinds for b in spec.bins}
    per_image, cells = evaluate(_Oracle(faces["image"]), faces, sets, spec)
    assert len(per_image) == spec.n * len(sets) * len(OUTPUTS)
    assert set(per_image["output"]) == {"composite", "raw"} and set(cells["metric"]) == set(PIXEL)
    assert (per_image["l1_percent"] == 0).all() and (per_image[["ssim_gauss", "ssim_skimage"]] > 0.9999).all().all()
    assert np.isinf(per_image["psnr"]).all()
    psnr_cells = cells[cells.metric == "psnr"]
    assert (psnr_cells["n_infinite"] == spec.n).all()
    table = add_average(cells)
    assert set(table["bin"]) == {*spec.bins, "average"}
    assert len(table[table["bin"] == "average"]) == len(spec.mask_kinds) * len(OUTPUTS) * len(PIXEL)


def test_average_rows_keep_the_unique_face_count(spec):
    """With more samples than faces (the cpu study: 200 per cell from 100 test faces) every row, the averages too,
    says how many distinct faces there were (the cpu study once failed here on a missing column)."""
    faces = {"image": torch.rand(spec.n, 3, spec.size, spec.size), "n_unique": spec.n // 2}
    _, cells = evaluate(_Oracle(faces["image"]), faces, prepare_mask_sets(spec), spec)
    table = add_average(cells)
    assert (table["faces_unique"] == spec.n // 2).all() and set(table["bin"]) == {*spec.bins, "average"}


class _Constant:
    """Predicts mid-grey everywhere: the raw output is wrong outside the hole too, the composite is not."""
    name, checkpoint_sha256 = "grey", "none"

    def __call__(self, image, mask, parsing=None):
        return torch.full_like(image, 0.5)


def test_raw_and_composite_are_scored_separately(spec):
    faces = {"image": torch.rand(spec.n, 3, spec.size, spec.size, generator=torch.Generator().manual_seed(1))}
    sets = prepare_mask_sets(spec)
    per_image, _ = evaluate(_Constant(), faces, sets, spec)
    piv = per_image.pivot_table(index=["mask_type", "bin", "image"], columns="output", values="l1_percent")
    assert (piv["raw"] > piv["composite"]).all()
    # the composite's error lies in the hole only: recompute it by hand for one cell
    masks = torch.from_numpy(sets[("regular", "1-10")][0]).float().unsqueeze(1)
    gt = torch.floor(faces["image"] * 255 + 0.5) / 255
    comp = torch.floor((0.5 * masks + faces["image"] * (1 - masks)) * 255 + 0.5) / 255
    expect = ((comp - gt).abs().flatten(1).mean(1) * 100).numpy()
    np.testing.assert_allclose(piv.loc[("regular", "1-10"), "composite"].to_numpy(), expect, rtol=1e-5)


class _OffByAFraction:
    """Returns the (8-bit) ground truth plus 0.3/255: invisible once the output is saved as 8 bits."""
    name, checkpoint_sha256 = "offset", "none"

    def __init__(self, gt):
        self.gt = gt

    def __call__(self, image, mask, parsing=None):
        return (self.gt[: image.shape[0]] + 0.3 / 255).clamp(0, 1)


@pytest.mark.parametrize("quantize", ["uint8", "none"])
def test_quantize_rounds_outputs_to_8_bits(spec, quantize):
    from dataclasses import replace

    gt = torch.randint(0, 255, (spec.n, 3, spec.size, spec.size), generator=torch.Generator().manual_seed(2)) / 255.0
    q_spec = replace(spec, quantize=quantize, mask_kinds=("regular",), bins=("1-10",))
    per_image, _ = evaluate(_OffByAFraction(gt), {"image": gt}, prepare_mask_sets(q_spec), q_spec)
    raw = per_image[per_image["output"] == "raw"]
    if quantize == "uint8":
        assert np.isinf(raw["psnr"]).all() and (raw["l1_percent"] == 0).all()
    else:  # PSNR of a constant 0.3/255 error: 20 log10(255 / 0.3)
        np.testing.assert_allclose(raw["psnr"], 20 * math.log10(255 / 0.3), atol=1e-3)


@pytest.mark.parametrize("field, value, match", [
    ("quantize", "uint16", r"quantize='uint16'.*uint8, none.*--quantize"),
    ("parsing", "gt", r"parsing='gt'.*labels, predicted.*--parsing"),
    ("parser_checkpoint", "p.pt", r"parser_checkpoint.*parsing='predicted'"),
])
def test_evalspec_rejects_unknown_options(field, value, match):
    with pytest.raises(ValueError, match=match):
        EvalSpec(**{field: value})


class _FakeFID:
    """Stands in for the Inception network: 8 features per image (channel means and stds, two spatial halves)."""

    def __call__(self, images):
        h = images.shape[-1] // 2
        parts = [images[..., :h], images[..., h:]]
        return torch.cat([f(p.flatten(2), 2) for p in parts for f in (torch.mean, torch.std)], 1)[:, :8].double().numpy()


def test_fid_below_2048_images_is_marked_not_comparable(spec):
    from faceinpaint_core.eval.protocol import PerceptualMetrics

    perc = PerceptualMetrics(False, False, "cpu")
    perc.fid = _FakeFID()
    faces = {"image": torch.rand(spec.n, 3, spec.size, spec.size)}
    _, cells = evaluate(_Constant(), faces, prepare_mask_sets(spec), spec, perceptual=perc)
    fid = cells[cells["metric"] == "fid"]
    assert len(fid) == len(spec.mask_kinds) * len(spec.bins) * len(OUTPUTS) and fid["value"].notna().all()
    assert set(fid["note"]) == {f"n={spec.n}, n<2048, not comparable"}
    shown = format_table(add_average(cells).assign(method="grey"))
    assert "n<2048, not comparable" in shown and f"n={spec.n}" in shown


def test_classical_floor_table_on_synthetic(spec, tmp_path):
    out, per_image = tmp_path / "eval.csv", tmp_path / "per_image.csv"
    table = run_evaluation(["telea", "ns"], spec, out_csv=out, dataset="synthetic", verbose=False,
                           per_image_csv=per_image)
    assert out.is_file() and out.with_suffix(".md").is_file()
    assert list(table.columns) == ROW_COLUMNS
    for col in ("method", "checkpoint_sha256", "split_hash", "mask_set_sha256", "git_sha", "device", "profile"):
        assert col in table.columns and table[col].astype(str).str.len().min() > 0
    assert set(table["metric"]) == set(PIXEL) and set(PIXEL) < set(METRICS)
    assert set(table["output"]) == {"composite", "raw"} and set(table["quantize"]) == {"uint8"}
    assert set(table["parsing"]) == {"none"} and set(table["split"]) == {"val"}
    psnr = table[(table.metric == "psnr") & (table.bin != "average") & (table.output == "composite")]
    assert psnr["value"].between(10, 60).all()
    # bigger holes are harder: PSNR of the 40-50 % bin is below the 1-10 % bin for each method/mask
    piv = psnr.pivot_table(index=["method", "mask_type"], columns="bin", values="value")
    assert (piv["40-50"] < piv["1-10"]).all()
    md = format_table(table)
    assert "telea / regular" in md and "quantize uint8" in md and "ssim_skimage" in md
    again = pd.read_csv(out)
    assert len(again) == len(table)
    rows = pd.read_csv(per_image)
    assert list(rows.columns) == ["method", "mask_type", "bin", "output", "image", "hole_ratio", *PIXEL,
                                  "quantize", "parsing"]
    assert len(rows) == 2 * len(spec.mask_kinds) * len(spec.bins) * len(OUTPUTS) * spec.n


def test_result_files_are_byte_reproducible(spec, tmp_path):
    """No wall time or other run-to-run noise in the rows: the same evaluation writes the same bytes."""
    runs = []
    for k in range(2):
        out, per_image = tmp_path / f"e{k}.csv", tmp_path / f"p{k}.csv"
        run_evaluation(["telea"], spec, out_csv=out, dataset="synthetic", verbose=False, per_image_csv=per_image)
        runs.append([f.read_bytes() for f in (out, out.with_suffix(".md"), per_image)])
    assert runs[0] == runs[1]


def test_cli_evaluate_prints_table(spec, tmp_path, capsys):
    from faceinpaint_core.cli import main

    rc = main(["evaluate", "--method", "telea", "--dataset", "synthetic", "--size", "32", "--n", "3",
               "--bins", "20-30", "--masks", "irregular", "--no-fid", "--no-lpips",
               "--mask-root", str(tmp_path / "m"), "--out", str(tmp_path / "e.csv")])
    assert rc == 0
    assert "psnr" in capsys.readouterr().out


def test_cli_error_is_one_line(tmp_path, capsys):
    from faceinpaint_core.cli import main

    rc = main(["evaluate", "--method", "clgn", "--dataset", "synthetic", "--n", "2"])
    assert rc == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "checkpoint" in err[0]


# -- parsing source for parsing-conditioned methods (facestyle): labels or the project's face parser ----------
@pytest.fixture(scope="module")
def facestyle_and_parser(tmp_path_factory):
    """A tiny trained facestyle and face parser (profile ``tiny``: synthetic faces, 32 px, a few steps)."""
    from faceinpaint_core.train.trainer import train_main

    out = tmp_path_factory.mktemp("runs")
    return {m: train_main(m, "tiny", out=str(out), sets={"train.steps": 2, "train.ckpt_every": 2})
            / "checkpoints" / "final.pt" for m in ("facestyle", "parser")}


def _parsing_spec(spec, **kw):
    from dataclasses import replace

    return replace(spec, n=3, mask_kinds=("irregular",), bins=("20-30",), **kw)


def test_facestyle_with_labels(spec, facestyle_and_parser):
    ck = facestyle_and_parser
    table = run_evaluation(["facestyle"], _parsing_spec(spec), dataset="synthetic", verbose=False,
                           checkpoints={"facestyle": str(ck["facestyle"])})
    assert set(table["parsing"]) == {"labels"} and set(table["parser_sha256"]) == {"none"}
    assert table.loc[table["metric"] == "psnr", "value"].between(5, 60).all()


def test_facestyle_on_plain_folder_needs_the_parser(spec, facestyle_and_parser, synthetic_faces_dir):
    from faceinpaint_core.utils.io import sha256_file

    ck = facestyle_and_parser
    kw = dict(images=str(synthetic_faces_dir), verbose=False, checkpoints={"facestyle": str(ck["facestyle"])})
    with pytest.raises(ValueError, match=r"without parsing labels.*--parsing predicted --parser-checkpoint"):
        run_evaluation(["facestyle"], _parsing_spec(spec), **kw)
    with pytest.raises(ValueError, match="needs a face parser.*--parser-checkpoint"):
        run_evaluation(["facestyle"], _parsing_spec(spec, parsing="predicted"), **kw)
    with pytest.raises(FileNotFoundError, match="nope.pt"):
        run_evaluation(["facestyle"], _parsing_spec(spec, parsing="predicted", parser_checkpoint="nope.pt"), **kw)
    pspec = _parsing_spec(spec, parsing="predicted", parser_checkpoint=str(ck["parser"]))
    table = run_evaluation(["facestyle", "telea"], pspec, **kw)
    fs, telea = table[table["method"] == "facestyle"], table[table["method"] == "telea"]
    assert set(fs["parsing"]) == {"predicted"} and set(fs["parser_sha256"]) == {sha256_file(ck["parser"])}
    assert set(telea["parsing"]) == {"none"} and set(table["split"]) == {"all"}
    assert fs.loc[fs["metric"] == "psnr", "value"].between(5, 60).all()


def test_parser_for_a_method_without_parsing_is_an_error(facestyle_and_parser):
    from faceinpaint_core.eval.predictors import use_predicted_parsing

    parser = load_predictor("parser", facestyle_and_parser["parser"])
    with pytest.raises(ValueError, match="does not use a face parser"):
        use_predicted_parsing(parser, facestyle_and_parser["parser"])
