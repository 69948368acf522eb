"""Leaf cells of a twin-edge array, drawn from the design rules of the active PDK
(:data:`twinedge.pdk.rules`; layers from :data:`twinedge.pdk.tech`).

* ``twin_edge``: two of the PDK's nfets (free and clamped twins) under one poly gate G, a
  MOS gate capacitor on the same poly, a poly contact exposing G for the update circuit, and
  a substrate tap. Terminals A (left) and B (right) of each twin leave the cell on met1 at
  heights ``y_free`` / ``y_clamp``, so cells abut node tiles; the vertical edge is the same
  cell rotated by -90 degrees (A on top).
* ``node_tile``: one lattice node of both twins, each twin's net drawn the same way (a met1
  bar across, a met2 bar along, joined by via1), so the twins see equal wiring resistance.
* ``via_stack``: met1 up to met3 or met4, for the periodic wrap-around routes.

Cells are small pure functions cached by gdsfactory (``@gf.cell``); every coordinate is
snapped to the PDK's manufacturing grid, so the same parameters give the same GDS.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import gdsfactory as gf

from twinedge.circuits import nets
from twinedge.circuits import twin_edge as twin_edge_circuit
from twinedge.circuits.twin_edge import CAP_MAX_W
from twinedge.pdk import Layer
from twinedge.pdk import active as active_pdk
from twinedge.pdk import rules as R
from twinedge.pdk import tech as pdk

MARGIN = 0.2  # keep-out inside every cell edge (>= half of the largest spacing used)
STUB = 0.55  # length of the clamped-net met1 stubs in a node tile


def tap_side() -> float:
    """Side of a substrate or well tap: one licon and the tap's enclosure of it (or the
    rules' smallest diffusion area)."""
    return up(max(R.licon + 2 * R.tap_licon_enc, math.sqrt(R.diff_area)))


def tap_gap() -> float:
    """From a p+ tap to the n+ diffusion beside it: room for both implants, each clear of the
    other type's diffusion."""
    return up(max(0.3, 2 * R.implant_diff_enc, R.implant_diff_enc + R.implant_opposite_diff_space))


def snap(x: float) -> float:
    """Round to the manufacturing grid (and to a clean float)."""
    return round(round(x / pdk.grid_um) * pdk.grid_um, 4)


def up(x: float) -> float:
    return round(math.ceil(round(x / pdk.grid_um, 6)) * pdk.grid_um, 4)


def rect(c: gf.Component, layer: Layer | None, x0: float, y0: float, x1: float, y1: float) -> None:
    """A rectangle on ``layer``; None: a layer role the active PDK does not have (nothing)."""
    if layer is None:
        return
    x0, x1 = sorted((snap(x0), snap(x1)))
    y0, y1 = sorted((snap(y0), snap(y1)))
    c.add_polygon([(x0, y0), (x1, y0), (x1, y1), (x0, y1)], layer=layer)


def label(c: gf.Component, text: str, layer: Layer, x: float, y: float) -> None:
    c.add_label(text, position=(snap(x), snap(y)), layer=pdk.label_of[layer])


def square(c: gf.Component, layer: Layer, xc: float, yc: float, size: float) -> None:
    rect(c, layer, xc - size / 2, yc - size / 2, xc + size / 2, yc + size / 2)


def enclose(
    c: gf.Component, layer: Layer, xc: float, yc: float, size: float, enc_x: float, enc_y: float
) -> None:
    """A landing on ``layer`` around a ``size`` square cut, enclosing it by enc_x / enc_y."""
    half = size / 2
    rect(c, layer, xc - half - enc_x, yc - half - enc_y, xc + half + enc_x, yc + half + enc_y)


