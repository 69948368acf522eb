"""Layout generators, one module per cell type, found by the spec's ``cell.type``.

A new cell type is a generator module here (gdsfactory cell functions drawing on
``twinedge.pdk.tech``), its circuit in ``twinedge.circuits`` and one line in
:data:`REGISTRY` (``"type": "module:function"``, imported when asked for).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

REGISTRY: dict[str, str] = {
    "twin_edge": "twinedge.cells.twin_edge:twin_edge",
    "twin_edge_cl": "twinedge.cells.twin_edge_cl:twin_edge_cl",
}


def cell_factory(cell_type: str) -> Callable[..., Any]:
    """The generator of a cell type (a gdsfactory cell function)."""
    try:
        module, function = REGISTRY[cell_type].split(":")
    except KeyError:
        raise ValueError(
            f"no layout generator for cell type {cell_type!r} (have: {', '.join(REGISTRY)})"
        ) from None
    return getattr(importlib.import_module(module), function)
