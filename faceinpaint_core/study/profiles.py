"""The study's named profiles: one place that says what ``tiny``, ``smoke`` and ``full`` mean.

Every notebook receives these values as papermill parameters (plus ``profile``, ``data_root``,
``synthetic``, ``out_root``). Training settings per method are the method's own profile of the same
name (``faceinpaint_core.methods.<m>.PROFILES``) plus the per-method ``train_sets`` overrides here
(``{method: {dotted.key: value}}``, the same as ``faceinpaint train --set``).
"""
from __future__ import annotations

TRAINED_METHODS = ("clgn", "lgnet", "facestyle", "parser", "edge-diffusion")

STUDY_PROFILES: dict[str, dict] = {
    # synthetic faces, seconds: what `make test` runs through papermill
    "tiny": dict(dataset="synthetic", size=32, n_eval=8, bins=["1-10", "20-30", "40-50"],
                 mask_kinds=["regular", "irregular"], eval_fid=False, eval_lpips=False,
                 train_profile="tiny", ablation_steps=2, n_visual=3, seed=0,
                 train_sets={}),
    # real faces on a 2-core CPU in under 10 minutes; numbers are smoke numbers, not the paper's
    "smoke": dict(dataset="celebamask-hq", size=64, n_eval=50, bins=["1-10", "20-30", "40-50"],
                  mask_kinds=["regular", "irregular"], eval_fid=True, eval_lpips=True,
                  train_profile="smoke", ablation_steps=60, n_visual=6, seed=0,
                  train_sets={}),
    # the paper's protocol, for a GPU machine with the full CelebA-HQ
    "full": dict(dataset="celebamask-hq", size=256, n_eval=2000, bins=["1-10", "20-30", "40-50"],
                 mask_kinds=["regular", "irregular"], eval_fid=True, eval_lpips=True,
                 train_profile="full", ablation_steps=20000, n_visual=8, seed=0,
                 train_sets={}),
}


def study_parameters(profile: str, data_root: str | None, out_root: str) -> dict:
    """The papermill parameters of every notebook for ``profile``.

    With no real data found, the study falls back to synthetic faces and says so (``synthetic=True``).
    """
    if profile not in STUDY_PROFILES:
        raise ValueError(f"unknown study profile {profile!r}; known: {sorted(STUDY_PROFILES)}")
    params = dict(STUDY_PROFILES[profile])
    synthetic = params["dataset"] == "synthetic" or data_root is None
    if synthetic:
        params["dataset"] = "synthetic"
    # per-method --set overrides; the dataset always follows the study's choice
    params["train_sets"] = {m: {**params["train_sets"].get(m, {}), "train.dataset": params["dataset"]}
                            for m in TRAINED_METHODS}
    params["irregular_kind"] = irregular_mask_kind(None if synthetic else data_root)
    params["mask_kinds"] = [params["irregular_kind"] if k == "irregular" else k for k in params["mask_kinds"]]
    params.update(profile=profile, data_root=str(data_root) if data_root else "", synthetic=synthetic,
                  out_root=str(out_root))
    return params


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
