"""Notebook 06's steps: TSGAN judged by face verification, per occlusion kind and yaw bin (source 004).

Protocol [ours, in Multi-PIE's shape: a clean gallery face per person, probes at other poses]: the
held-out identities' pose pairs (:func:`~faceinpaint_core.data.pose_faces.open_pose_pairs`, ``test`` part;
no test identity was seen in training). Each pair's *probe* is its profile face under one occlusion kind;
its *gallery* face is another image of the same person (the most frontal one that is neither the profile
nor the pair's frontal face; pairs without one are dropped and counted). Every probe is scored against its
own identity's gallery (same) and one seeded other identity's gallery (different); folds deal identities
(identity-disjoint), and ACC / AUC are :func:`~faceinpaint_core.metrics.verification.verification_metrics`.

Conditions (:data:`CONDITIONS`): (a) the pair's clean frontal face (upper bound), (b) the occluded profile,
(c) TSGAN's de-occlusion only, (d) frontalisation only (``G_f`` on the occluded profile), (e) a study inpainter
(composited) without frontalisation, (f) full TSGAN. Source 004 reports its ACC / AUC only as bar charts, so
there are no reported numbers to compare with.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from ..metrics.verification import verification_metrics
from ..utils.seeding import rng

CONDITIONS = {"a": "clean frontal (upper bound)", "b": "occluded profile input", "c": "de-occlusion only",
              "d": "frontalisation only", "e": "inpainting, no frontalisation", "f": "full TSGAN"}


#: occlusions the ablation table scores (a subset: each variant is one more training run and dlib pass) [ours]
ABLATION_OCCLUSIONS = ("eyes", "mouth", "block")


def study_inpainters(records: dict, method_names) -> list[str]:
    """Keys of ``records`` (checkpoint records) that are trained inpainting methods (``task == "inpaint"`` and
    scored by the protocol), in ``method_names`` order — the generic choice for condition (e)."""
    from ..methods import get_method_class

    out = []
    for m in method_names:
        cls = get_method_class(m)
        if m in records and cls.task == "inpaint" and getattr(cls, "evaluated_by_protocol", True):
            out.append(m)
    return out


def study_recogniser(records: dict, method_names) -> str | None:
    """The checkpoint path of the study's face recogniser (a method with ``is_recogniser``), or None."""
    from ..methods import get_method_class

    for m in method_names:
        if m in records and getattr(get_method_class(m), "is_recogniser", False):
            return records[m]["checkpoint"]
    return None


# -- probes -------------------------------------------------------------------------------------------------

def galleries(faces) -> dict[int, str]:
    """``{pair index: gallery file}``: per pair, the most frontal other image of its identity in ``faces.pool``
    (see the module docstring)."""
    by_id: dict[str, list[tuple[float, str]]] = {}
    for f, (ident, ayaw) in faces.pool.items():
        by_id.setdefault(str(ident), []).append((ayaw, f))
    out = {}
    for i, p in enumerate(faces.pairs):
        cands = sorted(c for c in by_id.get(p["identity"], []) if c[1] not in (p["profile"], p["frontal"]))
        if cands:
            out[i] = cands[0][1]
    return out


def probe_pairs(faces, gallery: dict[int, str], n_folds: int = 10, seed: int = 0) -> pd.DataFrame:
    """One same and one different pair per probe pair ``i``: columns ``pair, same, gallery, identity, fold``."""
    ids = sorted({faces.pairs[i]["identity"] for i in gallery})
    order = [ids[k] for k in rng(seed, "tsgan-folds").permutation(len(ids))]
    fold = {ident: k % n_folds for k, ident in enumerate(order)}
    by_fold: dict[int, list[int]] = {}
    for i in sorted(gallery):
        by_fold.setdefault(fold[faces.pairs[i]["identity"]], []).append(i)
    rows = []
    for i in sorted(gallery):
        ident = faces.pairs[i]["identity"]
        rows.append((i, 1, gallery[i], ident, fold[ident]))
        others = [j for j in by_fold[fold[ident]] if faces.pairs[j]["identity"] != ident]
        if others:
            j = others[int(rng(seed, "tsgan-diff", i).integers(len(others)))]
            rows.append((i, 0, gallery[j], faces.pairs[j]["identity"], fold[ident]))
    return pd.DataFrame(rows, columns=["pair", "same", "gallery", "identity", "fold"])


