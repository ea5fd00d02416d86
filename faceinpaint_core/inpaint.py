"""``faceinpaint inpaint``: inpaint one user image with a trained (or training-free) method.

The image is resized to the model's square working size, inpainted there, and the prediction is
resized back and pasted into the hole only, so the known pixels keep the input's full resolution.
A facial-style model needs a parsing map; a user's photo has none, so ``--parser-checkpoint`` (or the
model's own ``parser_checkpoint``) supplies a face parser that predicts it.

With ``--align`` (:func:`inpaint_aligned`) each detected face is also aligned to the canonical crop the
models were trained on (:mod:`faceinpaint_core.data.face_alignment`), inpainted there and pasted back
into the hole with a feathered edge; hole pixels outside every face keep the whole-image result.
"""
from __future__ import annotations

import io
import logging
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from .utils.io import atomic_write_bytes

log = logging.getLogger(__name__)

MASK_POLARITIES = ("white-hole", "black-hole")


def read_image(path: str | Path) -> torch.Tensor:
    """RGB image file → ``(1, 3, H, W)`` float in [0, 1]; unreadable → ``ValueError`` naming the file."""
    try:
        with Image.open(path) as im:
            arr = np.asarray(im.convert("RGB"), dtype=np.float32) / 255.0
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: image file does not exist") from None
    except Exception as err:  # PIL raises several kinds for corrupt or non-image files
        raise ValueError(f"{path}: cannot read image ({err})") from None
    return torch.from_numpy(arr).permute(2, 0, 1).unsqueeze(0)


def read_mask(path: str | Path, polarity: str = "white-hole") -> torch.Tensor:
    """Mask file → ``(1, 1, H, W)`` float, 1 = hole (``white-hole``: >127 is hole; ``black-hole``: ≤127 is)."""
    if polarity not in MASK_POLARITIES:
        raise ValueError(f"unknown mask polarity {polarity!r}; known: {list(MASK_POLARITIES)}")
    gray = read_image(path).mean(dim=1, keepdim=True)
    hole = gray > 0.5 if polarity == "white-hole" else gray <= 0.5
    return hole.float()


def check_hole_fraction(mask: torch.Tensor, path, polarity: str) -> float:
    """Warn when the mask ``(1, 1, H, W)`` has no hole (output = input) or is all hole (nothing is known)."""
    frac = float(mask.mean())
    if frac == 0.0:
        log.warning("%s: the mask has no hole pixels (polarity %s); the output equals the input", path, polarity)
    elif frac == 1.0:
        log.warning("%s: the mask is 100%% hole (polarity %s): no pixel of the image is known, so the output is "
                    "the method's guess alone; check --mask-polarity", path, polarity)
    return frac


def encode_image(image: torch.Tensor, suffix: str) -> bytes:
    """``(1, 3, H, W)`` in [0, 1] → encoded file bytes in the format of ``suffix`` (PNG, JPEG, ...)."""
    arr = (image[0].clamp(0, 1).permute(1, 2, 0).cpu().numpy() * 255.0 + 0.5).astype(np.uint8)
    fmt = Image.registered_extensions().get(suffix.lower())
    if fmt is None:
        raise ValueError(f"cannot write images with extension {suffix!r}; use .png or .jpg")
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format=fmt)
    return buf.getvalue()


