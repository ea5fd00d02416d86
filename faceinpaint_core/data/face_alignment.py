"""Face detection, 5-point alignment to the project's canonical crop, and the inverse paste-back.

The restoration pipelines the study follows (GFPGAN through facexlib's ``FaceRestoreHelper``; TSGAN's
MTCNN preprocessing) work on aligned face crops and put the result back into the photo:

1. **detect** faces and five landmarks — eye centres, nose tip, mouth corners (:data:`FIVE_POINTS`):
   ``dlib`` (HOG detector + the 68-point shape predictor, whose eye rings 36-41 / 42-47 are
   averaged, nose tip 30, mouth corners 48 / 54) or ``mtcnn`` (facenet-pytorch, optional);
2. **align**: the similarity transform (rotation, uniform scale, translation; Umeyama 1991, via
   scikit-image) taking the five points to :data:`CANONICAL_FIVE_POINTS` scaled to the crop side;
3. **paste back**: the processed crop is warped back with the inverse transform and blended with a
   feathered weight that is 1 inside the face crop, falls to 0 over ``feather`` (a share of the crop
   side) *inside* the crop's outline and is exactly 0 outside it, so pixels outside the face crop
   are never changed; an optional ``region`` (e.g. the inpainting hole) restricts it further.

:data:`CANONICAL_FIVE_POINTS` is the project's crop geometry: the mean dlib five points of 196 of
the 200 first CelebAMask-HQ faces (``celebamask-hq-1k``, at 256 px; 4 without a detection), made
left-right symmetric. It lies within 0.013 of the crop side of FFHQ's alignment template (GFPGAN's
512-px template / 512), which CelebA-HQ's alignment resembles.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

FIVE_POINTS = ("left_eye", "right_eye", "nose_tip", "mouth_left", "mouth_right")  # image left / right
CANONICAL_FIVE_POINTS = np.array([[0.3776, 0.4812], [0.6224, 0.4812], [0.5000, 0.6221],
                                  [0.3887, 0.7328], [0.6113, 0.7328]])
FACE_FINDER_NAMES = ("dlib", "mtcnn")
DEFAULT_FEATHER = 0.06


@dataclass(frozen=True)
class Face:
    """One detected face: ``box`` (left, top, right, bottom) px, ``points`` (5, 2) x/y px, optional
    ``landmarks`` (68, 2) (dlib only), and the detector's ``score``."""

    box: tuple[float, float, float, float]
    points: np.ndarray
    landmarks: np.ndarray | None = None
    score: float = 1.0


def five_from_68(landmarks: np.ndarray) -> np.ndarray:
    """The five alignment points (:data:`FIVE_POINTS`) from dlib's 68 landmarks ``(68, 2)``."""
    lm = np.asarray(landmarks, dtype=np.float64)
    return np.stack([lm[36:42].mean(0), lm[42:48].mean(0), lm[30], lm[48], lm[54]])


def _upsampled(image: np.ndarray, min_size: int) -> tuple[np.ndarray, float]:
    """``image`` scaled so its short side is at least ``min_size`` (bicubic) and the scale used."""
    scale = max(1.0, min_size / min(image.shape[:2]))
    if scale == 1.0:
        return image, 1.0
    size = (round(image.shape[1] * scale), round(image.shape[0] * scale))
    return cv2.resize(image, size, interpolation=cv2.INTER_CUBIC), scale


def _unscale(xy: np.ndarray, scale: float) -> np.ndarray:
    """Pixel-centre coordinates of a ``scale``-times resized image back in the original."""
    return (np.asarray(xy, dtype=np.float64) + 0.5) / scale - 0.5


class DlibFaceFinder:
    """dlib's HOG face detector + 68-point shape predictor (models from ``face_recognition_models``).

    Args:
        min_size: images whose short side is smaller are upsampled (bicubic) first: the HOG detector
            misses faces under ~80 px.
        upsample_times: dlib's own pyramid upsampling for the detector.
    """

    name = "dlib"

    def __init__(self, min_size: int = 160, upsample_times: int = 0):
        from ..metrics.identity import dlib_model, import_dlib

        self.dlib = import_dlib()
        self.min_size, self.upsample_times = int(min_size), int(upsample_times)
        self.detector, self.shape68 = dlib_model("detector"), dlib_model("shape68")

    def landmarks(self, image: np.ndarray, box) -> np.ndarray:
        """dlib's 68 landmarks ``(68, 2)`` (x, y px) of the face in ``box`` of an ``(H, W, 3)`` uint8 image."""
        big, scale = _upsampled(image, self.min_size)
        b = [(v + 0.5) * scale - 0.5 for v in box]
        rect = self.dlib.rectangle(int(round(b[0])), int(round(b[1])), int(round(b[2])), int(round(b[3])))
        shape = self.shape68(big, rect)
        return _unscale([[p.x, p.y] for p in shape.parts()], scale)

    def find(self, image: np.ndarray) -> list[Face]:
        """Faces in an ``(H, W, 3)`` uint8 RGB image, largest first."""
        big, scale = _upsampled(np.ascontiguousarray(image), self.min_size)
        rects = sorted(self.detector(big, self.upsample_times), key=lambda r: -r.area())
        faces = []
        for r in rects:
            box = tuple(float(v) for v in _unscale([r.left(), r.top(), r.right(), r.bottom()], scale))
            lm = self.landmarks(image, box)
            faces.append(Face(box, five_from_68(lm), lm))
        return faces


