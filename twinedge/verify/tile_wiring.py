"""Does every used pin of a tile reach the chip net it should, and no other?

The shuttle's precheck sees pins, not what they connect to; the chip's LVS sees the chip, not
the tile's wiring to it. This closes the gap on the tile's own layers (met3 tracks, via3,
met4 lines and stripes on SKY130; met2, via2, met3 where met4 is forbidden: all the tile
adds is there): the flattened tile's connectivity on
those layers, each pin's net probed at its shape and compared with the net of the chip's
track labelled with the net name (the channel's labels, :mod:`twinedge.cells.chip`). Two
pins of different nets on one net is a short; a pin whose net holds no such label, an open.
"""

from __future__ import annotations

from pathlib import Path

import klayout.db as kdb

from twinedge.pdk import Pdk
from twinedge.pdk.tinytapeout import SHUTTLE, Tile
from twinedge.verify.precheck import Check


def _labels(cell: kdb.Cell, layer: int) -> dict[str, kdb.DPoint]:
    out = {}
    for shape in cell.shapes(layer).each(kdb.Shapes.STexts):
        t = shape.dtext
        out.setdefault(t.string, kdb.DPoint(t.x, t.y))
    return out


def pin_wiring(gds: Path, top: str, tile: Tile, wires: dict[str, str], pdk: Pdk) -> Check:
    """``wires``: template pin or supply stripe (VDPWR, VGND) -> the chip net (its track's
    label) it must be on."""
    layout = kdb.Layout()
    layout.read(str(gds))
    cell = layout.cell(top)
    if cell is None:
        return Check("pin wiring", False, f"no top cell {top}")
    cell.flatten(True)
    L = pdk.layers
    rules = SHUTTLE[pdk.install_name]
    # the tracks' layer, the via up to the pin layer, the pin layer (met3 / via3 / met4 on
    # SKY130's tiles; GF180MCU's, without met4: met2 / via2 / met3)
    names = (rules.track_layer, rules.via_below, rules.pin_layer)
    idx = {n: layout.layer(*getattr(L, n)) for n in names}
    l2n = kdb.LayoutToNetlist(kdb.RecursiveShapeIterator(layout, cell, []))
    m3, v3, m4 = (l2n.make_layer(idx[n], n.lower()) for n in names)
    for a in (m3, v3, m4):
        l2n.connect(a)
    l2n.connect(m3, v3)
    l2n.connect(v3, m4)
    l2n.extract_netlist()
    labels = _labels(cell, layout.layer(*pdk.label_of[getattr(L, names[0])]))
    pins = {p.name: p.rect for p in tile.pins}
    stripes = _labels(cell, layout.layer(*pdk.label_of[getattr(L, names[2])]))
    bad, seen = [], {}
    for pin, net in sorted(wires.items()):
        if pin in pins:
            r = pins[pin]
            at = kdb.DPoint((r[0] + r[2]) / 2, (r[1] + r[3]) / 2)
        elif pin in stripes:
            at = stripes[pin]
        else:
            bad.append(f"{pin}: no such pin")
            continue
        mine = l2n.probe_net(m4, at)
        if net not in labels:
            bad.append(f"{pin}: no track labelled {net}")
            continue
        theirs = l2n.probe_net(m3, labels[net])
        if mine is None or theirs is None or mine.cluster_id != theirs.cluster_id:
            bad.append(f"{pin} does not reach {net}")
            continue
        other = seen.setdefault(mine.cluster_id, net)
        if other != net:
            bad.append(f"{pin} shorts {net} to {other}")
    if bad:
        return Check("pin wiring", False, "; ".join(bad[:3]) + (" ..." if len(bad) > 3 else ""))
    return Check("pin wiring", True, f"{len(wires)} pins and stripes each on its chip net only")
