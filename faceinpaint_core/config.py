"""Frozen-dataclass configs, named profiles and ``--set key=value`` overrides.

Each component has one frozen ``@dataclass`` whose defaults are the paper's values (the ``full``
profile). A profile is a named dict of overrides declared next to the method
(``PROFILES = {"smoke": {...}, "full": {}}``); :func:`resolve` applies a profile and then the
user's ``--set`` overrides (dotted keys reach nested dataclasses: ``train.steps=50``).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields, is_dataclass, replace
from typing import Any

import yaml


@dataclass(frozen=True)
class TrainConfig:
    """Trainer settings shared by every method (the method's own config embeds one as ``train``)."""

    def __post_init__(self):
        """Reject impossible values at once (before a run folder exists), naming the ``train.<key>``."""
        for name, lo in _TRAIN_MINIMA.items():
            _check_at_least(f"train.{name}", getattr(self, name), lo)
        for name in ("lr_g", "lr_d"):
            _check_positive(f"train.{name}", getattr(self, name))
        for name in ("ema_decay", "grad_clip"):
            if getattr(self, name) is not None:
                _check_positive(f"train.{name}", getattr(self, name))
        if self.ema_decay is not None and not self.ema_decay < 1:
            raise ValueError(f"train.ema_decay must be in (0, 1) or None, got {self.ema_decay!r}")
        if len(self.betas) != 2 or not all(0 <= b < 1 for b in self.betas):
            raise ValueError(f"train.betas must be two numbers in [0, 1), got {self.betas!r}")
        if self.lr_schedule not in ("constant", "linear_decay", "cosine"):  # train/lr_schedule.SCHEDULES
            raise ValueError(f"train.lr_schedule must be one of constant, linear_decay, cosine, "
                             f"got {self.lr_schedule!r}")
        if self.lr_decay_start is not None and not 0 <= self.lr_decay_start <= self.steps:
            raise ValueError(f"train.lr_decay_start={self.lr_decay_start!r}: must be in [0, train.steps={self.steps}] "
                             f"or None")

    size: int = 256                 # working resolution (square)
    batch_size: int = 8
    steps: int = 200_000
    lr_g: float = 1e-4
    lr_d: float = 4e-4              # shared fallback: the two-time-scale 4:1 of SAGAN (Zhang et al. 2019);
                                    # every method sets its own source's lr_g / lr_d (see its docstring)
    betas: tuple[float, float] = (0.5, 0.999)
    lr_schedule: str = "constant"   # constant | linear_decay | cosine (train/lr_schedule.py), G and D alike
    lr_decay_start: int | None = None  # step where the decay begins; None = steps // 2 for linear_decay
                                       # (LG-Net: 100 constant + 100 decaying epochs), 0 for cosine
    lr_warmup: int = 0              # linear warm-up steps (0 = none), before/under the schedule
    optimizer: str = "adam"         # adam | rmsprop (WGAN with weight clipping)
    n_critic: int = 1               # discriminator updates per generator update
    ema_decay: float | None = None  # generator EMA (None = off)
    ema_warmup: bool = True         # EMA decay min(ema_decay, (1 + n) / (10 + n)) at the n-th update (Polyak
                                    # averaging with TF's num_updates): without it the EMA keeps ema_decay**n of
                                    # the random initial weights (0.999: 13.5 % after 2000 steps)
    grad_clip: float | None = None  # max grad norm for G and D (None = off)
    ckpt_every: int = 5000
    log_every: int = 50
    sample_every: int = 2000
    keep_checkpoints: int = 3
    num_workers: int = 4
    pin_memory: bool = True
    bf16: bool = True               # bf16 autocast on CUDA
    channels_last: bool = True      # channels-last memory format on CUDA
    bf16_cpu: bool = False          # bf16 autocast on CPU too (off: fp32 is faster on CPUs without AMX/bf16 units)
    channels_last_cpu: bool = False  # channels-last on CPU too (tests use it to check GPU-readiness on CPU)
    compile: bool = False
    compile_backend: str = "inductor"  # torch.compile backend (aot_eager: graph capture without code generation)
    deterministic: bool = False
    seed: int = 0                   # the run's seed: initialisation, batch order, training masks, noise
    split_seed: int = 0             # the data's seed: train / val / test split (and TSGAN's identity split, synthetic
                                    # turns and occlusions). Separate from `seed` so that a seed sweep keeps the
                                    # held-out faces the study evaluates on (its protocol seed, 0) out of training
    dataset: str = "celebamask-hq"  # a name known to faceinpaint_core.data, or a folder
    train_masks: tuple[str, ...] = ("rect", "circle", "irregular")
    train_bins: tuple[str, ...] = ("1-10", "10-20", "20-30", "30-40", "40-50", "50-60")
    val_images: int = 64
    val_every: int = 0              # learning curve: PSNR/SSIM of G (EMA when on) on a fixed validation set every
                                    # N steps, written to val.csv with the biharmonic level (0 = off)
    val_curve_images: int = 32      # faces in that fixed validation set (val split, seeded masks of train_masks)
    perceptual_weights: str = "imagenet"  # imagenet | random (random-init VGG: tests / smoke, labelled)


# smallest allowed value of each integer TrainConfig field
_TRAIN_MINIMA = {"size": 8, "batch_size": 1, "steps": 1, "n_critic": 1, "ckpt_every": 1, "log_every": 1,
                 "sample_every": 1, "keep_checkpoints": 1, "num_workers": 0, "val_images": 0, "seed": 0,
                "val_every": 0, "val_curve_images": 1, "lr_warmup": 0}


def _check_at_least(key: str, value, lo: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < lo:
        raise ValueError(f"{key} must be an integer >= {lo}, got {value!r}")


def _check_positive(key: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"{key} must be a number > 0, got {value!r}")


def _coerce(value: str, like: Any):
    """Parse a ``--set`` string into the type of the field's current value (``ValueError`` saying what is allowed)."""
    if isinstance(like, bool):
        if value.lower() in ("1", "true", "yes", "on"):
            return True
        if value.lower() in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"expected a boolean (true/false), got {value!r}")
    if isinstance(like, str):
        return value
    parsed = _yaml_value(value, like)
    if like is None or isinstance(like, (tuple, list, dict)):
        return tuple(parsed) if isinstance(parsed, list) else parsed
    if isinstance(like, int):
        if isinstance(parsed, bool) or not isinstance(parsed, int):
            raise ValueError(f"expected an integer, got {value!r}")
        return parsed
    if isinstance(like, float):
        if isinstance(parsed, bool) or not isinstance(parsed, (int, float)):
            raise ValueError(f"expected a number, got {value!r}")
        return float(parsed)
    return type(like)(parsed)


def _yaml_value(value: str, like: Any):
    """YAML-parse ``value``; ``None`` means null, and a float literal YAML 1.1 leaves as text (``1e-4``) is a float."""
    if value.strip() in ("None", "none"):
        return None
    try:
        parsed = yaml.safe_load(value)
    except yaml.YAMLError:
        raise ValueError(f"cannot parse {value!r} (expected a value like the current {like!r})") from None
    if isinstance(parsed, str):
        try:
            return float(parsed)
        except ValueError:
            return parsed
    return parsed


def override(cfg, updates: dict[str, Any], _prefix: str = ""):
    """Return ``cfg`` with dotted-key ``updates`` applied; unknown keys raise ``ValueError`` listing the known ones.

    A value that does not parse raises ``ValueError`` naming the full dotted key (``train.steps=abc: ...``).
    """
    nested: dict[str, dict[str, Any]] = {}
    flat: dict[str, Any] = {}
    names = {f.name: f for f in fields(cfg)}
    for key, val in updates.items():
        head, _, rest = key.partition(".")
        if head not in names:
            raise ValueError(f"unknown config key {_prefix + key!r} for {type(cfg).__name__}; known: {sorted(names)}")
        if rest:
            nested.setdefault(head, {})[rest] = val
        else:
            cur = getattr(cfg, head)
            if is_dataclass(cur) and isinstance(val, dict):
                nested.setdefault(head, {}).update(val)
            else:
                flat[head] = _coerce_key(_prefix + key, val, cur)
    for head, sub in nested.items():
        flat[head] = override(getattr(cfg, head), sub, f"{_prefix}{head}.")
    return replace(cfg, **flat)


def _coerce_key(key: str, val: Any, cur: Any):
    """:func:`_coerce` with the dotted ``key`` in the error message."""
    if not isinstance(val, str):
        return tuple(val) if isinstance(val, list) else val
    try:
        return _coerce(val, cur)
    except (ValueError, TypeError) as err:
        raise ValueError(f"{key}={val}: {err}") from None


def parse_sets(pairs: list[str] | None) -> dict[str, str]:
    """``["a=1", "train.steps=5"]`` → ``{"a": "1", "train.steps": "5"}``."""
    out = {}
    for p in pairs or []:
        k, eq, v = p.partition("=")
        if not eq or not k.strip():
            raise ValueError(f"--set expects KEY=VALUE (e.g. train.steps=500), got {p!r}")
        out[k.strip()] = v.strip()
    return out


def resolve(config_cls, profiles: dict[str, dict], profile: str, sets: dict[str, Any] | None = None):
    """Default config → profile overrides → user overrides."""
    if profile not in profiles:
        raise ValueError(f"unknown profile {profile!r}; known: {sorted(profiles)}")
    return override(override(config_cls(), profiles[profile]), sets or {})


def to_dict(cfg) -> dict:
    return dataclasses.asdict(cfg)


def to_yaml(cfg) -> str:
    def plain(x):
        if isinstance(x, dict):
            return {k: plain(v) for k, v in x.items()}
        if isinstance(x, (list, tuple)):
            return [plain(v) for v in x]
        return x
    return yaml.safe_dump(plain(to_dict(cfg)), sort_keys=False)


def from_dict(config_cls, data: dict):
    """Rebuild a (possibly nested) frozen config from :func:`to_dict` output (e.g. a checkpoint)."""
    kwargs = {}
    for f in fields(config_cls):
        if f.name not in data:
            continue
        val = data[f.name]
        sub_default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        if is_dataclass(sub_default) and isinstance(val, dict):
            val = from_dict(type(sub_default), val)
        elif isinstance(val, list):
            val = tuple(val)
        kwargs[f.name] = val
    return config_cls(**kwargs)


__all__ = ["TrainConfig", "override", "parse_sets", "resolve", "to_dict", "to_yaml", "from_dict", "field"]
