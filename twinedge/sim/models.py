"""Pick the edge device model a design asks for."""

from __future__ import annotations

from twinedge.sim.devices import EdgeModel, Level1NMOS
from twinedge.spec.schema import Design


def edge_model(design: Design) -> EdgeModel:
    """The schematic-level model of one edge transistor: k = KP * W / L, Vth from the spec."""
    cell = design.cell
    model = cell.model
    return Level1NMOS(k=model.kp * cell.w_um / cell.l_um, vth=model.vth)
