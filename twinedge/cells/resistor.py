"""A poly resistor (the PDK's :class:`twinedge.pdk.base.PolyResistor`): a straight poly strip
along x, a column of contacts in each head, the body between the heads marked by the PDK's
layers; each head's terminal ends in a via1 pad on met2, as a transistor's do, so the block
placer (:mod:`twinedge.cells.twin_edge_cl`) routes it like one.

Why a straight strip: a bias or reference resistor of a few tens of kohm is a few tens of
squares of a kohm/sq poly, short enough to lie in a block's row; LVS then computes R from the
body's squares exactly as the reference states it (W, L).
"""

from __future__ import annotations

from dataclasses import dataclass

import gdsfactory as gf

from twinedge.cells.twin_edge import _mcon_to_met1, li_side, rect, snap, square, up, via1_pad
from twinedge.circuits.mirror import resistor_of
from twinedge.pdk import active
from twinedge.pdk import rules as R
from twinedge.pdk import tech as pdk


@dataclass(frozen=True)
class ResistorGeometry:
    """Where a resistor of ``w`` x ``l`` (um) puts things, in its cell's coordinates: the
    strip from (x0, y0), ``head`` long at each end, the terminals' pads at (x, y_pad)."""

    w: float
    l: float  # noqa: E741 - the SPICE parameter's name
    x0: float
    y0: float
    head: float
    length: float  # the cell's extent along x (the keep-out at both ends)
    height: float  # from the cell's bottom to the top of its markers and pads
    x_terminals: tuple[float, float]
    y_pad: float
    contacts: tuple[float, ...]  # the contact column's centres (y)


def resistor_geometry(w: float, l: float) -> ResistorGeometry:  # noqa: E741
    res = resistor_of(active())
    if w < res.min_w or l < res.min_l:
        raise ValueError(
            f"resistor {w} x {l} um: at least {res.min_w} um wide and {res.min_l} um long"
        )
    head = snap(res.head_contact_enc + R.licon + res.head_body_space)
    x0 = res.keepout
    y0 = up(max(m.enc_y for m in res.markers))
    strip = snap(2 * head + l)
    pitch = R.licon + R.licon_space
    n = max(1, int((w - 2 * R.licon_poly_enc - R.licon) / pitch + 1e-9) + 1)
    first = y0 + (w - (n - 1) * pitch) / 2
    contacts = tuple(snap(first + k * pitch) for k in range(n))
    xc = res.head_contact_enc + R.licon / 2
    y_pad = contacts[-1]
    top = max(y0 + w + y0, y_pad + (R.via1 / 2 + R.met1_via1_enc_end))
    return ResistorGeometry(
        w=w,
        l=l,
        x0=x0,
        y0=y0,
        head=head,
        length=snap(strip + 2 * x0),
        height=up(top),
        x_terminals=(snap(x0 + xc), snap(x0 + strip - xc)),
        y_pad=y_pad,
        contacts=contacts,
    )


@gf.cell
def poly_resistor(w: float, l_um: float) -> gf.Component:
    """One resistor, body ``w`` x ``l_um`` (um); terminals "S" (left) and "D" (right)."""
    g = resistor_geometry(w, l_um)
    res = resistor_of(active())
    c = gf.Component()
    x1 = snap(g.x0 + 2 * g.head + l_um)
    rect(c, pdk.POLY, g.x0, g.y0, x1, g.y0 + w)
    body = (g.x0 + g.head, x1 - g.head)
    for m in res.markers:
        y0, y1 = g.y0 - m.enc_y, g.y0 + w + m.enc_y
        if m.over == "body":
            rect(c, m.layer, body[0] - m.enc_x, y0, body[1] + m.enc_x, y1)
        elif m.over == "strip":
            rect(c, m.layer, g.x0 - m.enc_x, y0, x1 + m.enc_x, y1)
        else:  # each head, from past the strip's end to the body's
            rect(c, m.layer, g.x0 - m.enc_x, y0, body[0], y1)
            rect(c, m.layer, body[1], y0, x1 + m.enc_x, y1)
    half = R.licon / 2
    for xc in g.x_terminals:
        for yc in g.contacts:
            square(c, pdk.LICON, xc, yc, R.licon)
        side = li_side()
        e = R.li_licon_enc_end
        rect(c, pdk.LI, xc - half - side, g.contacts[0] - half - e, xc + half + side,
             g.contacts[-1] + half + e)  # fmt: skip
        _mcon_to_met1(c, xc, g.y_pad)
        via1_pad(c, xc, g.y_pad)
    c.info["ohms"] = res.ohms(w, l_um)
    return c
