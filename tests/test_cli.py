"""The command line as a new user meets it: help text, one-line errors (exit 2), the weights command."""
from __future__ import annotations

import argparse
import hashlib

import numpy as np
import pytest
import torch
from PIL import Image

from faceinpaint_core import weights as W
from faceinpaint_core.cli import build_parser, main
from faceinpaint_core.masks import BINS, KINDS


def _run(capsys, argv):
    """``(exit code, stdout, stderr)`` whether argparse exits (SystemExit) or ``main`` returns."""
    try:
        rc = main(argv)
    except SystemExit as exc:
        rc = exc.code
    out, err = capsys.readouterr()
    return rc, out, err.strip()


def _subparsers():
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return action.choices


@pytest.mark.parametrize("command", sorted(_subparsers()))
def test_every_option_has_help_with_default(command):
    sub = _subparsers()[command]
    text = sub.format_help()
    for action in sub._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        assert action.help, f"{command} {action.option_strings or action.dest} has no help string"
        if action.default not in (None, False) and not action.required:
            shown = ",".join(action.default) if isinstance(action.default, tuple) else str(action.default)
            assert f"(default: {shown})" in " ".join(text.split()), (command, action.dest)


@pytest.mark.parametrize("command", ["masks", "evaluate"])
def test_help_lists_mask_kinds_and_bins(command):
    text = " ".join(_subparsers()[command].format_help().split())
    assert all(k in text for k in KINDS) and all(b in text for b in BINS)
    assert "lo-hi" in text


EVAL = ["evaluate", "--method", "telea", "--dataset", "synthetic", "--size", "32"]
BAD_INPUT = {
    "n zero": (EVAL + ["--n", "0"], "--n"),
    "n negative": (EVAL + ["--n", "-3"], "--n"),
    "n not a number": (EVAL + ["--n", "many"], "--n"),
    "unknown mask kind": (EVAL + ["--masks", "regular,blob"], "--masks"),
    "unknown bin": (EVAL + ["--bins", "15-25"], "--bins"),
    "unknown device": (EVAL + ["--device", "tpu"], "--device"),
    "bad quantize": (EVAL + ["--quantize", "uint16"], "--quantize"),
    "bad parsing": (EVAL + ["--parsing", "guess"], "--parsing"),
    "parser ckpt with labels": (EVAL + ["--parser-checkpoint", __file__], "--parser-checkpoint"),
    "missing checkpoint file": (EVAL + ["--checkpoint", "no/such/final.pt"], "--checkpoint"),
    "masks size too small": (["masks", "--kind", "rect", "--bin", "20-30", "--size", "4", "--out", "x"], "--size"),
}


@pytest.mark.parametrize("argv,names", BAD_INPUT.values(), ids=BAD_INPUT.keys())
def test_bad_input_is_one_line_exit_2(capsys, argv, names):
    rc, _, err = _run(capsys, argv)
    assert rc == 2
    assert len(err.splitlines()) == 1 and names in err and "Traceback" not in err, err


def test_value_errors_from_commands_are_one_line(capsys):
    """Rejected by the command (ValueError), not by argparse: the same one-line contract."""
    rc, _, err = _run(capsys, ["weights", "verify", "resnet"])
    assert rc == 2 and len(err.splitlines()) == 1 and err.startswith("faceinpaint weights: error:")
    assert "known: fid-inception" in err


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_device_cuda_without_gpu(capsys):
    rc, _, err = _run(capsys, EVAL + ["--n", "2", "--device", "cuda"])
    assert rc == 2 and len(err.splitlines()) == 1
    assert "--device" in err and "no CUDA GPU" in err and "cpu" in err


TRAIN_BAD = {
    "negative steps": ("train.steps=-5", "train.steps must be an integer >= 1"),
    "zero steps": ("train.steps=0", "train.steps must be an integer >= 1"),
    "steps not a number": ("train.steps=abc", "train.steps=abc: expected an integer"),
    "fractional steps": ("train.steps=2.5", "train.steps=2.5: expected an integer"),
    "zero lr": ("train.lr_g=0", "train.lr_g must be a number > 0"),
    "bad boolean": ("train.bf16=maybe", "train.bf16=maybe: expected a boolean"),
    "unknown key": ("train.stepz=5", "unknown config key 'train.stepz'"),
    "no equals sign": ("train.steps", "--set expects KEY=VALUE"),
}


@pytest.mark.parametrize("setting,message", TRAIN_BAD.values(), ids=TRAIN_BAD.keys())
def test_train_bad_set_fails_before_a_run_folder_exists(capsys, tmp_path, setting, message):
    rc, _, err = _run(capsys, ["train", "--method", "clgn", "--profile", "smoke", "--out", str(tmp_path / "runs"),
                               "--set", "train.dataset=synthetic", "--set", setting])
    assert rc == 2 and len(err.splitlines()) == 1 and message in err, err
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def _png(path, arr):
    Image.fromarray(arr).save(path)
    return str(path)


