"""Registry of trainable methods (one explicit dict; unknown names raise ``ValueError``)."""
from __future__ import annotations

import importlib

# name -> "module:Class"; imported lazily so that importing the registry stays cheap.
METHODS: dict[str, str] = {
    "clgn": "faceinpaint_core.methods.clgn:CLGNMethod",
    "lgnet": "faceinpaint_core.methods.clgn:LGNetMethod",
    "facestyle": "faceinpaint_core.methods.facestyle:FaceStyleMethod",
    "edge-diffusion": "faceinpaint_core.methods.edge_diffusion:EdgeDiffusionMethod",
    "parser": "faceinpaint_core.methods.parser:FaceParserMethod",
    "identity": "faceinpaint_core.methods.identity:IdentityMethod",
    "tsgan": "faceinpaint_core.methods.tsgan:TSGANMethod",
}


def get_method_class(name: str):
    """The :class:`~faceinpaint_core.methods.base.InpaintMethod` subclass registered as ``name``."""
    if name not in METHODS:
        raise ValueError(f"unknown method {name!r}; known trainable methods: {sorted(METHODS)}")
    module, cls = METHODS[name].split(":")
    return getattr(importlib.import_module(module), cls)
