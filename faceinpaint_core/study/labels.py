"""Display labels shared by the tables and the figures (kept apart so figures need not import the tables).

A trained method's label is its class attribute ``label`` (the registry is the one place that lists methods);
only the training-free classical methods, which are not plug-ins, are named here.
"""
from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

METRIC_LABELS = {"l1_percent": "L1 (%)", "psnr": "PSNR", "ssim_gauss": "SSIM (Gaussian σ=1.5)",
                 "ssim_skimage": "SSIM (7×7 uniform, skimage default)", "fid": "FID", "lpips": "LPIPS"}
CLASSICAL_LABELS = {"telea": "Telea", "ns": "Navier-Stokes", "biharmonic": "biharmonic"}


@lru_cache(maxsize=1)
def _method_attrs() -> dict[str, dict]:
    from ..methods import METHODS, get_method_class

    out = {}
    for name in METHODS:
        cls = get_method_class(name)
        out[name] = dict(label=getattr(cls, "label", "") or name, reported_as=tuple(getattr(cls, "reported_as", ())),
                         stand_in_for=tuple(getattr(cls, "stand_in_for", ())))
    return out


class _RegistryMap(Mapping):
    """A read-only mapping computed from the registry on first use (importing this module stays cheap)."""

    def __init__(self, build):
        self._build = build

    def _table(self) -> dict:
        return self._build()

    def __getitem__(self, key):
        return self._table()[key]

    def __iter__(self):
        return iter(self._table())

    def __len__(self) -> int:
        return len(self._table())

    def __repr__(self) -> str:
        return repr(self._table())


def _labels() -> dict[str, str]:
    return {**CLASSICAL_LABELS, **{m: a["label"] for m, a in _method_attrs().items()}}


def _reported_map() -> dict[str, str]:
    return {r: m for m, a in _method_attrs().items() for r in a["reported_as"]}


def _stand_ins() -> dict[str, str]:
    return {r: m for m, a in _method_attrs().items() for r in a["stand_in_for"]}


#: method (or classical method) -> display label
OUR_LABELS: Mapping[str, str] = _RegistryMap(_labels)
#: name in a source's table -> our implementation of that very method (class attribute ``reported_as``)
METHOD_MAP: Mapping[str, str] = _RegistryMap(_reported_map)
#: name in a source's table -> our stand-in that is NOT that network (class attribute ``stand_in_for``)
STAND_INS: Mapping[str, str] = _RegistryMap(_stand_ins)

# What the slides state about stage stacking and GAM, in words only (no table): quoted, never computed.
CLGN_ABLATION_CLAIMS = (
    "Source 000 (CLGN slides, section 07) states without a table: stacking the three stages raises SSIM "
    "by 0.36 on average (三层网络叠加时结构相似度平均提升0.36); adding the attention module (GAM) raises "
    "PSNR by 6.23 and lowers the L1 error by 2.15 (添加注意力模块后峰值信噪比提升6.23，L1范数误差减少2.15). "
    "The loss-ablation table does not say whether each row is that loss alone or all losses but that one, "
    "nor its masks; this study reads each row as 'that loss alone' (共用 = all five together)."
)
