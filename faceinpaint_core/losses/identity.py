"""Identity losses: ArcFace's additive angular margin, relational distillation, identity preservation.

* :func:`additive_angular_margin_loss` — ArcFace, Deng et al. CVPR 2019, eq. (3):
  ``L = -log( e^{s·cos(θ_y + m)} / (e^{s·cos(θ_y + m)} + Σ_{j≠y} e^{s·cos θ_j}) )``. Where
  ``θ_y + m`` would pass π the target logit is ``cos θ_y − m·sin m`` instead (insightface's
  monotonic continuation), so the loss keeps decreasing in ``θ_y``.
* :func:`relational_distillation_loss` — the student's pairwise cosine similarities matched to a
  teacher's (Park et al. 2019, RKD angle-free variant) [ours: distils dlib's descriptor without
  a projection between the two spaces].
* :func:`identity_preserving_loss` — the identity loss of face restoration / de-occlusion
  (GFPGAN's ``L_id``, TSGAN's identity-preserving ``L_ip``): distance between a frozen recogniser's
  embeddings of the output and of the ground truth; :func:`load_recogniser` gives that recogniser
  from the project's ``identity`` checkpoint or a user's pretrained ArcFace ``backbone.pth``.
"""
from __future__ import annotations

import math
from pathlib import Path

import torch
import torch.nn.functional as F

ID_DISTANCES = ("cosine", "l1")


def additive_angular_margin_loss(cos: torch.Tensor, labels: torch.Tensor, s: float = 64.0,
                                 m: float = 0.5) -> torch.Tensor:
    """ArcFace loss, eq. (3) (see the module docstring).

    Args:
        cos: ``(N, C)`` cosines between normalised embeddings and class centres (:class:`~..nets.identity.ArcFaceHead`).
        labels: ``(N,)`` long class indices.
        s: feature scale (paper: 64).  m: additive angular margin in radians (paper: 0.5).
    Returns: scalar mean loss.
    """
    if cos.dim() != 2 or labels.shape != cos.shape[:1]:
        raise ValueError(f"additive_angular_margin_loss: cos (N, C) and labels (N,), got {tuple(cos.shape)} "
                         f"and {tuple(labels.shape)}")
    c = cos.float().clamp(-1 + 1e-7, 1 - 1e-7)
    target = c.gather(1, labels[:, None])
    sin = torch.sqrt(1.0 - target * target)
    with_margin = target * math.cos(m) - sin * math.sin(m)
    with_margin = torch.where(target > math.cos(math.pi - m), with_margin, target - m * math.sin(m))
    logits = c.scatter(1, labels[:, None], with_margin) * s
    return F.cross_entropy(logits, labels)


def relational_distillation_loss(student: torch.Tensor, teacher: torch.Tensor,
                                 valid: torch.Tensor | None = None) -> torch.Tensor:
    """Mean squared difference of the pairwise cosine-similarity matrices of ``(N, D_s)`` and ``(N, D_t)``.

    ``valid`` ``(N,)`` bool keeps only rows whose teacher embedding exists (e.g. dlib found the face);
    with fewer than two valid rows the loss is 0 (no pair to compare).
    """
    if valid is not None:
        student, teacher = student[valid], teacher[valid]
    if student.shape[0] < 2:
        return student.sum() * 0.0
    a, b = F.normalize(student.float(), dim=1), F.normalize(teacher.float(), dim=1)
    return (a @ a.t() - b @ b.t()).pow(2).mean()


def identity_preserving_loss(recogniser, pred: torch.Tensor, target: torch.Tensor,
                             distance: str = "cosine") -> torch.Tensor:
    """Identity distance between a restored face and its ground truth under a frozen recogniser.

    Args:
        recogniser: module ``(N, 3, H, W) [0, 1] -> (N, D)`` (:func:`load_recogniser`), frozen.
        pred, target: ``(N, 3, H, W)`` in [0, 1]; gradients flow through ``pred`` only.
        distance: ``"cosine"`` (``1 − cos``, ArcFace's metric) or ``"l1"`` (mean absolute feature difference).
    Returns: scalar mean over the batch.
    """
    if distance not in ID_DISTANCES:
        raise ValueError(f"identity_preserving_loss: distance {distance!r} unknown; use one of {ID_DISTANCES}")
    fp = recogniser(pred)
    with torch.no_grad():
        ft = recogniser(target)
    if distance == "cosine":
        return (1 - F.cosine_similarity(fp, ft, dim=1)).mean()
    return (fp - ft).abs().mean()


def load_recogniser(path: str | Path, device: str = "cpu") -> torch.nn.Module:
    """A frozen face recogniser for identity losses and verification, from ``path``:

    * a faceinpaint checkpoint of method ``identity`` (``faceinpaint train --method identity``), or
    * an insightface ``arcface_torch`` ``backbone.pth`` (a user's pretrained ArcFace, ``identity_weights``).

    Raises ``FileNotFoundError`` / ``ValueError`` with one line naming the file.
    """
    from ..nets.identity import load_arcface_backbone

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"identity weights {path} do not exist: give a checkpoint of a recogniser method (task "
                                f"'recognise', runs/<run>/checkpoints/final.pt) or an insightface arcface_torch backbone.pth")
    if _is_faceinpaint_checkpoint(path):
        from ..train.checkpoint import load_for_inference

        method, nets = load_for_inference(path, device=device)
        if not getattr(method, "is_recogniser", False):  # the contract flag, not a method name
            raise ValueError(f"{path}: a checkpoint of method {method.name!r}, not of a face recogniser")
        return nets["G"]
    return load_arcface_backbone(path, device)


def _is_faceinpaint_checkpoint(path: Path) -> bool:
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception:  # noqa: BLE001 - not a torch file at all: let the ArcFace loader say so
        return False
    return isinstance(ckpt, dict) and "method" in ckpt and "nets" in ckpt
