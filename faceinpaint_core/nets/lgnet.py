"""LG-Net generator, Quan et al. 2022 ("Image Inpainting with Local and Global Refinement", IEEE TIP 31),
per its public release (github.com/weizequan/LGNet, ``models/networks.py``, ``models/pix2pixglg_model.py``).

Three generators in sequence, each completing the previous composite (``cat(2c - 1, m)`` in, tanh out):

* ``G_1`` coarse: pix2pix U-Net ``unet_256`` (8 stride-2 levels at 256 px);
* ``G_2`` local refinement: ResNet generator ``resnet_4blocks`` (2 downsamplings, 4 residual blocks) -- a
  small receptive field for texture;
* ``G_3`` global refinement: U-Net ``unet256`` with attention modules after the decoder levels at 1/16, 1/8 and
  1/4 of the input (``att_16``, ``att_32``, ``att_64`` at 256 px) -- a whole-image receptive field.

The U-Net and ResNet stages are the ones CLGN is built from (nets/clgn.py: ``UNetStage``, ``LocalStage``; the
same release topology), without GAM. The release's ``attention.AttentionModule`` file is not in the stored
snapshot this project could read; LG-Net's global attention is implemented as SAGAN self-attention
(:class:`~faceinpaint_core.nets.blocks.attention.SelfAttention`, a learned residual gate starting at 0) at
the same three sites (deviation). ``unet_depth`` scales with the image (8 at 256 px, 6 at 64 px).
"""
from __future__ import annotations

from .blocks.attention import SelfAttention
from .clgn import CLGN, UNetStage


class LGNet(CLGN):
    """LG-Net: coarse U-Net -> local ResNet -> global U-Net with attention (see the module docstring).

    Args: width (ngf, 64), unet_depth (8 at 256 px), local_blocks (4), local_downs (2), norm (batch), hole_fill
    (1 = white, as the release's ``images * (1 - m) + m``).

    Shapes: ``forward(masked, mask)`` -> ``{"stage1".."stage3", "comp1".."comp3", "pred"}``, each
    ``(N, 3, H, W)`` in [0, 1].
    """

    def __init__(self, width: int = 64, unet_depth: int = 8, local_blocks: int = 4, local_downs: int = 2,
                 norm: str = "batch", hole_fill: float = 1.0):
        super().__init__(stages=3, gam=False, width=width, unet_depth=unet_depth, local_blocks=local_blocks,
                         local_downs=local_downs, norm=norm, hole_fill=hole_fill)
        self.nets[2] = UNetStage(width, unet_depth, norm, attention=SelfAttention)


__all__ = ["LGNet"]
