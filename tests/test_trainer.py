"""Training engine: run folder contents, resume bit-identity, n_critic / no-D, checkpoints, DDP (gloo, CPU).

All runs use ``toy_method.ToyMethod`` (random-init, 32 px, 2-6 steps, num_workers=0).
"""
from __future__ import annotations

import json
import socket
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))
import toy_method  # noqa: E402

from faceinpaint_core.train import trainer as tr  # noqa: E402
from faceinpaint_core.train.checkpoint import CheckpointError, load_checkpoint, load_for_inference  # noqa: E402
from faceinpaint_core.train.data import StepBatchSampler  # noqa: E402
from faceinpaint_core.train.describe import describe  # noqa: E402
from faceinpaint_core.train.lr_schedule import lr_factor  # noqa: E402
from faceinpaint_core.utils.seeding import derive_seed, seed_everything  # noqa: E402

TOY = "toy_method:ToyMethod"


@pytest.fixture(autouse=True)
def _small(monkeypatch):
    torch.set_num_threads(1)
    toy_method.ensure_mask_sampler(monkeypatch)


@pytest.fixture(scope="module")
def straight_run(tmp_path_factory):
    """6 uninterrupted steps (checkpoints at 3 and final)."""
    torch.set_num_threads(1)
    toy_method.ensure_mask_sampler()
    return tr.train_main(TOY, "tiny", out=tmp_path_factory.mktemp("runs"))


