"""Procedural synthetic faces with exact 8-region parsing labels (patent regions), for tests without datasets.

Each face is drawn directly at the requested size with OpenCV (no anti-aliasing), so the parsing
map *is* what was drawn: every pixel of region k was painted by region k's shape. A face is fixed by
``(seed, identity)`` -- face shape, skin/hair/background colours, feature positions and sizes -- and
by ``(seed, index)`` for the view: a yaw angle (features shift horizontally with their depth, the ear
on the far side hides behind the face, the near one shows more) and the lighting. Several indices can
share an identity, which is what frontalisation and the triplet loss need. All randomness comes from
:func:`faceinpaint_core.utils.seeding.rng`.

Drawing order (later overwrites earlier): background, back hair, neck, ears, face (skin), fringe
(hair), brows, eyes, nose, mouth.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from ..utils.io import atomic_write_bytes
from ..utils.seeding import rng
from .datasets import FaceDataset
from .parsing import REGION_TO_LABEL, write_label_png
from .splits import make_splits, splits_sha256

MAX_YAW_DEG = 30.0
_SHIFT = 4  # cv2 fixed-point bits: sub-pixel positions at any size
_HAIR_COLOURS = ((25, 18, 15), (70, 45, 25), (125, 80, 40), (205, 165, 95), (150, 60, 30), (165, 160, 155))
SKIN, NOSE, EYES, BROWS, EARS, MOUTH, HAIR, NECK = range(1, 9)


@dataclass(frozen=True)
class FaceIdentity:
    """Identity parameters, in units of the image size (face centre at (0.5, 0.53))."""

    face_w: float      # half-width of the face
    face_h: float      # half-height of the face
    jaw: float         # superellipse exponent of the lower face (2 = oval, 3 = square jaw)
    skin: tuple        # RGB
    hair: tuple        # RGB
    iris: tuple        # RGB
    lips: tuple        # RGB
    bg: tuple          # RGB, top of the background gradient
    bg2: tuple         # RGB, bottom
    hair_len: float    # 0 = short .. 1 = shoulder length
    hairline: float    # forehead height covered by the fringe (fraction of face_h)
    eye_dx: float      # eye half-spacing / face_w
    eye_y: float       # eye height above the face centre / face_h
    eye_w: float       # eye half-width / face_w
    brow_up: float     # brow height above the eyes / face_h
    brow_t: float      # brow thickness / face_h
    nose_len: float    # / face_h
    mouth_y: float     # below the face centre / face_h
    mouth_w: float     # half-width / face_w
    ear_h: float       # half-height / face_h
    neck_w: float      # half-width / face_w


def identity_params(seed: int, identity: int) -> FaceIdentity:
    """Draw one identity's parameters from ``rng(seed, "synthetic-identity", identity)``."""
    g = rng(seed, "synthetic-identity", identity)
    tone = g.uniform()
    skin = np.array((238, 200, 175)) * (1 - tone) + np.array((100, 65, 45)) * tone + g.normal(0, 6, 3)
    hair = np.array(_HAIR_COLOURS[g.integers(len(_HAIR_COLOURS))]) + g.normal(0, 8, 3)
    col = lambda c: tuple(int(v) for v in np.clip(c, 0, 255))  # noqa: E731
    face_w = g.uniform(0.23, 0.28)
    return FaceIdentity(
        face_w=face_w, face_h=face_w * g.uniform(1.2, 1.4), jaw=g.uniform(2.0, 3.0),
        skin=col(skin), hair=col(hair), iris=col(g.uniform(20, 140, 3)),
        lips=col(skin * np.array((1.0, 0.6, 0.6))), bg=col(g.uniform(30, 230, 3)), bg2=col(g.uniform(30, 230, 3)),
        hair_len=g.uniform(), hairline=g.uniform(0.5, 0.65), eye_dx=g.uniform(0.36, 0.46),
        eye_y=g.uniform(0.08, 0.18), eye_w=g.uniform(0.15, 0.2), brow_up=g.uniform(0.13, 0.18),
        brow_t=g.uniform(0.04, 0.07), nose_len=g.uniform(0.3, 0.4), mouth_y=g.uniform(0.42, 0.52),
        mouth_w=g.uniform(0.28, 0.4), ear_h=g.uniform(0.16, 0.22), neck_w=g.uniform(0.45, 0.6))


