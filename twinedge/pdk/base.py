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
class LayoutRules:
    """Minimum widths, spacings and enclosures (um) the generators draw with, one value per
    role of the generators' layer stack (diff/tap, poly, contact to the first wiring layer
    ``li``, ``mcon`` up to ``met1``, vias and metals above); each technology module fills
    them from its own rule tables (their rule names in its comments)."""

    diff_width: float
    diff_space: float
    diff_area: float
    tap_diff_space: float
    well_diff_enc: float
    well_space: float
    poly_width: float
    poly_space: float
    poly_endcap: float
    diff_past_poly: float
    poly_diff_space: float
    licon: float
    licon_space: float
    licon_diff_enc: float
    licon_diff_enc_end: float
    licon_gate_space: float
    licon_poly_enc: float
    licon_poly_enc_end: float
    tap_licon_enc: float
    npc_licon_enc: float
    poly_licon_diff_space: float
    poly_licon_psdm_space: float
    sd_max_width: float
    mos_w_min: float
    mos_l_max: float
    li_width: float
    li_space: float
    li_licon_enc: float
    li_licon_enc_end: float
    li_area: float
    mcon: float
    mcon_space: float
    met1_width: float
    met1_space: float
    met1_mcon_enc: float
    met1_mcon_enc_end: float
    met1_area: float
    via1: float
    via1_space: float
    met1_via1_enc: float
    met1_via1_enc_end: float
    met2_width: float
    met2_space: float
    met2_via1_enc: float
    met2_via1_enc_end: float
    met2_area: float
    via2: float
    via2_space: float
    met2_via2_enc: float
    met2_via2_enc_end: float
    met3_width: float
    met3_space: float
    met3_via2_enc: float
    met3_area: float
    via3: float
    via3_space: float
    met3_via3_enc: float
    met3_via3_enc_end: float
    met4_width: float
    met4_space: float
    met4_via3_enc: float
    capm_width: float
    capm_space: float
    capm_met3_enc: float
    capm_via3_enc: float
    capm_via3_space: float
    capm_plate_space: float
    capm_met3_space: float
    camimc_f_per_um2: float
    met4_area: float
    implant_diff_enc: float
    implant_width: float
    implant_space: float
    implant_opposite_diff_space: float
    nfet_min_l: float
    nfet_min_w: float


@dataclass(frozen=True)
class MarkerLayer:
    """A layer a poly resistor draws besides its poly strip: over the ``body`` (between the
    heads' implant edges), the whole ``strip``, or each ``head``; ``enc_x``: how far past
    that span along the strip (negative: short of it), ``enc_y``: past the strip's sides."""

    layer: Layer
    over: str  # "body", "strip" or "head"
    enc_x: float
    enc_y: float


@dataclass(frozen=True)
class PolyResistor:
    """The PDK's poly resistor as :mod:`twinedge.cells.resistor` draws it: a straight poly
    strip of width ``w`` whose body (length ``l``, between the heads) is marked by
    ``markers``, a column of contacts in each head. ``model``: the device's name in SPICE
    and LVS; ``spice_params``: its instance parameters, a format of ``w`` and ``l`` in um;
    ``sheet_ohm``: the body's sheet resistance, nominal (what LVS computes R from)."""

    model: str
    spice_params: str
    sheet_ohm: float
    min_w: float
    min_l: float
    head_contact_enc: float  # poly past the contact column at the strip's end
    head_body_space: float  # contact column to the body's edge
    keepout: float  # from the strip to anything else a block draws (its markers' rules)
    markers: tuple[MarkerLayer, ...]
    # where the library's section of this device's corners is: process corner -> section
    corner_lib: Mapping[str, str] = field(default_factory=dict)

    def ohms(self, w: float, l: float) -> float:  # noqa: E741 - the SPICE parameter's name
        """The body's nominal resistance (as LVS extracts it)."""
        return self.sheet_ohm * l / w