@torch.no_grad()
def condition_images(method, nets, faces, idx: list[int], kind: str, inpainter=None) -> dict[str, torch.Tensor]:
    """``{condition letter: (n, 3, S, S)}`` probes of pairs ``idx`` under occlusion ``kind`` (``e`` only with
    ``inpainter``: ``(image, mask) -> raw prediction``, composited here)."""
    items = [faces.item(i, kind) for i in idx]
    x = torch.stack([it["image"] for it in items])
    m = torch.stack([it["occlusion"] for it in items])
    out = {"a": torch.stack([it["frontal"] for it in items]), "b": x * (1 - m)}
    out["c"] = method.frontalize(nets, x, m, True, False)["pred"]
    out["d"] = method.frontalize(nets, x, m, False, True)["pred"]
    out["f"] = method.frontalize(nets, x, m, True, True)["pred"]
    if inpainter is not None:
        out["e"] = inpainter(x * (1 - m), m).clamp(0, 1) * m + x * (1 - m)
    return out


def _metrics(scores: np.ndarray, same: np.ndarray, folds: np.ndarray) -> dict:
    m = verification_metrics(scores, same, folds)
    return {k: m[k] for k in ("acc_mean", "acc_std", "auc") if k in m}


def pair_scores(method, nets, faces, pairs: pd.DataFrame, gallery_images: dict, embedders: dict, kinds,
                inpainter=None, conditions=tuple(CONDITIONS)) -> pd.DataFrame:
    """Every verification pair's similarity per embedder x condition x occlusion: the columns of ``pairs`` plus
    ``embedder``, ``cond`` (the letter), ``condition`` (its label), ``occlusion``, ``score``, ``found`` (the probe's
    face was detected), ``yaw_bin`` and ``source`` (real / synthetic pose).

    Args:
        gallery_images: ``{file: (3, S, S)}`` of every gallery face in ``pairs``.
        embedders: ``{name: Embedder}`` (``embed(images)`` -> vectors, ``score(a, b)``).
    """
    from ..data.pose import yaw_bin

    idx = sorted(set(pairs["pair"]))
    pos = {i: k for k, i in enumerate(idx)}
    gfiles = sorted(set(pairs["gallery"]))
    meta = pd.DataFrame({"pair": idx, "yaw_bin": [yaw_bin(faces.pairs[i]["yaw"]) for i in idx],
                         "source": ["real" if faces.pairs[i]["rotate"] is None else "synthetic" for i in idx]})
    frames = []
    for name, emb in embedders.items():
        g = emb.embed(torch.stack([gallery_images[f] for f in gfiles]))
        gv = g.vectors[[gfiles.index(f) for f in pairs["gallery"]]]
        for kind in kinds:
            probes = condition_images(method, nets, faces, idx, kind, inpainter)
            for c in conditions:
                if c not in probes:
                    continue
                p = emb.embed(probes[c])
                rows = [pos[i] for i in pairs["pair"]]
                sc = pairs.assign(embedder=name, cond=c, condition=f"({c}) {CONDITIONS[c]}", occlusion=kind,
                                  score=emb.score(gv, p.vectors[rows]), found=np.asarray(p.found)[rows])
                frames.append(sc.merge(meta, on="pair"))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def verification_cells(scores: pd.DataFrame) -> pd.DataFrame:
    """ACC / AUC per embedder x condition x occlusion x yaw bin (and ``all``) x source (real / synthetic / all)
    from :func:`pair_scores`."""
    rows = []
    for (name, condition, kind), sc in scores.groupby(["embedder", "condition", "occlusion"], sort=False):
        probes = sc.drop_duplicates("pair")
        rows += _cells(sc, {"embedder": name, "condition": condition, "occlusion": kind,
                            "n_detect_fail": int((~probes["found"].astype(bool)).sum())})
    return pd.DataFrame(rows)