@dataclass(frozen=True)
class EdgeGeometry:
    """Where a twin-edge cell puts things; shared by the cell, node tiles and the array."""

    gate_w: float  # transistor width (um)
    gate_l: float  # transistor length (um)
    cap_w: float  # MOS capacitor width, per finger (0: no extra capacitor)
    cap_l: float
    length: float  # cell extent along A -> B
    height: float  # cell extent across (= node tile size)
    y_free: float  # centre line of the free twin's terminals
    y_clamp: float
    y_diff_free: float  # bottom of the free twin's diffusion
    y_diff_clamp: float
    y_gate_contact: float  # centre of the poly contact
    y_cap: float  # bottom of the capacitor diffusion
    x_gate: float  # left edge of the gate poly
    sd: float  # source/drain length
    # the vertical edges' length where it differs (twin_edge_cl: their blocks stack under
    # the horizontal ones', so the rows can be closer than the columns)
    length_vertical: float | None = None
    cap_fingers: int = 1  # the capacitor's parallel fingers, side by side along the edge
    # the vertical edges' strip where it differs (twin_edge_cl: their capacitor may take
    # fewer, wider fingers than the rows' edges): its width (the node tile's) and its twins'
    # lines (x in the node tile)
    height_vertical: float | None = None
    y_free_vertical: float | None = None
    y_clamp_vertical: float | None = None

    @property
    def cap_pitch(self) -> float:
        """x distance between the capacitor's fingers (each its own diffusion)."""
        return _cap_pitch(self.sd, self.cap_l)

    @property
    def cap_span(self) -> float:
        """x extent of the capacitor's diffusions."""
        return _cap_span(self.cap_fingers, self.sd, self.cap_l) if self.cap_w else 0.0

    @property
    def tile_w(self) -> float:
        """The node tile's width (x): the vertical edges' strip."""
        return self.height if self.height_vertical is None else self.height_vertical

    @property
    def x_free(self) -> float:
        """x of the free twin's vertical bar in the node tile (the vertical edges' line)."""
        return self.y_free if self.y_free_vertical is None else self.y_free_vertical

    @property
    def x_clamp(self) -> float:
        return self.y_clamp if self.y_clamp_vertical is None else self.y_clamp_vertical

    def with_vertical(self, v: EdgeGeometry) -> EdgeGeometry:
        """This (horizontal) geometry with ``v``'s strip as the vertical edges'."""
        if (v.height, v.y_free, v.y_clamp) == (self.height, self.y_free, self.y_clamp):
            return self
        return replace(
            self, height_vertical=v.height, y_free_vertical=v.y_free, y_clamp_vertical=v.y_clamp
        )

    @property
    def pitch(self) -> float:
        """Lattice pitch along a row (x)."""
        return snap(self.length + self.tile_w)

    @property
    def vertical_length(self) -> float:
        return self.length if self.length_vertical is None else self.length_vertical

    @property
    def pitch_y(self) -> float:
        """Lattice pitch down a column (y)."""
        return snap(self.vertical_length + self.height)


CAP_FINGER_SPACE = 0.4  # between finger diffusions (at least the rules' diff_space)
CAP_BAR = 0.3  # the poly bar joining the fingers' plates


def _cap_pitch(sd: float, cap_l: float) -> float:
    return snap(2 * sd + cap_l + CAP_FINGER_SPACE)


def _cap_span(fingers: int, sd: float, cap_l: float) -> float:
    return snap(fingers * _cap_pitch(sd, cap_l) - CAP_FINGER_SPACE)


