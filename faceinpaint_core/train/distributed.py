"""Multi-GPU / multi-node plumbing for ``torchrun`` (DistributedDataParallel, NCCL on GPU, gloo on CPU).

``torchrun --nproc_per_node=K -m faceinpaint_core.cli train ...`` sets ``RANK``, ``WORLD_SIZE``,
``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT``; :func:`init_distributed` reads them. Each rank
takes a contiguous shard of every step's global batch (:class:`~.data.StepBatchSampler`), has its own
training RNG stream (``seed, "train", rank``), and only rank 0 writes the run folder. Multi-node
runs need the run folder on a shared filesystem (every rank reads the checkpoint when resuming).
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn


@dataclass(frozen=True)
class DistInfo:
    """This process's place in the run: ``rank`` of ``world_size``, ``local_rank`` on its node, ``device``."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: str = "cpu"
    owns_group: bool = False  # True when init_distributed created the process group (and must destroy it)

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def default_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


def init_distributed(device: str | None = None) -> DistInfo:
    """Join the process group described by torchrun's environment (single process when ``WORLD_SIZE`` ≤ 1).

    Args:
        device: ``"cpu"`` forces CPU + gloo; default: CUDA (one GPU per local rank, NCCL) when available.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo(device=device or default_device())
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", os.environ["RANK"]))
    use_cuda = torch.cuda.is_available() and (device or "cuda").startswith("cuda")
    if use_cuda:
        torch.cuda.set_device(local)
    owns = not dist.is_initialized()
    if owns:
        dist.init_process_group("nccl" if use_cuda else "gloo", rank=rank, world_size=world)
    return DistInfo(rank, world, local, f"cuda:{local}" if use_cuda else "cpu", owns)


def cleanup(info: DistInfo) -> None:
    """Destroy the process group if :func:`init_distributed` created it."""
    if info.owns_group and dist.is_initialized():
        dist.destroy_process_group()


def wrap_ddp(module: nn.Module, info: DistInfo, find_unused: bool = False) -> nn.Module:
    """``DistributedDataParallel(module)`` in a multi-process run with trainable parameters; else ``module``."""
    if not info.distributed or not any(p.requires_grad for p in module.parameters()):
        return module
    ids = [info.local_rank] if info.device.startswith("cuda") else None
    return nn.parallel.DistributedDataParallel(module, device_ids=ids, find_unused_parameters=find_unused)


def broadcast_object(obj, info: DistInfo):
    """Rank 0's ``obj`` on every rank (a picklable object, e.g. the run folder's path)."""
    if not info.distributed:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def gather_objects(obj, info: DistInfo) -> list:
    """``[obj of rank 0, obj of rank 1, ...]`` on every rank."""
    if not info.distributed:
        return [obj]
    out = [None] * info.world_size
    dist.all_gather_object(out, obj)
    return out


def mean_across_ranks(values: torch.Tensor, info: DistInfo) -> torch.Tensor:
    """Element-wise mean of a float tensor over ranks (for logging)."""
    if info.distributed:
        values = values.clone()
        dist.all_reduce(values)
        values /= info.world_size
    return values


def barrier(info: DistInfo) -> None:
    if info.distributed:
        dist.barrier()
