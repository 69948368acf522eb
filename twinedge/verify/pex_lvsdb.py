"""The LVS database that parasitic extraction (klayout-pex) starts from.

kpex normally runs its own LVS deck, which needs a KLayout program >= 0.30.1 (Debian ships
0.28.5). The same extraction runs here on the ``klayout`` Python package instead: the
layout's devices and nets by the PDK's connectivity (:attr:`twinedge.pdk.base.Pdk.connect`,
on layers named as kpex's technology names them), its pin layers as kpex's pin layers,
written as a ``.lvsdb`` that ``kpex --lvsdb`` reads.

The layout is flattened first and only top-level labels are kept, so net names are the
array's pins and ``n<r>_<c>_F|C`` node names. Each twin-edge cell's gate label ``G`` becomes
``G<k>`` (k in layout order), which makes every gate a port of the extracted netlist that a
source can drive; :func:`gate_edges` maps them back to the spec's network edges.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import klayout.db as kdb

from twinedge.circuits.nets import GATE as GATE_LABEL

if TYPE_CHECKING:
    from twinedge.pdk.base import Pdk


@dataclass(frozen=True)
class PexDatabase:
    path: Path
    gates: tuple[str, ...]  # the gate port of each twin-edge instance, layout order
    top: str


GateKey = tuple[str, float, float]  # (edge cell, x, y of its instance in its parent), um


def _gate_key(it: kdb.RecursiveShapeIterator, cells: set[str]) -> GateKey | None:
    """The edge cell instance a gate label lies in: its cell and where its parent put it."""
    for element in it.path():
        inst = element.inst()
        name = inst.cell.name
        if name in cells:
            d = inst.dcplx_trans.disp
            return name, round(d.x, 3), round(d.y, 3)
    return None


def _top_labels_only(
    layout: kdb.Layout, top: kdb.Cell, pdk: Pdk, gate_names: dict[GateKey, str] | None = None
) -> list[str]:
    """Keep the top cell's labels, turn each instance's ``G`` label into ``G<k>`` (k in
    layout order) or, with ``gate_names``, into the name its edge cell instance has there;
    drop the other cell-level labels (``A_F`` ... would merge every net of the flattened
    array)."""
    layers = [layout.layer(*spec) for spec, _, _ in pdk.label_layers]
    cells = {k[0] for k in gate_names or {}}
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
                    if gate_names is None:
                        name = f"{GATE_LABEL}{len(gates)}"
                    else:
                        key = _gate_key(it, cells)
                        if key not in gate_names:
                            raise ValueError(f"a gate label at {text.trans.disp} lies in no "
                                             f"known edge cell instance ({key})")  # fmt: skip
                        name = gate_names[key]
                    gates.append(name)
                    keep.append((layer, kdb.Text(name, text.trans)))
            it.next()
    if gate_names is not None and sorted(gates) != sorted(gate_names.values()):
        missing = sorted(set(gate_names.values()) - set(gates))[:3]
        raise ValueError(f"gate labels: {len(gates)} found, {len(gate_names)} expected "
                         f"(missing {missing})")  # fmt: skip
    for cell in layout.each_cell():
        for layer in layers:
            cell.shapes(layer).clear()
    for layer, text in keep:
        top.shapes(layer).insert(text)
    return gates


def build_pex_lvsdb(
    gds: Path,
    out: Path,
    with_pfet: bool = False,
    pdk: Pdk | None = None,
    gate_names: dict[GateKey, str] | None = None,
) -> PexDatabase:
    """``with_pfet``: also extract p-channel devices (the on-chip learning cell's update
    circuit). ``pdk``: the layout's PDK (default: the active one). ``gate_names``: each
    edge cell instance's gate net name (a chip's ``g<e>``), else ``G<k>``."""
    if pdk is None:
        from twinedge.pdk import active

        pdk = active()
    layout = kdb.Layout()
    layout.read(str(gds))
    top = layout.top_cell()
    gates = _top_labels_only(layout, top, pdk, gate_names)
    top.flatten(True)
    lvs = kdb.LayoutVsSchematic(kdb.RecursiveShapeIterator(layout, top, []))
    lvs.threads = 2

    # the nets as LVS extracts them (layer names are kpex's, pfet layers too)
    r = pdk.connect(lvs, layout, substrate_net=pdk.kpex_substrate_net, with_pfet=with_pfet)
    # pin shapes: kpex puts a wire node where a pin sits, so routes get their length's R
    for spec, conductor_name, name in pdk.pin_layers:
        conductor = r[conductor_name]
        pins = lvs.make_polygon_layer(layout.layer(*spec), f"{name}_drawn") & conductor
        lvs.register(pins, name)
        lvs.connect(pins)
        lvs.connect(conductor, pins)
    lvs.extract_netlist()
    netlist = lvs.netlist()
    netlist.make_top_level_pins()
    netlist.purge()
    out.parent.mkdir(parents=True, exist_ok=True)
    lvs.write(str(out))
    return PexDatabase(path=out, gates=tuple(gates), top=top.name)