def edge_geometry(
    w_um: float, l_um: float, c_gate_f: float, cap_max_w: float = CAP_MAX_W, cap_l: float = 0.0
) -> EdgeGeometry:
    """Lay out a twin-edge cell around its circuit (:mod:`twinedge.circuits.twin_edge`:
    the twins' and the MOS capacitor's sizes, which the LVS reference states too)."""
    edge = twin_edge_circuit.for_pdk(w_um, l_um, c_gate_f, active_pdk(), cap_max_w, cap_l)
    w, gl = edge.w_um, edge.l_um
    cap_w, cap_l, fingers = edge.cap.w_um, edge.cap.l_um, max(edge.cap.fingers, 1)
    sd = up(R.licon_gate_space + R.licon + R.licon_diff_enc_end)
    # along A -> B: margin, met1 terminal run, S/D, gate, S/D, run, margin
    core = 2 * sd + gl
    cap_core = (_cap_span(fingers, sd, cap_l) + tap_gap() + tap_side()) if cap_w else 0.0
    length = up(2 * MARGIN + 2 * 0.5 + max(core, cap_core))
    x_diff = snap((length - core) / 2)
    x_gate = snap(x_diff + sd)
    # across, bottom to top: margin, [cap diff, space], poly contact, free diff, gap, clamped
    y = MARGIN + R.implant_diff_enc
    y_cap = snap(y)  # capacitor diffusion (with its tap), or the tap alone
    y += (cap_w + R.poly_endcap) if cap_w else tap_side()
    y += 0.3
    y_gc = snap(y + 0.25)  # poly contact centre (licon 0.17 + npc margins)
    y_diff_free = up(y_gc + R.licon / 2 + R.poly_licon_diff_space + 0.01)
    gap = 0.6  # between the twins: room for two li/met1 terminal runs
    y_diff_clamp = up(y_diff_free + w + gap)
    height = up(y_diff_clamp + w + R.poly_endcap + R.implant_diff_enc + MARGIN)
    return EdgeGeometry(
        gate_w=w,
        gate_l=gl,
        cap_w=cap_w,
        cap_l=cap_l,
        length=length,
        height=height,
        y_free=snap(y_diff_free + w / 2),
        y_clamp=snap(y_diff_clamp + w / 2),
        y_diff_free=y_diff_free,
        y_diff_clamp=y_diff_clamp,
        y_gate_contact=y_gc,
        y_cap=y_cap,
        x_gate=x_gate,
        sd=sd,
        cap_fingers=fingers,
    )


def vertical_geometry(
    g: EdgeGeometry,
    w_um: float,
    l_um: float,
    c_gate_f: float,
    cap_max_w: float,
    cap_max_w_v: float = 0.0,
    cap_l_v: float = 0.0,
) -> EdgeGeometry:
    """The vertical edges' geometry: ``g`` (the horizontal one's, drawn with ``cap_max_w``)
    unless their capacitor folds otherwise (``cap_max_w_v`` wide, ``cap_l_v`` long)."""
    if not (cap_max_w_v or cap_l_v):
        return g
    return edge_geometry(w_um, l_um, c_gate_f, cap_max_w_v or cap_max_w, cap_l_v)


def li_side() -> float:
    """How far li reaches beyond a licon across its run: the rules' side enclosure, or what
    makes li as wide as its minimum."""
    return up(max(R.li_licon_enc, (R.li_width - R.licon) / 2))


def licon_column_li(y0: float, y1: float) -> tuple[float, float, int]:
    """Where :func:`_licon_column` puts things in [y0, y1]: (li bottom, li top, licon count)."""
    pitch = R.licon + R.licon_space
    span = y1 - y0 - 2 * R.licon_diff_enc
    n = max(1, int((span - R.licon) / pitch + 1e-9) + 1)
    used = n * R.licon + (n - 1) * R.licon_space
    start = snap(y0 + (y1 - y0 - used) / 2)
    return start - R.li_licon_enc_end, start + used + R.li_licon_enc_end, n


def _licon_column(c: gf.Component, x0: float, y0: float, y1: float) -> tuple[float, float]:
    """As many licons as fit in [y0, y1] (diff enclosure included), centred; li over them.

    Returns the li extent (y) for placing an mcon.
    """
    li0, li1, n = licon_column_li(y0, y1)
    start = li0 + R.li_licon_enc_end
    for k in range(n):
        yb = start + k * (R.licon + R.licon_space)
        rect(c, pdk.LICON, x0, yb, x0 + R.licon, yb + R.licon)
    rect(c, pdk.LI, x0 - li_side(), li0, x0 + R.licon + li_side(), li1)
    return li0, li1


def mcon_li_half() -> float:
    """Half the height of the li pad under an mcon (as wide as the mcon): 0.08 um past it at
    the ends, longer where li's minimum area asks for it."""
    return max(R.mcon / 2 + 0.08, up(R.li_area / R.mcon / 2))


