"""Measure a method's training step without a training run: what ``train --dry-run`` and ``bench`` print.

Everything here is generic over the registry (:data:`faceinpaint_core.methods.METHODS`): a method is built
from one of its profiles, fed the first batch the trainer would feed it (its own training faces and the
profile's training masks), and stepped by the real :class:`~.trainer.Trainer` (same autocast, memory format,
compile and optimiser code as a run), in a throw-away folder.
"""
from __future__ import annotations

import resource
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch.utils.data import default_collate
from torch.utils.flop_counter import FlopCounterMode

from ..config import resolve
from . import data as tdata
from .checkpoint import resolve_method_class
from .distributed import DistInfo


def method_config(method: str, profile: str, sets: dict | None = None):
    """``(cls, cfg)`` of ``method`` at ``profile`` + ``sets`` (dotted keys)."""
    cls = resolve_method_class(method)
    return cls, resolve(cls.config_cls, cls.PROFILES, profile, sets)


def open_training_data(cls, cfg, data_root=None):
    """``(samples, cfg)``: the method's training faces with the profile's training masks (what the trainer reads)."""
    faces, cfg = cls.training_faces(cfg, data_root)
    tc = cfg.train
    return tdata.MaskedSamples(faces, tdata.make_mask_sampler(tc, data_root), tc.size), cfg


def step_batches(samples, tc, n_steps: int) -> list[dict]:
    """The first ``n_steps`` training batches (global batch ``tc.batch_size``), collated on the CPU."""
    sampler = tdata.StepBatchSampler(len(samples), tc.batch_size, tc.seed, 0, n_steps)
    return [default_collate([samples[k] for k in keys]) for keys in sampler]


def loader_images_per_s(samples, tc, n_batches: int = 4, num_workers: int | None = None) -> dict:
    """Data-loading rate: decode + resize + mask of ``n_batches`` batches through the trainer's DataLoader.

    Args:
        samples: :class:`~.data.MaskedSamples`.
        tc: TrainConfig (batch size, seed, worker count).
        num_workers: override the profile's ``tc.num_workers``.
    Returns:
        ``{"loader_workers", "loader_images_per_s", "loader_first_batch_s"}`` (the first batch includes worker start-up
        and is excluded from the rate when there is more than one batch).
    """
    workers = tc.num_workers if num_workers is None else num_workers
    sampler = tdata.StepBatchSampler(len(samples), tc.batch_size, tc.seed, 0, n_batches)
    loader = tdata.make_loader(samples, sampler, workers, False)
    t0 = time.perf_counter()
    stamps = []
    for _ in loader:
        stamps.append(time.perf_counter())
    first = stamps[0] - t0
    if len(stamps) > 1:
        rate = (len(stamps) - 1) * tc.batch_size / (stamps[-1] - stamps[0])
    else:
        rate = tc.batch_size / first
    return {"loader_workers": workers, "loader_images_per_s": rate, "loader_first_batch_s": first}


class SavedBytes:
    """Context: bytes of the tensors autograd saves for backward (the activation memory of a step), counted
    once per storage and excluding weights (``nn.Parameter``s, frozen loss networks' too, and the storages in
    ``exclude``)."""

    def __init__(self, exclude: set[int]):
        self.exclude, self.seen, self.bytes = exclude, set(), 0

    def _pack(self, t: torch.Tensor):
        if isinstance(t, torch.nn.Parameter):
            return t
        try:
            st = t.untyped_storage()
            key = st.data_ptr()
            if key not in self.exclude and key not in self.seen:
                self.seen.add(key)
                self.bytes += st.nbytes()
        except (RuntimeError, NotImplementedError):  # tensors without storage (e.g. under compile's fakes)
            pass
        return t

    def __enter__(self):
        self._ctx = torch.autograd.graph.saved_tensors_hooks(self._pack, lambda t: t)
        self._ctx.__enter__()
        return self

    def __exit__(self, *exc):
        return self._ctx.__exit__(*exc)


