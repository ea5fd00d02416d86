"""What the web app does, without HTTP: list the methods, decode uploads, run a method on a photo.

Methods come from the registry by their ``task`` (``inpaint``, ``restore``, ``frontalize``) and the study's
checkpoint records (``results/checkpoints/<method>.json``); the training-free classical inpainters are always
there, so the app works before anything is trained. A photo's faces are detected and aligned (dlib), each face is
processed in its canonical crop and pasted back with a feathered mask; with no face detected the whole photo is
processed and the result says so.
"""
from __future__ import annotations

import base64
import binascii
import io
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

CLASSICAL = ("biharmonic", "telea", "ns")
MAX_SIDE = 1024           # larger uploads are downscaled (with a message)
TASKS = ("inpaint", "restore", "frontalize")
# the function each non-inpainting task's module provides: (photo uint8 RGB, checkpoint, method, device) -> (photo, info)
TASK_FUNCTIONS = {"restore": ("faceinpaint_core.restore", "restore_photo"),
                  "frontalize": ("faceinpaint_core.frontalize", "frontalize_photo")}


class UserError(ValueError):
    """A problem with what the user sent: shown in the page as a message."""


def registered(task: str) -> list[dict]:
    """``[{"name", "label", "checkpoints"}]`` of the registered methods doing ``task`` (classical first for inpaint)."""
    from ..methods import METHODS, get_method_class

    out = [{"name": m, "label": m, "checkpoints": ["(training-free)"]} for m in CLASSICAL] if task == "inpaint" else []
    for name in METHODS:
        cls = get_method_class(name)
        if getattr(cls, "task", "inpaint") == task:
            out.append({"name": name, "label": getattr(cls, "label", "") or name, "checkpoints": []})
    return out


def methods_catalogue(results_dir: str | Path = "results") -> dict:
    """Every task's methods with their recorded checkpoints that exist on disk; a tab shows when its task has a
    registered method."""
    from ..study.records import load_checkpoints

    records = load_checkpoints(results_dir) if Path(results_dir, "checkpoints").is_dir() else {}
    cat = {}
    for task in TASKS:
        methods = registered(task)
        for m in methods:
            ck = records.get(m["name"], {}).get("checkpoint")
            if ck and Path(ck).is_file():
                m["checkpoints"].append(ck)
        cat[task] = methods
    return cat


def decode_image(data_url: str, what: str = "image") -> tuple[np.ndarray, list[str]]:
    """A ``data:image/...;base64,`` URL (or bare base64) → ``(uint8 RGB array, notes)``; downscales to
    :data:`MAX_SIDE`."""
    if not isinstance(data_url, str) or not data_url:
        raise UserError(f"no {what} was sent")
    payload = data_url.split(",", 1)[1] if data_url.startswith("data:") else data_url
    try:
        raw = base64.b64decode(payload, validate=True)
        img = Image.open(io.BytesIO(raw))
        img.load()
    except (binascii.Error, ValueError):
        raise UserError(f"the {what} is not base64 data") from None
    except (UnidentifiedImageError, OSError):
        raise UserError(f"the {what} is not an image this app can read (use PNG or JPEG)") from None
    notes = []
    if max(img.size) > MAX_SIDE:
        scale = MAX_SIDE / max(img.size)
        new = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
        notes.append(f"the {what} ({img.width}×{img.height}) was downscaled to {new[0]}×{new[1]}")
        img = img.resize(new, Image.LANCZOS)
    return np.asarray(img.convert("RGB")), notes


def decode_mask(data_url: str, shape: tuple[int, int]) -> np.ndarray:
    """The drawn mask (painted pixels, i.e. alpha > 0 or non-black, = hole) resized to ``shape`` (H, W)."""
    if not isinstance(data_url, str) or not data_url:
        raise UserError("no mask was drawn: paint over the region to fill, or pick a generated mask")
    payload = data_url.split(",", 1)[1] if data_url.startswith("data:") else data_url
    try:
        img = Image.open(io.BytesIO(base64.b64decode(payload, validate=True)))
        img.load()
    except (binascii.Error, ValueError, UnidentifiedImageError, OSError):
        raise UserError("the mask is not an image") from None
    arr = np.asarray(img.convert("RGBA").resize((shape[1], shape[0]), Image.NEAREST))
    return ((arr[..., 3] > 0) & (arr[..., :3].max(-1) > 0)).astype(np.float32)


