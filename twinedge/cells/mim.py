"""A MIM capacitor (the PDK's metal-insulator-metal device over met3): the bottom plate in
met3, the top plate (capm) contacted by a via3 array up to a met4 plate.

Why: a MIM capacitor lies above the devices and their met1/met2 wiring, so capacitance
can sit over a block instead of beside it (docs/periphery.md, "What is left for 4x").
"""

from __future__ import annotations

import math

import gdsfactory as gf

from twinedge.cells.twin_edge import rect, snap, square
from twinedge.pdk import rules as R
from twinedge.pdk import tech as pdk


def via3_pitch() -> float:
    return snap(R.via3 + R.via3_space)


@gf.cell
def mim_cap(w_um: float = 10.0, l_um: float = 10.0) -> gf.Component:
    """capm ``w_um`` x ``l_um`` (x, y) with its lower-left corner at the origin; met3 bottom
    plate around it by the enclosure, met4 top plate over it, via3 on a grid inside it."""
    if min(w_um, l_um) < R.capm_width:
        raise ValueError(f"MIM plate {w_um} x {l_um} um: each side at least {R.capm_width} um")
    c = gf.Component()
    e = R.capm_met3_enc
    rect(c, pdk.MET3, -e, -e, w_um + e, l_um + e)
    rect(c, pdk.CAPM, 0.0, 0.0, w_um, l_um)
    rect(c, pdk.MET4, 0.0, 0.0, w_um, l_um)
    pitch = via3_pitch()
    inner = R.capm_via3_enc + R.via3 / 2  # from the plate's edge to a via's centre
    nx = max(1, math.floor((w_um - 2 * inner) / pitch) + 1)
    ny = max(1, math.floor((l_um - 2 * inner) / pitch) + 1)
    x0 = snap((w_um - (nx - 1) * pitch) / 2)
    y0 = snap((l_um - (ny - 1) * pitch) / 2)
    for i in range(nx):
        for j in range(ny):
            square(c, pdk.VIA3, snap(x0 + i * pitch), snap(y0 + j * pitch), R.via3)
    c.info["c_f"] = R.camimc_f_per_um2 * w_um * l_um
    return c
