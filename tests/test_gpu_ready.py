"""GPU-readiness, checked on the CPU (issue 17): every registered method trains one step under bf16 autocast and
channels-last; a representative method trains under ``torch.compile``; a checkpoint written that way loads into
an fp32 eager model with identical outputs; ``train --dry-run`` and ``bench`` work at tiny size."""
from __future__ import annotations

import copy
import csv
import os
import shutil

import pytest
import torch

from faceinpaint_core.methods import METHODS, get_method_class
from faceinpaint_core.train.checkpoint import clean_state_dict, load_for_inference, save_checkpoint
from faceinpaint_core.train.probe import build_trainer, method_config, open_training_data, step_batches

torch.set_num_threads(1)
GPU_LIKE = {"train.bf16_cpu": True, "train.channels_last_cpu": True}
# torch.compile with inductor (C++ code generation) of one CLGN step took 150 s on the shared 2-core CPU: far over
# the test budget. By default the test compiles with the "aot_eager" backend (the same Dynamo graph capture and
# AOTAutograd joint graph, eager kernels), on one representative method (a GAN with a U-Net generator, perceptual
# loss and a discriminator); FACEINPAINT_TEST_INDUCTOR=1 runs inductor too.
COMPILE_METHODS = ("clgn",)
BACKENDS = ("aot_eager", "inductor") if os.environ.get("FACEINPAINT_TEST_INDUCTOR") == "1" else ("aot_eager",)


def _trainer(method, tmp_path, sets):
    cls, cfg = method_config(method, "tiny", {**GPU_LIKE, **sets})
    samples, cfg = open_training_data(cls, cfg)
    trainer = build_trainer(cls, cfg, tmp_path, "cpu", "tiny")
    return trainer, step_batches(samples, cfg.train, 2)


def _train_and_reload(trainer, batches, tmp_path):
    """One step, a checkpoint, and ``(fp32 eager output of the trained nets, output of the reloaded nets)``."""
    terms = trainer.train_step(0, trainer._to_device(batches[0]))
    trainer.step = 1
    assert all(torch.isfinite(v).all() for v in terms.values()), terms
    path = save_checkpoint(trainer.state(), tmp_path / "ckpt.pt")
    method, nets = load_for_inference(path)
    assert method.cfg.train.bf16_cpu  # the stored config is the run's; the reload itself is plain fp32 eager
    live = {**trainer.nets, **trainer.ema}
    # the trained weights as an fp32 eager, contiguous model (channels-last kernels sum in another order)
    live = {n: copy.deepcopy(live[n]).eval().to(memory_format=torch.contiguous_format) for n in nets}
    b = batches[1]
    img, mask = b["image"].float(), b["mask"].float()
    outs = []
    for view in (live, nets):
        torch.manual_seed(0)  # sampling methods draw noise: the same draws for both
        outs.append(method.inpaint(view, img, mask, b.get("parsing")))
    return outs


@pytest.mark.parametrize("method", list(METHODS))
def test_bf16_channels_last_step_and_fp32_reload(method, tmp_path):
    trainer, batches = _trainer(method, tmp_path, {})
    assert trainer.bf16 and trainer.channels_last
    with torch.autocast("cpu", dtype=torch.bfloat16):  # the autocast really is on: a conv gives bf16
        assert torch.nn.functional.conv2d(torch.rand(1, 1, 4, 4), torch.rand(1, 1, 1, 1)).dtype == torch.bfloat16
    if getattr(trainer.method, "task", "inpaint") != "inpaint":
        terms = trainer.train_step(0, trainer._to_device(batches[0]))
        assert all(torch.isfinite(v).all() for v in terms.values())
        return
    trained, reloaded = _train_and_reload(trainer, batches, tmp_path)
    assert trained.dtype == reloaded.dtype == torch.float32
    assert torch.equal(trained, reloaded)


@pytest.mark.parametrize("method", ["clgn", "facestyle", "edge-diffusion"])
def test_classical_fill_flags_train_under_bf16_and_reload(method, tmp_path):
    """The cpu profiles' hole_init=biharmonic + residual (the CG fill and the residual head) under bf16 autocast and
    channels-last: a finite step, and the checkpoint reloads into fp32 eager with identical outputs."""
    sets = {"hole_init": "biharmonic", "residual": True, **({"prediction": "x0"} if method == "edge-diffusion" else {})}
    trainer, batches = _trainer(method, tmp_path, sets)
    trained, reloaded = _train_and_reload(trainer, batches, tmp_path)
    assert torch.equal(trained, reloaded)


def _inductor_problem() -> str | None:
    if shutil.which("cc") is None and shutil.which("gcc") is None:
        return "no C compiler: torch.compile's inductor backend cannot build CPU kernels"
    try:
        torch.compile(lambda x: x * 2 + 1)(torch.ones(4))
    except Exception as exc:  # platform problems only: the method's own code is not involved yet
        return f"torch.compile fails on this platform: {type(exc).__name__}: {str(exc).splitlines()[0][:120]}"
    return None


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("method", COMPILE_METHODS)
def test_compiled_bf16_step_reloads_into_eager_fp32(method, backend, tmp_path):
    problem = _inductor_problem() if backend == "inductor" else None
    if problem:
        pytest.skip(problem)
    trainer, batches = _trainer(method, tmp_path, {"train.compile": True, "train.compile_backend": backend})
    assert any(hasattr(m, "_orig_mod") for m in trainer.view_g.values())
    trained, reloaded = _train_and_reload(trainer, batches, tmp_path)
    assert torch.equal(trained, reloaded)


