"""The LVS database that parasitic extraction (klayout-pex) starts from.

kpex normally runs its own LVS deck, which needs a KLayout program >= 0.30.1 (Debian ships
0.28.5). The same extraction runs here on the ``klayout`` Python package instead: the
layout's devices and nets, on layers named as kpex's SKY130 technology names them
(``met1_con``, ``licon_nsd_con``, ...), written as a ``.lvsdb`` that ``kpex --lvsdb`` reads.

The layout is flattened first and only top-level labels are kept, so net names are the
array's pins and ``n<r>_<c>_F|C`` node names. Each twin-edge cell's gate label ``G`` becomes
``G<k>`` (k in layout order), which makes every gate a port of the extracted netlist that a
source can drive; :func:`gate_edges` maps them back to the spec's network edges.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import klayout.db as kdb

from twinedge.pdk import sky130 as pdk

SUBSTRATE_NET = "sky130_gnd"  # kpex's SKY130 substrate net name
GATE_LABEL = "G"


@dataclass(frozen=True)
class PexDatabase:
    path: Path
    gates: tuple[str, ...]  # the gate port of each twin-edge instance, layout order
    top: str


_LABELS = (
    (pdk.LI_LABEL, "li_label"),
    (pdk.MET1_LABEL, "met1_label"),
    (pdk.MET2_LABEL, "met2_label"),
    (pdk.MET3_LABEL, "met3_label"),
    (pdk.MET4_LABEL, "met4_label"),
    (pdk.POLY_LABEL, "poly_label"),
)


def _top_labels_only(layout: kdb.Layout, top: kdb.Cell) -> list[str]:
    """Keep the top cell's labels, turn each instance's ``G`` label into ``G<k>``, drop the
    other cell-level labels (``A_F`` ... would merge every net of the flattened array)."""
    layers = [layout.layer(*spec) for spec, _ in _LABELS]
    keep: list[tuple[int, kdb.Text]] = []
    gates: list[str] = []
    for layer in layers:
        it = top.begin_shapes_rec(layer)
        while not it.at_end():
            shape = it.shape()
            if shape.is_text():
                text = shape.text.transformed(it.trans())
                if it.cell().cell_index() == top.cell_index():
                    keep.append((layer, text))
                elif shape.text.string == GATE_LABEL:
                    name = f"{GATE_LABEL}{len(gates)}"
                    gates.append(name)
                    keep.append((layer, kdb.Text(name, text.trans)))
            it.next()
    for cell in layout.each_cell():
        for layer in layers:
            cell.shapes(layer).clear()
    for layer, text in keep:
        top.shapes(layer).insert(text)
    return gates


def build_pex_lvsdb(gds: Path, out: Path) -> PexDatabase:
    layout = kdb.Layout()
    layout.read(str(gds))
    top = layout.top_cell()
    gates = _top_labels_only(layout, top)
    top.flatten(True)
    lvs = kdb.LayoutVsSchematic(kdb.RecursiveShapeIterator(layout, top, []))
    lvs.threads = 2

    def drawn(spec: pdk.Layer, name: str) -> kdb.Region:
        return lvs.make_polygon_layer(layout.layer(*spec), name)

    diff, tap, nwell = drawn(pdk.DIFF, "diff"), drawn(pdk.TAP, "tap"), drawn(pdk.NWELL, "nwell")
    nsdm, psdm = drawn(pdk.NSDM, "nsdm"), drawn(pdk.PSDM, "psdm")
    poly, licon = drawn(pdk.POLY, "poly_con"), drawn(pdk.LICON, "licon")
    li, mcon = drawn(pdk.LI, "li_con"), drawn(pdk.MCON, "mcon_con")
    metals = [
        drawn(pdk.MET1, "met1_con"),
        drawn(pdk.MET2, "met2_con"),
        drawn(pdk.MET3, "met3_ncap"),
        drawn(pdk.MET4, "met4_ncap"),
    ]
    vias = [
        drawn(pdk.VIA1, "via1_con"),
        drawn(pdk.VIA2, "via2_con"),
        drawn(pdk.VIA3, "via3_ncap"),
    ]
    # derived layers, as kpex's SKY130 LVS deck derives them
    ngate = (diff & poly & nsdm) - nwell
    nsd = ((diff - poly) & nsdm) - nwell
    ptap = (tap & psdm) - nwell
    licon_poly, licon_nsd, licon_ptap = licon & poly, licon & nsd, licon & ptap
    for region, name in (
        (ngate, "ngate"),
        (nsd, "nsd"),
        (ptap, "ptap_conn"),
        (licon_poly, "licon_poly_con"),
        (licon_nsd, "licon_nsd_con"),
        (licon_ptap, "licon_ptap_con"),
    ):
        lvs.register(region, name)
    sub = lvs.make_polygon_layer(layout.layer(), "sub")
    lvs.extract_devices(
        kdb.DeviceExtractorMOS4Transistor(pdk.NFET),
        {"SD": nsd, "G": ngate, "tS": nsd, "tD": nsd, "tG": poly, "W": sub},
    )
    conductors = [nsd, ptap, poly, licon_poly, licon_nsd, licon_ptap, li, mcon, *metals, *vias]
    for region in conductors:
        lvs.connect(region)
    pairs = [
        (nsd, licon_nsd),
        (ptap, licon_ptap),
        (poly, licon_poly),
        (licon_poly, li),
        (licon_nsd, li),
        (licon_ptap, li),
        (li, mcon),
        (mcon, metals[0]),
    ]
    for lower, via, upper in zip(metals, vias, metals[1:], strict=False):
        pairs += [(lower, via), (via, upper)]
    for a, b in pairs:
        lvs.connect(a, b)
    conductor_of = {"li_label": li, "poly_label": poly}
    conductor_of.update(
        {f"met{i + 1}_label": m for i, m in enumerate(metals)},
    )
    for spec, name in _LABELS:
        lvs.connect(conductor_of[name], lvs.make_text_layer(layout.layer(*spec), name))
    # pin shapes: kpex puts a wire node where a pin sits, so routes get their length's R
    for spec, conductor, name in (
        (pdk.LI_PIN, li, "li_pin_con"),
        (pdk.MET1_PIN, metals[0], "met1_pin_con"),
        (pdk.MET2_PIN, metals[1], "met2_pin_con"),
    ):
        pins = lvs.make_polygon_layer(layout.layer(*spec), f"{name}_drawn") & conductor
        lvs.register(pins, name)
        lvs.connect(pins)
        lvs.connect(conductor, pins)
    # p+ taps reach the body through the substrate: one global net
    lvs.connect_global(sub, SUBSTRATE_NET)
    lvs.connect_global(ptap, SUBSTRATE_NET)
    lvs.extract_netlist()
    netlist = lvs.netlist()
    netlist.make_top_level_pins()
    netlist.purge()
    out.parent.mkdir(parents=True, exist_ok=True)
    lvs.write(str(out))
    return PexDatabase(path=out, gates=tuple(gates), top=top.name)