def _mcon_to_met1(c: gf.Component, xc: float, yc: float) -> None:
    square(c, pdk.MCON, xc, yc, R.mcon)
    half, ey = R.mcon / 2, mcon_li_half()
    rect(c, pdk.LI, xc - half, yc - ey, xc + half, yc + ey)
    enclose(c, pdk.MET1, xc, yc, R.mcon, R.met1_mcon_enc_end, R.met1_mcon_enc)


def _transistor_sd(
    c: gf.Component, g: EdgeGeometry, y_diff: float, y_term: float, twin: str
) -> None:
    """Diffusion of one twin, its two S/D contacts, and met1 runs to the cell edges."""
    x_diff = g.x_gate - g.sd
    x_end = g.x_gate + g.gate_l + g.sd
    rect(c, pdk.DIFF, x_diff, y_diff, x_end, y_diff + g.gate_w)
    half_wire = R.mcon / 2 + R.met1_mcon_enc
    for side, x_licon, x_edge in (
        ("A", x_diff + R.licon_diff_enc_end, 0.0),
        ("B", x_end - R.licon_diff_enc_end - R.licon, g.length),
    ):
        _licon_column(c, x_licon, y_diff, y_diff + g.gate_w)
        xc = x_licon + R.licon / 2
        _mcon_to_met1(c, xc, y_term)
        rect(c, pdk.MET1, x_edge, y_term - half_wire, xc, y_term + half_wire)
        label(c, nets.terminal(side, twin), pdk.MET1, (x_edge + xc) / 2, y_term)


@gf.cell
def twin_edge(w_um: float = 1.0, l_um: float = 1.0, c_gate_f: float = 20e-15) -> gf.Component:
    """One twin edge: free and clamped nfets sharing gate G, MOS cap on G, body tap."""
    g = edge_geometry(w_um, l_um, c_gate_f)
    c = gf.Component()
    draw_twin_edge(c, g)
    rect(c, pdk.PR_BOUNDARY, 0, 0, g.length, g.height)
    c.info["area_um2"] = round(g.length * g.height, 4)
    c.info["c_gate_f"] = round(
        (2 * g.gate_w * g.gate_l + g.cap_fingers * g.cap_w * g.cap_l) * pdk.cox_f_per_um2, 20
    )
    return c


def draw_twin_edge(c: gf.Component, g: EdgeGeometry) -> None:
    """The twins, their gate (poly contact labelled G on li), capacitor and tap, into ``c``."""
    _transistor_sd(c, g, g.y_diff_free, g.y_free, "F")
    _transistor_sd(c, g, g.y_diff_clamp, g.y_clamp, "C")
    # n+ implant over both twins (and the capacitor), clear of the cell edges
    x_diff = g.x_gate - g.sd
    x_end = g.x_gate + g.gate_l + g.sd
    enc = R.implant_diff_enc
    rect(
        c, pdk.NSDM, x_diff - enc, g.y_diff_free - enc, x_end + enc, g.y_diff_clamp + g.gate_w + enc
    )
    # gate poly: from below the contact (or the capacitor) to the endcap above the clamped twin
    poly_top = g.y_diff_clamp + g.gate_w + R.poly_endcap
    yc = g.y_gate_contact
    half = R.licon / 2
    poly_bottom = yc - half - R.licon_poly_enc
    rect(c, pdk.POLY, g.x_gate, poly_bottom, g.x_gate + g.gate_l, poly_top)
    # poly contact exposing G: licon in a poly pad, NPC around it, li + met1 on top
    xg = g.x_gate + g.gate_l / 2
    enclose(c, pdk.POLY, xg, yc, R.licon, R.licon_poly_enc_end, R.licon_poly_enc)
    square(c, pdk.LICON, xg, yc, R.licon)
    npc = half + R.npc_licon_enc
    rect(c, pdk.NPC, xg - npc, yc - npc, xg + npc, yc + npc)
    e = li_side()
    ey = up(max(half + 0.1, R.li_area / (R.licon + 2 * e) / 2))  # li's minimum area
    rect(c, pdk.LI, xg - half - e, yc - ey, xg + half + e, yc + ey)
    label(c, nets.GATE, pdk.LI, xg, yc)
    if g.cap_w:
        _gate_capacitor(c, g, xg)
    else:
        _tap(c, xg, g.y_cap + tap_side() / 2)