def view_params(seed: int, index: int, yaw: float | None = None) -> dict:
    """Per-image view: yaw (degrees), lighting gain, direction and strength, from ``(seed, "synthetic-view", index)``."""
    g = rng(seed, "synthetic-view", index)
    drawn_yaw = g.uniform(-MAX_YAW_DEG, MAX_YAW_DEG)
    return {"yaw": float(drawn_yaw if yaw is None else yaw), "gain": g.uniform(0.85, 1.1),
            "light_dir": g.uniform(0, 2 * np.pi), "light": g.uniform(0.0, 0.45)}


# -- drawing ----------------------------------------------------------------------------------

def _fx(v: float) -> int:
    return int(round(v * (1 << _SHIFT)))


def _ellipse(lab, region, cx, cy, ax, ay, angle=0.0):
    """Filled ellipse, centre/axes in pixels; axes at least half a pixel so small sizes keep every feature."""
    ax, ay = max(ax, 0.5), max(ay, 0.5)
    cv2.ellipse(lab, (_fx(cx), _fx(cy)), (_fx(ax), _fx(ay)), angle, 0, 360, region, -1, cv2.LINE_8, _SHIFT)


def _poly(lab, region, pts):
    cv2.fillPoly(lab, [np.array([[_fx(x), _fx(y)] for x, y in pts], np.int32)], region, cv2.LINE_8, _SHIFT)


def _face_outline(cx, cy, w, h, jaw, n=64):
    """Superellipse outline: oval upper half, ``jaw``-exponent lower half."""
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    e = np.where(np.sin(t) > 0, 2.0 / jaw, 1.0)
    x = cx + w * np.sign(np.cos(t)) * np.abs(np.cos(t)) ** e
    y = cy + h * np.sign(np.sin(t)) * np.abs(np.sin(t)) ** e
    return list(zip(x, y))


def draw_regions(p: FaceIdentity, yaw_deg: float, size: int) -> np.ndarray:
    """The parsing map ``(size, size)`` uint8 (0..8) of one identity at one yaw."""
    s, lab = float(size), np.zeros((size, size), np.uint8)
    cx, cy, w, h = 0.5 * s, 0.53 * s, p.face_w * s, p.face_h * s
    t = np.sin(np.radians(yaw_deg))
    _back_hair(lab, p, cx, cy, w, h, s)
    neck_top = cy + 0.5 * h
    _poly(lab, NECK, [(cx - p.neck_w * w, neck_top), (cx + p.neck_w * w, neck_top),
                      (cx + p.neck_w * w * 1.1, s), (cx - p.neck_w * w * 1.1, s)])
    _ears(lab, p, cx, cy, w, h, t)
    _poly(lab, SKIN, _face_outline(cx, cy, w, h, p.jaw))
    _fringe(lab, p, cx, cy, w, h, t)
    _features(lab, p, cx, cy, w, h, t)
    return lab


def _back_hair(lab, p, cx, cy, w, h, s):
    _ellipse(lab, HAIR, cx, cy - 0.12 * h, 1.15 * w, 1.0 * h)
    if p.hair_len > 0.3:
        bottom = cy + (0.2 + 0.9 * p.hair_len) * h
        _poly(lab, HAIR, [(cx - 1.15 * w, cy - 0.12 * h), (cx + 1.15 * w, cy - 0.12 * h),
                          (cx + 1.25 * w, bottom), (cx - 1.25 * w, bottom)])


def _ears(lab, p, cx, cy, w, h, t):
    """Ears on the face's sides; with yaw t = sin(yaw) the far ear slides behind the face, the near one out."""
    for side in (-1, 1):
        out = 0.12 * w * (1 - 3 * side * t)  # how far the ear centre sits outside the face outline
        ear_w = max(0.13 * w * (1 - 1.5 * side * t), 0.04 * w)
        _ellipse(lab, EARS, cx + side * (w + out), cy - 0.05 * h, ear_w, p.ear_h * h)


