"""Layout of the error element (:mod:`twinedge.circuits.error_element`): its netlist placed
and routed by the two-row block placer of the learning cell's update circuit, so the
periphery is generated from its circuit exactly as the cells are."""

from __future__ import annotations

import gdsfactory as gf

from twinedge.cells.periphery import labelled
from twinedge.circuits.error_element import ErrorElementSizing, block_circuit
from twinedge.pdk import active


@gf.cell
def error_element_block(k: float = 0.25, differential: bool = True) -> gf.Component:
    """One amplifier of the error element with a label on each port's via stack (met1)."""
    return labelled(block_circuit(active(), k, differential, ErrorElementSizing()))