def _gate_capacitor(c: gf.Component, g: EdgeGeometry, xg: float) -> None:
    """nfet fingers with source and drain on the substrate tap: a MOS capacitor on G.
    Each finger has its own diffusion (its S/D within the rules' ``sd_max_width``); a poly
    bar above them joins the plates to the gate strip, an li strap under them ties every S/D
    to one p+ tap at the left."""
    y0, y1 = g.y_cap, snap(g.y_cap + g.cap_w)
    # centred under the gate, but inside the cell: a long capacitor in a cell whose twins
    # sit near one end (the learning cell's vertical edge) starts at the tap's margin
    lowest = MARGIN + R.implant_diff_enc + tap_side() + tap_gap()
    x_start = snap(min(max(xg - g.cap_span / 2, lowest), g.length - MARGIN - g.cap_span))
    enc = R.implant_diff_enc
    rect(c, pdk.NSDM, x_start - enc, y0 - enc, x_start + g.cap_span + enc, y1 + enc)
    plates, columns = [], []
    for k in range(g.cap_fingers):
        xd = snap(x_start + k * g.cap_pitch)
        x0, x1 = snap(xd + g.sd), snap(xd + g.sd + g.cap_l)
        rect(c, pdk.DIFF, xd, y0, x1 + g.sd, y1)
        rect(c, pdk.POLY, x0, y0 - R.poly_endcap, x1, y1 + R.poly_endcap)
        plates.append((x0, x1))
        for x_licon in (xd + R.licon_diff_enc_end, x1 + g.sd - R.licon_diff_enc_end - R.licon):
            columns.append((x_licon, _licon_column(c, x_licon, y0, y1)))
    x_lo, x_hi = plates[0][0], plates[-1][1]
    y_join = y1
    if g.cap_fingers > 1:
        # the bar: clear of the diffusions (R.poly_diff_space), over the plates' end caps
        y_join = snap(y1 + R.poly_diff_space)
        rect(c, pdk.POLY, x_lo, y_join, x_hi, y_join + CAP_BAR)
    # join the plates (or the bar) to the gate strip above
    rect(c, pdk.POLY, max(x_lo, g.x_gate), y_join, min(x_hi, g.x_gate + g.gate_l), g.y_gate_contact)
    # tie every S/D to a p+ tap beyond the left S/D, through an li strap under the plates
    x_tap1 = x_start - tap_gap()
    y_tap = snap((y0 + y1) / 2)
    _tap(c, x_tap1 - tap_side() / 2, y_tap)
    (_, (la0, _)), (xb, _) = columns[0], columns[-1]
    strap_y = la0
    rect(c, pdk.LI, x_tap1 - 0.2, strap_y, xb + R.licon + li_side(), strap_y + R.li_width)
    if y_tap - R.licon / 2 > strap_y + R.li_width:  # a wide capacitor: li up to the tap
        rect(c, pdk.LI, x_tap1 - 0.12 - R.li_width, strap_y, x_tap1 - 0.12, y_tap)


def _tap(c: gf.Component, xc: float, yc: float) -> None:
    """p+ substrate tap (one licon, li) centred on (xc, yc), labelled VSS."""
    half = tap_side() / 2
    rect(c, pdk.TAP, xc - half, yc - half, xc + half, yc + half)
    enc = R.implant_diff_enc
    rect(c, pdk.PSDM, xc - half - enc, yc - half - enc, xc + half + enc, yc + half + enc)
    square(c, pdk.LICON, xc, yc, R.licon)
    rect(
        c,
        pdk.LI,
        xc - R.licon / 2 - 0.2,
        yc - R.licon / 2 - 0.08,
        xc + R.licon / 2 + li_side(),
        yc + R.licon / 2 + 0.08,
    )
    label(c, nets.SUBSTRATE, pdk.LI, xc, yc)


