"""Display labels shared by the tables and the figures (kept apart so figures need not import the tables)."""
from __future__ import annotations

METRIC_LABELS = {"l1_percent": "L1 (%)", "psnr": "PSNR", "ssim_gauss": "SSIM (Gaussian σ=1.5)",
                 "ssim_skimage": "SSIM (7×7 uniform, skimage default)", "fid": "FID", "lpips": "LPIPS"}
OUR_LABELS = {"telea": "Telea", "ns": "Navier-Stokes", "biharmonic": "biharmonic", "clgn": "CLGN",
              "lgnet": "CLGN w/o GAM", "facestyle": "facial-style",
              "edge-diffusion": "edge-guided diffusion"}

# What the slides state about stage stacking and GAM, in words only (no table): quoted, never computed.
CLGN_ABLATION_CLAIMS = (
    "Source 000 (CLGN slides, section 07) states without a table: stacking the three stages raises SSIM "
    "by 0.36 on average (三层网络叠加时结构相似度平均提升0.36); adding the attention module (GAM) raises "
    "PSNR by 6.23 and lowers the L1 error by 2.15 (添加注意力模块后峰值信噪比提升6.23，L1范数误差减少2.15). "
    "The loss-ablation table does not say whether each row is that loss alone or all losses but that one, "
    "nor its masks; this study reads each row as 'that loss alone' (共用 = all five together)."
)
