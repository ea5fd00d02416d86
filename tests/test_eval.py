"""The evaluation protocol: compositing, table shape, provenance, classical floor, CLI."""
import numpy as np
import pandas as pd
import pytest
import torch

from faceinpaint_core.eval.classical import ClassicalInpainter
from faceinpaint_core.eval.predictors import load_predictor
from faceinpaint_core.eval.protocol import EvalSpec, add_average, evaluate, format_table, prepare_mask_sets
from faceinpaint_core.eval.run import run_evaluation


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
    assert len(per_image) == spec.n * len(sets)
    assert (per_image["l1_percent"] == 0).all() and (per_image["ssim"] > 0.9999).all()
    assert np.isinf(per_image["psnr"]).all()
    psnr_cells = cells[cells.metric == "psnr"]
    assert (psnr_cells["n_infinite"] == spec.n).all()
    table = add_average(cells)
    assert set(table["bin"]) == {*spec.bins, "average"}


def test_classical_floor_table_on_synthetic(spec, tmp_path):
    out = tmp_path / "eval.csv"
    table = run_evaluation(["telea", "ns"], spec, out_csv=out, dataset="synthetic", verbose=False)
    assert out.is_file() and out.with_suffix(".md").is_file()
    for col in ("method", "checkpoint_sha256", "split_hash", "mask_set_sha256", "git_sha", "device", "profile"):
        assert col in table.columns and table[col].astype(str).str.len().min() > 0
    psnr = table[(table.metric == "psnr") & (table.bin != "average")]
    assert psnr["value"].between(10, 60).all()
    # bigger holes are harder: PSNR of the 40-50 % bin is below the 1-10 % bin for each method/mask
    piv = psnr.pivot_table(index=["method", "mask_type"], columns="bin", values="value")
    assert (piv["40-50"] < piv["1-10"]).all()
    assert "telea / regular" in format_table(table)
    again = pd.read_csv(out)
    assert len(again) == len(table)


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