def build_trainer(cls, cfg, run_dir: Path, device: str = "cpu", profile: str = ""):
    """A :class:`~.trainer.Trainer` for one process on ``device`` (no data loader, nothing written)."""
    from .trainer import Trainer

    return Trainer(cls(cfg), run_dir, faces=[], mask_sampler=None, dist=DistInfo(device=device), profile=profile)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _state_bytes(trainer) -> int:
    """Parameters + gradients + optimiser state bytes of the trained networks."""
    total = 0
    for net in trainer.nets.values():
        total += sum(p.numel() * p.element_size() * (2 if p.requires_grad else 1) for p in net.parameters())
    for opt in trainer.opt.values():
        for st in opt.state.values():
            total += sum(v.numel() * v.element_size() for v in st.values() if torch.is_tensor(v))
    return total


def measure_steps(trainer, batches: list[dict], warmup: int = 1, flops: bool = True) -> dict:
    """Time ``trainer.train_step`` on ``batches`` (the first ``warmup`` untimed), count FLOPs and memory.

    Returns ``{"step_s", "first_step_s", "images_per_s", "flops_per_step", "activation_mb", "state_mb",
    "peak_mem_mb", "peak_mem_source", "loss_finite"}``. ``flops_per_step`` counts every matmul/convolution of one
    whole step (generator and discriminator passes and their backward, loss networks included; 2 FLOPs per
    multiply-add, :class:`torch.utils.flop_counter.FlopCounterMode`). Peak memory: CUDA
    ``max_memory_allocated`` on a GPU; on a CPU an estimate = activations saved for backward + parameters,
    gradients and optimiser state (the process's max RSS is reported separately, as ``rss_max_mb``).
    """
    dev = trainer.device
    bsz = batches[0]["image"].shape[0]
    params = {p.untyped_storage().data_ptr() for net in trainer.nets.values() for p in net.parameters()}
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats(dev)
    times, finite = [], True
    saved = SavedBytes(params)
    for i, batch in enumerate(batches):
        b = trainer._to_device(batch)
        _sync(dev)
        t0 = time.perf_counter()
        with saved if i == 0 else _null():
            terms = trainer.train_step(trainer.step, b)
        _sync(dev)
        times.append(time.perf_counter() - t0)
        trainer.step += 1
        finite = finite and all(bool(torch.isfinite(v).all()) for v in terms.values())
    timed = times[warmup:] or times[-1:]
    step_s = sum(timed) / len(timed)
    out = {"first_step_s": times[0], "step_s": step_s, "images_per_s": bsz / step_s, "loss_finite": finite,
           "activation_mb": saved.bytes / 2**20, "state_mb": _state_bytes(trainer) / 2**20,
           "rss_max_mb": _rss_max_mb()}
    if dev.type == "cuda":
        out.update(peak_mem_mb=torch.cuda.max_memory_allocated(dev) / 2**20,
                   peak_mem_source="cuda max_memory_allocated")
    else:
        out.update(peak_mem_mb=out["activation_mb"] + out["state_mb"],
                   peak_mem_source="estimate: saved activations + params/grads/optimiser state")
    out["flops_per_step"] = count_step_flops(trainer, batches[-1]) if flops else float("nan")
    return out


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _rss_max_mb() -> float:
    """The process's maximum resident set size so far (Linux reports KiB, macOS bytes)."""
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return r / 2**20 if sys.platform == "darwin" else r / 1024


class _NoModuleTracking:
    """Stands in for :class:`FlopCounterMode`'s per-module tracker: every count goes to ``"Global"`` only."""

    parents = frozenset({"Global"})

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


class GlobalFlopCounter(FlopCounterMode):
    """:class:`FlopCounterMode` counting the step's total only. Its per-module tracker installs backward hooks that
    make ``torch.autograd.grad`` fail inside the counted region ("A leaf node was passed to
    _will_engine_execute_node ..."): every method with a gradient penalty or R1 term (GMCNN, CA, DeepFill v2's
    WGAN-GP, StyleGAN2, GFPGAN's variants) crashed ``faceinpaint bench``. Only the total is read here."""

    def __init__(self):
        super().__init__(display=False)
        self.mod_tracker = _NoModuleTracking()


