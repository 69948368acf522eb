"""What twinedge needs to know of a process design kit, as one object.

A technology module (``twinedge/pdk/<name>.py``, one per PDK, as OpenRAM keeps one per
technology) builds a :class:`Pdk` from its own constants and registers it in
``twinedge.pdk.REGISTRY``. Everything PDK-specific that the rest of the package uses goes
through this object: layers, rules, device names and models, supplies, decks, extraction
and LVS connectivity. Nothing outside ``twinedge/pdk/`` names a SKY130 (or GF180) device,
layer number or rule value (``tests/units/test_architecture.py`` enforces it).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

Layer = tuple[int, int]


@dataclass(frozen=True)
class DrcDeck:
    """One KLayout DRC rule deck and how to run it.

    ``kind``: ``sign-off`` (the foundry's manufacturing-rule deck, as a shuttle's precheck
    runs it) or ``community`` (a deck from a third-party package, incomplete by its own
    account; ``note`` says what it lacks). ``patches``: (old, new) text replacements, each
    found exactly once (e.g. to switch rule groups on); ``variables``: ``-rd name=value``
    pairs given to KLayout besides input and report.
    """

    name: str
    path: Path
    kind: str
    note: str = ""
    patches: tuple[tuple[str, str], ...] = ()
    variables: Mapping[str, str] = field(default_factory=dict)
    report_variable: str = "report"


@dataclass(frozen=True)
class Pdk:
    """A process design kit as the compiler sees it (see the module docstring)."""

    name: str  # the spec's ``pdk:`` value
    install_name: str  # its folder under $PDK_ROOT (open_pdks' name, e.g. ``sky130A``)
    description: str
    grid_um: float
    dbu_um: float
    layers: SimpleNamespace  # name -> (layer, datatype)
    rules: Any  # the technology's frozen Rules dataclass (um)
    nfet: str  # model names in the ngspice library
    pfet: str
    vdd: float  # the thin-oxide devices' rating: highest gate voltage and supply rail
    cox_f_per_um2: float
    table_node_range: tuple[float, float]  # node voltages the device table covers
    corners: tuple[str, ...]  # process corners, the typical one first
    data_version: str  # where the models come from, for reports
    kpex_technology: str  # klayout-pex's --pdk name
    kpex_substrate_net: str  # the net kpex gives the substrate
    model_lib: Callable[[], Path]
    reduced_model_lib: Callable[..., Path]
    layer_properties: Callable[[], Path]
    fallback_drc_decks: Callable[[], list[DrcDeck]]
    signoff_drc_decks: Callable[[Path], list[DrcDeck]]  # from a PDK_ROOT
    connect: Callable[..., dict]  # LVS/PEX device extraction and connectivity
    label_layers: tuple[tuple[Layer, str, str], ...]  # (label layer, name, conductor)
    pin_layers: tuple[tuple[Layer, str, str], ...]  # (pin layer, conductor, kpex name)
    label_of: Mapping[Layer, Layer]  # drawing layer -> the layer its text labels go on
    activate: Callable[[], None]  # make this the active gdsfactory PDK

    def layer(self, name: str) -> Layer:
        return getattr(self.layers, name)

    def drc_decks(self) -> list[DrcDeck]:
        """Decks the DRC stage runs: the sign-off decks of the PDK installed under
        ``$PDK_ROOT`` (when set and present) and the fallback decks from the package
        registry, which run always."""
        root = os.environ.get("PDK_ROOT")
        signoff = self.signoff_drc_decks(Path(root)) if root else []
        return [*signoff, *self.fallback_drc_decks()]