def generated_mask(kind: str, shape: tuple[int, int], seed: int = 0) -> np.ndarray:
    """A generated mask of ``kind`` (irregular strokes or a rectangle, 20-30 % of the image) at ``shape``."""
    from ..masks.mask_sets import generate_mask

    side = 256
    try:
        m = generate_mask(kind, "20-30", side, np.random.default_rng(seed))
    except ValueError as exc:
        raise UserError(str(exc)) from None
    return np.asarray(Image.fromarray((m > 0).astype(np.uint8) * 255).resize((shape[1], shape[0]), Image.NEAREST)) > 0


def encode_png(arr: np.ndarray) -> str:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _checkpoint(task: str, method: str, checkpoint: str | None, results_dir) -> str | None:
    cat = {m["name"]: m for m in methods_catalogue(results_dir)[task]}
    if method not in cat:
        raise UserError(f"unknown {task} method {method!r}; registered: {', '.join(cat) or 'none'}")
    if method in CLASSICAL:
        return None
    allowed = cat[method]["checkpoints"]
    if not allowed:
        raise UserError(f"{cat[method]['label']} has no trained checkpoint yet: run the study (make study) first")
    if checkpoint in (None, "", "(latest)"):
        return allowed[-1]
    if checkpoint not in allowed:
        raise UserError(f"checkpoint {checkpoint!r} is not one of the study's checkpoints of {method}")
    return checkpoint


def inpaint_photo(photo: np.ndarray, hole: np.ndarray, method: str, checkpoint: str | None = None,
                  results_dir="results", finder=None) -> tuple[np.ndarray, list[str]]:
    """Inpaint ``hole`` (H, W, 1 = hole) of ``photo`` with ``method``: every detected face in its aligned crop,
    pasted back; no face → the whole photo at the model's size. Pixels outside the hole never change."""
    import torch

    from ..inpaint import inpaint_aligned, inpaint_tensor, load_inpainter

    if hole.sum() == 0:
        raise UserError("the mask is empty: paint over the region to fill")
    ckpt = _checkpoint("inpaint", method, checkpoint, results_dir)
    predictor, size = load_inpainter(method, ckpt)
    image = torch.from_numpy(np.array(photo, copy=True)).permute(2, 0, 1)[None].float() / 255
    mask = torch.from_numpy(hole.astype(np.float32))[None, None]
    notes = []
    if size is None:  # training-free: at the photo's own resolution
        out = predictor(image, mask) * mask + image * (1 - mask)
        notes.append(f"{method} (training-free) filled the hole at the photo's resolution")
    else:
        if finder is None:
            try:
                from ..data.face_alignment import make_face_finder

                finder = make_face_finder("dlib")
            except ImportError as exc:
                notes.append(f"no face detector ({exc}); the whole photo was processed")
        if finder is not None:
            out, n = inpaint_aligned(predictor, image, mask, size, finder=finder)
            notes.append(f"{n} face(s) detected, aligned, inpainted at {size} px and pasted back" if n else
                         f"no face detected: the whole photo was inpainted at {size} px and the fill pasted into "
                         f"the hole (results are best on aligned face crops)")
        else:
            out = inpaint_tensor(predictor, image, mask, size)
    arr = (out[0].clamp(0, 1).permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)
    arr[hole == 0] = photo[hole == 0]  # known pixels exactly as uploaded
    return arr, notes


def run_task(task: str, photo: np.ndarray, method: str, checkpoint: str | None = None,
             results_dir="results") -> tuple[np.ndarray, list[str]]:
    """Restoration or frontalisation of a photo through the task module's photo function."""
    import importlib

    if task not in TASK_FUNCTIONS:
        raise UserError(f"unknown task {task!r}")
    ckpt = _checkpoint(task, method, checkpoint, results_dir)
    module, fn = TASK_FUNCTIONS[task]
    try:
        func = getattr(importlib.import_module(module), fn)
    except (ImportError, AttributeError) as exc:
        raise UserError(f"{task} is not available in this installation ({exc})") from None
    out, info = func(photo, checkpoint=ckpt, method=method, device="cpu")
    notes = [str(info.get("message", ""))] if info.get("message") else []
    if "faces" in info:
        notes.append(f"{info['faces']} face(s) processed")
    return np.asarray(out, dtype=np.uint8), notes