def test_compiled_state_dict_prefixes_are_stripped():
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))
    wrapped = {f"module._orig_mod.{k}": v for k, v in net.state_dict().items()}
    plain = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))
    plain.load_state_dict(clean_state_dict(wrapped))
    assert all(torch.equal(a, b) for a, b in zip(plain.state_dict().values(), net.state_dict().values()))


def test_dry_run_reports_every_number(capsys):
    from faceinpaint_core.cli import main

    assert main(["train", "--method", "facestyle", "--profile", "tiny", "--dry-run"]) == 0
    out = capsys.readouterr().out
    for needle in ("parameters total", "activation memory", "step time", "data loader (0 workers)", "images/s"):
        assert needle in out, out


def test_train_all_without_dry_run_is_refused(capsys):
    from faceinpaint_core.cli import main

    assert main(["train", "--method", "all", "--profile", "tiny"]) == 2
    assert "--dry-run only" in capsys.readouterr().err


def test_bench_writes_a_row_per_method(tmp_path):
    from faceinpaint_core.train.bench import FIELDS, known_peak_tflops, run_bench

    path, rows = run_bench(["clgn", "facestyle"], size=32, batch=2, profile="tiny", steps=1, out_dir=tmp_path,
                           peak_tflops=1.0, notes="test")
    with open(path, newline="") as fh:
        got = list(csv.DictReader(fh))
    assert path.name.startswith("train_cpu") and [r["method"] for r in got] == ["clgn", "facestyle"]
    assert tuple(got[0]) == FIELDS
    for r in got:
        assert float(r["step_s"]) > 0 and float(r["flops_per_step"]) > 1e6 and 0 < float(r["mfu"]) < 1
        assert r["git_sha"] and r["device_kind"] == "cpu" and float(r["loader_images_per_s"]) > 0
    # rerunning one method replaces its row, keeps the other
    run_bench(["facestyle"], size=32, batch=2, profile="tiny", steps=1, out_dir=tmp_path)
    with open(path, newline="") as fh:
        assert sorted(r["method"] for r in csv.DictReader(fh)) == ["clgn", "facestyle"]
    assert known_peak_tflops("NVIDIA H100 80GB HBM3") == 989.0 and known_peak_tflops("NVIDIA A100-SXM4-40GB") == 312.0
    assert known_peak_tflops("NVIDIA H100 PCIe") == 756.0 and known_peak_tflops("cpu") is None


def test_lr_warmup_ramps_then_follows_the_schedule():
    from faceinpaint_core.train.lr_schedule import lr_factor

    assert [lr_factor("cosine", k, 10, None, 4) for k in range(4)] == pytest.approx(
        [lr_factor("cosine", k, 10) * (k + 1) / 4 for k in range(4)])
    assert lr_factor("constant", 7, 10, None, 4) == 1.0 and lr_factor("constant", 0, 10, None, 4) == 0.25


def test_generator_ema_forgets_the_initial_network():
    """The EMA starts as a copy of the initial weights: after a run of ``steps`` updates a share ``decay**steps``
    of it is still the untrained network. Every named profile but ``tiny`` (2 steps, a pipeline check) keeps that
    share below 1 % (the cpu profile once kept 45 % of GFPGAN's initial restorer and 9 % of facestyle's)."""
    from faceinpaint_core.train.probe import method_config

    checked = 0
    for method in METHODS:
        for profile in get_method_class(method).PROFILES:
            if profile == "tiny":
                continue
            _, cfg = method_config(method, profile)
            if cfg.train.ema_decay:
                checked += 1
                assert cfg.train.ema_decay ** cfg.train.steps < 1e-2, (method, profile, cfg.train.ema_decay)
    assert checked >= 6


def test_step_flops_are_counted_through_a_gradient_penalty():
    """FlopCounterMode's module tracker breaks torch.autograd.grad (GMCNN's WGAN-GP crashed `faceinpaint bench`);
    the global-only counter counts such a step and gives the same total as FlopCounterMode where both work."""
    from torch.utils.flop_counter import FlopCounterMode

    from faceinpaint_core.train.probe import GlobalFlopCounter

    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.Conv2d(4, 1, 3))
    x = torch.randn(2, 3, 8, 8, requires_grad=True)

    def step(penalty: bool):
        out = net(x).sum()
        if penalty:  # a WGAN-GP / R1 term: the gradient w.r.t. the input, inside the counted region
            (g,) = torch.autograd.grad(out, x, create_graph=True)
            out = out + g.pow(2).sum()
        out.backward()

    with FlopCounterMode(display=False) as ref:
        step(False)
    with GlobalFlopCounter() as ours:
        step(False)
    assert ours.get_total_flops() == ref.get_total_flops() > 0
    with GlobalFlopCounter() as gp:
        step(True)
    assert gp.get_total_flops() > ours.get_total_flops()


def test_bench_counts_a_method_with_a_gradient_penalty(tmp_path):
    from faceinpaint_core.train.bench import run_bench

    _, rows = run_bench(["gmcnn"], size=32, batch=2, profile="tiny", steps=1, out_dir=tmp_path)
    assert rows[0]["method"] == "gmcnn" and rows[0]["flops_per_step"] > 1e6
