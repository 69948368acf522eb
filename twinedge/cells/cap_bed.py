"""The capacitor bed: an update block's two-terminal MOS capacitors under its routing channel.

The memory circuit's hold capacitors (PMOS, gate on the hold node ``m``; source, drain and
body on VDD) were a third of its device rows' length, and a row's length is the block's.
The channel between the rows carries only met1 tracks, so the silicon under it is free:

* a bed column is one poly plate over diffusion stripes stacked across the channel, each
  stripe one of the circuit's devices (its W across, its L along the channel), its S/D
  contact columns at both ends;
* the plate is contacted in a gap between the stripes right under the plate net's track
  (licon, li, mcon up to that met1 track), so it needs no route of its own;
* an li sheet on the stripes' net (VDD) covers the plate except around those contacts: the
  tracks above it (CAL, LEARN, ...) couple to VDD, not to the hold node; an mcon joins the
  sheet to that net's track;
* a stripe never lies under the track of a net the circuit keeps quiet (``ClCircuit.
  bed_avoid``: X, whose capacitance LEARN shares into G), where that track runs.

Stripes of one length in parallel are what the circuit's devices are, so LVS (which combines
parallel devices) compares them one for one.
"""

from __future__ import annotations

from dataclasses import dataclass

import gdsfactory as gf

from twinedge.cells.twin_edge import (
    _licon_column,
    _mcon_to_met1,
    mcon_li_half,
    rect,
    snap,
    square,
    up,
)
from twinedge.circuits.mirror import Device
from twinedge.pdk import rules as R
from twinedge.pdk import tech as pdk

GAP = 1.0  # between the stripes below and above the plate's contact row
MARGIN = 0.25  # stripes inside the channel's y range
STRIPE_SPACE = 0.3  # between stacked stripes (the rules' diff spacing, 0.27)
COLUMN_MARGIN = 0.02  # neighbouring columns' implants this much beyond their spacing rule
CONTACT_PITCH = 5.0  # plate contacts along a column
# a stripe's edge from an avoided net's track centre: its plate reaches poly_endcap past it,
# and the plate's edge stays ~0.5 um from that track's met1 (as it did beside the rows)
AVOID = 0.8


def column_space() -> float:
    """Between neighbouring columns' diffusions: their implants' spacing, and a margin."""
    return snap(R.implant_space + 2 * R.implant_diff_enc + COLUMN_MARGIN)


class BedFull(ValueError):
    """The channel has no room for every bed device."""


@dataclass(frozen=True)
class Stripe:
    name: str
    y0: float
    w: float


@dataclass(frozen=True)
class Column:
    x: float  # left end of the diffusions
    stripes: tuple[Stripe, ...]


@dataclass(frozen=True)
class BedPlan:
    kind: str  # "p" or "n"
    l_um: float
    sd: float
    plate: str  # the gate net (contacted at plate_y)
    plate_y: float
    shield: str  # source / drain net: the li sheet's
    shield_y: float
    columns: tuple[Column, ...]

    @property
    def column_length(self) -> float:
        return snap(2 * self.sd + self.l_um)

    def plate_contacts(self) -> list[float]:
        """x of the plate contacts (on the plate's track, y = plate_y)."""
        out = []
        for col in self.columns:
            n = max(1, int(self.l_um / CONTACT_PITCH))
            out += [snap(col.x + self.sd + self.l_um * (k + 0.5) / n) for k in range(n)]
        return out

    def shield_contacts(self) -> list[float]:
        """x of the sheet's mcon to the shield net's track (y = shield_y), one per column."""
        return [snap(col.x + self.sd + self.l_um / 2) for col in self.columns]


def plan_bed(
    devices: list[Device],
    tracks: dict[str, float],
    spans: dict[str, tuple[float, float]],
    y_range: tuple[float, float],
    x_range: tuple[float, float],
    avoid: tuple[str, ...],
) -> BedPlan:
    """Columns from the right end of ``x_range`` leftwards, stripes stacked below and above
    the plate's track in ``y_range``; ``spans``: each track's x extent (for ``avoid``)."""
    first = devices[0]
    for d in devices:
        if (d.kind, d.g, d.d, d.s, d.l) != (first.kind, first.g, first.d, first.d, first.l):
            raise ValueError(
                f"bed device {d.name}: every bed device must be a capacitor (source = drain) "
                f"of one type, length and gate net, like {first.name}"
            )
    sd = up(R.licon_gate_space + R.licon + R.licon_diff_enc_end)
    length = snap(2 * sd + first.l)
    plate_y = tracks[first.g]
    y_lo, y_hi = y_range[0] + MARGIN, y_range[1] - MARGIN
    pending = list(devices)
    columns: list[Column] = []
    x = snap(x_range[1] - length)
    while pending and x >= x_range[0]:
        stripes: list[Stripe] = []
        # below the contact row, top down; then above it, bottom up
        for top, step in ((plate_y - GAP / 2, -1), (plate_y + GAP / 2, 1)):
            y = top
            while pending:
                w = pending[0].w
                y0, y1 = (y - w, y) if step < 0 else (y, y + w)
                if y0 < y_lo or y1 > y_hi or _under(avoid, tracks, spans, x, length, y0, y1):
                    break
                stripes.append(Stripe(pending.pop(0).name, snap(y0), w))
                y = y0 - STRIPE_SPACE if step < 0 else y1 + STRIPE_SPACE
        if stripes:
            columns.append(Column(x, tuple(stripes)))
        x = snap(x - length - column_space())
    if pending:
        raise BedFull(
            f"no room under the channel for {', '.join(d.name for d in pending)} "
            f"({x_range[1] - x_range[0]:.1f} x {y_hi - y_lo:.1f} um)"
        )
    return BedPlan(
        first.kind, first.l, sd, first.g, plate_y, first.d, tracks[first.d], tuple(columns)
    )