def count_step_flops(trainer, batch: dict) -> int:
    """FLOPs of one full training step on ``batch`` (eager networks: compiled code hides its ops from the counter)."""
    counter = GlobalFlopCounter()
    eager_g, eager_d = trainer.view_g, trainer.view_d
    plain = {n: getattr(m, "_orig_mod", m) for n, m in trainer.view_g.items()}
    trainer.view_g = plain
    trainer.view_d = {n: getattr(m, "_orig_mod", m) for n, m in trainer.view_d.items()}
    try:
        with counter:
            trainer.train_step(trainer.step, trainer._to_device(batch))
        trainer.step += 1
    finally:
        trainer.view_g, trainer.view_d = eager_g, eager_d
    return int(counter.get_total_flops())


def param_counts(trainer) -> dict[str, int]:
    return {n: sum(p.numel() for p in m.parameters()) for n, m in trainer.nets.items()}


def dry_run(method: str, profile: str = "full", sets: dict | None = None, data_root=None, device: str = "cpu",
            steps: int = 2, loader_batches: int = 3) -> dict:
    """Build ``method`` at its ``profile`` (resolution and batch of that profile), run ``steps`` optimisation
    steps on real training batches and measure the data loader at the profile's worker count.

    Returns a dict: ``method, profile, size, batch, device, params`` (per network), ``params_total``, the
    :func:`measure_steps` numbers and the :func:`loader_images_per_s` numbers.
    """
    cls, cfg = method_config(method, profile, sets)
    samples, cfg = open_training_data(cls, cfg, data_root)
    tc = cfg.train
    batches = step_batches(samples, tc, steps)
    with tempfile.TemporaryDirectory(prefix="faceinpaint-dry-run-") as tmp:
        trainer = build_trainer(cls, cfg, Path(tmp), device, profile)
        stats = measure_steps(trainer, batches, warmup=1 if steps > 1 else 0, flops=False)
    loader = loader_images_per_s(samples, tc, loader_batches)
    params = param_counts(trainer)
    return {"method": cls.name, "profile": profile, "size": tc.size, "batch": tc.batch_size, "device": str(device),
            "steps": steps, "bf16": trainer.bf16, "channels_last": trainer.channels_last, "compile": tc.compile,
            "params": params, "params_total": sum(params.values()), **stats, **loader}


def format_dry_run(info: dict) -> str:
    """Plain-text report of :func:`dry_run`."""
    lines = [f"{info['method']} ({info['profile']} profile): {info['size']}x{info['size']}, batch {info['batch']}, "
             f"device {info['device']}, bf16 {info['bf16']}, channels-last {info['channels_last']}, "
             f"compile {info['compile']}"]
    lines += [f"  parameters {name:<10}{n:>14,}" for name, n in info["params"].items()]
    lines += [f"  parameters {'total':<10}{info['params_total']:>14,}",
              f"  activation memory (saved for backward, step 1): {info['activation_mb']:.1f} MiB; "
              f"params+grads+optimiser {info['state_mb']:.1f} MiB; peak {info['peak_mem_mb']:.1f} MiB "
              f"({info['peak_mem_source']})",
              f"  step time: first {info['first_step_s']:.3f} s, then {info['step_s']:.3f} s "
              f"({info['images_per_s']:.2f} images/s); losses finite: {info['loss_finite']}",
              f"  data loader ({info['loader_workers']} workers): {info['loader_images_per_s']:.1f} images/s "
              f"(first batch {info['loader_first_batch_s']:.2f} s)"]
    if info["loader_images_per_s"] < info["images_per_s"]:
        lines.append("  WARNING: the data loader is slower than the training step: raise train.num_workers")
    return "\n".join(lines)
