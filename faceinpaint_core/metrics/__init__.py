"""Evaluation metrics on (N, C, H, W) images in [0, 1], one value per image (see each module).

* :mod:`.pixel`    — ``l1``, ``psnr``, ``ssim_gauss`` (Wang et al. 2004; alias ``ssim``), ``ssim_skimage``
  (scikit-image's default window), ``quantize_uint8``, ``mean_finite`` (the inf/NaN policy);
* :mod:`.fid`      — ``InceptionFeatures``, ``frechet_distance``, ``fid_from_images`` (pytorch-fid network);
* :mod:`.lpips`    — ``LPIPSMetric`` (lpips package, AlexNet v0.1);
* :mod:`.identity` — ``IdentityMetric`` (dlib 128-d face descriptors).

The network metrics are imported from their submodules so that ``import faceinpaint_core.metrics``
stays light (no Inception / dlib at import time).
"""
from .pixel import l1, mean_finite, psnr, quantize_uint8, ssim, ssim_gauss, ssim_map, ssim_skimage

__all__ = ["l1", "psnr", "ssim", "ssim_gauss", "ssim_skimage", "ssim_map", "quantize_uint8", "mean_finite"]