def via1_pad(c: gf.Component, xc: float, yc: float) -> None:
    """via1 with its met1 and met2 landings."""
    square(c, pdk.VIA1, xc, yc, R.via1)
    e = R.via1 / 2 + R.met1_via1_enc_end
    rect(c, pdk.MET1, xc - e, yc - e, xc + e, yc + e)
    e2 = R.via1 / 2 + R.met2_via1_enc_end
    rect(c, pdk.MET2, xc - e2, yc - e2, xc + e2, yc + e2)


@gf.cell
def node_tile(
    w_um: float = 1.0,
    l_um: float = 1.0,
    c_gate_f: float = 20e-15,
    short_twins: bool = False,
    cap_max_w: float = CAP_MAX_W,
    cap_max_w_v: float = 0.0,
    cap_l_v: float = 0.0,
) -> gf.Component:
    """One lattice node in both twins; ``short_twins`` joins them (input/constant nodes);
    ``cap_max_w_v``: the vertical edges' widest capacitor finger, if not ``cap_max_w``
    (``cap_l_v``: their finger length, if not the sizing rule's).

    The two twins' nets are drawn alike, so their wiring resistance is the same: each is a
    met1 bar across the tile (joining the horizontal edges' terminals) and a met2 bar along it
    (joining the vertical edges' terminals through met1 stubs and via1), the two bars joined
    by a via1 where they cross. The free net runs at ``y_free``, the clamped net at
    ``y_clamp``; a met1 bar of one twin crosses the other's met2 bar, never its met1.
    """
    g = edge_geometry(w_um, l_um, c_gate_f, cap_max_w)
    g = g.with_vertical(vertical_geometry(g, w_um, l_um, c_gate_f, cap_max_w, cap_max_w_v, cap_l_v))
    c = gf.Component()
    h, w = g.height, g.tile_w
    half1 = R.mcon / 2 + R.met1_mcon_enc
    w2 = R.via1 / 2 + R.met2_via1_enc_end
    via_in = STUB - 0.2
    for y, x in ((g.y_free, g.x_free), (g.y_clamp, g.x_clamp)):
        rect(c, pdk.MET1, 0, y - half1, w, y + half1)  # across: horizontal edges
        for y0, y1, vy in ((h - STUB, h, h - via_in), (0, STUB, via_in)):  # top, bottom
            rect(c, pdk.MET1, x - half1, y0, x + half1, y1)
            via1_pad(c, x, vy)
        rect(c, pdk.MET2, x - w2, via_in - w2, x + w2, h - via_in + w2)  # along
        via1_pad(c, x, y)  # joins the twin's two bars
    if short_twins:
        via1_pad(c, g.x_clamp, g.y_free)  # free met1 bar x clamped met2 bar
    rect(c, pdk.PR_BOUNDARY, 0, 0, w, h)
    return c


@gf.cell
def via_stack(top: str = "met3", met3_h: float = 0.0) -> gf.Component:
    """met1 -> via1 -> met2 -> via2 -> met3 (-> via3 -> met4), centred on the origin.
    ``met3_h``: a met3 pad that high (the stripe a block's stack meets, stacks that close
    apart), long enough for met3's minimum area; 0: a square pad."""
    c = gf.Component()
    via1_pad(c, 0, 0)
    e = R.via2 / 2 + R.met2_via2_enc_end
    rect(c, pdk.MET2, -e, -e, e, e)
    square(c, pdk.VIA2, 0, 0, R.via2)
    if met3_h:
        half_x = up(max(R.met3_area / met3_h / 2, R.via2 / 2 + R.met3_via2_enc) + 0.01)
        rect(c, pdk.MET3, -half_x, -met3_h / 2, half_x, met3_h / 2)
    else:
        e3 = max(R.via2 / 2 + R.met3_via2_enc, R.met3_width / 2, math.sqrt(R.met3_area) / 2)
        e3 = up(max(e3, R.via3 / 2 + R.met3_via3_enc_end))
        rect(c, pdk.MET3, -e3, -e3, e3, e3)
    if top == "met4":
        square(c, pdk.VIA3, 0, 0, R.via3)
        e4 = up(max(R.via3 / 2 + R.met4_via3_enc, math.sqrt(R.met4_area) / 2))
        rect(c, pdk.MET4, -e4, -e4, e4, e4)
    return c
