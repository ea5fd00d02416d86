"""LPIPS perceptual distance, Zhang et al. 2018 eq (1), with the ``lpips`` package (AlexNet trunk, v0.1).

The network is ``lpips.LPIPS(net="alex", version="0.1")`` built with ``pretrained=False,
pnet_rand=True`` so that neither the package nor torchvision tries to download anything; the
weights are then loaded here:

* the AlexNet trunk from torchvision's ImageNet file ``alexnet-owt-7be5be79.pth``, looked up with
  :func:`faceinpaint_core.paths.find_weights` (``$FACEINPAINT_WEIGHTS`` or the torch hub cache);
* the calibrated linear layers from ``lpips/weights/v0.1/alex.pth``, which ships inside the lpips wheel.

A missing file raises :class:`~faceinpaint_core.paths.WeightsMissing`. ``weights="random"`` builds
the same network with seeded random init (non-negative linear layers so distances stay >= 0);
it is labelled ``name == "lpips_randominit"`` and must never be reported as LPIPS.
"""
from __future__ import annotations

import re
import warnings
from pathlib import Path

import torch

from ..paths import WeightsMissing, find_weights
from .fid import check_weights_mode, seeded_reinit_
from .pixel import _check_pair

ALEXNET_WEIGHTS_FILE = "alexnet-owt-7be5be79.pth"
LPIPS_VERSION, LPIPS_NET = "0.1", "alex"


def lpips_linear_path() -> Path:
    """The lpips wheel's linear-layer file ``weights/v0.1/alex.pth``, or WeightsMissing."""
    import lpips

    path = Path(lpips.__file__).parent / "weights" / f"v{LPIPS_VERSION}" / f"{LPIPS_NET}.pth"
    if not path.is_file():
        raise WeightsMissing(f"LPIPS linear layers: '{path}' missing; reinstall the lpips package "
                             f"(pip install --force-reinstall --no-deps lpips)")
    return path


def _trunk_state_dict(net: torch.nn.Module, alexnet_sd: dict) -> dict:
    """Map torchvision AlexNet keys ``features.<i>.<p>`` onto lpips' ``slice<k>.<i>.<p>``."""
    return {key: alexnet_sd["features." + key.split(".", 1)[1]] for key in net.state_dict()}


def _load_pretrained(model: torch.nn.Module) -> None:
    trunk = find_weights(ALEXNET_WEIGHTS_FILE, "LPIPS AlexNet trunk (torchvision ImageNet)")
    lins = lpips_linear_path()
    alexnet_sd = torch.load(trunk, map_location="cpu", weights_only=True)
    model.net.load_state_dict(_trunk_state_dict(model.net, alexnet_sd))
    lin_sd = torch.load(lins, map_location="cpu", weights_only=True)  # saved from CUDA: map to CPU
    expected = {k for k in model.state_dict() if re.fullmatch(r"lin\d+\..*", k)}
    if set(lin_sd) != expected:
        raise ValueError(f"LPIPS: {lins} does not hold the AlexNet v{LPIPS_VERSION} linear layers "
                         f"(keys {sorted(lin_sd)}, expected {sorted(expected)})")
    model.load_state_dict(lin_sd, strict=False)  # strict=False: the trunk was loaded above


def build_lpips(weights: str = "pretrained", seed: int = 0) -> torch.nn.Module:
    """``lpips.LPIPS`` (AlexNet, v0.1) in eval mode with weights loaded by us; never downloads."""
    import lpips

    check_weights_mode(weights)
    with torch.random.fork_rng(devices=[]), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torchvision's "pretrained is deprecated"
        model = lpips.LPIPS(pretrained=False, net=LPIPS_NET, version=LPIPS_VERSION, pnet_rand=True,
                            verbose=False)
    if weights == "pretrained":
        _load_pretrained(model)
    else:
        seeded_reinit_(model, seed, "lpips_randominit")
        with torch.no_grad():  # LPIPS' calibrated weights are >= 0; keep that so distances are >= 0
            for lin in model.lins:
                lin.model[-1].weight.abs_()
    return model.eval().requires_grad_(False)


class LPIPSMetric:
    """LPIPS distance per image pair, Zhang et al. 2018 eq (1) (AlexNet trunk, linear layers v0.1).

    Args:
        weights: ``"pretrained"`` (raises WeightsMissing if a file is absent) or ``"random"``
            (seeded random init for tests; ``name`` becomes ``lpips_randominit``).
        device: torch device.
        batch_size: pairs per forward pass.
        seed: seed of the random init (ignored for pretrained weights).
    """

    def __init__(self, weights: str = "pretrained", device="cpu", batch_size: int = 32, seed: int = 0):
        self.weights, self.device, self.batch_size = weights, torch.device(device), int(batch_size)
        self.randominit = weights == "random"
        self.name = "lpips_randominit" if self.randominit else "lpips"
        self.model = build_lpips(weights, seed).to(self.device)

    @torch.no_grad()
    def __call__(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Distances. pred, target: (N, 3, H, W) in [0, 1]. Returns (N,) float32 on the CPU."""
        _check_pair(pred, target)
        if pred.shape[1] != 3:
            raise ValueError(f"LPIPS: images must have 3 channels, got shape {tuple(pred.shape)}")
        out = [self.model(p.to(self.device, torch.float32), t.to(self.device, torch.float32), normalize=True)
               for p, t in zip(pred.split(self.batch_size), target.split(self.batch_size))]
        return torch.cat(out).flatten().float().cpu()
