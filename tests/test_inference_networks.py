"""Inference builds only the generator: a CLGN checkpoint whose config asks for the ImageNet VGG16 still
loads, evaluates and inpaints on a machine without ``vgg16-397923af.pth`` (issue 10, item 14)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from faceinpaint_core.config import resolve
from faceinpaint_core.methods.clgn import CLGNMethod
from faceinpaint_core.paths import WeightsMissing
from faceinpaint_core.train.checkpoint import load_checkpoint, load_for_inference, save_checkpoint
from faceinpaint_core.train.distributed import DistInfo
from faceinpaint_core.train.trainer import Trainer

torch.set_num_threads(1)


def _batch(n=2, size=32):
    g = torch.Generator().manual_seed(0)
    mask = torch.zeros(n, 1, size, size)
    mask[..., 8:20, 6:18] = 1
    return {"image": torch.rand(n, 3, size, size, generator=g), "mask": mask}


@pytest.fixture(scope="module")
def _imagenet_ckpt(tmp_path_factory):
    """A one-step tiny CLGN checkpoint trained with the random VGG, its stored config then switched to
    ``perceptual_weights="imagenet"``."""
    tmp = tmp_path_factory.mktemp("clgn")
    method = CLGNMethod(resolve(CLGNMethod.config_cls, CLGNMethod.PROFILES, "tiny"))
    trainer = Trainer(method, tmp, faces=[], mask_sampler=None, dist=DistInfo(device="cpu"))
    trainer.train_step(0, _batch())
    trainer.step = 1
    state = trainer.state()
    state["config"]["train"]["perceptual_weights"] = "imagenet"
    return save_checkpoint(state, tmp / "clgn.pt")


@pytest.fixture
def imagenet_ckpt_without_vgg(_imagenet_ckpt, tmp_path, monkeypatch):
    """That checkpoint, with every weights folder empty (no ``vgg16-397923af.pth`` anywhere)."""
    from faceinpaint_core.losses.perceptual import VGG16Features

    monkeypatch.setattr("faceinpaint_core.paths.weights_dirs", lambda: [tmp_path / "no-weights-here"])
    with pytest.raises(WeightsMissing):  # the file really is absent
        VGG16Features(weights="imagenet")
    return _imagenet_ckpt


def test_load_for_inference_builds_only_the_generator(imagenet_ckpt_without_vgg):
    method, nets = load_for_inference(imagenet_ckpt_without_vgg)
    assert method.cfg.train.perceptual_weights == "imagenet" and set(nets) == {"G"}
    assert method._vgg is None  # no loss network was built
    saved = load_checkpoint(imagenet_ckpt_without_vgg)["nets"]["G"]
    assert all(torch.equal(v, saved[k]) for k, v in nets["G"].state_dict().items())


def test_evaluate_predictor_without_vgg(imagenet_ckpt_without_vgg):
    from faceinpaint_core.eval.predictors import load_predictor

    pred = load_predictor("clgn", imagenet_ckpt_without_vgg)
    b = _batch(1)
    out = pred(b["image"], b["mask"])
    assert out.shape == (1, 3, 32, 32) and torch.isfinite(out).all() and 0 <= out.min() and out.max() <= 1


def test_inpaint_without_vgg(imagenet_ckpt_without_vgg, tmp_path):
    from faceinpaint_core.inpaint import inpaint_main

    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)).save(tmp_path / "x.png")
    hole = np.zeros((40, 48), np.uint8)
    hole[10:22, 12:30] = 255
    Image.fromarray(hole).save(tmp_path / "m.png")
    out = inpaint_main("clgn", tmp_path / "x.png", tmp_path / "m.png", tmp_path / "y.png",
                       checkpoint=imagenet_ckpt_without_vgg)
    src, res = np.asarray(Image.open(tmp_path / "x.png")), np.asarray(Image.open(out))
    assert res.shape == src.shape and np.array_equal(res[hole == 0], src[hole == 0])


def test_training_the_same_config_still_fails_early(imagenet_ckpt_without_vgg, tmp_path):
    method, _ = load_for_inference(imagenet_ckpt_without_vgg)
    with pytest.raises(WeightsMissing, match="vgg16-397923af.pth"):
        Trainer(method, tmp_path, faces=[], mask_sampler=None, dist=DistInfo(device="cpu"))


@pytest.mark.parametrize("name", ["clgn", "lgnet", "facestyle", "parser"])
def test_every_method_infers_with_generators_only(name):
    from faceinpaint_core.methods import get_method_class

    cls = get_method_class(name)
    method = cls(resolve(cls.config_cls, cls.PROFILES, "tiny"))
    assert set(method.build_inference_networks()) == {"G"}
