"""Layout of the error element (:mod:`twinedge.circuits.error_element`): its netlist placed
and routed by the two-row block placer of the learning cell's update circuit, so the
periphery is generated from its circuit exactly as the cells are."""

from __future__ import annotations

import gdsfactory as gf

from twinedge.cells.twin_edge_cl import draw_block
from twinedge.circuits.error_element import ErrorElementSizing, block_circuit
from twinedge.pdk import active
from twinedge.pdk import tech as pdk


@gf.cell
def error_element_block(k: float = 0.25, differential: bool = True) -> gf.Component:
    """One amplifier of the error element with a label on each port's via stack (met1)."""
    cc = block_circuit(active(), k, differential, ErrorElementSizing())
    c = gf.Component()
    ref = c.add_ref(draw_block(cc))
    info = ref.cell.info
    label_layer = pdk.label_of[pdk.MET1]
    for port in cc.globals:
        x, y = info["stacks"][port]
        c.add_label("VSS" if port == "0" else port.upper(), position=(x, y), layer=label_layer)
    c.info["length"], c.info["height"] = info["length"], info["height"]
    c.info["stacks"] = info["stacks"]
    return c
