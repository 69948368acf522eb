"""Process design kits: one technology module per PDK, each building a
:class:`twinedge.pdk.base.Pdk`, found by name through :data:`REGISTRY`.

Adding a PDK is one module (``twinedge/pdk/<name>.py`` with a ``PDK`` object) and one line
in :data:`REGISTRY`. Layout generators draw on the *active* PDK (:func:`activate`), the way
gdsfactory's cells draw on its active ``Pdk``: :data:`tech` reads layers and rules of
whichever PDK is active, :data:`rules` its design rules (read when used).
"""

from __future__ import annotations

import importlib
from typing import Any

from twinedge.pdk.base import DrcDeck, Layer, Pdk

__all__ = [
    "PLANNED",
    "REGISTRY",
    "DrcDeck",
    "Layer",
    "Pdk",
    "PdkError",
    "activate",
    "active",
    "get",
    "names",
    "rules",
    "spec_names",
    "tech",
]

REGISTRY: dict[str, str] = {  # spec name -> technology module
    "sky130": "twinedge.pdk.sky130",
    "gf180mcu": "twinedge.pdk.gf180mcu",
}
# PDKs a spec may name that have no technology module yet: such a design trains on the
# schematic with level-1 devices only (no device models, layout or verification)
PLANNED: tuple[str, ...] = ()

_active: list[Pdk] = []


class PdkError(ValueError):
    pass


def names() -> tuple[str, ...]:
    """PDKs with a technology module."""
    return tuple(REGISTRY)


def spec_names() -> tuple[str, ...]:
    """Every value a spec's ``pdk:`` may take (with a technology module or :data:`PLANNED`)."""
    return (*REGISTRY, *(n for n in PLANNED if n not in REGISTRY))


def get(name: str) -> Pdk:
    """The PDK a spec names (``pdk:``)."""
    try:
        module = REGISTRY[name]
    except KeyError:
        have = f"(have: {', '.join(REGISTRY)})"
        if name in PLANNED:
            raise PdkError(f"no technology module for PDK {name!r} yet {have}") from None
        raise PdkError(f"no PDK {name!r} {have}") from None
    return importlib.import_module(module).PDK


def activate(name: str) -> Pdk:
    """Make ``name`` the PDK generators draw on (and gdsfactory's active PDK). Switching
    to another PDK empties gdsfactory's cell cache: a cell is cached by its arguments, not
    by the PDK it was drawn on, so a block drawn on one would be handed out on the other."""
    pdk = get(name)
    if _active and _active[0].name != name:
        import gdsfactory as gf

        gf.clear_cache()
    pdk.activate()
    _active[:] = [pdk]
    return pdk


def active() -> Pdk:
    if not _active:
        raise PdkError("no PDK is active: call twinedge.pdk.activate(name) first")
    return _active[0]


class _Tech:
    """Attribute access to the active PDK: ``tech.MET1`` is a layer, ``tech.RULES`` its
    rules, anything else an attribute of the :class:`Pdk`."""

    def __getattr__(self, attr: str) -> Any:
        pdk = active()
        if attr == "RULES":
            return pdk.rules
        if attr.isupper() and hasattr(pdk.layers, attr):
            return getattr(pdk.layers, attr)
        return getattr(pdk, attr)


class _Rules:
    """The active PDK's design rules, read when used (``rules.li_width``): generators
    name them at import time, before any PDK is active."""

    def __getattr__(self, attr: str) -> Any:
        return getattr(active().rules, attr)


tech = _Tech()
rules = _Rules()
