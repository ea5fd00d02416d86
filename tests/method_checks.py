"""Checks every registered generator method must pass (imported by the per-method test files)."""
from __future__ import annotations

import torch

from faceinpaint_core.train.checkpoint import load_for_inference
from faceinpaint_core.train.distributed import DistInfo
from faceinpaint_core.train.trainer import Trainer


def one_step_and_round_trip(method, batch: dict, tmp_path) -> None:
    """One trainer step changes the generator and logs finite terms; the checkpoint reloads the generator alone,
    bit-identical, and inference gives an image-shaped prediction in [0, 1]."""
    cls = type(method)
    trainer = Trainer(method, tmp_path, faces=[], mask_sampler=None, dist=DistInfo(device="cpu"))
    before = [p.detach().clone() for p in trainer.g_params]
    terms = trainer.train_step(0, batch)
    assert all(torch.isfinite(v) for v in terms.values()) and "G/total" in terms
    assert any(not torch.equal(a, p) for a, p in zip(before, trainer.g_params))
    trainer.step = 1
    path = tmp_path / "ckpt.pt"
    trainer.save(path)
    loaded, nets = load_for_inference(path)
    assert type(loaded) is cls and set(nets) == {"G"}
    for k, v in nets["G"].state_dict().items():
        assert torch.equal(v, trainer.nets["G"].state_dict()[k].cpu())
    nets["G"].eval()
    pred = loaded.inpaint(nets, batch["image"], batch["mask"])
    assert pred.shape == batch["image"].shape and pred.min() >= 0 and pred.max() <= 1
