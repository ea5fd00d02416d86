"""Step-indexed training data: the batch of step ``s`` is a pure function of ``(seed, s)``.

Global sample index ``g = s·B + j`` (``B`` = global batch, ``j`` = position in the step's batch). Sample
``g`` is dataset item ``perm_e[g mod n]`` with ``e = g div n`` the epoch and ``perm_e`` a permutation
drawn from ``rng(seed, "train-order", e)``; its mask is ``TrainMaskSampler(kinds, bins, size, seed)(g)``.
Ranks of a multi-process run take contiguous shards of ``j``, so the global batch (and therefore the
run) does not depend on the number of processes, and resuming at step ``s`` restarts the loader at
``s`` with no state to restore.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from ..utils.seeding import rng, torch_generator


class StepBatchSampler(Sampler):
    """Yields, for steps ``start .. steps-1``, this rank's ``[(dataset_index, global_sample_index), ...]``.

    Args:
        n_items: dataset length.
        batch_size: global batch ``B`` (all ranks together); must divide by ``world_size``.
        seed: run seed.
        start, steps: first step to yield and the step count (exclusive end).
        rank, world_size: this process's shard.
    """

    def __init__(self, n_items: int, batch_size: int, seed: int, start: int, steps: int,
                 rank: int = 0, world_size: int = 1):
        if n_items < 1:
            raise ValueError("StepBatchSampler: the training dataset is empty")
        if batch_size % world_size:
            raise ValueError(f"train.batch_size={batch_size} (global) is not divisible by world size {world_size}")
        self.n, self.B, self.seed = n_items, batch_size, seed
        self.start, self.steps, self.rank, self.world = start, steps, rank, world_size

    def __len__(self) -> int:
        return max(0, self.steps - self.start)

    def __iter__(self):
        for s in range(self.start, self.steps):
            yield self.batch_of(s)

    def batch_of(self, step: int) -> list[tuple[int, int]]:
        """This rank's ``(dataset_index, global_sample_index)`` pairs for ``step``."""
        local = self.B // self.world
        first = step * self.B + self.rank * local
        return [(self.item_of(g), g) for g in range(first, first + local)]

    def item_of(self, g: int) -> int:
        epoch, pos = divmod(g, self.n)
        return int(_permutation(self.seed, epoch, self.n)[pos])


@lru_cache(maxsize=4)
def _permutation(seed: int, epoch: int, n: int) -> np.ndarray:
    return rng(seed, "train-order", epoch).permutation(n)


def mask_tensor(mask, size: int, what: str) -> torch.Tensor:
    """A mask sampler's output (numpy / tensor, ``(S, S)`` or ``(1, S, S)``, {0,1} or {0,255}) → ``(1, S, S)`` float, 1 = hole."""
    m = torch.as_tensor(np.asarray(mask) if not isinstance(mask, torch.Tensor) else mask).float()
    m = m.reshape(1, *m.shape[-2:]) if m.dim() in (2, 3) and (m.dim() == 2 or m.shape[0] == 1) else m
    if m.shape != (1, size, size):
        raise ValueError(f"{what}: mask has shape {tuple(m.shape)}, expected (1, {size}, {size})")
    return m / 255.0 if m.max() > 1 else m


class MaskedSamples(Dataset):
    """Wraps a face dataset: item ``(i, g)`` = face ``i`` + ``"mask"`` from ``mask_sampler(g)`` + ``"sample"`` = g."""

    def __init__(self, faces: Dataset, mask_sampler, size: int):
        self.faces, self.mask_sampler, self.size = faces, mask_sampler, size

    def __len__(self) -> int:
        return len(self.faces)

    def __getitem__(self, key: tuple[int, int]) -> dict:
        i, g = key
        item = dict(self.faces[i])
        item["mask"] = mask_tensor(self.mask_sampler(g), self.size, f"training mask of sample {g}")
        item["sample"] = g
        return item


def make_mask_sampler(cfg, data_root=None):
    """``TrainMaskSampler(kinds, bins, size, seed)`` from a :class:`~faceinpaint_core.config.TrainConfig`
    (``data_root`` is where the external kinds, ``nvidia`` / ``qdimd``, find their files)."""
    from .. import masks

    return masks.TrainMaskSampler(cfg.train_masks, cfg.train_bins, cfg.size, cfg.seed, source_root=data_root)


def make_loader(samples: MaskedSamples, sampler: StepBatchSampler, num_workers: int, pin_memory: bool) -> DataLoader:
    """A DataLoader over step batches; its own generator keeps the global torch RNG untouched (resume bit-identity)."""
    return DataLoader(samples, batch_sampler=sampler, num_workers=num_workers, pin_memory=pin_memory,
                      persistent_workers=False, generator=torch_generator(sampler.seed, "loader", sampler.start),
                      prefetch_factor=4 if num_workers > 0 else None)


def to_device(batch: dict, device, channels_last: bool = False,
              keys: tuple[str, ...] = ("image", "mask", "parsing")) -> dict[str, torch.Tensor]:
    """The method's batch: the ``keys`` present (the method's ``batch_keys``) as tensors on ``device``;
    other keys dropped."""
    out = {}
    for key in keys:
        if key in batch:
            t = batch[key].to(device, non_blocking=True)
            out[key] = t.contiguous(memory_format=torch.channels_last) if channels_last and t.dim() == 4 else t
    return out
