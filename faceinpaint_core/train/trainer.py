"""The one generic adversarial trainer (every method plugs in through :mod:`faceinpaint_core.methods.base`).

Per step (``steps`` counts iterations, one batch each): the learning rates of the step (schedule
``train.lr_schedule``, :mod:`.lr_schedule`, for G and D alike), a generator pass, one discriminator
update (when the method has discriminators), and a generator update every ``n_critic``-th step (every
step when there is no D). So ``n_critic = 5`` gives WGAN's five critic updates, each on a fresh batch, per
generator update. Optional generator EMA, gradient-norm clipping, bf16 autocast (``train.bf16`` on CUDA,
``train.bf16_cpu`` on CPU), channels-last (``train.channels_last`` / ``train.channels_last_cpu``),
``torch.compile`` (``train.compile``), DDP through torchrun, and a learning curve (``train.val_every``:
validation PSNR/SSIM every N steps into ``val.csv``, :mod:`.valcurve`).

Before the first step the trainer calls ``method.prepare_training()`` (base contract: builds frozen
loss networks such as the perceptual VGG, so that missing weights fail before training starts).
Optional method hooks (not in the base contract): ``after_discriminator_step(nets)`` (e.g. WGAN
weight clipping: ``AdversarialLoss.clip_weights``) and ``ddp_find_unused_parameters = True``.
"""
from __future__ import annotations

import contextlib
import copy
import json
import logging
import re
from pathlib import Path

import torch
from tqdm.auto import tqdm

from ..config import resolve, to_dict, to_yaml
from ..utils.io import atomic_write_json, atomic_write_text
from ..utils.provenance import provenance
from ..utils.seeding import derive_seed, seed_everything
from . import data as tdata
from .runlog import RunLog, save_sample_grid
from .valcurve import open_validation_curve
from .lr_schedule import describe_schedule, lr_factor
from .checkpoint import (clean_state_dict, load_checkpoint, method_class_path, prune_checkpoints, resolve_method_class,
                         rng_state,
                         save_checkpoint, set_rng_state, step_path)
from .distributed import (DistInfo, barrier, broadcast_object, cleanup, gather_objects, init_distributed,
                          mean_across_ranks, wrap_ddp)

log = logging.getLogger(__name__)
OPTIMIZERS = ("adam", "adamw", "rmsprop")


def make_optimizer(params, lr: float, tc, name: str | None = None) -> torch.optim.Optimizer:
    """Adam/AdamW (``tc.betas``) or RMSProp (WGAN with weight clipping): ``name``, else ``tc.optimizer``."""
    name = name or tc.optimizer
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, betas=tuple(tc.betas))
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, betas=tuple(tc.betas))
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr)
    raise ValueError(f"unknown optimizer {name!r}; known: {list(OPTIMIZERS)}")


def to_channels_last(net: torch.nn.Module) -> torch.nn.Module:
    """Channels-last for every 4-D parameter and buffer of ``net`` (convolution weights); others (linear weights,
    StyleGAN2's 5-D modulated-conv weights) are left as they are (``Module.to(memory_format=...)`` rejects them)."""
    with torch.no_grad():
        for t in list(net.parameters()) + list(net.buffers()):
            if t.dim() == 4:
                t.data = t.data.contiguous(memory_format=torch.channels_last)
    return net


def ema_decay_at(decay: float, updates: int, warmup: bool = True) -> float:
    """The generator EMA's decay at its ``updates``-th update (1-based): ``decay``, or with ``warmup``
    ``min(decay, (1 + updates) / (10 + updates))`` (TensorFlow's ExponentialMovingAverage with ``num_updates``), so
    that the average forgets the random initial weights within a few hundred steps whatever ``decay`` is."""
    return min(decay, (1 + updates) / (10 + updates)) if warmup else decay


