"""Learning-rate schedules: the rate of every optimiser (G and D) as a pure function of the step.

``lr(step) = base_lr · lr_factor(schedule, step, steps, start)`` where ``step`` is the 0-based index
of the update about to be made and ``steps`` the run's length:

* ``constant``: 1.
* ``linear_decay``: 1 until ``start``, then linearly to 0 at ``steps``:
  ``(steps - step) / (steps - start)`` — pix2pix / LG-Net's ``lr_policy=linear`` (Quan et al. 2022
  release: ``--n_epochs 100 --n_epochs_decay 100``, i.e. the second half decays), per step instead of
  per epoch. Default ``start`` = ``steps // 2``.
* ``cosine``: 1 until ``start``, then ``½(1 + cos(π·(step - start)/(steps - start)))`` (Loshchilov &
  Hutter 2017, SGDR without restarts, η_min = 0). Default ``start`` = 0.

An optional linear warm-up (``warmup`` > 0 steps, Goyal et al. 2017) multiplies any schedule by
``(step + 1) / warmup`` for the first ``warmup`` updates.

Being a function of the step alone, the schedule resumes bit-identically from any checkpoint (which
records the step); the trainer also stores the schedule and the rates in the checkpoint for the record.
"""
from __future__ import annotations

import math

SCHEDULES = ("constant", "linear_decay", "cosine")


def decay_start(schedule: str, steps: int, start: int | None) -> int:
    """The step where the decay begins (``start``, or the schedule's default when None)."""
    if start is not None:
        return int(start)
    return steps // 2 if schedule == "linear_decay" else 0


def lr_factor(schedule: str, step: int, steps: int, start: int | None = None, warmup: int = 0) -> float:
    """Multiplier of the base learning rate for the update at 0-based ``step`` of ``steps``.

    Raises ``ValueError`` naming ``lr_schedule`` / ``lr_decay_start`` for an unknown schedule or a
    start outside ``[0, steps]``.
    """
    if schedule not in SCHEDULES:
        raise ValueError(f"unknown train.lr_schedule {schedule!r}; known: {list(SCHEDULES)}")
    ramp = min(1.0, (step + 1) / warmup) if warmup > 0 else 1.0
    return ramp * _decay(schedule, step, steps, start)


def _decay(schedule: str, step: int, steps: int, start: int | None) -> float:
    if schedule == "constant":
        return 1.0
    s0 = decay_start(schedule, steps, start)
    if not 0 <= s0 <= steps:
        raise ValueError(f"train.lr_decay_start={s0} must lie in [0, train.steps={steps}]")
    if step < s0 or steps == s0:
        return 1.0
    t = min(step - s0, steps - s0) / (steps - s0)
    return 1.0 - t if schedule == "linear_decay" else 0.5 * (1.0 + math.cos(math.pi * t))


def describe_schedule(schedule: str, steps: int, start: int | None, warmup: int = 0) -> dict:
    """``{"name", "start", "steps"}`` (and ``"warmup"`` when on) for checkpoints and provenance."""
    out = {"name": schedule, "start": decay_start(schedule, steps, start), "steps": int(steps)}
    return {**out, "warmup": int(warmup)} if warmup else out


__all__ = ["SCHEDULES", "lr_factor", "decay_start", "describe_schedule"]
