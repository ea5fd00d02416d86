"""Face verification on frozen pairs: clean, occluded and restored probes; identity preservation per method.

One protocol run (:func:`verify`) embeds the first face of every pair (the *gallery*, always clean) and
the second (the *probe*): clean, occluded by an :data:`OCCLUSIONS` mask (TSGAN's evaluation: key-point
blocks over the eyes, nose or mouth; irregular and rectangular holes of a hole-ratio bin), or occluded
and then restored by an inpainting method. Scores go to :func:`faceinpaint_core.metrics.verification.
verification_metrics` (10-fold ACC, AUC, TAR@FAR). Each probe file has one deterministic mask
(``rng(seed, "verify-<kind>-<file>")``; key-point blocks from dlib's 68 landmarks of the *clean* face,
the box padded by ``keypoint_pad`` x the inter-ocular distance); dlib locates occluded probes with the
clean face's box (the study measures recognition, not detection), and every miss is counted.

:func:`identity_preservation` scores what an inpainting method keeps of a face: the dlib identity
distance (:mod:`faceinpaint_core.metrics.identity`'s definition, box from the ground truth) and the
landmark distance (:mod:`faceinpaint_core.metrics.landmarks`) between composited outputs and ground truth.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from ..metrics.verification import verification_metrics

OCCLUSIONS = ("none", "eyes", "nose", "mouth", "irregular", "rect")
KEYPOINT_REGIONS = {"eyes": tuple(range(36, 48)), "nose": tuple(range(27, 36)), "mouth": tuple(range(48, 68))}
SAME_PERSON = 0.6  # dlib's same-person distance threshold


@dataclass(frozen=True)
class VerifyConfig:
    """Verification protocol settings (one preset per study profile: :data:`VERIFY_PROFILES`)."""

    size: int = 112                   # faces are loaded at size x size (square centre crop)
    n_folds: int = 10                 # LFW: 10
    pairs_per_fold: int = 600         # LFW: 600 (300 same + 300 different)
    seed: int = 0
    held_out_fraction: float = 0.2    # identity split (the identity network's, when one is used)
    occlusions: tuple[str, ...] = ("eyes", "nose", "mouth", "irregular")
    occlusion_bin: str = "20-30"      # hole-ratio bin of irregular / rect occlusions
    keypoint_pad: float = 0.2         # key-point block padding, x inter-ocular distance
    n_method_faces: int = 100         # faces per inpainting method for identity distance and LMD
    restore_align: bool = True        # restore probes in the canonical aligned crop (face_alignment)


VERIFY_PROFILES: dict[str, VerifyConfig] = {
    "tiny": VerifyConfig(size=32, n_folds=3, pairs_per_fold=4, occlusions=("eyes", "irregular"),
                         n_method_faces=4, held_out_fraction=0.5),
    "smoke": VerifyConfig(size=96, n_folds=10, pairs_per_fold=8, n_method_faces=8),
    # the cpu study (issue 17): 2.5x smoke's pairs (200: 100 same + 100 different) and 3x its restored faces
    "cpu": VerifyConfig(size=96, n_folds=10, pairs_per_fold=20, n_method_faces=24),
    "full": VerifyConfig(size=112, n_folds=10, pairs_per_fold=100, n_method_faces=500),
}


def verify_config(profile: str) -> VerifyConfig:
    """The preset of a study profile (``ValueError`` listing them otherwise)."""
    if profile not in VERIFY_PROFILES:
        raise ValueError(f"no verification preset for profile {profile!r}; known: {sorted(VERIFY_PROFILES)}")
    return VERIFY_PROFILES[profile]


# -- occlusion ----------------------------------------------------------------------------------------

def keypoint_block(landmarks: np.ndarray, region: str, size: int, pad: float = 0.2) -> np.ndarray:
    """A ``(size, size)`` uint8 block mask (1 = hole) over a facial region's landmarks.

    Args:
        landmarks: ``(68, 2)`` dlib landmarks (x, y px).  region: ``eyes`` | ``nose`` | ``mouth``.
        pad: padding of the landmarks' box, as a share of the inter-ocular (outer corner) distance.
    """
    if region not in KEYPOINT_REGIONS:
        raise ValueError(f"unknown key-point region {region!r}; known: {sorted(KEYPOINT_REGIONS)}")
    lm = np.asarray(landmarks, np.float64)
    p = pad * np.linalg.norm(lm[36] - lm[45])
    pts = lm[list(KEYPOINT_REGIONS[region])]
    x0, y0 = np.floor(pts.min(0) - p).astype(int)
    x1, y1 = np.ceil(pts.max(0) + p).astype(int)
    mask = np.zeros((size, size), np.uint8)
    mask[max(y0, 0):max(y1 + 1, 0), max(x0, 0):max(x1 + 1, 0)] = 1
    return mask


class ProbeOcclusion:
    """Deterministic occlusion masks of probe faces (see the module docstring).

    Attributes: ``n_landmark_fallback`` — faces dlib did not detect, whose landmarks were fitted to the
    whole image instead (key-point kinds only).
    """

    def __init__(self, kind: str, cfg: VerifyConfig, finder=None):
        if kind not in OCCLUSIONS or kind == "none":
            raise ValueError(f"unknown occlusion {kind!r}; known: {', '.join(OCCLUSIONS[1:])}")
        self.kind, self.cfg, self.n_landmark_fallback = kind, cfg, 0
        if kind in KEYPOINT_REGIONS and finder is None:
            from ..data.face_alignment import DlibFaceFinder

            finder = DlibFaceFinder()
        self.finder = finder

    def __call__(self, file: str, image: torch.Tensor) -> torch.Tensor:
        """The mask ``(1, S, S)`` float (1 = hole) of probe ``file`` whose clean face is ``image`` ``(3, S, S)``."""
        from ..masks import generate_mask
        from ..utils.seeding import rng

        size = image.shape[-1]
        if self.kind in KEYPOINT_REGIONS:
            m = keypoint_block(self._landmarks(image), self.kind, size, self.cfg.keypoint_pad)
        else:
            m = generate_mask(self.kind, self.cfg.occlusion_bin, size, rng(self.cfg.seed, f"verify-{self.kind}-{file}"))
        return torch.from_numpy(m.astype(np.float32))[None]

    def _landmarks(self, image: torch.Tensor) -> np.ndarray:
        img = (image.permute(1, 2, 0).clamp(0, 1).numpy() * 255 + 0.5).astype(np.uint8)
        faces = self.finder.find(img)
        if faces:
            return faces[0].landmarks
        self.n_landmark_fallback += 1
        return self.finder.landmarks(img, (0, 0, img.shape[1] - 1, img.shape[0] - 1))


class Restorer:
    """Inpaints occluded probes with a predictor (:func:`faceinpaint_core.eval.predictors.load_predictor`).

    The probe is inpainted at the method's size and pasted into the hole; with ``align`` each face found
    on the *clean* reference is also inpainted in its canonical aligned crop (:func:`faceinpaint_core.
    inpaint.inpaint_aligned`). Attributes: ``name``, ``n_aligned`` / ``n_unaligned`` faces.
    """

    def __init__(self, predictor, size: int, align: bool = True, finder=None):
        self.predictor, self.size, self.align, self.name = predictor, int(size), align, predictor.name
        if align and finder is None:
            from ..data.face_alignment import DlibFaceFinder

            finder = DlibFaceFinder()
        self.finder, self.n_aligned, self.n_unaligned = finder, 0, 0

    def _run(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.predictor(image * (1 - mask), mask, None)

    def __call__(self, image: torch.Tensor, mask: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
        """Restore ``image`` ``(3, S, S)`` with hole ``mask`` ``(1, S, S)``; ``reference`` = its clean face."""
        from ..inpaint import inpaint_aligned, inpaint_tensor

        if not self.align:
            return inpaint_tensor(self._run, image[None], mask[None], self.size)[0]
        ref = (reference.permute(1, 2, 0).clamp(0, 1).numpy() * 255 + 0.5).astype(np.uint8)
        faces = self.finder.find(ref)[:1]
        self.n_aligned += len(faces)
        self.n_unaligned += not faces
        return inpaint_aligned(self._run, image[None], mask[None], self.size, faces=faces)[0][0]


# -- one protocol run ---------------------------------------------------------------------------------

def probe_images(files: list[str], images: dict[str, torch.Tensor], occlusion=None, restorer=None):
    """``(probes (N, 3, S, S), masks (N, 1, S, S) or None)`` of ``files``: clean, occluded (hole zeroed)
    or occluded then restored."""
    clean = torch.stack([images[f] for f in files])
    if occlusion is None:
        return clean, None
    masks = torch.stack([occlusion(f, images[f]) for f in files])
    if restorer is None:
        return clean * (1 - masks), masks
    return torch.stack([restorer(c, m, c) for c, m in zip(clean, masks)]).clamp(0, 1), masks


def verify(pairs: pd.DataFrame, images: dict[str, torch.Tensor], embedder, occlusion=None,
           restorer=None) -> tuple[dict, pd.DataFrame]:
    """Score every pair: gallery = ``file_a`` clean, probe = ``file_b`` as :func:`probe_images` makes it.

    Args:
        pairs: a pair table (:data:`faceinpaint_core.data.pairs.COLUMNS`).
        images: ``{file: (3, S, S) in [0, 1]}`` holding every file of ``pairs``.
        embedder: a :class:`~faceinpaint_core.metrics.embedders.Embedder`.
        occlusion: a :class:`ProbeOcclusion` (None = clean probes).  restorer: a :class:`Restorer` or None.
    Returns:
        ``(row, scores)``: the metrics and counts (:func:`~faceinpaint_core.metrics.verification.
        verification_metrics` plus ``embedder``, ``occlusion``, ``restoration``, ``n_images``,
        ``n_detect_fail``, ``hole_ratio``); per pair ``fold``, ``same``, ``score``.
    """
    gallery, probes = sorted(set(pairs["file_a"])), sorted(set(pairs["file_b"]))
    g = embedder.embed(torch.stack([images[f] for f in gallery]))
    clean = torch.stack([images[f] for f in probes])
    fallback0 = getattr(occlusion, "n_landmark_fallback", 0)
    probe, masks = probe_images(probes, images, occlusion, restorer)
    p = embedder.embed(probe, reference=clean if masks is not None else None)
    gi, pi = {f: k for k, f in enumerate(gallery)}, {f: k for k, f in enumerate(probes)}
    a = g.vectors[[gi[f] for f in pairs["file_a"]]]
    b = p.vectors[[pi[f] for f in pairs["file_b"]]]
    scores = pd.DataFrame({"fold": pairs["fold"].to_numpy(), "same": pairs["same"].to_numpy(),
                           "score": embedder.score(a, b)})
    m = verification_metrics(scores["score"], scores["same"], scores["fold"])
    row = {"embedder": embedder.name, "occlusion": occlusion.kind if occlusion else "none",
           "restoration": restorer.name if restorer else "none", **{k: v for k, v in m.items()
                                                                      if k not in ("acc_folds", "thresholds")},
           "n_same": int(pairs["same"].sum()), "n_diff": int((pairs["same"] == 0).sum()),
           "n_folds": int(pairs["fold"].nunique()), "n_images": len(gallery) + len(probes),
           "n_detect_fail": int((~g.found).sum() + (~p.found).sum()),
           "hole_ratio": float(masks.mean()) if masks is not None else 0.0,
           "n_landmark_fallback": getattr(occlusion, "n_landmark_fallback", 0) - fallback0}
    return row, scores


# -- identity preservation of inpainting methods ------------------------------------------------------

def composite_outputs(predictor, image: torch.Tensor, masks: torch.Tensor, parsing=None,
                      batch_size: int = 16) -> torch.Tensor:
    """``pred · mask + image · (1 − mask)`` of a protocol predictor, in batches. Shapes ``(N, C, S, S)``."""
    outs = []
    for s in range(0, len(image), batch_size):
        img, m = image[s:s + batch_size], masks[s:s + batch_size]
        par = parsing[s:s + batch_size] if parsing is not None else None
        with torch.no_grad():
            raw = predictor(img * (1 - m), m, par).float().clamp(0, 1)
        outs.append(raw * m + img * (1 - m))
    return torch.cat(outs)


def identity_preservation(outputs: torch.Tensor, target: torch.Tensor, embedder, lmd) -> dict:
    """Identity distance (dlib, box from the ground truth) and LMD of outputs against their ground truth.

    Args:
        outputs, target: ``(N, 3, S, S)`` in [0, 1].  embedder: a :class:`~faceinpaint_core.metrics.embedders.
        DlibEmbedder`.  lmd: a :class:`~faceinpaint_core.metrics.landmarks.LandmarkDistance`.
    Returns: ``n``, ``identity_distance`` (mean), ``same_person_rate`` (distance < 0.6), ``n_detect_fail``,
    ``lmd`` (mean over faces with a detected ground truth), ``n_lmd_missing``.
    """
    gt = embedder.embed(target)
    out = embedder.embed(outputs, reference=target)
    dist = np.linalg.norm(out.vectors - gt.vectors, axis=1)
    lm, lm_missing = lmd(outputs, target)
    ok = ~np.isnan(dist)
    return {"n": len(dist), "identity_distance": float(np.nanmean(dist)) if ok.any() else float("nan"),
            "same_person_rate": float(np.mean(dist[ok] < SAME_PERSON)) if ok.any() else float("nan"),
            "n_detect_fail": int((~gt.found).sum()),
            "lmd": float(np.nanmean(lm.numpy())) if lm_missing < len(lm) else float("nan"),
            "n_lmd_missing": int(lm_missing)}


# -- faces of a pair table ----------------------------------------------------------------------------

class FolderFaces:
    """Faces read by relative file name under ``root`` (e.g. LFW's ``lfw/``) at ``size x size``.

    Without ``finder`` the square centre crop is resized; with one (``align=True`` in the CLI) the
    largest face is aligned to the canonical crop (:func:`~faceinpaint_core.data.face_alignment.align_face`),
    the centre crop kept where none is found (counted in ``n_unaligned``).
    """

    def __init__(self, root, size: int, finder=None):
        from pathlib import Path

        self.root, self.size, self.finder, self.n_unaligned = Path(root), int(size), finder, 0
        if not self.root.is_dir():
            raise FileNotFoundError(f"image folder {self.root} does not exist")

    def item_of_file(self, rel: str) -> dict:
        from ..data.datasets import crop_to, read_rgb, resize_image, square_box
        from ..data.face_alignment import align_face

        path = self.root / rel
        if not path.is_file():
            raise FileNotFoundError(f"pair image {path} does not exist")
        img = read_rgb(path)
        faces = self.finder.find(img) if self.finder is not None else []
        if faces:
            out = align_face(img, faces[0].points, self.size)[0]
        else:
            self.n_unaligned += self.finder is not None
            out = resize_image(crop_to(img, square_box(img.shape[:2], "center", None, path)), self.size)
        return {"image": torch.from_numpy(np.ascontiguousarray(out)).permute(2, 0, 1).float().div(255)}


def pair_images(pairs: pd.DataFrame, faces) -> dict[str, torch.Tensor]:
    """``{file: (3, S, S)}`` for every file of ``pairs`` from ``faces.item_of_file`` (IdentityFaces, FolderFaces)."""
    files = sorted(set(pairs["file_a"]) | set(pairs["file_b"]))
    return {f: faces.item_of_file(f)["image"] for f in files}


def checkpoint_split(checkpoint) -> dict:
    """``{"seed", "held_out_fraction", "dataset"}`` of the identity split a recogniser checkpoint was trained on."""
    from ..train.checkpoint import load_checkpoint
    from .embedders import recognisers

    ckpt = load_checkpoint(checkpoint, mmap=True)
    cfg = ckpt.get("config", {})
    if ckpt.get("method") not in recognisers() or "held_out_fraction" not in cfg:
        raise ValueError(f"{checkpoint}: not a checkpoint of a recogniser network (method {ckpt.get('method')!r}; "
                         f"recognisers: {', '.join(recognisers())})")
    return {"seed": int(cfg["train"]["seed"]), "held_out_fraction": float(cfg["held_out_fraction"]),
            "dataset": str(cfg["train"]["dataset"])}


def held_out_pairs(dataset: str, cfg: VerifyConfig, data_root=None, pairs_root="results/cache/pairs"):
    """``(pairs, manifest, faces)``: the frozen protocol over the held-out identities of ``dataset``.

    Built (or reused, hash-checked) in ``<pairs_root>/<dataset>_f<folds>_p<per fold>_seed<seed>_held<h>``.
    """
    from pathlib import Path

    from ..data.identities import open_identity_faces
    from ..data.pairs import build_pairs

    faces = open_identity_faces(dataset, cfg.size, "test", data_root, cfg.seed, cfg.held_out_fraction)
    table = {f: faces.table[f] for f in faces.files}
    name = f"{Path(dataset).name}_f{cfg.n_folds}_p{cfg.pairs_per_fold}_seed{cfg.seed}_held{cfg.held_out_fraction:g}"
    pairs, manifest = build_pairs(table, Path(pairs_root) / name, cfg.n_folds, cfg.pairs_per_fold, cfg.seed,
                                  source=f"{Path(dataset).name} held-out identities, identity split "
                                         f"{faces.split_hash}")
    return pairs, manifest, faces