def _equal_states(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_run_folder_has_everything(straight_run):
    run = straight_run
    assert run.name == "00000-toy-tiny"
    assert "steps: 6" in (run / "config.yaml").read_text()
    prov = json.loads((run / "provenance.json").read_text())
    assert prov["seed"] == 0 and prov["data"]["split_hash"] and "random" in prov["perceptual_weights"]
    log = pd.read_csv(run / "log.csv")
    assert log["step"].tolist() == [1, 2, 3, 4, 5, 6]
    assert {"G/total", "G/rec", "G/adv", "D/total", "D/d_real", "D/d_fake"} <= set(log.columns)
    assert sorted(p.name for p in (run / "samples").glob("*.png")) == ["step-0000003.png", "step-0000006.png"]
    assert list((run / "tensorboard").glob("events.out.tfevents.*"))
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["final.pt", "step-0000003.pt"]
    ckpt = torch.load(run / "checkpoints" / "final.pt", weights_only=True)
    assert ckpt["step"] == 6 and ckpt["method"] == "toy" and set(ckpt["optimizers"]) == {"G", "D"}
    assert set(ckpt["rng"][0]) == {"python", "numpy", "torch", "cuda"} and ckpt["ema"]["G"]


def test_next_run_gets_next_number(straight_run, tmp_path):
    out = straight_run.parent
    assert tr.new_run_dir(out, "toy", "tiny").name == "00001-toy-tiny"


DECAY = {"train.lr_schedule": "linear_decay", "train.lr_decay_start": 2}


@pytest.mark.parametrize("sets", [{}, DECAY], ids=["constant", "linear_decay"])
def test_kill_and_resume_is_bit_identical(straight_run, tmp_path, monkeypatch, sets):
    if sets:  # the uninterrupted reference run of this schedule
        straight_run = tr.train_main(TOY, "tiny", out=tmp_path / "straight", sets=sets)
    step = tr.Trainer.train_step

    def dies_at_4(self, s, batch):
        if s == 4:
            raise KeyboardInterrupt("simulated kill")
        return step(self, s, batch)

    monkeypatch.setattr(tr.Trainer, "train_step", dies_at_4)
    with pytest.raises(KeyboardInterrupt):
        tr.train_main(TOY, "tiny", out=tmp_path, sets=sets)
    monkeypatch.setattr(tr.Trainer, "train_step", step)
    assert not (tmp_path / "00000-toy-tiny" / "checkpoints" / "final.pt").exists()
    run = tr.train_main(TOY, "tiny", out=tmp_path, resume=True, sets=sets)
    assert run.name == "00000-toy-tiny"
    a = torch.load(straight_run / "checkpoints" / "final.pt", weights_only=True)
    b = torch.load(run / "checkpoints" / "final.pt", weights_only=True)
    for name in ("G", "D"):
        assert _equal_states(a["nets"][name], b["nets"][name]), name
    assert _equal_states(a["ema"]["G"], b["ema"]["G"])
    assert torch.equal(a["rng"][0]["torch"], b["rng"][0]["torch"])
    la, lb = pd.read_csv(straight_run / "log.csv"), pd.read_csv(run / "log.csv")
    pd.testing.assert_frame_equal(la.drop(columns="wall_s"), lb.drop(columns="wall_s"))
    assert len(json.loads((run / "provenance.json").read_text())["resumes"]) == 1
    assert a["lr_schedule"] == b["lr_schedule"] and a["optimizers"]["G"]["param_groups"][0]["lr"] == \
        b["optimizers"]["G"]["param_groups"][0]["lr"]


def test_decaying_schedule_reaches_both_optimisers(tmp_path):
    run = tr.train_main(TOY, "tiny", out=tmp_path, sets=DECAY)
    log = pd.read_csv(run / "log.csv")
    # update k (0-based) of 6 runs at 1e-3 · min(1, (6 - k) / (6 - 2)); row k+1 shows update k's rate
    expected = [1e-3 * min(1.0, (6 - k) / 4) for k in range(6)]
    assert log["lr_G"].tolist() == pytest.approx(expected) and log["lr_D"].tolist() == pytest.approx(expected)
    ckpt = load_checkpoint(run / "checkpoints" / "final.pt")
    assert ckpt["lr_schedule"]["name"] == "linear_decay" and ckpt["lr_schedule"]["start"] == 2
    assert ckpt["lr_schedule"]["lr"] == pytest.approx({"lr_G": 2.5e-4, "lr_D": 2.5e-4})


@pytest.mark.parametrize("schedule,start,expected", [
    ("constant", None, [1, 1, 1, 1]),
    ("linear_decay", None, [1, 1, 1, 0.5]),   # default start = steps // 2 = 2 (LG-Net: half constant)
    ("linear_decay", 0, [1, 0.75, 0.5, 0.25]),
    ("cosine", None, [1, 0.5 + 0.5 * 2 ** -0.5, 0.5, 0.5 - 0.5 * 2 ** -0.5]),
    ("cosine", 2, [1, 1, 1, 0.5]),
])
def test_lr_factor_values(schedule, start, expected):
    assert [lr_factor(schedule, k, 4, start) for k in range(4)] == pytest.approx(expected)
    assert lr_factor(schedule, 4, 4, start) == pytest.approx(1.0 if schedule == "constant" else 0.0)


def test_lr_schedule_errors_name_the_option(tmp_path):
    with pytest.raises(ValueError, match="lr_schedule 'step'.*linear_decay"):
        lr_factor("step", 0, 10)
    with pytest.raises(ValueError, match="lr_decay_start=12"):
        tr.train_main(TOY, "tiny", out=tmp_path, sets={"train.lr_schedule": "cosine", "train.lr_decay_start": 12})


def test_resume_after_final_extends_the_run(tmp_path):
    short = tr.train_main(TOY, "tiny", out=tmp_path, sets={"train.steps": 2})
    longer = tr.train_main(TOY, "tiny", out=tmp_path, resume=True, sets={"train.steps": 3})
    assert longer == short and load_checkpoint(short / "checkpoints" / "final.pt")["step"] == 3


def test_n_critic_and_no_discriminator(tmp_path):
    run = tr.train_main(TOY, "tiny", out=tmp_path, sets={"train.steps": 2, "train.n_critic": 2})
    log = pd.read_csv(run / "log.csv")
    assert log["G/total"].isna().tolist() == [True, False] and log["D/total"].notna().all()
    run = tr.train_main(TOY, "tiny", out=tmp_path, sets={"train.steps": 2, "adversarial": ""})
    ckpt = load_checkpoint(run / "checkpoints" / "final.pt")
    assert set(ckpt["nets"]) == {"G"} and set(ckpt["optimizers"]) == {"G"}
    assert not [c for c in pd.read_csv(run / "log.csv").columns if c.startswith("D/")]


def test_wgan_hook_clips_and_rmsprop(tmp_path):
    run = tr.train_main(TOY, "tiny", out=tmp_path, sets={"train.steps": 2, "adversarial": "wgan",
                                                        "train.optimizer": "rmsprop"})
    d = load_checkpoint(run / "checkpoints" / "final.pt")["nets"]["D"]
    assert max(v.abs().max().item() for v in d.values()) <= 0.01


def test_load_for_inference_round_trip(straight_run):
    path = straight_run / "checkpoints" / "final.pt"
    method, nets = load_for_inference(path)
    ckpt = torch.load(path, weights_only=True)
    assert method.name == "toy" and method.cfg.train.steps == 6
    assert _equal_states(nets["G"].state_dict(), ckpt["ema"]["G"])  # the EMA generator
    assert not nets["G"].training and not any(p.requires_grad for p in nets["G"].parameters())
    img, mask = torch.rand(2, 3, 32, 32), torch.zeros(2, 1, 32, 32)
    out = method.inpaint(nets, img, mask)
    assert out.shape == img.shape and torch.equal(out, method.inpaint(nets, img, mask))


def test_corrupt_checkpoint_gives_clear_error(straight_run, tmp_path):
    data = (straight_run / "checkpoints" / "final.pt").read_bytes()
    torn = tmp_path / "torn.pt"
    torn.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="torn.pt.*truncated or corrupt"):
        load_for_inference(torn)
    foreign = tmp_path / "foreign.pt"
    torch.save({"state_dict": {}}, foreign)
    with pytest.raises(CheckpointError, match="foreign.pt: not a faceinpaint checkpoint"):
        load_for_inference(foreign)
    with pytest.raises(CheckpointError, match="does not exist"):
        load_for_inference(tmp_path / "nope.pt")


