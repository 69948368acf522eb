"""Physical verification: DRC, LVS and parasitic extraction, each behind one interface
(:mod:`twinedge.verify.base`) and found by name here.

A new back-end is one module with a class that has the kind's ``run`` and one line in the
kind's registry below (``"name": "module:Class"``; imported only when asked for). DRC
back-ends are built for a PDK (``Class(pdk)``); LVS and PEX back-ends take the PDK their
design names.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from twinedge.pdk.base import Pdk
    from twinedge.verify.base import DrcBackend, LvsBackend, PexBackend

DRC: dict[str, str] = {"klayout": "twinedge.verify.drc:KlayoutDrc"}
LVS: dict[str, str] = {"klayout": "twinedge.verify.lvs:KlayoutLvs"}
PEX: dict[str, str] = {"kpex": "twinedge.verify.pex:KpexExtraction"}


class BackendError(ValueError):
    pass


def _load(registry: dict[str, str], kind: str, name: str) -> Any:
    try:
        target = registry[name]
    except KeyError:
        raise BackendError(f"no {kind} back-end {name!r} (have: {', '.join(registry)})") from None
    module, cls = target.split(":")
    return getattr(importlib.import_module(module), cls)


def drc_backend(pdk: Pdk, name: str = "klayout") -> DrcBackend:
    return _load(DRC, "DRC", name)(pdk)


def lvs_backend(name: str = "klayout") -> LvsBackend:
    return _load(LVS, "LVS", name)()


def pex_backend(name: str = "kpex") -> PexBackend:
    return _load(PEX, "PEX", name)()