class MTCNNFaceFinder:
    """facenet-pytorch's MTCNN (Zhang et al. 2016; TSGAN's preprocessing): boxes and five landmarks."""

    name = "mtcnn"

    def __init__(self, device: str = "cpu", min_face: int = 20):
        try:
            from facenet_pytorch import MTCNN
        except ImportError:
            raise ImportError("face detector 'mtcnn' needs facenet-pytorch (pip install facenet-pytorch); "
                              "or use the dlib detector") from None
        self.mtcnn = MTCNN(keep_all=True, device=device, min_face_size=min_face)

    def find(self, image: np.ndarray) -> list[Face]:
        boxes, probs, points = self.mtcnn.detect(image, landmarks=True)
        if boxes is None:
            return []
        faces = [Face(tuple(float(v) for v in b), np.asarray(p, np.float64), None, float(s))
                 for b, s, p in zip(boxes, probs, points)]
        return sorted(faces, key=lambda f: -(f.box[2] - f.box[0]) * (f.box[3] - f.box[1]))


def make_face_finder(name: str = "dlib", **kw):
    """A face finder by name: ``dlib`` or ``mtcnn`` (``ValueError`` listing them otherwise)."""
    if name not in FACE_FINDER_NAMES:
        raise ValueError(f"unknown face detector {name!r}; known: {', '.join(FACE_FINDER_NAMES)}")
    return DlibFaceFinder(**kw) if name == "dlib" else MTCNNFaceFinder(**kw)


# -- the warp and its inverse ---------------------------------------------------------------------------

def similarity_transform(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The least-squares similarity ``(2, 3)`` matrix taking points ``src`` to ``dst`` (Umeyama 1991)."""
    from skimage.transform import SimilarityTransform

    src, dst = np.asarray(src, np.float64), np.asarray(dst, np.float64)
    if src.shape != dst.shape or src.ndim != 2 or src.shape[1] != 2 or len(src) < 2:
        raise ValueError(f"similarity_transform: need two (K, 2) point arrays, K >= 2; got {src.shape}, {dst.shape}")
    tform = SimilarityTransform.from_estimate(src, dst)
    if not tform:  # skimage's FailedEstimation is falsy
        raise ValueError(f"similarity_transform: degenerate points ({tform})")
    return np.asarray(tform.params[:2], np.float64)


def align_face(image: np.ndarray, points: np.ndarray, size: int,
               template: np.ndarray = CANONICAL_FIVE_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """The canonical ``size x size`` crop of a face and the ``(2, 3)`` image -> crop matrix.

    Args:
        image: ``(H, W, C)`` uint8 or float.  points: ``(5, 2)`` landmarks (:data:`FIVE_POINTS`), px.
        template: ``(5, 2)`` target positions as shares of the crop side.
    """
    m = similarity_transform(points, np.asarray(template, np.float64) * size)
    crop = cv2.warpAffine(image, m, (int(size), int(size)), flags=cv2.INTER_CUBIC if image.dtype == np.uint8
                          else cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
    return crop, m


def face_weight(matrix: np.ndarray, size: int, hw: tuple[int, int], feather: float = DEFAULT_FEATHER) -> np.ndarray:
    """Blend weight ``(H, W)`` float32 of a pasted ``size``-crop: 1 inside, feathered over ``feather`` of the
    crop side inside its outline, exactly 0 outside the outline (see the module docstring)."""
    inv = cv2.invertAffineTransform(matrix)
    inside = cv2.warpAffine(np.ones((size, size), np.float32), inv, (hw[1], hw[0]), flags=cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_CONSTANT, borderValue=0) >= 1.0 - 1e-6
    if feather <= 0:
        return inside.astype(np.float32)
    side = size / np.sqrt(abs(np.linalg.det(matrix[:, :2])))  # crop side in image pixels
    radius = max(1, int(round(feather * side / 2)))
    core = cv2.erode(inside.astype(np.uint8), np.ones((2 * radius + 1, 2 * radius + 1), np.uint8))
    soft = cv2.GaussianBlur(core.astype(np.float32), (0, 0), sigmaX=radius / 2)
    return np.where(inside, soft, 0.0).astype(np.float32)


def paste_face(image: np.ndarray, crop: np.ndarray, matrix: np.ndarray, feather: float = DEFAULT_FEATHER,
               region: np.ndarray | None = None) -> np.ndarray:
    """``image`` with ``crop`` (from :func:`align_face` with ``matrix``, then processed) warped back in.

    Args:
        image: ``(H, W, C)`` uint8 or float photo.  crop: ``(S, S, C)`` same dtype.
        feather: width of the blend ramp as a share of the crop side (0 = hard edge).
        region: optional ``(H, W)`` weight in [0, 1] multiplied in (e.g. the inpainting hole).
    Returns: the blended photo, same dtype and shape; pixels where the weight is 0 are copied exactly.
    """
    h, w = image.shape[:2]
    inv = cv2.invertAffineTransform(matrix)
    back = cv2.warpAffine(crop, inv, (w, h), flags=cv2.INTER_CUBIC if crop.dtype == np.uint8 else cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)
    wgt = face_weight(matrix, crop.shape[0], (h, w), feather)
    if region is not None:
        wgt = wgt * np.asarray(region, np.float32)
    wgt = wgt.reshape(h, w, *([1] * (image.ndim - 2)))
    out = image.astype(np.float32) * (1 - wgt) + back.astype(np.float32) * wgt
    out = np.where(wgt > 0, out, image.astype(np.float32))
    return np.clip(np.round(out), 0, 255).astype(np.uint8) if image.dtype == np.uint8 else out.astype(image.dtype)
