"""Edge-guided diffusion inpainter (source 002): diffusion maths, samplers, blocks, Canny, method, seeded runs.

Random-init narrow networks, 16-64 px, CPU; the training runs use the ``tiny`` profile (synthetic faces).
"""
from __future__ import annotations

import pytest
import torch
from torch import nn

from faceinpaint_core.config import resolve
from faceinpaint_core.data.edges import canny_edges, rgb_to_gray
from faceinpaint_core.diffusion import GaussianDiffusion, inpaint_sample, make_betas, timestep_sequence
from faceinpaint_core.methods import get_method_class
from faceinpaint_core.methods.edge_diffusion import EdgeDiffusionConfig, EdgeDiffusionMethod
from faceinpaint_core.nets.blocks.attention import MixedAttention, SelfAttention
from faceinpaint_core.nets.blocks.dilated_fusion import DilatedFusionBlock
from faceinpaint_core.nets.edge_diffusion import CompletionNetwork, EdgeGenerator

torch.set_num_threads(1)


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def toy_inputs(n: int = 2, size: int = 16, seed: int = 0):
    image = torch.rand(n, 3, size, size, generator=gen(seed))
    mask = torch.zeros(n, 1, size, size)
    mask[..., size // 4: 3 * size // 4, size // 3: 3 * size // 4] = 1
    return image, mask


class ToyDenoiser(nn.Module):
    """A fixed random conv net standing in for the trained denoiser (its output depends on x_t and t)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, padding=1)
        with torch.no_grad():
            for p in self.conv.parameters():
                p.copy_(torch.randn(p.shape, generator=gen(42)) * 0.2)

    def forward(self, x_t, t):
        return self.conv(x_t) * (1 + t.float().view(-1, 1, 1, 1) / 1000)


def tiny_method(**sets) -> EdgeDiffusionMethod:
    cls = get_method_class("edge-diffusion")
    return cls(resolve(cls.config_cls, cls.PROFILES, "tiny", sets))


# -- diffusion --------------------------------------------------------------------------------
@pytest.mark.parametrize("schedule", ["linear", "cosine"])
def test_betas_increase_inside_unit_interval(schedule):
    b = make_betas(schedule, 1000)
    assert b.shape == (1000,) and (b > 0).all() and (b < 1).all()
    assert (b[1:] >= b[:-1]).all()  # source 002 eq. (1): 0 < β_1 < ... < β_T < 1
    with pytest.raises(ValueError, match="known"):
        make_betas("quadratic", 10)


@pytest.mark.parametrize("schedule", ["linear", "cosine"])
def test_q_sample_matches_closed_form_and_the_markov_chain(schedule):
    diff = GaussianDiffusion(make_betas(schedule, 100))
    x0 = torch.rand(4, 3, 8, 8, generator=gen(1)) * 2 - 1
    noise = torch.randn(x0.shape, generator=gen(2))
    t = torch.tensor([0, 10, 50, 99])
    abar = torch.tensor([float(torch.prod(1 - diff.betas[: k + 1])) for k in t]).view(-1, 1, 1, 1)
    expect = abar.sqrt() * x0 + (1 - abar).sqrt() * noise
    assert torch.allclose(diff.q_sample(x0, t, noise), expect, atol=1e-6)
    # iterating eq. (1) x_t = √(1-β_t) x_{t-1} + √β_t ε gives the same mean and variance
    x, g, k = torch.full((20000,), 0.7, dtype=torch.float64), gen(3), 60
    for s in range(k + 1):
        x = (1 - diff.betas[s]).sqrt() * x + diff.betas[s].sqrt() * torch.randn(x.shape, generator=g, dtype=torch.float64)
    a = diff.alphas_cumprod[k]
    assert abs(float(x.mean()) - 0.7 * float(a.sqrt())) < 0.02
    assert abs(float(x.std()) - float((1 - a).sqrt())) < 0.02


@pytest.mark.parametrize("prediction", ["eps", "x0"])
def test_split_recovers_x0_and_eps(prediction):
    diff = GaussianDiffusion(make_betas("linear", 1000), prediction=prediction)
    x0 = torch.rand(3, 3, 4, 4, generator=gen(4)) * 1.6 - 0.8
    eps = torch.randn(x0.shape, generator=gen(5))
    t = torch.tensor([5, 400, 900])
    x_t = diff.q_sample(x0, t, eps)
    x0_hat, eps_hat = diff.split(diff.target(x0, eps), x_t, t)
    assert torch.allclose(x0_hat, x0, atol=1e-3) and torch.allclose(eps_hat, eps, atol=2e-2)


def test_timestep_sequence():
    assert timestep_sequence(1000, 1) == [999]
    seq = timestep_sequence(1000, 25)
    assert len(seq) == 25 and seq[0] == 999 and seq[-1] == 0 and seq == sorted(seq, reverse=True)
    assert timestep_sequence(10, 10) == list(range(9, -1, -1))
    with pytest.raises(ValueError, match=r"\[1, 10\]"):
        timestep_sequence(10, 11)


@pytest.mark.parametrize("sampler,eta", [("ddim", 0.0), ("ddim", 0.5), ("ddpm", 0.0)])
def test_known_pixels_bit_identical_after_sampling(sampler, eta):
    diff = GaussianDiffusion(make_betas("linear", 50))
    image, mask = toy_inputs()
    out = inpaint_sample(diff, ToyDenoiser(), image, mask, steps=8, sampler=sampler, eta=eta, generator=gen(7))
    known = mask.expand_as(image) == 0
    assert torch.equal(out[known], image[known])
    assert not torch.equal(out[~known], image[~known]) and 0 <= out.min() and out.max() <= 1
    comp = out * mask + image * (1 - mask)  # the protocol's composite changes nothing
    assert torch.equal(comp, out)


def test_ddim_eta0_is_deterministic_for_a_fixed_seed():
    diff = GaussianDiffusion(make_betas("cosine", 100))
    image, mask = toy_inputs()
    run = lambda seed, eta=0.0: inpaint_sample(diff, ToyDenoiser(), image, mask, steps=10, eta=eta,  # noqa: E731
                                              generator=gen(seed))
    assert torch.equal(run(11), run(11))
    assert not torch.equal(run(11), run(12))  # the seed sets x_T and the known-pixel noise
    assert torch.equal(run(11, 1.0), run(11, 1.0))


@pytest.mark.parametrize("prediction", ["eps", "x0"])
@pytest.mark.parametrize("sampler,eta", [("ddim", 0.0), ("ddim", 1.0), ("ddpm", 0.0)])
def test_an_oracle_denoiser_recovers_the_hole(prediction, sampler, eta):
    """A denoiser that knows the true face predicts the exact ε (or x0) for any x_t: every sampler must end on it."""
    diff = GaussianDiffusion(make_betas("linear", 1000), prediction=prediction)
    image, mask = toy_inputs(seed=5)
    x0 = image * 2 - 1

    def oracle(x_t, t):
        a = diff.abar(t).view(-1, 1, 1, 1)
        return (x_t - a.sqrt() * x0) / (1 - a).sqrt() if prediction == "eps" else x0

    out = inpaint_sample(diff, oracle, image * (1 - mask), mask, steps=20, sampler=sampler, eta=eta, generator=gen(1))
    assert torch.allclose(out, image, atol=1e-4)


def test_ddpm_equals_ddim_with_eta_one():
    """Ancestral sampling on the respaced chain is DDIM with η = 1 (same noise draws)."""
    diff = GaussianDiffusion(make_betas("linear", 200))
    image, mask = toy_inputs()
    a = inpaint_sample(diff, ToyDenoiser(), image, mask, steps=12, sampler="ddpm", generator=gen(3))
    b = inpaint_sample(diff, ToyDenoiser(), image, mask, steps=12, sampler="ddim", eta=1.0, generator=gen(3))
    assert torch.allclose(a, b, atol=1e-5)


def test_sampler_rejects_bad_options():
    diff = GaussianDiffusion(make_betas("linear", 10))
    image, mask = toy_inputs()
    with pytest.raises(ValueError, match="unknown sampler"):
        inpaint_sample(diff, ToyDenoiser(), image, mask, steps=2, sampler="euler")
    with pytest.raises(ValueError, match="eta"):
        inpaint_sample(diff, ToyDenoiser(), image, mask, steps=2, eta=-1)


def test_strength_starts_the_chain_from_the_init_image():
    """SDEdit start: strength 1 is the usual sampler bit for bit; a small strength ends near ``init`` (a denoiser
    that predicts x0 = init from any x_t leaves the hole at init); strength < 1 without an init is refused."""
    diff = GaussianDiffusion(make_betas("linear", 1000), prediction="x0")
    image, mask = toy_inputs(seed=3)
    init = torch.rand(image.shape, generator=gen(4)) * 2 - 1
    base = inpaint_sample(diff, ToyDenoiser(), image, mask, steps=10, generator=gen(2))
    same = inpaint_sample(diff, ToyDenoiser(), image, mask, steps=10, generator=gen(2), init=init, strength=1.0)
    assert torch.equal(base, same)
    evals = []

    def to_init(x_t, t):
        evals.append(int(t[0]))
        return init

    out = inpaint_sample(diff, to_init, image, mask, steps=10, generator=gen(2), init=init, strength=0.3)
    hole = mask.expand_as(image) == 1
    assert torch.allclose(out[hole], ((init + 1) / 2).clamp(0, 1)[hole], atol=1e-4)
    assert evals[0] == round(0.3 * 999) and len(evals) < 10  # only the part of the chain below t0 runs
    with pytest.raises(ValueError, match="init"):
        inpaint_sample(diff, ToyDenoiser(), image, mask, steps=4, strength=0.5)
    with pytest.raises(ValueError, match="strength"):
        inpaint_sample(diff, ToyDenoiser(), image, mask, steps=4, init=init, strength=0.0)


# -- blocks and networks ----------------------------------------------------------------------
def receptive_field(block: nn.Module, channels: int, size: int = 64) -> int:
    """Side of the input square that influences the centre output pixel (input-gradient probe)."""
    x = torch.randn(1, channels, size, size, generator=gen(8), requires_grad=True)
    block(x)[0, :, size // 2, size // 2].sum().backward()
    rows = (x.grad.abs().sum(dim=(0, 1, 3)) > 0).nonzero().flatten()
    cols = (x.grad.abs().sum(dim=(0, 1, 2)) > 0).nonzero().flatten()
    assert int(rows[-1] - rows[0]) == int(cols[-1] - cols[0])
    return int(rows[-1] - rows[0]) + 1


@pytest.mark.parametrize("dilation,expect", [(True, 31), (False, 9)])
def test_dilated_block_receptive_field(dilation, expect):
    block = DilatedFusionBlock(8, dilation=dilation, attention=False)
    assert block.receptive_fields() == ([3, 7, 15, 31] if dilation else [3, 5, 7, 9])
    assert receptive_field(block, 8) == expect


def test_attention_blocks_keep_shape():
    x = torch.randn(2, 16, 6, 5, generator=gen(9))
    sa = SelfAttention(16)
    assert torch.equal(sa(x), x)  # γ = 0 at init: identity
    with torch.no_grad():
        sa.gamma.fill_(1.0)
    assert sa(x).shape == x.shape and not torch.equal(sa(x), x)
    y = MixedAttention(16)(x)
    assert y.shape == x.shape and (y.abs() <= x.abs() + 1e-6).all()  # gates in (0, 1) only rescale
    assert DilatedFusionBlock(16)(x).shape == x.shape


@pytest.mark.parametrize("size", [16, 32])
def test_edge_generator_output_range_and_twelve_convs(size):
    g = EdgeGenerator(width=4, res_blocks=4)
    x = torch.rand(2, 1, size, size, generator=gen(10))
    out = g(x, (x > 0.5).float(), torch.zeros(2, 1, size, size))
    assert out.shape == (2, 1, size, size) and 0 <= out.min() and out.max() <= 1
    assert g.net.plain_convs() == 12 and len(g.net.middle) == 5  # 4 residual blocks + self-attention


@pytest.mark.parametrize("diffusion,edges", [(True, True), (True, False), (False, True)])
def test_completion_network_inputs(diffusion, edges):
    net = CompletionNetwork(width=4, edges=edges, diffusion=diffusion)
    image, mask = toy_inputs(size=16)
    e = torch.rand(2, 1, 16, 16) if edges else None
    kw = dict(x_t=torch.randn(2, 3, 16, 16), t=torch.tensor([3, 900])) if diffusion else {}
    out = net(image, mask, e, **kw)
    assert out.shape == (2, 3, 16, 16) and net.net.plain_convs() == 12
    if diffusion:
        with pytest.raises(ValueError, match="x_t and t"):
            net(image, mask, e)
    with pytest.raises(ValueError, match="divisible by 4"):
        net(image[..., :14, :14], mask[..., :14, :14], None if e is None else e[..., :14, :14],
            **({k: v[..., :14, :14] if k == "x_t" else v for k, v in kw.items()}))


# -- Canny ------------------------------------------------------------------------------------
def test_canny_on_a_synthetic_face_ignores_the_hole():
    from skimage.feature import canny

    from faceinpaint_core.data.synthetic import SyntheticFaces

    image = torch.stack([SyntheticFaces(2, 64)[i]["image"] for i in range(2)])
    gray = rgb_to_gray(image)
    full = canny_edges(gray, sigma=1.0)
    assert set(full.unique().tolist()) == {0.0, 1.0} and full.mean() > 0.01  # a face has edges
    assert torch.equal(full[0, 0], torch.from_numpy(canny(gray[0, 0].double().numpy(), sigma=1.0)).float())
    _, mask = toy_inputs(2, 64)
    known = canny_edges(gray, sigma=1.0, hole=mask)
    assert (known * mask).sum() == 0 and known.sum() > 0
    scrambled = gray * (1 - mask) + torch.rand(gray.shape, generator=gen(12)) * mask
    assert torch.equal(canny_edges(scrambled, sigma=1.0, hole=mask), known)  # hole pixels are never read
    with pytest.raises(ValueError, match="grayscale"):
        canny_edges(image)


# -- method -----------------------------------------------------------------------------------
def test_config_validation_names_the_option():
    for bad, word in (({"schedule": "quad"}, "schedule"), ({"prediction": "v"}, "prediction"),
                      ({"sampler": "gan"}, "sampler"), ({"sample_steps": 0}, "sample_steps"),
                      ({"eta": -0.1}, "eta"), ({"edge_steps": 5000}, "edge_steps")):
        with pytest.raises(ValueError, match=word):
            EdgeDiffusionConfig(**bad)
    for profile in ("tiny", "smoke", "full"):
        resolve(EdgeDiffusionConfig, EdgeDiffusionMethod.PROFILES, profile)
    full = resolve(EdgeDiffusionConfig, EdgeDiffusionMethod.PROFILES, "full")
    assert (full.train.lr_g, full.train.batch_size, full.sample_steps, full.timesteps) == (2e-4, 64, 25, 1000)


def _trainer_steps(method, steps, tmp_path):
    from faceinpaint_core.train.distributed import DistInfo
    from faceinpaint_core.train.trainer import Trainer

    image, mask = toy_inputs(2, 32)
    trainer = Trainer(method, tmp_path, faces=[], mask_sampler=None, dist=DistInfo(device="cpu"))
    before = {n: [p.detach().clone() for p in trainer.nets[n].parameters()] for n in trainer.g_names}
    terms = [trainer.train_step(s, {"image": image, "mask": mask}) for s in range(steps)]
    moved = {n: any(not torch.equal(a, b) for a, b in zip(before[n], trainer.nets[n].parameters())) for n in before}
    return trainer, terms, moved


@pytest.mark.parametrize("sets", [{}, {"diffusion": False}, {"use_edges": False}, {"dilation": False},
                                  {"attention": False}, {"prediction": "x0", "schedule": "cosine"}])
def test_every_ablation_trains_both_stages(sets, tmp_path):
    method = tiny_method(**sets)
    trainer, terms, moved = _trainer_steps(method, 3, tmp_path)
    assert int(trainer.nets["clock"].step) == 3 and all(moved.values())
    if method.cfg.use_edges:
        assert {"G/edge_adv", "G/edge_fm", "D/d_adv"} <= set(terms[0])
        assert ("E" in trainer.nets) and ("D_edge" in trainer.nets)
    last = terms[-1]
    assert ("G/diffusion_mse" in last) == method.cfg.diffusion and ("G/adv" in last) != method.cfg.diffusion
    assert all(torch.isfinite(v) for t in terms for v in t.values())


def test_inpaint_keeps_known_pixels_and_inference_options():
    method = tiny_method()
    nets = {k: v.eval() for k, v in method.build_networks().items()}
    image, mask = toy_inputs(2, 32)
    out = method.inpaint(nets, image * (1 - mask), mask)
    known = mask.expand_as(image) == 0
    assert torch.equal(out[known], image[known])
    assert torch.equal(out, method.inpaint(nets, image * (1 - mask), mask))  # seeded
    opts = method.set_inference_options(steps=3, sampler="ddpm")
    assert opts["steps"] == 3 and opts["sampler"] == "ddpm" and method.inference["eta"] == 0.0
    shots = method.trajectory(nets, image, mask, frames=3)
    assert [s["t"] for s in shots][-1] == -1 and shots[0]["t"] == 999 and len(shots) == 4
    assert method.set_inference_options(strength=0.5)["strength"] == 0.5
    half = method.inpaint(nets, image * (1 - mask), mask)  # starts from the conditioning image, fewer steps
    assert torch.equal(half[known], image[known]) and not torch.equal(half, out)
    method.set_inference_options(strength=1.0)
    for bad, word in (({"steps": 0}, r"\[1, 1000\]"), ({"sampler": "gan"}, "sampler"), ({"eta": -1}, "eta"),
                      ({"strength": 0}, "strength"), ({"strength": 1.5}, "strength"),
                      ({"stepz": 3}, "unknown inference option")):
        with pytest.raises(ValueError, match=word):
            method.set_inference_options(**bad)


def test_seeded_tiny_runs_are_identical_and_resume_across_the_stage_boundary(tmp_path, monkeypatch):
    from faceinpaint_core.eval.predictors import TrainedInpainter
    from faceinpaint_core.train import trainer as tr

    sets = {"train.ckpt_every": 2}
    runs = [tr.train_main("edge-diffusion", "tiny", out=tmp_path / f"r{i}", sets=sets) for i in range(2)]
    a, b = (torch.load(r / "checkpoints" / "final.pt", weights_only=True) for r in runs)
    assert set(a["nets"]) == {"G", "E", "D_edge", "clock"} and int(a["nets"]["clock"]["step"]) == 4
    for name in a["nets"]:
        assert all(torch.equal(a["nets"][name][k], b["nets"][name][k]) for k in a["nets"][name]), name
    # killed in the completion stage (step 3), resumed from step 2: the same final weights
    step = tr.Trainer.train_step

    def dies_at_3(self, s, batch):
        if s == 3:
            raise KeyboardInterrupt("simulated kill")
        return step(self, s, batch)

    monkeypatch.setattr(tr.Trainer, "train_step", dies_at_3)
    with pytest.raises(KeyboardInterrupt):
        tr.train_main("edge-diffusion", "tiny", out=tmp_path / "r2", sets=sets)
    monkeypatch.setattr(tr.Trainer, "train_step", step)
    c = torch.load(tr.train_main("edge-diffusion", "tiny", out=tmp_path / "r2", sets=sets, resume=True)
                   / "checkpoints" / "final.pt", weights_only=True)
    for name in a["nets"]:
        assert all(torch.equal(a["nets"][name][k], c["nets"][name][k]) for k in a["nets"][name]), name
    # the evaluation's predictor keeps the known pixels
    pred = TrainedInpainter(runs[0] / "checkpoints" / "final.pt")
    image, mask = toy_inputs(2, 32)
    out = pred(image * (1 - mask), mask)
    assert torch.equal(out[mask.expand_as(out) == 0], image[mask.expand_as(image) == 0])


def test_figures_and_sampling_curve():
    import matplotlib.pyplot as plt

    from faceinpaint_core.study.figures_diffusion import (edge_maps_figure, sampling_curve, sampling_curve_figure,
                                                          trajectory_figure)

    method = tiny_method()
    nets = {k: v.eval() for k, v in method.build_networks().items()}
    image, mask = toy_inputs(2, 32)
    curve = sampling_curve(method, nets, image, mask, steps=(1, 3))
    assert list(curve["steps"]) == [1, 3] and (curve["seconds_per_image"] > 0).all()
    assert curve["psnr"].between(0, 100).all() and curve["ssim"].between(-1, 1).all()
    assert method.inference["steps"] == method.cfg.sample_steps  # options restored
    out = method.sample(nets, image * (1 - mask), mask)
    shots = method.trajectory(nets, image * (1 - mask), mask, frames=2)
    for fig in (sampling_curve_figure(curve), edge_maps_figure(image, mask, out),
                trajectory_figure(shots, image, mask), trajectory_figure(shots, image, mask, show="x0_hat")):
        assert len(fig.axes) >= 2
        plt.close(fig)


def test_cli_inpaint_steps_reaches_the_sampler_and_other_methods_reject_it(tmp_path, capsys):
    import numpy as np
    from PIL import Image

    from faceinpaint_core.cli import main
    from faceinpaint_core.config import resolve
    from faceinpaint_core.methods.clgn import CLGNMethod
    from faceinpaint_core.train import trainer as tr

    run = tr.train_main("edge-diffusion", "tiny", out=tmp_path / "r")
    image, mask = toy_inputs(1, 32)
    Image.fromarray((image[0].permute(1, 2, 0).numpy() * 255).astype(np.uint8)).save(tmp_path / "x.png")
    Image.fromarray((mask[0, 0].numpy() * 255).astype(np.uint8)).save(tmp_path / "m.png")
    args = ["inpaint", "--method", "edge-diffusion", "--checkpoint", str(run / "checkpoints" / "final.pt"),
            "--image", str(tmp_path / "x.png"), "--mask", str(tmp_path / "m.png")]
    assert main(args + ["--out", str(tmp_path / "y3.png"), "--steps", "3"]) == 0
    assert main(args + ["--out", str(tmp_path / "y1.png"), "--steps", "1"]) == 0
    y3, y1 = (np.asarray(Image.open(tmp_path / f)) for f in ("y3.png", "y1.png"))
    assert not np.array_equal(y3, y1)  # the step count reached the sampler
    clgn = CLGNMethod(resolve(CLGNMethod.config_cls, CLGNMethod.PROFILES, "tiny"))
    with pytest.raises(ValueError, match="no inference options"):
        clgn.set_inference_options(steps=3)
    assert clgn.set_inference_options(steps=None) == {}
    assert main(["inpaint", "--method", "telea", "--image", str(tmp_path / "x.png"), "--mask", str(tmp_path / "m.png"),
                 "--out", str(tmp_path / "t.png"), "--steps", "3"]) == 2
    assert "--steps" in capsys.readouterr().err


def test_hole_init_harmonic_conditions_the_completion_network_on_a_classical_fill():
    from faceinpaint_core.nets.blocks.harmonic_fill import harmonic_fill

    image, mask = toy_inputs(2, 16)
    m = tiny_method(hole_init="harmonic", use_edges=False)
    cond = m.condition(m.build_networks(), image, mask)
    assert torch.allclose(cond["masked"], harmonic_fill(image * (1 - mask), mask) * 2 - 1, atol=1e-6)
    const = tiny_method(use_edges=False)
    assert torch.equal(const.condition(const.build_networks(), image, mask)["masked"],
                       (image * 2 - 1) * (1 - mask))
    with pytest.raises(ValueError, match="hole_init"):
        tiny_method(hole_init="mean")


def test_residual_reads_the_completion_output_as_a_correction_to_the_conditioning_image():
    image, mask = toy_inputs(2, 16)
    m = tiny_method(hole_init="biharmonic", residual=True, prediction="x0", use_edges=False)
    nets = m.build_networks()

    class Zero(nn.Module):
        def forward(self, masked, mask, edges, *rest):
            return torch.zeros_like(masked)

    cond = m.condition(nets, image, mask)
    assert torch.allclose(m._completion(Zero(), cond, torch.zeros_like(image), torch.zeros(2, dtype=torch.long)),
                          cond["masked"].clamp(-1, 1))
    with pytest.raises(ValueError, match="residual needs prediction='x0'"):
        tiny_method(residual=True, prediction="eps")
    assert tiny_method(residual=True, diffusion=False).cfg.residual  # the one-step GAN reading predicts images


def test_denoise_from_truth_and_distortion_by_timestep():
    """An untrained residual x0-denoiser (zero-initialised head) returns its conditioning fill at every t; an oracle
    that copies the (noise-free) x_t at t = 0 recovers the face; the table's chain output is the method's sample."""
    import matplotlib.pyplot as plt

    from faceinpaint_core.study.figures_diffusion import (distortion_by_timestep, distortion_by_timestep_figure,
                                                          distortion_summary)

    image, mask = toy_inputs(2, 32)
    m = tiny_method(hole_init="biharmonic", residual=True, prediction="x0", use_edges=False)
    nets = {k: v.eval() for k, v in m.build_networks().items()}
    for t in (999, 10):
        out = m.denoise_from_truth(nets, image, mask, t, gen(1))
        assert torch.allclose(out["x0_hat"], out["fill"], atol=1e-6)
        assert torch.equal(out["x0_hat"][mask.expand_as(image) == 0], image[mask.expand_as(image) == 0])
    with pytest.raises(ValueError, match="timestep"):
        m.denoise_from_truth(nets, image, mask, 1000, gen(1))
    table = distortion_by_timestep(m, nets, image, mask, timesteps=(999, 0))
    fill = table.loc[table.estimate == "conditioning fill", "psnr"].item()
    assert table.loc[table.estimate == "from true x_t", "psnr"].tolist() == pytest.approx([fill, fill])
    assert (table.estimate == "DDIM chain").sum() == m.inference["steps"]
    sample = m.sample(nets, image * (1 - mask), mask)["pred"]
    from faceinpaint_core.metrics import psnr
    expect = float(psnr((sample * 255).round() / 255, image).mean())
    assert table.loc[table.estimate == "sample (chain output)", "psnr"].item() == pytest.approx(expect, abs=1e-4)

    # an oracle reading x0 = x_t: exact when x_t is the clean face (t = 0 of the linear schedule is nearly clean)
    plain = tiny_method(prediction="x0", use_edges=False)
    pnets = {k: v.eval() for k, v in plain.build_networks().items()}
    plain._completion = lambda G, cond, x_t, t: x_t
    good = plain.denoise_from_truth(pnets, image, mask, 0, gen(2))["x0_hat"]
    bad = plain.denoise_from_truth(pnets, image, mask, 999, gen(2))["x0_hat"]
    assert float(psnr(good, image).mean()) > float(psnr(bad, image).mean()) + 10
    summary = distortion_summary(table)
    assert summary.loc["all", "conditioning fill"] == pytest.approx(fill, abs=0.01)
    assert summary.loc["all", "price of sampling (dB)"] == pytest.approx(
        summary.loc["all", "sample (study output)"] - summary.loc["all", "x̂0 at t=999 (posterior mean)"], abs=0.011)
    fig = distortion_by_timestep_figure(table.assign(cell="a"), title="t")
    plt.close(fig)
    fig = distortion_by_timestep_figure(table, floor=20.0)
    assert len(fig.axes) == 1
    plt.close(fig)
    gan = tiny_method(diffusion=False, use_edges=False)
    with pytest.raises(ValueError, match="diffusion"):
        gan.denoise_from_truth(gan.build_networks(), image, mask, 5, gen(1))
    with pytest.raises(ValueError, match="no diffusion denoiser"):
        distortion_by_timestep(gan, gan.build_networks(), image, mask)
