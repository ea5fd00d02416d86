"""The study's named profiles: one place that says what ``tiny``, ``smoke`` and ``full`` mean.

Every notebook receives these values as papermill parameters (plus ``profile``, ``data_root``,
``synthetic``, ``out_root``). Training settings per method are the method's own profile of the same
name (``faceinpaint_core.methods.<m>.PROFILES``) plus the per-method ``train_sets`` overrides here
(``{method: {dotted.key: value}}``, the same as ``faceinpaint train --set``).
"""
from __future__ import annotations

# method -> the notebook that trains it (run once per method, with the papermill parameter ``method``)
STUDY_METHODS: dict[str, str] = {
    "clgn": "02_train_clgn",
    "lgnet": "08_train_baselines",
    "gmcnn": "08_train_baselines",
    "pic": "08_train_baselines",
    "rfr": "08_train_baselines",
    "medfe": "08_train_baselines",
    "ce": "08_train_baselines",
    "ca": "08_train_baselines",
    "deepfill2": "08_train_baselines",
    "lama": "08_train_baselines",
    "parser": "03_train_parser",
    "facestyle": "03_train_facestyle",
    "edge-diffusion": "04_train_edge_diffusion",
    "identity": "05_identity",
    "stylegan2": "07_train_restoration",
    "gfpgan": "07_train_restoration",
    "tsgan": "06_train_tsgan",
}
TRAINED_METHODS = tuple(STUDY_METHODS)
# ablation_sets: per method, the `--set` overrides of every ablation run of this profile (its training length)
# profile keys the workflow reads and the notebooks do not get: per-job resources, and the ablation
# variants to run (None = every variant a method declares; `tiny` runs two to stay fast), and the study methods to
# train (`methods`; None = all of STUDY_METHODS)
WORKFLOW_ONLY = ("resources", "ablations", "out_subdir", "train_profile_fallback", "train_on_study_masks", "methods")

# Per-job resources the cluster executor requests (runtime in minutes). Local runs ignore gpu/runtime.
_CPU_RESOURCES = {"default": dict(mem_mb=4000, runtime=30)}
_GPU_RESOURCES = {"default": dict(mem_mb=16000, runtime=120, cpus_per_task=4),
                  "train": dict(gpu=1, mem_mb=64000, runtime=4320, cpus_per_task=8),
                  "ablation": dict(gpu=1, mem_mb=32000, runtime=720, cpus_per_task=8),
                  "evaluate": dict(gpu=1, mem_mb=32000, runtime=240, cpus_per_task=8),
                  "visual": dict(gpu=1, mem_mb=32000, runtime=60, cpus_per_task=4)}

STUDY_PROFILES: dict[str, dict] = {
    # synthetic faces, seconds: what `make test` runs through papermill
    "tiny": dict(dataset="synthetic", size=32, n_eval=8, bins=["1-10", "20-30", "40-50"],
                 mask_kinds=["regular", "irregular"], eval_fid=False, eval_lpips=False,
                 resources=_CPU_RESOURCES, ablations=("stages1", "full", "no-gfp"), train_profile="tiny",
                 ablation_sets={"clgn": {"train.steps": 2}, "edge-diffusion": {"train.steps": 4, "edge_steps": 2},
                                "tsgan": {"train.steps": 1}, "gfpgan": {"train.steps": 1}}, n_visual=3, seed=0,
                 train_sets={},
                 # every method but four baselines: one of the 8 baselines' notebook jobs is like another, and the
                 # tables' "not run" cells get exercised; smoke, cpu and full train every study method
                 methods=tuple(m for m in STUDY_METHODS if m not in ("ce", "pic", "deepfill2", "lama"))),
    # real faces, every method, on a 2-core CPU in under 30 minutes; numbers are smoke numbers, not the papers'
    # (gfpgan: its adversarial variants train 40 steps, its main run 100)
    "smoke": dict(dataset="celebamask-hq", size=64, n_eval=50, bins=["1-10", "20-30", "40-50"],
                  mask_kinds=["regular", "irregular"], eval_fid=True, eval_lpips=True,
                  resources=_CPU_RESOURCES, train_profile="smoke",
                  ablation_sets={"clgn": {"train.steps": 60}, "tsgan": {"train.steps": 60},
                                 "gfpgan": {"train.steps": 40},
                                 "edge-diffusion": {"train.steps": 160, "edge_steps": 40}}, n_visual=6, seed=0,
                  train_sets={}),
    # numbers worth reading on the machine every reader has (issue 17): 64 px, each seed inpainting method trained
    # for at most 20 minutes on a 2-core CPU (its own `cpu` profile: steps, batch, warm-up, schedule, EMA);
    # 200 samples per cell (the 1k CelebAMask-HQ's test split has 100 faces: each is scored with two masks,
    # rows say faces_unique=100); rectangles/discs, generated strokes and the NVIDIA masks. A method with no
    # `cpu` training profile trains with its `smoke` one (train_profile_fallback). Outputs under results/cpu/
    # (out_subdir), never over the smoke study's. train_on_study_masks: every inpainter also trains on the NVIDIA
    # masks' training pool when they are present (the first cpu run trained on rectangles/discs/generated strokes
    # only and lost to biharmonic on every NVIDIA cell: a distribution shift, not a capacity limit)
    "cpu": dict(dataset="celebamask-hq", size=64, n_eval=200, bins=["1-10", "20-30", "40-50"],
                mask_kinds=["regular", "irregular", "nvidia"], eval_fid=True, eval_lpips=True,
                train_on_study_masks=True,
                resources={"default": dict(mem_mb=6000, runtime=60)}, train_profile="cpu",
                train_profile_fallback="smoke", out_subdir="results/cpu",
                # tsgan: 1000 steps (a quarter of its main run, ~2.5 min each): at 60 steps every variant sat at its
                # starting point, condition (c) (G_f starts as the identity map), and the table ranked nothing
                ablation_sets={"clgn": {"train.steps": 60}, "tsgan": {"train.steps": 1000},
                               "gfpgan": {"train.steps": 40, "train.lr_warmup": 10},
                               "edge-diffusion": {"train.steps": 160, "edge_steps": 40}}, n_visual=6, seed=0,
                train_sets={}),
    # the paper's protocol, for a GPU machine with the full CelebA-HQ
    "full": dict(dataset="celebamask-hq", size=256, n_eval=2048, bins=["1-10", "20-30", "40-50"],
                 mask_kinds=["regular", "irregular"], eval_fid=True, eval_lpips=True,
                 resources=_GPU_RESOURCES, train_profile="full",
                 ablation_sets={"clgn": {"train.steps": 20000}, "edge-diffusion": {}, "tsgan": {"train.steps": 20000}},
                 n_visual=8, seed=0,
                 train_sets={}),
}