def test_inpaint_full_mask_warns(tmp_path, caplog):
    rng = np.random.default_rng(0)
    image = _png(tmp_path / "face.png", rng.integers(0, 256, (24, 24, 3), dtype=np.uint8))
    mask = _png(tmp_path / "mask.png", np.full((24, 24), 255, np.uint8))
    with caplog.at_level("WARNING"):
        rc = main(["inpaint", "--method", "telea", "--image", image, "--mask", mask, "--out", str(tmp_path / "o.png")])
    assert rc == 0 and (tmp_path / "o.png").is_file()
    assert any("100% hole" in r.getMessage() for r in caplog.records)


# -- weights -------------------------------------------------------------------------------------------------
def test_registry_hashes_match_the_file_name_prefixes():
    for w in W.WEIGHTS.values():
        assert len(w.sha256) == 64 and int(w.sha256, 16) >= 0 and w.size > 0 and w.url.startswith("https://")
        stem = w.filename.rsplit(".", 1)[0]
        if "-" in stem and w.package is None:  # torchvision / pytorch-fid: <name>-<first 8 hex of sha256>.pth
            assert stem.rsplit("-", 1)[1] == w.sha256[:8], w.filename


def _fake_entry(tmp_path, payload: bytes, url: str, sha: str | None = None) -> W.WeightFile:
    return W.WeightFile("fake", "fake-weights.pth", url, sha or hashlib.sha256(payload).hexdigest(), len(payload),
                        "tests")


@pytest.fixture
def weights_dir(tmp_path, monkeypatch):
    folder = tmp_path / "weights"
    monkeypatch.setenv("FACEINPAINT_WEIGHTS", str(folder))
    return folder


def test_fetch_downloads_and_verifies(tmp_path, weights_dir, monkeypatch, capsys):
    src = tmp_path / "served.pth"
    src.write_bytes(b"pretend weights" * 100)
    entry = _fake_entry(tmp_path, src.read_bytes(), src.as_uri())
    monkeypatch.setitem(W.WEIGHTS, "fake", entry)
    rc, out, _ = _run(capsys, ["weights", "fetch", "fake"])
    assert rc == 0 and (weights_dir / "fake-weights.pth").read_bytes() == src.read_bytes() and "verified" in out
    rc, out, _ = _run(capsys, ["weights", "verify", "fake"])
    assert rc == 0 and "ok" in out


def test_fetch_rejects_a_wrong_hash(tmp_path, weights_dir, monkeypatch, capsys):
    src = tmp_path / "served.pth"
    src.write_bytes(b"tampered")
    monkeypatch.setitem(W.WEIGHTS, "fake", _fake_entry(tmp_path, src.read_bytes(), src.as_uri(), sha="0" * 64))
    rc, _, err = _run(capsys, ["weights", "fetch", "fake"])
    assert rc == 2 and len(err.splitlines()) == 1 and "fake-weights.pth" in err
    assert not (weights_dir / "fake-weights.pth").exists()


def test_fetch_offline_names_file_and_url(weights_dir, monkeypatch, capsys):
    url = "http://127.0.0.1:9/fake-weights.pth"  # loopback discard port: nothing listens
    monkeypatch.setitem(W.WEIGHTS, "fake", _fake_entry(None, b"x", url))
    rc, _, err = _run(capsys, ["weights", "fetch", "fake"])
    assert rc == 2 and len(err.splitlines()) == 1 and "fake-weights.pth" in err and url in err
    assert str(weights_dir) in err


def test_verify_reports_a_corrupt_file(weights_dir, monkeypatch, capsys):
    weights_dir.mkdir()
    (weights_dir / "fake-weights.pth").write_bytes(b"y")
    monkeypatch.setitem(W.WEIGHTS, "fake", _fake_entry(None, b"x", "https://example.invalid/fake-weights.pth"))
    rc, out, _ = _run(capsys, ["weights", "verify", "fake"])
    assert rc == 1 and "bad: sha256" in out
    rc, out, _ = _run(capsys, ["weights", "list", "fake"])
    assert rc == 0 and "present" in out and "sha256" in out


@pytest.mark.parametrize("setting,needle", [("train.lr_schedule=step", "train.lr_schedule"),
                                            ("train.lr_decay_start=-1", "train.lr_decay_start")])
def test_bad_schedule_is_one_line_before_any_run_folder(tmp_path, capsys, setting, needle) -> None:
    from faceinpaint_core.cli import main

    rc = main(["train", "--method", "clgn", "--profile", "tiny", "--out", str(tmp_path / "runs"), "--set", setting])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1 and needle in err
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_unknown_dataset_leaves_no_run_folder(tmp_path, capsys) -> None:
    from faceinpaint_core.cli import main

    rc = main(["train", "--method", "clgn", "--profile", "tiny", "--out", str(tmp_path / "runs"),
               "--set", "train.dataset=no-such-dataset"])
    assert rc == 2 and "no-such-dataset" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())
