"""faceinpaint_core — networks, losses, metrics, data and mask code of the faceinpaint study.

Conventions used everywhere in the package:

* images are float tensors ``(N, 3, H, W)`` in ``[0, 1]`` (networks may map to ``[-1, 1]`` inside);
* masks are float tensors ``(N, 1, H, W)`` with **1 = hole**, 0 = known pixel (converted once,
  at the loader, from each external dataset's own polarity);
* parsing maps are long tensors ``(N, H, W)`` with 0 = background and 1..8 = the patent's regions
  (see :mod:`faceinpaint_core.data.parsing`).
"""

__version__ = "0.1.0"