def study_parameters(profile: str, data_root: str | None, out_root: str) -> dict:
    """The papermill parameters of every notebook for ``profile``.

    With no real data found, the study falls back to synthetic faces and says so (``synthetic=True``).
    """
    if profile not in STUDY_PROFILES:
        raise ValueError(f"unknown study profile {profile!r}; known: {sorted(STUDY_PROFILES)}")
    params = {k: v for k, v in STUDY_PROFILES[profile].items() if k not in WORKFLOW_ONLY}
    synthetic = params["dataset"] == "synthetic" or data_root is None
    if synthetic:
        params["dataset"] = "synthetic"
    # per-method --set overrides; the dataset follows the study's choice, except a method's own
    # `study_dataset` (e.g. CelebA's identity labels) on real data
    params["train_sets"] = {m: {**params["train_sets"].get(m, {}),
                                "train.dataset": params["dataset"] if synthetic else _study_dataset(m, params["dataset"])}
                            for m in TRAINED_METHODS}
    params["irregular_kind"] = irregular_mask_kind(None if synthetic else data_root)
    params["mask_kinds"] = study_mask_kinds(params["mask_kinds"], params["irregular_kind"])
    if STUDY_PROFILES[profile].get("train_on_study_masks") and params["irregular_kind"] == "nvidia":
        for m in TRAINED_METHODS:
            kinds = study_train_masks(m, profile)
            if kinds is not None:
                params["train_sets"][m]["train.train_masks"] = kinds
    params.update(profile=profile, data_root=str(data_root) if data_root else "", synthetic=synthetic,
                  out_root=str(out_root), method="")
    return params


def study_mask_kinds(kinds: list[str], irregular_kind: str) -> list[str]:
    """The profile's mask kinds on this data: ``irregular`` stands for the study's irregular set (NVIDIA when
    present) unless the profile lists ``nvidia`` itself (then both are kept); ``nvidia`` is dropped when absent."""
    if "nvidia" in kinds:
        return [k for k in kinds if k != "nvidia" or irregular_kind == "nvidia"]
    return [irregular_kind if k == "irregular" else k for k in kinds]


def study_train_masks(method: str, profile: str) -> list[str] | None:
    """The training mask kinds of ``method`` in a study that trains on its evaluation masks (``train_on_study_masks``):
    the method's own kinds for the study's training profile plus ``nvidia`` (drawn from the NVIDIA set's training
    pool, never an evaluation mask); ``None`` for a method whose contract ``task`` is not ``inpaint``."""
    from ..config import resolve
    from ..methods import get_method_class

    cls = get_method_class(method)
    if cls.task != "inpaint":
        return None
    cfg = resolve(cls.config_cls, cls.PROFILES, train_profile_for(method, profile))
    kinds = list(cfg.train.train_masks)
    return kinds if "nvidia" in kinds else kinds + ["nvidia"]


def train_profile_for(method: str, profile: str) -> str:
    """The training profile ``method`` runs in study ``profile``: the study's ``train_profile`` when the method
    declares it, else the study's ``train_profile_fallback`` (the ``cpu`` study trains a method without a ``cpu``
    profile with its ``smoke`` one)."""
    from ..methods import get_method_class

    prof = STUDY_PROFILES[profile]
    wanted, fallback = prof["train_profile"], prof.get("train_profile_fallback")
    if wanted in get_method_class(method).PROFILES or fallback is None:
        return wanted
    return fallback


def default_out_root(profile: str, repo_root) -> "Path":
    """Where ``faceinpaint study --profile P`` writes by default: the repository root, or the profile's
    ``out_subdir`` under it (the ``cpu`` study: ``results/cpu/``, beside the smoke study's outputs)."""
    from pathlib import Path

    sub = STUDY_PROFILES.get(profile, {}).get("out_subdir")
    return Path(repo_root) / sub if sub else Path(repo_root)


def _study_dataset(method: str, default: str) -> str:
    """The dataset the study trains ``method`` on with real data: its ``study_dataset``, else ``default``."""
    from ..methods import get_method_class

    return getattr(get_method_class(method), "study_dataset", None) or default


def irregular_mask_kind(data_root) -> str:
    """The study's irregular mask set: ``"nvidia"`` (NVIDIA irregular masks, when present under the data
    root) else ``"irregular"`` (generated free-form strokes, the fallback)."""
    if not data_root:
        return "irregular"
    from ..masks.external import nvidia_dir

    try:
        nvidia_dir(data_root)
    except (FileNotFoundError, ValueError):
        return "irregular"
    return "nvidia"
