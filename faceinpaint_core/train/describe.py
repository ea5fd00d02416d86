"""``faceinpaint describe``: parameters per network, the generator's forward FLOPs, and each
discriminator's output shape and receptive field at a resolution."""
from __future__ import annotations

import torch
from torch.utils.flop_counter import FlopCounterMode

from ..config import resolve
from ..nets.discriminators import geometry
from ..utils.seeding import torch_generator
from .checkpoint import resolve_method_class


def dummy_batch(size: int, with_parsing: bool, n: int = 1) -> dict[str, torch.Tensor]:
    """A seeded random face batch with a centred square hole (a quarter of the area)."""
    g = torch_generator(0, "describe")
    mask = torch.zeros(n, 1, size, size)
    mask[..., size // 4: 3 * size // 4, size // 4: 3 * size // 4] = 1
    batch = {"image": torch.rand(n, 3, size, size, generator=g), "mask": mask}
    if with_parsing:
        batch["parsing"] = torch.randint(0, 9, (n, size, size), generator=g)
    return batch


def count_params(net: torch.nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def format_description(info: dict) -> str:
    """A plain-text table of :func:`describe`'s dict."""
    lines = [f"{info['method']} ({info['profile']} profile) at {info['size']}x{info['size']}",
             f"{'network':<12}{'parameters':>16}"]
    lines += [f"{name:<12}{n:>16,}" for name, n in info["params"].items()]
    lines += [f"{'total':<12}{info['params_total']:>16,}",
              f"G forward FLOPs (batch 1, 2 per multiply-add): {info['g_forward_flops']:,} "
              f"({info['g_forward_gflops']:.3f} GFLOPs)"]
    for name, geo in info.get("discriminators", {}).items():
        shape = " x ".join(str(d) for d in geo["output_shape"])
        rf = f"{geo['receptive_field']} px" if geo["receptive_field"] else "whole image"
        lines.append(f"{name} ({geo['class']}): output {shape} per image, receptive field {rf} "
                     f"at {info['size']}x{info['size']}")
    return "\n".join(lines)


def describe(method: str, size: int, profile: str = "full", show: bool = True) -> dict:
    """Parameter count per network, forward FLOPs of ``method.forward`` (the generator pass) and, per
    discriminator, the output shape and the receptive field of one output (:func:`~faceinpaint_core.nets.
    discriminators.geometry`) at ``size``.

    FLOPs are counted by :class:`torch.utils.flop_counter.FlopCounterMode` (matmuls and convolutions,
    2 FLOPs per multiply-add) for one image; networks are random-init on CPU, in eval mode.

    Args:
        method: registry name or ``"module:Class"``.
        size: square resolution.
        profile: the method's profile (sets the widths).
        show: print the table.
    """
    cls = resolve_method_class(method)
    m = cls(resolve(cls.config_cls, cls.PROFILES, profile, {"train.size": size}))
    with torch.random.fork_rng(devices=[]):
        nets = m.build_networks()
    for net in nets.values():
        net.eval()
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        m.forward(nets, dummy_batch(size, cls.needs_parsing))
    params = {name: count_params(net) for name, net in nets.items()}
    flops = int(counter.get_total_flops())
    discs = {n: {"class": type(nets[n]).__name__, **geometry(nets[n], size)} for n in m.discriminator_names(nets)}
    info = {"method": m.name, "profile": profile, "size": size, "params": params,
            "params_total": sum(params.values()), "g_forward_flops": flops, "g_forward_gflops": flops / 1e9,
            "discriminators": discs}
    if show:
        print(format_description(info))
    return info
