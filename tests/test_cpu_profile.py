"""The `cpu` study profile's pieces (issue 17): learning curves with the biharmonic level, the table against the
floor, faces cycled to n samples per cell, per-method training profiles and the profile's own output folder."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import torch

from faceinpaint_core.methods import METHODS, get_method_class
from faceinpaint_core.study.profiles import (STUDY_PROFILES, default_out_root, study_mask_kinds, study_parameters,
                                              train_profile_for)

torch.set_num_threads(1)


def test_learning_curve_written_and_plotted(tmp_path):
    from faceinpaint_core.study.figures import learning_curves_figure
    from faceinpaint_core.train.trainer import train_main
    from faceinpaint_core.train.valcurve import read_curve

    run = train_main("facestyle", "tiny", out=tmp_path, sets={"train.val_every": 2, "train.val_curve_images": 4})
    curve = read_curve(run / "val.csv")
    assert list(curve["step"]) == [0, 2, 4] and set(curve["n_images"]) == {4}
    assert len(set(curve["biharmonic_psnr"])) == 1 and 5 < curve["biharmonic_psnr"][0] < 60
    assert all(0 < s <= 1 for s in curve["ssim"]) and all(p > 0 for p in curve["psnr"])
    fig = learning_curves_figure({"facestyle": run / "val.csv", "absent": tmp_path / "none.csv"})
    assert len(fig.axes) == 2  # PSNR and SSIM of the one method present


def test_versus_floor_marks_losing_cells():
    from faceinpaint_core.study.floor import floor_markdown, versus_floor

    rows = [("biharmonic", "psnr", 30.0), ("biharmonic", "ssim_gauss", 0.9), ("m", "psnr", 31.0),
            ("m", "ssim_gauss", 0.8)]
    measured = pd.DataFrame([{"method": m, "mask_type": "nvidia", "bin": "1-10", "output": "composite",
                              "metric": k, "value": v} for m, k, v in rows])
    t = versus_floor(measured, ["m", "absent"])
    assert list(t["beats"]) == [True, False] and t["difference"].tolist() == pytest.approx([1.0, -0.1])
    assert "1 of 2 cells still lose" in floor_markdown(t) and "m nvidia 1-10 ssim_gauss" in floor_markdown(t)


def test_paired_intervals_bootstrap_faces_and_flag_uncertain_cells():
    """The interval of a constant per-sample difference is that constant; noisy differences around 0 give an
    interval containing 0, which the markdown names; faces repeated over samples are resampled as clusters."""
    import numpy as np

    from faceinpaint_core.study.floor import floor_markdown, paired_intervals, versus_floor

    rng = np.random.default_rng(0)
    n, faces = 40, 10
    floor = rng.uniform(20, 30, n)
    per = []
    signs = np.where(np.arange(n) % faces % 2 == 0, 1.0, -1.0)  # faces alternately +1 and -1 dB: mean 0
    for b, delta in [("1-10", np.full(n, 0.5)), ("20-30", signs)]:
        for m, v in (("biharmonic", floor), ("m", floor + delta)):
            per += [{"method": m, "mask_type": "nvidia", "bin": b, "output": "composite", "image": i,
                     "faces_unique": faces, "psnr": v[i]} for i in range(n)]
    per = pd.DataFrame(per)
    ci = paired_intervals(per, "m", metrics=("psnr",)).set_index("bin")
    assert ci.loc["1-10", ["ci_low", "ci_high"]].tolist() == pytest.approx([0.5, 0.5])
    assert ci.loc["1-10", "win_rate"] == 1.0 and ci.loc["1-10", "n_faces"] == faces
    assert ci.loc["20-30", "ci_low"] < 0 < ci.loc["20-30", "ci_high"]
    assert paired_intervals(per, "m", metrics=("psnr",)).equals(paired_intervals(per, "m", metrics=("psnr",)))
    measured = per.groupby(["method", "mask_type", "bin", "output"], as_index=False)["psnr"].mean()
    measured = measured.rename(columns={"psnr": "value"}).assign(metric="psnr")
    t = versus_floor(measured, ["m"], metrics=("psnr",), per_image=per)
    assert {"ci_low", "ci_high", "win_rate"} <= set(t.columns)
    assert "contains 0 in 1 cells: m nvidia 20-30 psnr" in floor_markdown(t)


def test_faces_cycled_to_n_with_unique_count():
    from faceinpaint_core.eval.protocol import load_faces

    ds = [{"image": torch.full((3, 4, 4), float(i))} for i in range(3)]
    faces = load_faces(ds, 7)
    assert faces["image"].shape[0] == 7 and faces["n_unique"] == 3
    assert [int(x[0, 0, 0]) for x in faces["image"]] == [0, 1, 2, 0, 1, 2, 0]
    assert "n_unique" not in load_faces(ds, 2)


def test_cpu_profile_outputs_masks_and_training_profiles(tmp_path):
    assert default_out_root("cpu", tmp_path) == tmp_path / "results" / "cpu"
    assert default_out_root("smoke", tmp_path) == tmp_path
    cpu = STUDY_PROFILES["cpu"]
    assert cpu["n_eval"] >= 200 and cpu["size"] == 64
    assert study_mask_kinds(cpu["mask_kinds"], "nvidia") == ["regular", "irregular", "nvidia"]
    assert study_mask_kinds(cpu["mask_kinds"], "irregular") == ["regular", "irregular"]  # no NVIDIA set here
    assert study_mask_kinds(["regular", "irregular"], "nvidia") == ["regular", "nvidia"]  # smoke unchanged
    params = study_parameters("cpu", None, str(tmp_path))
    assert "out_subdir" not in params and "train_profile_fallback" not in params
    for m in METHODS:  # every registered method gets a training profile it declares
        prof = train_profile_for(m, "cpu")
        assert prof in get_method_class(m).PROFILES
        assert prof == "cpu" or "cpu" not in get_method_class(m).PROFILES


@pytest.mark.parametrize("method", [m for m in METHODS if "cpu" in get_method_class(m).PROFILES])
def test_cpu_training_profiles_resolve(method):
    from faceinpaint_core.train.probe import method_config

    cls, cfg = method_config(method, "cpu")
    assert cfg.train.size == 64
    if cls.task == "inpaint":  # the inpainters' learning curves (validation PSNR / SSIM against biharmonic)
        assert cfg.train.val_every > 0 and cfg.train.lr_warmup > 0


def test_cpu_study_trains_inpainters_on_the_nvidia_pool_when_present(tmp_path):
    """train_on_study_masks: with NVIDIA masks under the data root, every inpainter of the cpu study adds `nvidia`
    to its own training kinds; methods of other tasks, the smoke study and a root without them are unchanged."""
    import numpy as np
    from PIL import Image

    folder = tmp_path / "data" / "nvidia-irregular-masks"
    folder.mkdir(parents=True)
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(folder / "00001.png")
    root = str(tmp_path / "data")
    cpu = study_parameters("cpu", root, str(tmp_path))["train_sets"]
    assert "train_on_study_masks" not in study_parameters("cpu", root, str(tmp_path))
    for m in METHODS:
        if m not in cpu:
            continue
        cls = get_method_class(m)
        if cls.task == "inpaint":
            assert cpu[m]["train.train_masks"][-1] == "nvidia", m
            assert cpu[m]["train.train_masks"][:-1] == list(method_config_masks(m))
        else:
            assert "train.train_masks" not in cpu[m], m
    assert all("train.train_masks" not in s for s in study_parameters("smoke", root, str(tmp_path))["train_sets"].values())
    empty = tmp_path / "empty"
    empty.mkdir()
    assert all("train.train_masks" not in s for s in study_parameters("cpu", str(empty), str(tmp_path))["train_sets"].values())


def method_config_masks(method):
    from faceinpaint_core.train.probe import method_config

    return method_config(method, train_profile_for(method, "cpu"))[1].train.train_masks


def test_a_method_setting_does_not_change_the_shared_jobs_parameters(monkeypatch):
    """The data and classical jobs (every job stands on their outputs) key on the parameters without the per-method
    entries: changing one method's ablation or training settings reruns that method's jobs, not the whole study."""
    import copy

    from faceinpaint_core.study import profiles, workflow

    before_shared = workflow.params_key("cpu", None, shared=True)
    before_all = workflow.params_key("cpu", None)
    before_tsgan = workflow.params_key("cpu", None, "tsgan")
    before_clgn = workflow.params_key("cpu", None, "clgn")
    changed = copy.deepcopy(profiles.STUDY_PROFILES)
    changed["cpu"]["ablation_sets"]["tsgan"] = {"train.steps": 61}
    monkeypatch.setattr(profiles, "STUDY_PROFILES", changed)
    assert workflow.params_key("cpu", None, shared=True) == before_shared
    assert workflow.params_key("cpu", None, "clgn") == before_clgn
    assert workflow.params_key("cpu", None, "tsgan") != before_tsgan
    assert workflow.params_key("cpu", None) != before_all  # the aggregate jobs (tables, report) do see it
    assert "ablation_sets" not in json.loads(before_shared) and "train_sets" not in json.loads(before_shared)
    snakefile = (Path(__file__).resolve().parents[1] / "workflow" / "Snakefile").read_text()
    for rule in ("data", "classical"):
        body = snakefile.split(f"rule {rule}:")[1].split("\nrule ")[0]
        assert "study=SHARED_PARAMS" in body, rule
