"""``faceinpaint restore``: blind face restoration of a whole photo (source 003's system).

Every face is detected (dlib), aligned to the canonical crop the restorer was trained on
(:mod:`faceinpaint_core.data.face_alignment`), restored by a method of task ``"restore"`` (GFPGAN-WGAN) and pasted
back with a feathered edge; pixels outside every face crop are copied exactly. A photo with no face is returned
unchanged, with ``info["faces"] = 0`` and a message. :func:`restore_photo` is the function the CLI and the web
app call.
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch

log = logging.getLogger(__name__)


def _check_photo(photo) -> np.ndarray:
    photo = np.asarray(photo)
    if photo.dtype != np.uint8 or photo.ndim != 3 or photo.shape[2] != 3:
        raise ValueError(f"restore_photo: need an (H, W, 3) uint8 RGB image, got shape {photo.shape} {photo.dtype}")
    return photo


def study_checkpoint(method: str, results_dir: str | Path = "results") -> Path:
    """The study's recorded checkpoint of ``method`` (``results/checkpoints/<method>.json``), or a one-line error."""
    from .study.records import load_checkpoints

    rec = load_checkpoints(results_dir).get(method)
    if rec is None or not Path(rec["checkpoint"]).is_file():
        raise FileNotFoundError(f"no checkpoint of {method!r} recorded under {Path(results_dir) / 'checkpoints'}: "
                                f"give --checkpoint <run>/checkpoints/final.pt (faceinpaint train --method {method})")
    return Path(rec["checkpoint"])


def load_restorer(checkpoint, method: str | None = None, device: str = "cpu"):
    """``(restore_fn, size)``: ``restore_fn((N, 3, S, S) [0, 1]) -> (N, 3, S, S) [0, 1]`` from a checkpoint of a
    method of task ``"restore"`` (a clear error for any other)."""
    from .train.checkpoint import load_for_inference

    from .methods import default_method

    path = Path(checkpoint) if checkpoint else study_checkpoint(default_method("restore", method))
    if not path.is_file():
        raise FileNotFoundError(f"{path}: checkpoint file does not exist")
    m, nets = load_for_inference(path, device=device)
    if getattr(m, "task", "inpaint") != "restore":
        raise ValueError(f"{path}: a checkpoint of method {m.name!r} (task {m.task!r}), not of a face restorer")
    if method and m.name != method:
        raise ValueError(f"{path}: a checkpoint of method {m.name!r}, but --method {method!r} was asked for")
    return (lambda x: m.restore(nets, x.to(device)).float().cpu()), int(m.cfg.train.size)


def restore_faces(photo: np.ndarray, restore_fn, size: int, faces) -> np.ndarray:
    """``photo`` with each face of ``faces`` aligned, restored by ``restore_fn`` and pasted back (feathered)."""
    from .data.face_alignment import align_face, paste_face

    out = photo
    for face in faces:
        crop, matrix = align_face(photo, face.points, size)
        x = torch.from_numpy(crop).permute(2, 0, 1)[None].float() / 255.0
        y = restore_fn(x)[0].clamp(0, 1).permute(1, 2, 0).numpy()
        out = paste_face(out, (y * 255 + 0.5).astype(np.uint8), matrix)
    return out


def restore_photo(photo: np.ndarray, checkpoint=None, method: str | None = None, device: str = "cpu", *,
                  finder=None) -> tuple[np.ndarray, dict]:
    """Restore every face of a photo.

    Args:
        photo: ``(H, W, 3)`` uint8 RGB.  checkpoint: a restorer's checkpoint (None: the study's record of
            ``method``).  method: the restorer's registry name.  device: torch device.
        finder: face finder (default dlib's, :func:`~faceinpaint_core.data.face_alignment.make_face_finder`).
    Returns: ``(restored (H, W, 3) uint8, info)`` with ``info["faces"]`` (count), ``info["boxes"]``,
        ``info["message"]``; with no face the input comes back unchanged.
    """
    photo = _check_photo(photo)
    if checkpoint is not None and not Path(checkpoint).is_file():
        raise FileNotFoundError(f"{checkpoint}: checkpoint file does not exist")
    if finder is None:
        from .data.face_alignment import make_face_finder

        finder = make_face_finder("dlib")
    faces = finder.find(photo)
    info = {"faces": len(faces), "boxes": [list(map(float, f.box)) for f in faces], "method": method}
    if not faces:
        info["message"] = "no face found: the photo is returned unchanged"
        return photo.copy(), info
    restore_fn, size = load_restorer(checkpoint, method, device)
    info.update(size=size, message=f"restored {len(faces)} face(s) at {size} px and pasted them back")
    return restore_faces(photo, restore_fn, size, faces), info


def restore_main(image, out, method: str | None = None, checkpoint=None, device: str = "cpu") -> dict:
    """CLI: read ``image``, restore it, write ``out`` (atomic); returns the info dict."""
    from .inpaint import encode_image, read_image
    from .utils.io import atomic_write_bytes

    photo = (read_image(image)[0].permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)
    result, info = restore_photo(photo, checkpoint, method, device)
    if info["faces"] == 0:
        log.warning("%s: %s", image, info["message"])
    tensor = torch.from_numpy(result).permute(2, 0, 1)[None].float() / 255.0
    atomic_write_bytes(Path(out), encode_image(tensor, Path(out).suffix))
    print(f"{image}: {info['message']}; wrote {out}")
    return info
