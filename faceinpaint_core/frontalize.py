"""Frontalise a face photo with a ``frontalize`` method (TSGAN): detect, align, de-occlude, frontalise.

:func:`frontalize_photo` is what the CLI (``faceinpaint frontalize``) and apps call. The largest face is
found with dlib (:class:`~faceinpaint_core.data.face_alignment.DlibFaceFinder`), aligned to the
project's canonical crop at the method's working size (5 points, as TSGAN aligns with MTCNN's five
landmarks), the occlusion ``mask`` (photo coordinates) warped into the crop, and the method's
de-occlusion and frontalisation stages run. The result is the **frontal aligned crop** (a frontal face
does not fit back into a profile photo). A photo without a detected face comes back unchanged.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch

from .data.face_alignment import align_face


def _load(method: str, checkpoint, device: str):
    from .methods import get_method_class

    if checkpoint:
        from .train.checkpoint import load_for_inference

        m, nets = load_for_inference(checkpoint, device=device)
        weights = str(checkpoint)
    else:
        from .config import resolve

        cls = get_method_class(method)
        m = cls(resolve(cls.config_cls, cls.PROFILES, "smoke", None))
        with torch.random.fork_rng(devices=[]):
            nets = {k: v.to(device).eval() for k, v in m.build_inference_networks().items()}
        weights = "random-init (no checkpoint given: untrained, the output is not a face)"
    if getattr(m, "task", "") != "frontalize" or not hasattr(m, "frontalize"):
        raise ValueError(f"method {m.name!r} (task {getattr(m, 'task', '?')!r}) does not frontalise faces; "
                         f"give a checkpoint of a method with task 'frontalize'")
    return m, nets, weights


def frontalize_photo(photo: np.ndarray, checkpoint=None, method: str | None = None, mask: np.ndarray | None = None,
                     device: str = "cpu", finder=None) -> tuple[np.ndarray, dict]:
    """Frontalise the largest face of ``photo``.

    Args:
        photo: ``(H, W, 3)`` uint8 RGB.  checkpoint: a trained ``frontalize`` method's checkpoint (None:
            random-init networks, labelled in ``info["weights"]``).  method: registry name when no checkpoint.
        mask: optional ``(H, W)`` occlusion (nonzero = hole) in photo coordinates; None = no occlusion.
    Returns:
        ``(image uint8 RGB, info)``: the frontal aligned ``S x S`` crop, or ``photo`` unchanged when no face is
        found (``info["faces"] = 0`` and ``info["message"]``); info holds ``faces``, ``box``, ``size``,
        ``weights``, ``yaw_input`` (dlib estimate, degrees), ``deoccluded`` (the de-occluded aligned crop).
    """
    photo = np.asarray(photo)
    if photo.ndim != 3 or photo.shape[2] != 3 or photo.dtype != np.uint8:
        raise ValueError(f"frontalize_photo: photo must be (H, W, 3) uint8 RGB, got {photo.shape} {photo.dtype}")
    if mask is not None and np.asarray(mask).shape[:2] != photo.shape[:2]:
        raise ValueError(f"frontalize_photo: mask {np.asarray(mask).shape} does not match the photo {photo.shape[:2]}")
    if finder is None:
        from .data.face_alignment import DlibFaceFinder

        finder = DlibFaceFinder()
    faces = finder.find(photo)
    if not faces:
        return photo.copy(), {"faces": 0, "message": "no face detected: the photo is returned unchanged"}
    from .methods import default_method

    m, nets, weights = _load(default_method("frontalize", method), checkpoint, device)
    size = int(m.cfg.train.size)
    crop, matrix = align_face(photo, faces[0].points, size)
    hole = np.zeros((size, size), np.float32)
    if mask is not None:
        hole = cv2.warpAffine((np.asarray(mask) > 0).astype(np.float32), matrix, (size, size), flags=cv2.INTER_NEAREST)
    x = torch.from_numpy(crop).permute(2, 0, 1).float().div(255)[None].to(device)
    mt = torch.from_numpy(hole)[None, None].to(device)
    out = m.frontalize(nets, x, mt)
    to8 = lambda t: (t[0].permute(1, 2, 0).cpu().numpy() * 255 + 0.5).astype(np.uint8)  # noqa: E731
    info = {"faces": len(faces), "box": tuple(float(v) for v in faces[0].box), "size": size, "weights": weights,
            "method": m.name, "hole_ratio": float(hole.mean()), "deoccluded": to8(out["deoccluded"])}
    if faces[0].landmarks is not None:
        from .data.pose import estimate_pose

        info["yaw_input"] = estimate_pose(faces[0].landmarks, photo.shape[1])[0]
    return to8(out["pred"]), info


def frontalize_main(image, out, checkpoint=None, mask=None, method: str | None = None, device: str = "cpu") -> dict:
    """CLI body: read ``image`` (and ``mask``: white = hole), frontalise, write ``out``; one-line errors."""
    from PIL import Image

    from .data.datasets import read_rgb

    def _read(path, what):
        if not Path(path).is_file():
            raise FileNotFoundError(f"{what} {path} does not exist")
        try:
            return read_rgb(path)
        except Exception as err:  # noqa: BLE001 - PIL raises many kinds for a bad file
            raise ValueError(f"{what} {path} is not a readable image ({type(err).__name__})") from None

    photo = _read(image, "image")
    hole = _read(mask, "mask").mean(2) > 127 if mask else None
    if hole is not None and hole.shape != photo.shape[:2]:
        raise ValueError(f"mask {mask} is {hole.shape[1]}x{hole.shape[0]}, the image {image} is "
                         f"{photo.shape[1]}x{photo.shape[0]}: they must match")
    if Path(out).suffix.lower() not in (".png", ".jpg", ".jpeg"):
        raise ValueError(f"output {out} must end in .png or .jpg")
    result, info = frontalize_photo(photo, checkpoint, method, hole, device)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(result).save(out)
    return info