@dataclass(frozen=True)
class Pdk:
    """A process design kit as the compiler sees it (see the module docstring)."""

    name: str  # the spec's ``pdk:`` value
    install_name: str  # its folder under $PDK_ROOT (open_pdks' name, e.g. ``sky130A``)
    description: str
    grid_um: float
    dbu_um: float
    layers: SimpleNamespace  # name -> (layer, datatype)
    rules: LayoutRules  # design rules (um)
    nfet: str  # model names in the ngspice library
    pfet: str
    # the supply rail twinedge's circuits run from, the highest gate voltage they see: the
    # thin-oxide devices' rating or below it (each technology module says why)
    vdd: float
    cox_f_per_um2: float
    table_node_range: tuple[float, float]  # node voltages the device table covers
    corners: tuple[str, ...]  # process corners, the typical one first
    data_version: str  # where the models come from, for reports
    kpex_technology: str  # klayout-pex's --pdk name
    kpex_substrate_net: str  # the net kpex gives the substrate
    # what one unit of W, L (and PS/PD) in kpex's netlist is in um (areas: its square)
    kpex_length_um: float
    # cell types whose generators this PDK's layouts were verified with (DRC, LVS)
    cell_types: tuple[str, ...]
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
    resistor: PolyResistor | None = None  # None: no resistor generator on this PDK yet
    # the highest metal role its layouts may draw ("met4", or "met3" where the shuttle's
    # tiles forbid the layer the met4 role maps to): generators that would run a line on
    # met4 route around it instead (the array's column wraps and global buses)
    route_top: str = "met4"

    def layer(self, name: str) -> Layer:
        return getattr(self.layers, name)

    def drc_decks(self) -> list[DrcDeck]:
        """Decks the DRC stage runs: the sign-off decks of the PDK installed under
        ``$PDK_ROOT`` (when set and present) and the fallback decks from the package
        registry, which run always."""
        root = os.environ.get("PDK_ROOT")
        signoff = self.signoff_drc_decks(Path(root)) if root else []
        return [*signoff, *self.fallback_drc_decks()]


def activate_layers(name: str, layers: SimpleNamespace) -> None:
    """Make a PDK's layers gdsfactory's active PDK ``twinedge_<name>`` (idempotent); a role
    the PDK lacks (None) is left out."""
    import gdsfactory as gf
    from gdsfactory.technology import LayerMap

    drawn = {k: v for k, v in vars(layers).items() if v is not None}
    layer_map = type(f"{name.capitalize()}Layers", (LayerMap,), drawn)
    gf.Pdk(name=f"twinedge_{name}", layers=layer_map).activate()


def extract_mos(
    l2n, layout, r: dict, poly, nwell, names: tuple[str, str], ntap: str, with_pfet: bool
) -> object:
    """The thin-oxide MOS devices of a LayoutToNetlist (every PDK's the same way): the NMOS
    (``names[0]``) from ``r["ngate"]`` over ``r["nsd"]``, body the substrate layer (returned,
    for the caller's global substrate net); with ``with_pfet`` the PMOS (``names[1]``) from
    ``r["pgate"]`` over ``r["psd"]`` in ``nwell``, which ``r[ntap]`` contacts (the n-well
    then joins the conductors ``r``)."""
    import klayout.db as kdb

    sub = l2n.make_polygon_layer(layout.layer(), "sub")
    nsd = r["nsd"]
    l2n.extract_devices(
        kdb.DeviceExtractorMOS4Transistor(names[0]),
        {"SD": nsd, "G": r["ngate"], "tS": nsd, "tD": nsd, "tG": poly, "W": sub},
    )
    if with_pfet:
        psd = r["psd"]
        l2n.extract_devices(
            kdb.DeviceExtractorMOS4Transistor(names[1]),
            {"SD": psd, "G": r["pgate"], "tS": psd, "tD": psd, "tG": poly, "W": nwell},
        )
        l2n.connect(nwell)
        l2n.connect(nwell, r[ntap])
        r["nwell"] = nwell
    return sub