def _fringe(lab, p, cx, cy, w, h, t):
    """Hair over the forehead: face pixels above a curved, yaw-shifted hairline become hair."""
    ys, xs = np.mgrid[0:lab.shape[0], 0:lab.shape[1]] + 0.5
    u = (xs - cx - 0.3 * w * t) / w
    hairline = cy - p.hairline * h + 0.25 * h * u ** 2
    lab[(lab == SKIN) & (ys < hairline)] = HAIR


def _features(lab, p, cx, cy, w, h, t):
    """Brows, eyes, nose, mouth; each shifts horizontally by its depth on a head of radius w."""
    eye_y = cy - p.eye_y * h
    phi_e, yaw = np.arcsin(p.eye_dx), np.arcsin(t)
    for side in (-1, 1):
        ex = cx + w * np.sin(side * phi_e + yaw)
        fore = np.cos(side * phi_e + yaw)  # foreshortening of the eye's width
        bw, by = 1.2 * p.eye_w * w * fore, eye_y - p.brow_up * h
        _poly(lab, BROWS, [(ex - bw, by + 0.2 * p.brow_t * h), (ex + bw, by),
                           (ex + bw, by + p.brow_t * h), (ex - bw, by + 1.2 * p.brow_t * h)])
        _ellipse(lab, EYES, ex, eye_y, p.eye_w * w * fore, 0.45 * p.eye_w * w)
    bridge, tip = cx + 1.0 * w * t, cx + 1.2 * w * t
    nose_w, tip_y = max(0.13 * w, 1.0), eye_y + p.nose_len * h
    _poly(lab, NOSE, [(bridge - 0.25 * nose_w, eye_y + 0.05 * h), (bridge + 0.25 * nose_w, eye_y + 0.05 * h),
                      (tip + nose_w, tip_y), (tip - nose_w, tip_y)])
    _ellipse(lab, MOUTH, cx + 0.95 * w * t, cy + p.mouth_y * h, p.mouth_w * w * np.sqrt(1 - t * t), 0.07 * h)


# -- colouring --------------------------------------------------------------------------------

def paint(lab: np.ndarray, p: FaceIdentity, view: dict, seed: int, index: int) -> np.ndarray:
    """RGB uint8 image of a parsing map: region colours, iris and hair texture, lighting, sensor noise."""
    size = lab.shape[0]
    skin = np.array(p.skin, np.float32)
    table = np.stack([np.zeros(3), skin, skin * 0.9, np.array((235, 235, 230)), np.array(p.hair) * 0.7,
                      skin * 0.93, np.array(p.lips), np.array(p.hair), skin * 0.82]).astype(np.float32)
    img = table[lab]
    ys, xs = (np.mgrid[0:size, 0:size] + 0.5) / size
    bg = np.array(p.bg, np.float32) * (1 - ys[..., None]) + np.array(p.bg2, np.float32) * ys[..., None]
    img[lab == 0] = bg[lab == 0]
    img[lab == HAIR] *= (0.9 + 0.1 * np.sin(xs * size * 0.9 + 3 * np.sin(ys * 6)))[lab == HAIR][:, None]
    _iris(img, lab, p)
    d = (xs - 0.5) * np.cos(view["light_dir"]) + (ys - 0.5) * np.sin(view["light_dir"])
    img *= (view["gain"] * (1 + view["light"] * d))[..., None]
    img += rng(seed, "synthetic-noise", index).normal(0, 2.0, img.shape).astype(np.float32)
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def _iris(img, lab, p):
    """Dark iris disc at the centre of each eye blob, clipped to the eye region."""
    n, comp, stats, cents = cv2.connectedComponentsWithStats((lab == EYES).astype(np.uint8), connectivity=8)
    ys, xs = np.mgrid[0:lab.shape[0], 0:lab.shape[1]]
    for k in range(1, n):
        r = max(0.5 * stats[k, cv2.CC_STAT_HEIGHT], 0.6)
        inside = (comp == k) & ((xs - cents[k, 0]) ** 2 + (ys - cents[k, 1]) ** 2 <= r * r)
        img[inside] = p.iris