def verification_table(method, nets, faces, pairs: pd.DataFrame, gallery_images: dict, embedders: dict, kinds,
                       inpainter=None, conditions=tuple(CONDITIONS)) -> pd.DataFrame:
    """ACC / AUC per embedder x condition x occlusion x yaw bin (and ``all``) x source (real / synthetic / all):
    :func:`verification_cells` of :func:`pair_scores`."""
    return verification_cells(pair_scores(method, nets, faces, pairs, gallery_images, embedders, kinds, inpainter,
                                          conditions))


VERDICT_COLUMNS = ["embedder", "occlusion", "condition", "acc", "acc_input", "acc_diff", "ci_low", "ci_high",
                   "only_condition_right", "only_input_right", "auc", "auc_input", "n_pairs", "n_identities",
                   "verdict"]


def versus_input(scores: pd.DataFrame, against: str = "b", resamples: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Each condition against the occluded input (``against``), pair by pair, per embedder x occlusion, all yaws.

    Each condition's pairs are judged right or wrong with its own LFW thresholds (:func:`acc_10fold`: chosen on
    the other folds), so ``acc_diff`` is exactly the difference of the two ``acc_mean``; its 95 % interval is a
    bootstrap over the probes' identities (a clustered bootstrap: an identity's pairs move together; thresholds
    held fixed), and ``verdict`` says ``better`` / ``worse`` when the interval excludes 0, else ``tie``.
    ``only_condition_right`` / ``only_input_right``: the discordant pairs (McNemar's counts). Pairs that either
    condition could not score (NaN) are left out of both."""
    from ..metrics.verification import acc_10fold

    out = []
    for (name, kind), cell in scores.groupby(["embedder", "occlusion"], sort=False):
        base = cell[cell["cond"] == against]
        probe_id = base[base["same"] == 1].set_index("pair")["identity"]
        for c, x in cell[cell["cond"] != against].groupby("cond", sort=True):
            m = x.merge(base, on=["pair", "same", "gallery", "fold"], suffixes=("", "_in"))
            m = m[np.isfinite(m["score"]) & np.isfinite(m["score_in"])]
            if m["fold"].nunique() < 2 or m["same"].nunique() < 2:
                continue
            same, folds = m["same"].to_numpy(bool), m["fold"].to_numpy()
            right = {}
            for col in ("score", "score_in"):
                acc = acc_10fold(m[col].to_numpy(), same, folds)
                th = dict(zip(acc["folds"], acc["thresholds"]))
                right[col] = (m[col].to_numpy() >= np.array([th[f] for f in folds])) == same
            size = m.groupby("fold")["pair"].transform("size").to_numpy()
            w = 1.0 / (size * m["fold"].nunique())  # each fold weighs 1 / n_folds, as acc_mean's fold average
            d = right["score"].astype(float) - right["score_in"].astype(float)
            uniq, inv = np.unique(m["pair"].map(probe_id).astype(str).to_numpy(), return_inverse=True)
            wd, ww = np.bincount(inv, w * d, len(uniq)), np.bincount(inv, w, len(uniq))
            pick = np.random.default_rng([seed, len(d)]).integers(0, len(uniq), (resamples, len(uniq)))
            lo, hi = np.percentile(wd[pick].sum(1) / ww[pick].sum(1), [2.5, 97.5])
            diff = float((w * d).sum())
            out.append({"embedder": name, "occlusion": kind, "condition": x["condition"].iloc[0],
                        "acc": float((w * right["score"]).sum()), "acc_input": float((w * right["score_in"]).sum()),
                        "acc_diff": diff, "ci_low": float(lo), "ci_high": float(hi),
                        "only_condition_right": int((d > 0).sum()), "only_input_right": int((d < 0).sum()),
                        "auc": _metrics(m["score"].to_numpy(), same, folds)["auc"],
                        "auc_input": _metrics(m["score_in"].to_numpy(), same, folds)["auc"],
                        "n_pairs": len(m), "n_identities": len(uniq),
                        "verdict": "better" if lo > 0 else "worse" if hi < 0 else "tie"})
    return pd.DataFrame(out, columns=VERDICT_COLUMNS)


def _cells(sc: pd.DataFrame, base: dict) -> list[dict]:
    out = []
    groups = [("all", "all", sc)] + [(b, "all", s) for b, s in sc.groupby("yaw_bin")] + \
             [("all", src, s) for src, s in sc.groupby("source")]
    for ybin, src, s in groups:
        row = {**base, "yaw_bin": ybin, "source": src, "n_pairs": len(s), "n_same": int(s["same"].sum()),
               "n_diff": int((s["same"] == 0).sum()), "n_folds": int(s["fold"].nunique()), "note": ""}
        if s["same"].nunique() < 2 or s["fold"].nunique() < 2:  # too few pairs for the protocol: said, not dropped
            row.update(acc_mean=float("nan"), acc_std=float("nan"), auc=float("nan"),
                       note="too few pairs: needs same and different pairs in 2+ folds")
        else:
            row.update(_metrics(s["score"].to_numpy(), s["same"].to_numpy(), s["fold"].to_numpy()))
        out.append(row)
    return out


def summary_table(table: pd.DataFrame) -> pd.DataFrame:
    """ACC / AUC per embedder x condition x occlusion over all yaws and sources (the headline table)."""
    t = table[(table["yaw_bin"] == "all") & (table["source"] == "all")]
    return t.pivot_table(index=["embedder", "condition"], columns="occlusion", values=["acc_mean", "auc"]).round(3)


def qualitative_figure(method, nets, faces, idx: list[int], kind: str):
    """Rows: occluded profile input -> de-occluded -> frontalised -> ground-truth frontal."""
    from .figures import image_grid

    items = [faces.item(i, kind) for i in idx]
    x = torch.stack([it["image"] for it in items])
    m = torch.stack([it["occlusion"] for it in items])
    out = method.frontalize(nets, x, m)
    return image_grid({"occluded input": x * (1 - m), "de-occluded": out["deoccluded"], "frontalised": out["pred"],
                       "ground-truth frontal": torch.stack([it["frontal"] for it in items])},
                      f"TSGAN on held-out identities ({kind} occlusion)")


def make_inpainter(predictor, size: int):
    """``(x (N, 3, S, S) hole zeroed, mask (N, 1, S, S)) -> (N, 3, S, S)`` from a protocol predictor, run at its own
    working ``size`` and pasted into the hole (:func:`faceinpaint_core.inpaint.inpaint_tensor`)."""
    from ..inpaint import inpaint_tensor

    def run(x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
        return torch.cat([inpaint_tensor(lambda a, b: predictor(a, b, None), x[k:k + 1], m[k:k + 1], size)
                          for k in range(len(x))])
    return run


def rotation_check_table(faces, finder, n: int = 20) -> pd.DataFrame:
    """Re-estimated yaw of synthetic rotations: for the first ``n`` synthetic pairs, ``target`` (face yaw + turn),
    ``achieved`` (dlib on the warped face, NaN when not detected) and the error."""
    from ..data.pose import check_rotation
    from ..data.pose_faces import to_uint8

    rows = []
    for i in [k for k, p in enumerate(faces.pairs) if p["rotate"] is not None][:n]:
        p = faces.pairs[i]
        img = to_uint8(faces.load(p["profile"]))
        r = check_rotation(finder, img, p["landmarks"], p["rotate"])
        target = r["source_yaw"] + p["rotate"]
        rows.append({"file": p["profile"], "turn": p["rotate"], "source_yaw": r["source_yaw"], "target": target,
                     "achieved": r["achieved"], "abs_error": abs(r["achieved"] - target), "found": r["found"]})
    return pd.DataFrame(rows)


def ablation_rows(variant: str, label: str, method, nets, faces, pairs, gallery_images, embedders,
                  kinds) -> pd.DataFrame:
    """Full-TSGAN (f) of one ablation run: every verification pair's score (:func:`pair_scores`) per embedder x
    occlusion kind, so that :func:`ablation_summary` can pair each variant with the full model pair by pair."""
    sc = pair_scores(method, nets, faces, pairs, gallery_images, embedders, kinds, conditions=("f",))
    return sc.assign(variant=label, variant_slug=variant)


# -- the study's setup, shared by notebook 06 and the ablation jobs -------------------------------------------
def study_sets(method: str, train_sets: dict, results_dir) -> dict:
    """The ``--set`` overrides of TSGAN's study runs: the profile's, the recorded recogniser (task ``recognise``,
    for L_ip / the dual triplet loss) and the pose cache under ``results/cache/pose``."""
    from pathlib import Path

    from .study_jobs import study_train_sets

    sets = study_train_sets(method, train_sets, results_dir)
    sets["pose_cache"] = str(Path(results_dir) / "cache" / "pose")
    return sets


def pose_pairs(method: str, train_profile: str, sets: dict, data_root, part: str):
    """``(faces, cfg)``: the ``part`` (train / test) of the identity split's pose pairs for the resolved config."""
    from ..config import resolve
    from ..data.pose_faces import open_pose_pairs
    from ..methods import get_method_class

    cls = get_method_class(method)
    tcfg = resolve(cls.config_cls, cls.PROFILES, train_profile, sets)
    dataset = sets.get("train.dataset", "synthetic" if data_root is None else cls.study_dataset)
    faces = open_pose_pairs(dataset, tcfg.train.size, part, data_root=data_root, seed=tcfg.train.split_seed,
                            held_out_fraction=tcfg.held_out_fraction, limit=tcfg.pose_limit or None,
                            pose_size=tcfg.pose_size, cache_dir=tcfg.pose_cache,
                            synthetic_per_face=tcfg.synthetic_per_face, kinds=tcfg.occlusions)
    return faces, tcfg


def verification_setup(test_faces, n_eval: int, seed: int, probes: int = 0) -> tuple[list[int], pd.DataFrame, dict]:
    """``(probe indices, pairs, gallery images)``: the first ``probes`` test pairs with a gallery face (the
    method's ``verification_probes``; 0 = ``max(4, n_eval // 2)``; all of them when fewer), one same + one
    different pair each, identity-disjoint folds."""
    gallery = galleries(test_faces)
    idx = sorted(gallery)[: probes or max(4, n_eval // 2)]
    pairs = probe_pairs(test_faces, {i: gallery[i] for i in idx}, n_folds=10, seed=seed)
    return idx, pairs, {f: test_faces.load(f) for f in sorted(set(pairs["gallery"]))}


def study_embedders(results_dir, recogniser: str | None, device: str = "cpu") -> dict:
    """dlib's descriptor (cached under ``results/cache``) and, when recorded, the study's recogniser."""
    from pathlib import Path

    from ..eval.embedders import make_embedder

    out = {"dlib": make_embedder("dlib", cache_dir=Path(results_dir) / "cache" / "dlib_descriptors")}
    if recogniser:
        out["identity"] = make_embedder("identity", recogniser, device=device)
    return out


def ablation_job(method: str, variant: str, label: str, overrides: dict, params: dict, out_root) -> pd.DataFrame:
    """One ablation variant (a workflow job): train at the profile's ablation length, score condition (f) on the
    held-out pose pairs for the :data:`ABLATION_OCCLUSIONS` kinds, with dlib and the study's recogniser."""
    from pathlib import Path

    from ..train.checkpoint import load_for_inference
    from ..train.trainer import train_main
    from .profiles import STUDY_METHODS
    from .records import final_checkpoint, load_checkpoints, record_checkpoint
    from .study_jobs import _device

    results = Path(out_root) / "results"
    data_root = None if params["synthetic"] else params["data_root"]
    sets = study_sets(method, params["train_sets"].get(method, {}), results)
    test_faces, tcfg = pose_pairs(method, params["train_profile"], sets, data_root, "test")
    run = Path(train_main(method, params["train_profile"], data_root=data_root,
                          out=str(Path(out_root) / "runs" / "ablations"),
                          sets={**sets, **params["ablation_sets"].get(method, {}), **overrides}))
    record_checkpoint(results, f"ablation-{method}-{variant}", run)
    device = _device()
    am, anets = load_for_inference(final_checkpoint(run), device=device)
    # notebook 06's probes (the method's verification_probes), so each variant is paired with the full model's run
    # on the same pairs (ablation_summary)
    _, pairs, gallery_images = verification_setup(test_faces, params["n_eval"], params["seed"],
                                                  tcfg.verification_probes)
    embedders = study_embedders(results, study_recogniser(load_checkpoints(results), STUDY_METHODS), device)
    kinds = [k for k in ABLATION_OCCLUSIONS if k in tcfg.occlusions]
    rows = ablation_rows(variant, label, am, anets, test_faces, pairs, gallery_images, embedders, kinds)
    return rows.assign(run_dir=run.name)


def ablation_figures(rows: pd.DataFrame, runs_dir) -> dict:
    """No extra figure: the ablation table is the chart's content (source 004 shows it as bars)."""
    return {}


def ablation_summary(rows: pd.DataFrame, reference: str = "full") -> pd.DataFrame:
    """The ablation table: one row per embedder x variant, and per occlusion its verification ACC (all yaws) and,
    for every variant but ``reference``, its paired difference to the reference variant (the full model) with the
    95 % interval over probe identities and a verdict, in column ``<occlusion> − <reference> [95 % CI]``
    (:func:`versus_input` with the reference in the input's place: same probes, same pairs, each variant judged with
    its own LFW thresholds). ``max fold std``: the largest spread of ACC over the verification folds among the row's
    cells.

    ``rows``: the ablation jobs' per-pair rows (:func:`ablation_rows`). Rows of an older study (one row per cell,
    ``acc_mean`` / ``acc_std``, no per-pair scores) give the ACC columns only."""
    if rows.empty:
        return rows
    if "score" not in rows:
        cells = rows
        paired = pd.DataFrame()
    else:
        cells = pd.concat([pd.DataFrame(_cells(sc, {"embedder": e, "variant": v, "occlusion": k}))
                           for (e, v, k), sc in rows.groupby(["embedder", "variant", "occlusion"], sort=False)])
        cells = cells[(cells["yaw_bin"] == "all") & (cells["source"] == "all")]
        paired = (versus_input(rows.assign(cond=rows["variant_slug"], condition=rows["variant"]), against=reference)
                  if (rows["variant_slug"] == reference).any() else pd.DataFrame())
    table = cells.pivot_table(index=["embedder", "variant"], columns="occlusion", values="acc_mean", sort=False,
                              dropna=False).round(3)  # a NaN cell (too few pairs) is shown, not dropped
    spread = cells.groupby(["embedder", "variant"], sort=False)["acc_std"].max().round(3)
    table = table.assign(**{"max fold std": spread.reindex(table.index)})
    if not paired.empty:
        paired = paired.rename(columns={"condition": "variant"}).set_index(["embedder", "variant"])
        for kind in [k for k in table.columns if k in set(paired["occlusion"])]:
            p = paired[paired["occlusion"] == kind]
            text = p.apply(lambda r: f"{r.acc_diff:+.3f} [{r.ci_low:+.3f}, {r.ci_high:+.3f}] {r.verdict}", axis=1)
            table[f"{kind} − {reference} [95 % CI]"] = text.reindex(table.index).fillna("")
    return table.reset_index()
