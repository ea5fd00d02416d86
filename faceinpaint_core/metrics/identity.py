"""Identity distance: Euclidean distance of dlib's 128-d face descriptors (King 2009; ResNet v1 model).

For each (output, ground truth) pair the face is found with dlib's HOG frontal-face detector,
aligned with the 5-point shape predictor, and embedded with ``dlib_face_recognition_resnet_model_v1``;
the metric is ``||d(pred) - d(target)||_2`` (dlib's same-person threshold is 0.6). The models ship
in the ``face_recognition_models`` wheel (CC0). An image in which no face is found gives ``NaN``
for its pair and is counted — never a crash. Small images are upsampled (bicubic) to at least
``min_size`` px before detection because the HOG detector misses faces under ~80 px.
"""
from __future__ import annotations

import functools
import hashlib

import importlib.util
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .pixel import _check_pair

MODEL_FILES = {"shape5": "shape_predictor_5_face_landmarks.dat",
               "shape68": "shape_predictor_68_face_landmarks.dat",
               "resnet": "dlib_face_recognition_resnet_model_v1.dat"}
BOX_MODES = ("each", "target")


def import_dlib():
    """The ``dlib`` module, or an ``ImportError`` saying which packages to install."""
    try:
        import dlib
    except ImportError as e:
        raise ImportError("identity metric needs dlib: pip install dlib-bin face-recognition-models "
                          f"(or the 'identity' extra: pip install -e .[identity]); import failed: {e}") from e
    return dlib


def face_model_path(key: str) -> Path:
    """Path of a model file inside the ``face_recognition_models`` package.

    Found with ``importlib`` instead of importing the package, whose ``__init__`` needs the
    ``pkg_resources`` module that recent setuptools no longer ships.
    """
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("identity metric needs the face models: pip install face-recognition-models")
    path = Path(list(spec.submodule_search_locations)[0]) / "models" / MODEL_FILES[key]
    if not path.is_file():
        raise FileNotFoundError(f"identity metric: model file {path} missing; reinstall face-recognition-models")
    return path


@functools.lru_cache(maxsize=None)
def dlib_model(key: str):
    """dlib's HOG face detector (``"detector"``) or a ``face_recognition_models`` landmark predictor
    (``"shape5"``, ``"shape68"``), built once per process and shared: building the detector takes ~1.5 s and the
    68-point predictor ~1 s on a 2-core CPU, which every detector / embedder / aligner used to pay again (an
    identity-evaluation job built four). Both are const in dlib (calling them changes nothing), so sharing them
    across instances and threads is safe; the ResNet descriptor network is not (its forward pass writes its
    layers' outputs), so every embedder keeps its own."""
    dlib = import_dlib()
    if key == "detector":
        return dlib.get_frontal_face_detector()
    if key in ("shape5", "shape68"):
        return dlib.shape_predictor(str(face_model_path(key)))
    raise ValueError(f"dlib_model: unknown model {key!r}; use detector, shape5 or shape68")


def to_uint8_rgb(images: torch.Tensor, min_size: int) -> list[np.ndarray]:
    """(N, 3, H, W) in [0, 1] -> N contiguous (H', W', 3) uint8 arrays, upsampled so min(H', W') >= min_size."""
    x = images.detach().float().cpu()
    scale = max(1.0, min_size / min(x.shape[-2:]))
    if scale > 1:
        size = (round(x.shape[-2] * scale), round(x.shape[-1] * scale))
        x = F.interpolate(x, size=size, mode="bicubic", align_corners=False)
    x = (x.clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1)
    return [np.ascontiguousarray(a) for a in x.numpy()]


#: ground-truth images whose detection / descriptor a metric keeps (a few evaluation tables' worth)
TARGET_CACHE = 4096


class IdentityMetric:
    """dlib face-descriptor distance per image pair (NaN where a face is not found) and the miss count.

    Args:
        min_size: upsample images whose short side is below this many pixels before detection.
        upsample_times: dlib detector's own pyramid upsampling (0 = none).
        box_from: ``"each"`` detects a face in pred and in target separately; ``"target"`` reuses
            the ground truth's box for the output (inpainting keeps geometry, and a damaged output
            is then still measured rather than dropped).
    """

    def __init__(self, min_size: int = 160, upsample_times: int = 1, box_from: str = "each"):
        if box_from not in BOX_MODES:
            raise ValueError(f"box_from={box_from!r} unknown; use one of {BOX_MODES}")
        dlib = import_dlib()
        self.min_size, self.upsample_times, self.box_from = int(min_size), int(upsample_times), box_from
        self.detector, self.shape_predictor = dlib_model("detector"), dlib_model("shape5")
        self.encoder = dlib.face_recognition_model_v1(str(face_model_path("resnet")))
        self.name = "identity_dlib"
        self._targets: dict[bytes, tuple] = {}

    def detect(self, img: np.ndarray):
        """Largest face box in an (H, W, 3) uint8 image, or None."""
        boxes = list(self.detector(img, self.upsample_times))
        return max(boxes, key=lambda r: r.area()) if boxes else None

    def descriptor(self, img: np.ndarray, box) -> np.ndarray:
        """128-d descriptor of the face in ``box`` of an (H, W, 3) uint8 image."""
        return np.asarray(self.encoder.compute_face_descriptor(img, self.shape_predictor(img, box)))

    def _target(self, target: np.ndarray):
        """``(box, descriptor)`` of a ground-truth image, memoised by its bytes: tables score many outputs against
        the same ground truth, and dlib's detection dominates the cost."""
        key = hashlib.sha1(target.tobytes()).digest() + bytes(str(target.shape), "ascii")
        if key not in self._targets:
            if len(self._targets) >= TARGET_CACHE:
                self._targets.clear()
            box = self.detect(target)
            self._targets[key] = (box, None if box is None else self.descriptor(target, box))
        return self._targets[key]

    def _pair(self, pred: np.ndarray, target: np.ndarray) -> float:
        box_t, desc_t = self._target(target)
        box_p = box_t if self.box_from == "target" else self.detect(pred)
        if box_t is None or box_p is None:
            return float("nan")
        return float(np.linalg.norm(self.descriptor(pred, box_p) - desc_t))

    def __call__(self, pred: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, int]:
        """Identity distances.

        Args:
            pred: (N, 3, H, W) in [0, 1], the outputs.
            target: (N, 3, H, W) in [0, 1], the ground truth.
        Returns:
            ((N,) float64 distances, NaN where no face was found in pred or target; number of such pairs).
        """
        _check_pair(pred, target)
        if pred.shape[1] != 3:
            raise ValueError(f"identity: images must be RGB (N, 3, H, W), got {tuple(pred.shape)}")
        preds, targets = to_uint8_rgb(pred, self.min_size), to_uint8_rgb(target, self.min_size)
        dist = torch.tensor([self._pair(p, t) for p, t in zip(preds, targets)], dtype=torch.float64)
        return dist, int(torch.isnan(dist).sum())