def render_face(seed: int, index: int, size: int, yaw: float | None = None,
                identity: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Draw synthetic face ``index`` (identity defaults to ``index``; yaw in degrees, default drawn in ±30).

    Returns:
        ``(image, parsing)``: uint8 ``(size, size, 3)`` RGB and uint8 ``(size, size)`` regions 0..8.
    """
    if int(size) < 16:
        raise ValueError(f"render_face: size must be >= 16, got {size}")
    p = identity_params(seed, index if identity is None else identity)
    view = view_params(seed, index, yaw)
    lab = draw_regions(p, view["yaw"], int(size))
    return paint(lab, p, view, seed, index), lab


# -- dataset and folder -----------------------------------------------------------------------

class SyntheticFaces(FaceDataset):
    """``n`` synthetic faces as a dataset; item ``i`` has identity ``i % n_identities`` (or ``i``).

    Items: ``{"image": (3, S, S) float [0, 1], "parsing": (S, S) long, "path": str, "index": int,
    "identity": int, "yaw": float}`` ("parsing" only when ``with_parsing``).
    """

    def __init__(self, n: int, size: int, seed: int = 0, n_identities: int | None = None, *,
                 split: str = "all", with_parsing: bool = True):
        if n < 1 or (n_identities is not None and n_identities < 1):
            raise ValueError(f"SyntheticFaces: n and n_identities must be >= 1, got {n}, {n_identities}")
        self.root, self.name, self.size, self.seed = Path("synthetic"), "synthetic", int(size), int(seed)
        self.n_identities, self.skipped, self._with_parsing = n_identities, 0, with_parsing
        self.folder, self.n_files_total = "synthetic (rendered in memory, no files)", int(n)
        names = [f"{i:05d}.png" for i in range(n)]
        splits = make_splits(names, seed)
        self.split_hash = splits_sha256(splits)
        self.files = names if split == "all" else splits[split]

    @property
    def with_parsing(self) -> bool:
        return self._with_parsing

    def identity_of(self, index: int) -> int:
        return index % self.n_identities if self.n_identities else index

    def __getitem__(self, i: int) -> dict:
        index = int(Path(self.files[i]).stem)
        return self.render(index)

    def render(self, index: int, yaw: float | None = None) -> dict:
        """Item for face ``index``; ``yaw=0.0`` gives the frontal view of the same identity and lighting."""
        ident = self.identity_of(index)
        image, parsing = render_face(self.seed, index, self.size, yaw, ident)
        item = {"image": torch.from_numpy(image).permute(2, 0, 1).float().div_(255),
                "path": f"synthetic/{self.seed}/{index:05d}.png", "index": index, "identity": ident,
                "yaw": view_params(self.seed, index, yaw)["yaw"]}
        if self._with_parsing:
            item["parsing"] = torch.from_numpy(parsing.astype(np.int64))
        return item


def write_synthetic_folder(out_dir: str | Path, n: int, size: int, seed: int, with_labels: bool = True,
                           image_ext: str = ".png") -> list[Path]:
    """Write ``out_dir/images/<i:05d><ext>`` (+ ``labels/<i:05d>.png`` CelebAMask palette ids) -- the combined layout.

    Labels use :data:`.parsing.REGION_TO_LABEL`, so ``celebamask_to_regions`` recovers the drawn map exactly.
    Returns the image paths.
    """
    out_dir, paths = Path(out_dir), []
    lut = np.array(REGION_TO_LABEL, np.uint8)
    for i in range(n):
        image, parsing = render_face(seed, i, size)
        path = out_dir / "images" / f"{i:05d}{image_ext}"
        ok, buf = cv2.imencode(image_ext, cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        if not ok:
            raise ValueError(f"write_synthetic_folder: cannot encode {image_ext} images")
        paths.append(atomic_write_bytes(path, buf.tobytes()))
        if with_labels:
            write_label_png(out_dir / "labels" / f"{i:05d}.png", lut[parsing])
    return paths