def to_model_size(image: torch.Tensor, mask: torch.Tensor, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Resize to ``size × size``: image bilinear (antialiased); mask by area, any hole fraction → hole."""
    img = F.interpolate(image, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
    msk = (F.interpolate(mask, size=(size, size), mode="area") > 0).float()
    return img.clamp(0, 1), msk


def paste_back(image: torch.Tensor, mask: torch.Tensor, pred: torch.Tensor) -> torch.Tensor:
    """Resize ``pred`` to the original size and paste it into the hole of ``image``.

    Args: image ``(1, 3, H, W)``, mask ``(1, 1, H, W)`` 1 = hole, pred ``(1, 3, s, s)``; all in [0, 1].
    """
    up = F.interpolate(pred, size=tuple(image.shape[-2:]), mode="bicubic", align_corners=False).clamp(0, 1)
    return image * (1 - mask) + up * mask


def inpaint_tensor(predictor, image: torch.Tensor, mask: torch.Tensor, size: int) -> torch.Tensor:
    """Inpaint at the model's ``size`` and paste into the hole at the input's resolution.

    Args: image ``(1, 3, H, W)`` in [0, 1], mask ``(1, 1, H, W)`` 1 = hole; ``predictor(image, mask)`` returns
    the raw prediction. Returns ``(1, 3, H, W)``; known pixels unchanged.
    """
    small_img, small_msk = to_model_size(image, mask, size)
    pred = predictor(small_img, small_msk).float().cpu()
    return paste_back(image, mask, pred)


def inpaint_aligned(predictor, image: torch.Tensor, mask: torch.Tensor, size: int, finder=None, faces=None,
                    feather: float | None = None) -> tuple[torch.Tensor, int]:
    """:func:`inpaint_tensor`, then every face re-inpainted in its canonical aligned crop and pasted back.

    Args:
        finder: a face finder (:func:`faceinpaint_core.data.face_alignment.make_face_finder`), used when
            ``faces`` is None (detection on the broken image).
        faces: already detected faces (e.g. on a clean reference).
        feather: paste-back ramp as a share of the crop side (None: the module default).
    Returns: ``(result (1, 3, H, W), number of faces pasted)``; pixels outside the hole are unchanged.
    """
    from .data.face_alignment import DEFAULT_FEATHER, align_face, paste_face

    base = inpaint_tensor(predictor, image, mask, size)
    img = image[0].permute(1, 2, 0).numpy().astype(np.float32)
    hole = mask[0, 0].numpy().astype(np.float32)
    if faces is None:
        faces = finder.find((np.clip(img * (1 - hole[..., None]), 0, 1) * 255 + 0.5).astype(np.uint8))
    out = base[0].permute(1, 2, 0).numpy().astype(np.float32)
    for face in faces:
        crop, matrix = align_face(img, face.points, size)
        crop_hole, _ = align_face(hole, face.points, size)
        m = torch.from_numpy((crop_hole > 0.01).astype(np.float32))[None, None]
        c = torch.from_numpy(crop).permute(2, 0, 1)[None]
        pred = predictor(c * (1 - m), m).float().cpu()
        filled = (pred * m + c * (1 - m))[0].permute(1, 2, 0).numpy()
        out = paste_face(out, filled, matrix, DEFAULT_FEATHER if feather is None else feather, region=hole)
    result = torch.from_numpy(np.ascontiguousarray(out)).permute(2, 0, 1)[None]
    return result * mask + image * (1 - mask), len(faces)


def load_inpainter(method: str, checkpoint=None, parser_checkpoint=None, device: str = "cpu",
                   steps: int | None = None):
    """``(predictor, size)`` where ``predictor(image, mask)`` returns the raw prediction in [0, 1].

    ``steps``: sampler steps of a sampling method (its ``set_inference_options``); others reject it.
    """
    from .eval.classical import CLASSICAL, ClassicalInpainter

    if method in CLASSICAL:
        if steps is not None:
            raise ValueError(f"--steps applies to sampling methods; {method!r} is training-free")
        return ClassicalInpainter(method), None
    if checkpoint is None:
        raise ValueError(f"method {method!r} is trained: pass --checkpoint runs/<run>/checkpoints/final.pt "
                         f"(training-free methods: {sorted(CLASSICAL)})")
    from .train.checkpoint import load_for_inference

    obj, nets = load_for_inference(Path(checkpoint), device=device)
    if obj.name != method:
        raise ValueError(f"{checkpoint}: holds method {obj.name!r}, not {method!r}")
    if parser_checkpoint:
        if not hasattr(obj, "load_parser"):
            raise ValueError(f"method {method!r} does not use a face parser; drop --parser-checkpoint")
        obj.load_parser(parser_checkpoint, device)
    obj.set_inference_options(steps=steps)
    return (lambda image, mask: obj.inpaint(nets, image, mask)), int(obj.cfg.train.size)


def inpaint_main(method: str, image, mask, out, checkpoint=None, parser_checkpoint=None, size=None,
                 mask_polarity: str = "white-hole", device: str = "cpu", steps: int | None = None,
                 align: bool = False, detector: str = "dlib") -> Path:
    """Inpaint ``image`` where ``mask`` marks holes and write ``out`` (atomically) at the input's resolution.

    Args:
        method: a trained method name (with ``checkpoint``) or a training-free one (``telea``, ...).
        image, mask: file paths; the mask must have the image's size.
        parser_checkpoint: face parser for methods that need a parsing map (facestyle) on unlabelled photos.
        size: model working size (default: the checkpoint's training size; 256 for training-free ones).
        mask_polarity: ``white-hole`` (255 = hole, NVIDIA style) or ``black-hole`` (0 = hole, QD-IMD style).
        align: also inpaint each detected face in its canonical aligned crop (:func:`inpaint_aligned`).
        detector: face detector for ``align``: ``dlib`` or ``mtcnn`` (facenet-pytorch).
    Returns: the output path.
    """
    img = read_image(image)
    msk = read_mask(mask, mask_polarity)
    if img.shape[-2:] != msk.shape[-2:]:
        raise ValueError(f"{mask}: mask is {msk.shape[-1]}x{msk.shape[-2]} but image {image} is "
                         f"{img.shape[-1]}x{img.shape[-2]} (width x height); they must match")
    check_hole_fraction(msk, mask, mask_polarity)
    finder = None
    if align:
        from .data.face_alignment import make_face_finder

        finder = make_face_finder(detector)  # a missing detector package fails before the model loads
    predictor, model_size = load_inpainter(method, checkpoint, parser_checkpoint, device, steps)
    s = int(size or model_size or 256)
    run = lambda x, m: predictor(x.to(device), m.to(device))  # noqa: E731
    if align:
        result, n_faces = inpaint_aligned(run, img, msk, s, finder)
        if n_faces == 0:
            log.warning("%s: --align found no face; the output is the whole-image result", image)
    else:
        result = inpaint_tensor(run, img, msk, s)
    out = Path(out)
    atomic_write_bytes(out, encode_image(result, out.suffix))
    log.info("wrote %s (%dx%d, method %s, model size %d)", out, img.shape[-1], img.shape[-2], method, s)
    return out
