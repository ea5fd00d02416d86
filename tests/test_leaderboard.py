"""The leaderboard and the methods' cost table."""
from __future__ import annotations

import pandas as pd

from faceinpaint_core.study.leaderboard import best_per_cell, cost_table, leaderboard, leaderboard_markdown


def _rows():
    rows = []
    for m, psnr in (("biharmonic", 25.0), ("a", 27.0), ("b", 24.0)):
        for b, off in (("1-10", 5.0), ("average", 0.0)):
            rows += [{"method": m, "mask_type": "nvidia", "bin": b, "output": "composite", "metric": "psnr",
                      "value": psnr + off},
                     {"method": m, "mask_type": "nvidia", "bin": b, "output": "composite", "metric": "ssim_gauss",
                      "value": psnr / 30},
                     {"method": m, "mask_type": "nvidia", "bin": b, "output": "raw", "metric": "psnr", "value": 1.0}]
    return pd.DataFrame(rows)


def test_leaderboard_ranks_by_psnr_and_marks_the_floor():
    board = leaderboard(_rows(), labels={"a": "Method A"})
    cell = board[board["bin"] == "1-10"]
    assert list(cell["method"]) == ["a", "biharmonic", "b"] and list(cell["rank"]) == [1, 2, 3]
    assert list(board["bin"].drop_duplicates()) == ["1-10", "average"]
    assert set(board.loc[board["method"] == "biharmonic", "kind"]) == {"classical"}
    assert board["psnr"].min() > 1  # raw rows are not mixed in
    md = leaderboard_markdown(board, "cap")
    assert "*biharmonic*" in md and "Method A" in md and "lpips" not in md  # metrics never computed are left out
    best = best_per_cell(board)
    assert best.loc[best["bin"] == "1-10", "margin_over_classical_db"].item() == 2.0


def test_cost_table_counts_parameters_flops_and_time():
    costs = cost_table(["ce"], 32, "tiny", paper_size=None)
    row = costs.iloc[0]
    assert row["params_study_M"] > 0 and row["gflops_32px_study"] > 0 and row["cpu_ms_per_image"] > 0


def test_cost_rows_written_per_method_and_collected_in_order(tmp_path):
    """Each evaluate job writes its method's cost row; the tables notebook collects them, missing ones absent."""
    from faceinpaint_core.study.leaderboard import load_costs, write_cost_row

    write_cost_row("ce", 32, "tiny", None, tmp_path / "costs" / "ce.csv")
    write_cost_row("lama", 32, "tiny", None, tmp_path / "costs" / "lama.csv")
    costs = load_costs(tmp_path, ["lama", "gmcnn", "ce"])
    assert list(costs["method"]) == ["lama", "ce"]
    assert (costs["params_study_M"] > 0).all()
    assert load_costs(tmp_path / "nothing", ["ce"]).empty
