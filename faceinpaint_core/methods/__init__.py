"""Registry of trainable methods (one explicit dict; unknown names raise ``ValueError``)."""
from __future__ import annotations

import importlib

# name -> "module:Class"; imported lazily so that importing the registry stays cheap.
METHODS: dict[str, str] = {
    "clgn": "faceinpaint_core.methods.clgn:CLGNMethod",
    "lgnet": "faceinpaint_core.methods.lgnet:LGNetMethod",
    "gmcnn": "faceinpaint_core.methods.gmcnn:GMCNNMethod",
    "pic": "faceinpaint_core.methods.pic:PICMethod",
    "rfr": "faceinpaint_core.methods.rfr:RFRMethod",
    "medfe": "faceinpaint_core.methods.medfe:MEDFEMethod",
    "ce": "faceinpaint_core.methods.ce:CEMethod",
    "ca": "faceinpaint_core.methods.deepfill:CAMethod",
    "deepfill2": "faceinpaint_core.methods.deepfill:DeepFill2Method",
    "lama": "faceinpaint_core.methods.lama:LaMaMethod",
    "facestyle": "faceinpaint_core.methods.facestyle:FaceStyleMethod",
    "edge-diffusion": "faceinpaint_core.methods.edge_diffusion:EdgeDiffusionMethod",
    "parser": "faceinpaint_core.methods.parser:FaceParserMethod",
    "identity": "faceinpaint_core.methods.identity:IdentityMethod",
    "stylegan2": "faceinpaint_core.methods.stylegan2:StyleGAN2Method",
    "gfpgan": "faceinpaint_core.methods.gfpgan:GFPGANMethod",
    "tsgan": "faceinpaint_core.methods.tsgan:TSGANMethod",
}


def get_method_class(name: str):
    """The :class:`~faceinpaint_core.methods.base.InpaintMethod` subclass registered as ``name``."""
    if name not in METHODS:
        raise ValueError(f"unknown method {name!r}; known trainable methods: {sorted(METHODS)}")
    module, cls = METHODS[name].split(":")
    return getattr(importlib.import_module(module), cls)


def methods_for_task(task: str) -> list[str]:
    """Registered methods whose class attribute ``task`` is ``task`` (e.g. ``"restore"``), in registry order."""
    return [m for m in METHODS if getattr(get_method_class(m), "task", "inpaint") == task]


def default_method(task: str, method: str | None = None) -> str:
    """``method`` when given, else the first registered method of ``task``; a clear error when there is none."""
    if method:
        return method
    found = methods_for_task(task)
    if not found:
        raise ValueError(f"no registered method has task {task!r}; registered: {sorted(METHODS)}")
    return found[0]