def _under(avoid, tracks, spans, x: float, length: float, y0: float, y1: float) -> bool:
    """Would a stripe at [x, x + length] x [y0, y1] lie under an avoided net's track?"""
    for net in avoid:
        if net not in tracks or net not in spans:
            continue
        a, b = spans[net]
        if y0 - AVOID < tracks[net] < y1 + AVOID and a < x + length and x < b:
            return True
    return False


def draw_bed(c: gf.Component, bed: BedPlan) -> tuple[float, float, float, float]:
    """Draw the bed into ``c``; returns the bounding box of its diffusions (x0, y0, x1, y1)."""
    length = bed.column_length
    half = R.licon / 2
    hole = mcon_li_half() + R.li_space  # the li sheet's edge from the contact row's centre
    implant = pdk.PSDM if bed.kind == "p" else pdk.NSDM
    e = R.implant_diff_enc
    box = [float("inf"), float("inf"), -float("inf"), -float("inf")]
    contacts = bed.plate_contacts()
    for col in bed.columns:
        x0, x1 = col.x, snap(col.x + length)
        ys = [s.y0 for s in col.stripes] + [snap(s.y0 + s.w) for s in col.stripes]
        lo, hi = min(ys), max(ys)
        for s in col.stripes:
            rect(c, pdk.DIFF, x0, s.y0, x1, s.y0 + s.w)
            for xl in (x0 + R.licon_diff_enc_end, x1 - R.licon_diff_enc_end - R.licon):
                _licon_column(c, snap(xl), s.y0, snap(s.y0 + s.w))
        # one implant box per side: the plate's contacts stay clear of it (the rules' poly
        # licon to psdm spacing)
        for side in (
            [s for s in col.stripes if s.y0 < bed.plate_y],
            [s for s in col.stripes if s.y0 > bed.plate_y],
        ):
            if side:
                y0 = min(s.y0 for s in side)
                y1 = max(s.y0 + s.w for s in side)
                rect(c, implant, x0 - e, y0 - e, x1 + e, y1 + e)
        # the plate, down (or up) to the contact row
        pad = half + R.licon_poly_enc_end
        p0 = min(lo - R.poly_endcap, bed.plate_y - pad)
        p1 = max(hi + R.poly_endcap, bed.plate_y + pad)
        rect(c, pdk.POLY, x0 + bed.sd, p0, x1 - bed.sd, p1)
        for xc in (x for x in contacts if x0 < x < x1):
            square(c, pdk.LICON, xc, bed.plate_y, R.licon)
            npc = half + R.npc_licon_enc
            rect(c, pdk.NPC, xc - npc, bed.plate_y - npc, xc + npc, bed.plate_y + npc)
            _mcon_to_met1(c, xc, bed.plate_y)
        # the li sheet: below and above the contact row (down / up to the shield's track),
        # joined round the row at the column's ends
        s_lo = min(lo, bed.shield_y - 0.2)
        s_hi = max(hi, bed.shield_y + 0.2)
        if s_lo < bed.plate_y - hole:
            rect(c, pdk.LI, x0, s_lo, x1, bed.plate_y - hole)
        if s_hi > bed.plate_y + hole:
            rect(c, pdk.LI, x0, bed.plate_y + hole, x1, s_hi)
        for xe in (x0, x1 - bed.sd):
            rect(c, pdk.LI, xe, bed.plate_y - hole, xe + bed.sd, bed.plate_y + hole)
        _mcon_to_met1(c, snap((x0 + x1) / 2), bed.shield_y)
        box = [min(box[0], x0), min(box[1], lo), max(box[2], x1), max(box[3], hi)]
    return box[0], box[1], box[2], box[3]
