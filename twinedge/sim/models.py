"""Pick the edge device model a design asks for."""

from __future__ import annotations

from twinedge.sim.devices import EdgeModel, Level1NMOS
from twinedge.spec.schema import Design, Level1Model


def edge_model(design: Design) -> EdgeModel:
    """The simulator's model of one edge transistor.

    level1: k = KP * W / L and Vth from the spec. pdk: the PDK transistor's table at the
    spec's W, L and corner (swept in ngspice on first use, then cached).
    """
    cell = design.cell
    model = cell.model
    if isinstance(model, Level1Model):
        return Level1NMOS(k=model.kp * cell.w_um / cell.l_um, vth=model.vth)
    from twinedge.pdk import get as get_pdk
    from twinedge.sim.tabulated import pdk_table

    nfet = get_pdk(design.pdk).nfet
    return pdk_table(design.pdk, nfet, model.corner, cell.w_um, cell.l_um)
