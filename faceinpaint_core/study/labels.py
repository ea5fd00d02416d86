"""Display labels shared by the tables and the figures (kept apart so figures need not import the tables)."""
from __future__ import annotations

METRIC_LABELS = {"l1_percent": "L1 (%)", "psnr": "PSNR", "ssim": "SSIM", "fid": "FID", "lpips": "LPIPS"}
OUR_LABELS = {"telea": "Telea", "ns": "Navier-Stokes", "biharmonic": "biharmonic", "clgn": "CLGN",
              "lgnet": "LG-Net", "facestyle": "facial-style"}
