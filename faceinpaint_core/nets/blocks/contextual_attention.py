"""Contextual attention, Yu et al. 2018 ("Generative Image Inpainting with Contextual Attention", DeepFill v1,
sec. 4.1), shared by CA and DeepFill v2.

For every position of the foreground (hole) features, a 3×3 patch is matched against every 3×3 patch of the
background by a convolution with the L2-normalised background patches (cosine similarity, eq. (1)); patches
that overlap the hole are excluded; a softmax with scale ``softmax_scale`` (10 in the paper) over the background
patches gives the attention; attention propagation (``fuse``: a k×k identity kernel convolved along both spatial
orders of the score map, sec. 4.1 "attention propagation") favours coherent shifts; the output is the
attention-weighted sum of the (un-normalised) background patches, pasted by a transposed convolution (each
output pixel averages the k×k overlapping patches).

Deviation: the release matches at half resolution (``rate=2``) and pastes full-resolution patches; here matching
and pasting use the same resolution (our feature maps are 16×16 at 64 px), which keeps the copy exact.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class ContextualAttention(nn.Module):
    """Args: patch: matching patch size k (3); softmax_scale: λ of the softmax (10); fuse: attention propagation;
    fuse_k: its kernel (3).

    Shapes: ``forward(fg, bg, mask)``: ``fg``, ``bg`` ``(N, C, H, W)``, ``mask`` ``(N, 1, h, w)`` 1 = hole (resized
    to ``H×W``: a feature is in the hole when any covered pixel is) → ``(out (N, C, H, W), attention
    (N, H·W, H, W))``, attention[:, j] = weight of background patch j at each position.
    """

    def __init__(self, patch: int = 3, softmax_scale: float = 10.0, fuse: bool = True, fuse_k: int = 3):
        super().__init__()
        if patch % 2 == 0 or fuse_k % 2 == 0:
            raise ValueError(f"ContextualAttention: patch and fuse_k must be odd, got {patch}, {fuse_k}")
        self.patch, self.scale, self.fuse, self.fuse_k = patch, float(softmax_scale), fuse, fuse_k

    def _propagate(self, s: torch.Tensor, h: int, w: int) -> torch.Tensor:
        """Attention propagation: identity-kernel convolution over (patch index, position) in both orders."""
        k = self.fuse_k
        eye = torch.eye(k, device=s.device, dtype=s.dtype)[None, None]
        L = h * w
        s = F.conv2d(s.reshape(1, 1, L, L), eye, padding=k // 2)  # rows: background patch, cols: position
        s = s.reshape(1, h, w, h, w).permute(0, 2, 1, 4, 3).reshape(1, 1, L, L)  # transpose both spatial orders
        s = F.conv2d(s, eye, padding=k // 2)
        return s.reshape(1, w, h, w, h).permute(0, 2, 1, 4, 3).reshape(L, h, w)

    def forward(self, fg: torch.Tensor, bg: torch.Tensor, mask: torch.Tensor):
        """Computed in float32 even under autocast (the masked softmax over patches), output in ``fg``'s dtype."""
        with torch.autocast(fg.device.type, enabled=False):
            out, att = self._attend(fg.float(), bg.float(), mask.float())
        return out.to(fg.dtype), att

    def _attend(self, fg: torch.Tensor, bg: torch.Tensor, mask: torch.Tensor):
        n, c, h, w = fg.shape
        k, pad = self.patch, self.patch // 2
        hole = (F.interpolate(mask.float(), size=(h, w), mode="area") > 0).float()
        # a background patch is a candidate when none of its pixels is in the hole
        valid = (F.avg_pool2d(F.pad(hole, (pad,) * 4, value=1.0), k, stride=1) == 0).float()  # (N, 1, H, W)
        outs, atts = [], []
        for i in range(n):
            raw = F.unfold(bg[i:i + 1], k, padding=pad)  # (1, C·k·k, L)
            patches = raw[0].t().reshape(h * w, c, k, k)
            normed = patches / patches.flatten(1).norm(dim=1).clamp_min(1e-4)[:, None, None, None]
            scores = F.conv2d(fg[i:i + 1], normed, padding=pad)[0]  # (L, H, W)
            if self.fuse:
                scores = self._propagate(scores, h, w)
            mm = valid[i].reshape(h * w, 1, 1)
            scores = scores * mm - 1e4 * (1 - mm)  # never attend a patch that overlaps the hole
            att = F.softmax(scores * self.scale, dim=0) * mm
            out = F.conv_transpose2d(att[None], patches, padding=pad) / (k * k)
            outs.append(out)
            atts.append(att[None])
        return torch.cat(outs), torch.cat(atts)