class Trainer:
    """Trains one method instance into ``run_dir`` (see the module docstring for the step).

    Args:
        method: an :class:`~faceinpaint_core.methods.base.InpaintMethod` (its ``cfg.train`` drives everything).
        run_dir: the run folder (created by :func:`train_main`; only rank 0 writes it).
        faces: training face dataset (items with ``"image"`` and maybe ``"parsing"``).
        mask_sampler: callable ``global_sample_index -> (S, S) / (1, S, S) mask``, 1 = hole.
        dist: this process's :class:`~.distributed.DistInfo` (default: single process, CUDA if available).
        profile: profile name, recorded in checkpoints and provenance.
    """

    def __init__(self, method, run_dir: Path, faces, mask_sampler, dist: DistInfo | None = None, profile: str = "",
                 val_curve=None):
        self.method, self.tc, self.run_dir, self.profile = method, method.cfg.train, Path(run_dir), profile
        self.val_curve = val_curve  # a .valcurve.ValidationCurve (train.val_every) or None
        self.dist = dist or init_distributed()
        self.device = torch.device(self.dist.device)
        self.faces, self.samples = faces, tdata.MaskedSamples(faces, mask_sampler, self.tc.size)
        self.cuda = self.device.type == "cuda"
        self.channels_last = self.tc.channels_last if self.cuda else self.tc.channels_last_cpu
        self.bf16 = self.tc.bf16 if self.cuda else self.tc.bf16_cpu
        self.step = 0
        seed_everything(derive_seed(self.tc.seed, "init"), self.tc.deterministic)  # identical init on all ranks
        self._build()
        seed_everything(derive_seed(self.tc.seed, "train", self.dist.rank), self.tc.deterministic)

    # -- setup ------------------------------------------------------------------------------
    def _build(self) -> None:
        self.nets = self.method.build_networks()
        self.method.prepare_training()
        self.g_names = [n for n in self.method.generator_names() if n in self.nets]
        self.d_names = self.method.discriminator_names(self.nets)
        if not self.g_names:
            raise ValueError(f"method {self.method.name!r}: none of generator_names() "
                             f"{self.method.generator_names()} is among its networks {sorted(self.nets)}")
        for name, net in self.nets.items():
            net.to(self.device)
            if self.channels_last:
                to_channels_last(net)
            trainable = name in self.g_names or name in self.d_names
            net.train(trainable).requires_grad_(trainable)
        self.g_params = [p for n in self.g_names for p in self.nets[n].parameters()]
        self.d_params = [p for n in self.d_names for p in self.nets[n].parameters()]
        pick = getattr(self.method, "optimizer_name", lambda side: self.tc.optimizer)  # base contract hook
        self.opt = {"G": make_optimizer(self.g_params, self.tc.lr_g, self.tc, pick("G"))}
        if self.d_params:
            self.opt["D"] = make_optimizer(self.d_params, self.tc.lr_d, self.tc, pick("D"))
        self.base_lr = {"G": self.tc.lr_g, "D": self.tc.lr_d}
        self._set_lr(0)  # an unknown schedule or a bad decay start fails here, before any step
        self.ema = ({n: copy.deepcopy(self.nets[n]).eval().requires_grad_(False) for n in self.g_names}
                    if self.tc.ema_decay else {})
        self._wrap()

    def _wrap(self) -> None:
        """Views of the nets: G-side calls go through DDP(G) and plain D; D-side calls through DDP(D) and plain G."""
        find_unused = bool(getattr(self.method, "ddp_find_unused_parameters", False))
        comp = (lambda m: torch.compile(m, backend=self.tc.compile_backend)) if self.tc.compile else (lambda m: m)
        plain = {n: comp(m) if n in self.g_names or n in self.d_names else m for n, m in self.nets.items()}
        ddp = {n: comp(wrap_ddp(self.nets[n], self.dist, find_unused)) for n in self.g_names + self.d_names}
        self.view_g = {**plain, **{n: ddp[n] for n in self.g_names}}
        self.view_d = {**plain, **{n: ddp[n] for n in self.d_names}}

    def _autocast(self):
        if self.bf16:
            return torch.autocast(self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    # -- one step ---------------------------------------------------------------------------
    def _set_lr(self, step: int) -> None:
        """Every optimiser's rate for the update at 0-based ``step`` (a pure function of the step)."""
        tc = self.tc
        factor = lr_factor(tc.lr_schedule, step, tc.steps, tc.lr_decay_start, tc.lr_warmup)
        for side, opt in self.opt.items():
            for group in opt.param_groups:
                group["lr"] = self.base_lr[side] * factor

    def current_lr(self) -> dict[str, float]:
        """``{"lr_G": ..., "lr_D": ...}``: the rates of the last (or next) update."""
        return {f"lr_{side}": opt.param_groups[0]["lr"] for side, opt in self.opt.items()}

    def train_step(self, step: int, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """One iteration on ``batch``; returns detached loss terms ``{"G/...": t, "D/...": t}``."""
        self._set_lr(step)
        g_step = not self.d_names or (step + 1) % max(1, self.tc.n_critic) == 0
        with self._autocast(), torch.set_grad_enabled(g_step):
            out = self.method.forward(self.view_g, batch)
        terms = self._d_step(batch, out) if self.d_names else {}
        if g_step:
            terms.update(self._g_step(batch, out))
        return terms

    def _d_step(self, batch, out) -> dict[str, torch.Tensor]:
        detached = {k: v.detach() if torch.is_tensor(v) else v for k, v in out.items()}
        with self._autocast():
            total, terms = self.method.discriminator_loss(self.view_d, batch, detached)
        self._update("D", total, self.d_params)
        hook = getattr(self.method, "after_discriminator_step", None)
        if hook is not None:
            hook(self.nets)
        return {"D/total": total.detach(), **{f"D/{k}": v.detach() for k, v in terms.items()}}

    def _g_step(self, batch, out) -> dict[str, torch.Tensor]:
        for p in self.d_params:
            p.requires_grad_(False)  # G's loss must not leave gradients (or DDP hooks) on D
        try:
            with self._autocast():
                total, terms = self.method.generator_loss(self.view_g, batch, out)
            self._update("G", total, self.g_params)
        finally:
            for p in self.d_params:
                p.requires_grad_(True)
        self._update_ema()
        return {"G/total": total.detach(), **{f"G/{k}": v.detach() for k, v in terms.items()}}

    def _update(self, side: str, total: torch.Tensor, params: list) -> None:
        opt = self.opt[side]
        opt.zero_grad(set_to_none=True)
        total.backward()
        if self.tc.grad_clip:
            torch.nn.utils.clip_grad_norm_(params, self.tc.grad_clip)
        opt.step()

    @torch.no_grad()
    def _update_ema(self) -> None:
        if not self.ema:
            return
        decay = ema_decay_at(self.tc.ema_decay, self.step + 1, self.tc.ema_warmup)
        for name, ema in self.ema.items():
            live = self.nets[name]
            torch._foreach_lerp_(list(ema.parameters()), list(live.parameters()), 1.0 - decay)
            for e, b in zip(ema.buffers(), live.buffers()):
                e.copy_(b)

    # -- state ------------------------------------------------------------------------------
    def state(self) -> dict:
        """The checkpoint dict (call on every rank: it gathers each rank's RNG state)."""
        rngs = gather_objects(rng_state(), self.dist)
        return {"method": self.method.name, "method_class": method_class_path(type(self.method)),
                "profile": self.profile, "config": to_dict(self.method.cfg), "step": self.step,
                "world_size": self.dist.world_size,
                "nets": {n: m.state_dict() for n, m in self.nets.items()},
                "ema": {n: m.state_dict() for n, m in self.ema.items()},
                "optimizers": {k: o.state_dict() for k, o in self.opt.items()}, "rng": rngs,
                "lr_schedule": {**describe_schedule(self.tc.lr_schedule, self.tc.steps, self.tc.lr_decay_start,
                                                    self.tc.lr_warmup),
                                "base_lr": dict(self.base_lr), "lr": self.current_lr()}}

    def load_state(self, path: Path) -> None:
        """Resume from a checkpoint: weights, EMA, optimisers, step and this rank's RNG state."""
        ckpt = load_checkpoint(path, map_location=self.device)
        if ckpt["method"] != self.method.name:
            raise ValueError(f"{path}: checkpoint of method {ckpt['method']!r}, cannot resume {self.method.name!r}")
        for n, m in self.nets.items():
            m.load_state_dict(clean_state_dict(ckpt["nets"][n]))
        for n, m in self.ema.items():
            m.load_state_dict(clean_state_dict(ckpt["ema"].get(n, self.nets[n].state_dict())))
        for k, o in self.opt.items():
            o.load_state_dict(ckpt["optimizers"][k])
        self.step = int(ckpt["step"])
        self._set_lr(self.step)  # the schedule is a function of the step: resuming restores it exactly
        saved = ckpt.get("lr_schedule", {})
        now = describe_schedule(self.tc.lr_schedule, self.tc.steps, self.tc.lr_decay_start, self.tc.lr_warmup)
        if saved and {k: saved.get(k) for k in now} != now:
            log.warning("%s: saved with lr schedule %s, resuming with %s", path,
                        {k: saved.get(k) for k in now}, now)
        if len(ckpt["rng"]) == self.dist.world_size:
            set_rng_state(ckpt["rng"][self.dist.rank])
        else:  # another world size: fresh per-rank streams keyed by the step (not bit-identical, by necessity)
            log.warning("%s: saved with %d ranks, resuming with %d: re-seeding RNGs", path, len(ckpt["rng"]),
                        self.dist.world_size)
            seed_everything(derive_seed(self.tc.seed, f"train@{self.step}", self.dist.rank))

    def save(self, path: Path) -> None:
        state = self.state()
        if self.dist.is_main:
            save_checkpoint(state, path)
        barrier(self.dist)

    # -- loop -------------------------------------------------------------------------------
    def fit(self, resume_from: Path | None = None) -> Path:
        """Train to ``cfg.train.steps``; returns the path of ``checkpoints/final.pt``."""
        if resume_from is not None:
            self.load_state(resume_from)
        sampler = tdata.StepBatchSampler(len(self.faces), self.tc.batch_size, self.tc.seed, self.step,
                                         self.tc.steps, self.dist.rank, self.dist.world_size)
        loader = tdata.make_loader(self.samples, sampler, self.tc.num_workers, self.tc.pin_memory and self.cuda)
        runlog = RunLog(self.run_dir, self.step, enabled=self.dist.is_main)
        fixed = self._fixed_batch(sampler)
        final = self.run_dir / "checkpoints" / "final.pt"
        try:
            self._loop(loader, runlog, fixed)
            self.save(final)
            self._samples(fixed, runlog)
        finally:
            runlog.close()
        return final

    def _loop(self, loader, runlog: RunLog, fixed) -> None:
        tc, acc = self.tc, {}
        bar = tqdm(total=tc.steps, initial=self.step, disable=not self.dist.is_main, dynamic_ncols=True,
                   desc=f"{self.method.name}")
        if self.step == 0:
            self._validate()
        for batch in loader:
            terms = self.train_step(self.step, self._to_device(batch))
            self.step += 1
            for k, v in terms.items():
                acc.setdefault(k, []).append(v.float())
            done = self.step == tc.steps
            if self.step % tc.log_every == 0 or done:
                means = self._reduce(acc)
                runlog.log(self.step, {**means, **self.current_lr()})
                bad = [k for k, v in means.items() if v != v or abs(v) == float("inf")]
                if bad:  # checked at log time only: a per-step check would sync the GPU every step
                    raise FloatingPointError(f"{self.run_dir}: non-finite loss terms {bad} by step {self.step}")
                bar.set_postfix({k: f"{v:.3g}" for k, v in means.items() if k.endswith("total")}, refresh=False)
                acc = {}
            if tc.val_every and (self.step % tc.val_every == 0 or done):
                self._validate()
            if self.step % tc.sample_every == 0 and not done:
                self._samples(fixed, runlog)
            if self.step % tc.ckpt_every == 0 and not done:
                self.save(step_path(self.run_dir / "checkpoints", self.step))
                if self.dist.is_main:
                    prune_checkpoints(self.run_dir / "checkpoints", tc.keep_checkpoints)
            bar.update(1)
        bar.close()

    def _reduce(self, acc: dict[str, list[torch.Tensor]]) -> dict[str, float]:
        keys = sorted(acc)
        if not keys:
            return {}
        means = torch.stack([torch.stack(acc[k]).mean() for k in keys])
        return dict(zip(keys, mean_across_ranks(means, self.dist).tolist()))

    def _validate(self) -> None:
        """One learning-curve point (rank 0; EMA generators when present); never touches the training RNG."""
        if self.val_curve is None or not self.dist.is_main:
            return
        view = {**self.nets, **self.ema}
        psnr_v, ssim_v = self.val_curve.evaluate(self.method, view, self.device, self._autocast())
        self.val_curve.log(self.run_dir, self.step, psnr_v, ssim_v)

    def _fixed_batch(self, sampler: tdata.StepBatchSampler) -> dict[str, torch.Tensor]:
        """The sample-grid batch: rank 0's share of step 0 (at most 8 faces), same in every run of this seed."""
        from torch.utils.data import default_collate

        keys = sampler.batch_of(0)[:8]
        return self._to_device(default_collate([self.samples[k] for k in keys]))

    def _to_device(self, batch: dict) -> dict[str, torch.Tensor]:
        keys = tuple(getattr(self.method, "batch_keys", ("image", "mask", "parsing")))
        return tdata.to_device(batch, self.device, self.channels_last, keys)

    @torch.no_grad()
    def _samples(self, batch, runlog: RunLog) -> None:
        """Write a sample grid (EMA generators when present); never touches the training RNG streams."""
        if not self.dist.is_main:
            return
        view = {**self.nets, **self.ema}
        modes = {n: view[n].training for n in self.g_names}
        devices = [self.device] if self.cuda else []
        with torch.random.fork_rng(devices=devices), self._autocast():
            for n in self.g_names:
                view[n].eval()
            out = self.method.forward(view, batch)
            cols = {k: v.float() for k, v in self.method.sample_images(batch, out).items()}
        for n, mode in modes.items():
            view[n].train(mode)
        save_sample_grid(cols, self.run_dir / "samples" / f"step-{self.step:07d}.png", runlog, self.step)


# -- run log: CSV + TensorBoard + sample grids --------------------------------------------------
_RUN = re.compile(r"^(\d{5})-(.+)$")


def run_dirs(out: Path, method: str, profile: str) -> list[Path]:
    """Existing ``NNNNN-<method>-<profile>`` folders in ``out``, oldest first."""
    if not out.is_dir():
        return []
    return sorted(p for p in out.iterdir() if p.is_dir() and _RUN.match(p.name)
                  and _RUN.match(p.name).group(2) == f"{method}-{profile}")


def new_run_dir(out: Path, method: str, profile: str) -> Path:
    """Create ``out/<NNNNN>-<method>-<profile>`` with the next free number (race-safe)."""
    out.mkdir(parents=True, exist_ok=True)
    while True:
        nums = [int(m.group(1)) for p in out.iterdir() if (m := _RUN.match(p.name))]
        run = out / f"{max(nums, default=-1) + 1:05d}-{method}-{profile}"
        try:
            run.mkdir()
            return run
        except FileExistsError:
            continue


def choose_run(out: Path, method: str, profile: str, resume: bool) -> tuple[Path, Path | None]:
    """``(run_dir, checkpoint to resume or None)``: the newest run with a checkpoint when ``resume``."""
    from .checkpoint import latest_checkpoint

    if resume:
        for run in reversed(run_dirs(out, method, profile)):
            ckpt = latest_checkpoint(run / "checkpoints")
            if ckpt is not None:
                log.info("resuming %s from %s", run, ckpt)
                return run, ckpt
        log.warning("--resume: no checkpoint of %s-%s under %s; starting a new run", method, profile, out)
    return new_run_dir(out, method, profile), None


def write_run_files(trainer: Trainer, resumed_from: Path | None) -> None:
    """config.yaml and provenance.json (a resume appends itself to provenance's ``resumes``)."""
    tc, run = trainer.tc, trainer.run_dir
    atomic_write_text(run / "config.yaml", to_yaml(trainer.method.cfg))
    prov_path = run / "provenance.json"
    if resumed_from is not None and prov_path.is_file():
        prov = json.loads(prov_path.read_text())
        prov.setdefault("resumes", []).append({"from": str(resumed_from), "step": trainer.step,
                                               **provenance(trainer.device)})
    else:
        prov = provenance(trainer.device, seed=tc.seed, method=trainer.method.name, profile=trainer.profile,
                          world_size=trainer.dist.world_size, global_batch=tc.batch_size,
                          data={"dataset": tc.dataset, "split": "train", "split_seed": tc.split_seed,
                                "n_images": len(trainer.faces),
                                "folder": getattr(trainer.faces, "folder", "unknown"),
                                "n_files_total": getattr(trainer.faces, "n_files_total", None),
                                "split_hash": getattr(trainer.faces, "split_hash", "unknown")},
                          masks={"kinds": list(tc.train_masks), "bins": list(tc.train_bins), "size": tc.size,
                                 "seed": tc.seed, "sampler": type(trainer.samples.mask_sampler).__name__},
                          perceptual_weights=tc.perceptual_weights + (
                              " (random-init VGG16: perceptual/style numbers are NOT ImageNet-perceptual)"
                              if tc.perceptual_weights == "random" else ""),
                          precision="bf16 autocast" if trainer.bf16 else "fp32",
                          memory_format="channels_last" if trainer.channels_last else "contiguous",
                          compiled=bool(tc.compile))
    atomic_write_json(prov_path, prov)


def train_main(method: str, profile: str, data_root=None, out="runs", resume: bool = False,
               sets: dict | None = None) -> Path:
    """Train ``method`` (registry name or ``"module:Class"``) with ``profile`` + ``sets``; returns the run folder.

    Works single-process or under torchrun (rank 0 picks the folder and writes every file).
    """
    cls = resolve_method_class(method)
    cfg = resolve(cls.config_cls, cls.PROFILES, profile, sets)
    dist = init_distributed()
    was_deterministic = torch.are_deterministic_algorithms_enabled()
    try:
        # the data is opened before a run folder exists: a bad dataset name or folder leaves nothing behind
        faces, cfg = cls.training_faces(cfg, data_root)
        tc = cfg.train
        choice = choose_run(Path(out), cls.name, profile, resume) if dist.is_main else None
        run_dir, ckpt = broadcast_object(choice, dist)
        curve = open_validation_curve(cls, cfg, data_root) if dist.is_main else None
        trainer = Trainer(cls(cfg), run_dir, faces, tdata.make_mask_sampler(tc, data_root), dist, profile, curve)
        if ckpt is not None:
            trainer.step = int(load_checkpoint(ckpt, mmap=True)["step"])
        if dist.is_main:
            write_run_files(trainer, ckpt)
        trainer.fit(resume_from=ckpt)
        return run_dir
    finally:
        torch.use_deterministic_algorithms(was_deterministic)  # deterministic mode ends with the run
        cleanup(dist)