def test_batches_are_a_function_of_seed_and_step():
    one = StepBatchSampler(10, 4, seed=3, start=0, steps=5)
    later = StepBatchSampler(10, 4, seed=3, start=3, steps=5)
    assert list(one)[3:] == list(later)
    shards = [StepBatchSampler(10, 4, 3, 0, 5, rank=r, world_size=2).batch_of(4) for r in (0, 1)]
    assert shards[0] + shards[1] == one.batch_of(4)
    epoch0 = sorted(i for s in range(2) for i, _ in one.batch_of(s)) + sorted(i for i, _ in one.batch_of(2)[:2])
    assert sorted(epoch0) == list(range(10))  # every item once per epoch
    with pytest.raises(ValueError, match="divisible"):
        StepBatchSampler(10, 3, 0, 0, 1, world_size=2)


def test_describe_counts_params_and_flops():
    info = describe(TOY, 32, profile="tiny", show=False)
    assert info["params"]["G"] == 4 * 8 * 9 + 8 + 8 * 3 * 9 + 3 and info["g_forward_flops"] > 0
    # the toy D: PatchGAN n_layers=1, 4x4 convs with strides 2, 1, 1: 32 -> 16 -> 15 -> 14; r = 1 + 3 + 3·2 + 3·2
    assert info["discriminators"] == {"D": {"class": "PatchGAN", "output_shape": (1, 14, 14), "receptive_field": 16}}


@pytest.mark.parametrize("method,line", [("clgn", "D (LGNetPatchGAN): output 1 x 27 x 27 per image, receptive field 93 px"),
                                         ("facestyle", "D (PatchGAN): output 1 x 30 x 30 per image, receptive field 70 px")])
def test_describe_prints_discriminator_geometry_at_256(method, line, capsys):
    describe(method, 256, profile="smoke")  # the full profile's discriminators, narrower
    assert line in capsys.readouterr().out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_ddp_two_processes_gloo(tmp_path):
    sets = {"train.steps": 2, "train.ckpt_every": 100, "train.sample_every": 100, "train.ema_decay": None,
            "width": 4, "adversarial": "wgan-gp"}  # the penalty's double backward under DDP too
    torch.multiprocessing.spawn(toy_method.ddp_worker, args=(2, _free_port(), str(tmp_path), sets), nprocs=2)
    g0, g1 = (torch.load(tmp_path / f"rank{r}-G.pt", weights_only=True) for r in (0, 1))
    assert _equal_states(g0, g1)  # DDP kept the replicas in sync
    runs = [p for p in tmp_path.iterdir() if p.is_dir()]
    assert [p.name for p in runs] == ["00000-toy-tiny"]  # only rank 0 made a run folder
    ckpt = load_checkpoint(runs[0] / "checkpoints" / "final.pt")
    assert ckpt["world_size"] == 2 and len(ckpt["rng"]) == 2 and _equal_states(ckpt["nets"]["G"], g0)


def test_ema_warmup_forgets_the_initial_weights():
    """EMA warm-up (TF's num_updates): decay min(d, (1 + n) / (10 + n)) at the n-th update. Without it a 0.999 EMA
    keeps 0.999**n of the random initial weights (13.5 % after 2000 steps; short runs were scored on that blend)."""
    assert tr.ema_decay_at(0.999, 1) == pytest.approx(2 / 11) and tr.ema_decay_at(0.999, 1, warmup=False) == 0.999
    assert tr.ema_decay_at(0.999, 100_000) == 0.999 and tr.ema_decay_at(0.9, 5) == pytest.approx(6 / 15)
    keep = lambda warmup: torch.tensor([tr.ema_decay_at(0.999, n, warmup) for n in range(1, 2001)]).prod().item()
    assert keep(False) == pytest.approx(0.999 ** 2000, rel=1e-3) and keep(False) > 0.13
    assert keep(True) < 1e-3  # the initial weights' share left in the average after 2000 updates


@pytest.mark.parametrize("warmup", [True, False])
def test_ema_generator_follows_the_update_rule(tmp_path, warmup):
    """Two steps of the toy method with a 0.999 EMA: the EMA is the blend the rule predicts, so warm-up moves it
    most of the way to the trained weights and no warm-up leaves it almost at the initial ones."""
    sets = {"train.steps": 1, "train.ema_decay": 0.999, "train.ema_warmup": warmup, "train.ckpt_every": 100,
            "train.sample_every": 100}
    run = tr.train_main(TOY, "tiny", out=tmp_path, sets=sets)
    ckpt = load_checkpoint(run / "checkpoints" / "final.pt")
    method, _ = load_for_inference(run / "checkpoints" / "final.pt")
    seed_everything(derive_seed(method.cfg.train.seed, "init"), True)  # the Trainer's seeded init
    init = method.build_networks()["G"].state_dict()  # the weights before step 1
    d = tr.ema_decay_at(0.999, 1, warmup)
    for k, live in ckpt["nets"]["G"].items():
        if live.is_floating_point() and not torch.equal(live, init[k]):
            torch.testing.assert_close(ckpt["ema"]["G"][k], d * init[k] + (1 - d) * live, rtol=1e-5, atol=1e-6)
