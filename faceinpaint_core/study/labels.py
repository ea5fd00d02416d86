"""Display labels shared by the tables and the figures (kept apart so figures need not import the tables)."""
from __future__ import annotations

METRIC_LABELS = {"l1_percent": "L1 (%)", "psnr": "PSNR", "ssim_gauss": "SSIM (Gaussian σ=1.5)",
                 "ssim_skimage": "SSIM (7×7 uniform, skimage default)", "fid": "FID", "lpips": "LPIPS"}
OUR_LABELS = {"telea": "Telea", "ns": "Navier-Stokes", "biharmonic": "biharmonic", "clgn": "CLGN",
              "lgnet": "CLGN w/o GAM", "facestyle": "facial-style",
              "edge-diffusion": "edge-guided diffusion"}
