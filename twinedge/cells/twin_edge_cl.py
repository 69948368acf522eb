"""Layout of the on-chip learning cell ``twin_edge_cl``: the twin edge plus its update circuit.

The update circuit is laid out from its netlist (:func:`twinedge.circuits.mirror.devices`),
not by hand, so a change of the circuit or its sizing re-generates a DRC/LVS-checked block:

* every transistor is one ``mos`` cell (a diffusion strip under a vertical gate, S/D contact
  columns at both ends, the gate contacted on a poly pad beyond the diffusion); each
  terminal ends in a via1 pad on met2;
* the circuit's two-terminal capacitors (``ClCircuit.bed``: the memory's hold capacitors) lie
  under the channel (:mod:`twinedge.cells.cap_bed`), as many as fit; every other device
  stands in two rows facing the channel: row 0 (bottom) holds a
  p+ tap, the NMOS devices, then an n-well with its n+ tap and some PMOS devices; row 1 (top,
  mirrored so its terminals face down) an n-well with the remaining PMOS devices;
* every net is one horizontal met1 track in the channel; every terminal drops a vertical
  met2 stub onto its net's track (via1). Columns never share an x closer than a met2 pitch,
  so stubs cannot touch: each row 1 device takes the leftmost x where its columns clear
  row 0's, and the placer keeps the split of the PMOS between the rows that makes the
  smallest block;
* the edge's nets (A/B of each twin, G) land on their tracks in a zone at the block's left
  end, free of devices; the global nets (VDD, VSS, VBP, LEARN, LEARNB, VFLOOR) leave from
  via stacks in a zone at its right end, to met3 stripes that the array compiler runs along
  each row of blocks (and joins by met4 buses left of the array).

``twin_edge_cl`` joins a twin edge, stretched along A -> B, to this block: below it for
horizontal edges, turned and reached by L-routes for vertical ones (:class:`ClGeometry`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cache

import gdsfactory as gf

from twinedge.cells.cap_bed import AVOID as BED_AVOID
from twinedge.cells.cap_bed import GAP as BED_GAP
from twinedge.cells.cap_bed import MARGIN as BED_MARGIN
from twinedge.cells.cap_bed import BedFull, BedPlan, draw_bed, plan_bed
from twinedge.cells.resistor import poly_resistor, resistor_geometry
from twinedge.cells.twin_edge import (
    EdgeGeometry,
    _licon_column,
    _mcon_to_met1,
    draw_twin_edge,
    edge_geometry,
    licon_column_li,
    rect,
    snap,
    square,
    tap_side,
    up,
    vertical_geometry,
    via1_pad,
    via_stack,
)
from twinedge.circuits.cl import ClCircuit, Sizes, circuit
from twinedge.circuits.mirror import Device
from twinedge.circuits.twin_edge import CAP_MAX_W_CL
from twinedge.pdk import active as active_pdk
from twinedge.pdk import rules as R
from twinedge.pdk import tech as pdk

COL_MARGIN = 0.09  # stub columns' spacing beyond the met2 rule
ITEM_GAP = 0.4  # diffusion to diffusion between neighbouring devices of one type
WELL_GAP = 1.0  # n+ diffusion to the n-well's tap (nwell 0.18 around it, 0.34 from n+)
ROW_MARGIN = 0.3  # around rows, below/above the channel
GLOBAL_TRACK = 0.7  # global track pitch: a met3 stripe (STRIPE) over each, 0.3 apart
STRIPE = 0.4  # width of the array's met3/met4 global stripes (via3 enclosed)
GAP = 0.6  # between the twin edge and its block
GATE = "g"


def pad_side() -> float:
    """A via1 pad (met1 and met2), square."""
    return R.via1 + 2 * R.met1_via1_enc_end


def col() -> float:
    """Least distance between two stub columns: a met2 pad, the spacing and a margin."""
    return snap(pad_side() + R.met2_space + COL_MARGIN)


def track() -> float:
    """Signal track pitch: a met1 pad and the spacing."""
    return snap(pad_side() + R.met1_space)


def sd_contact_x() -> float:
    """An S/D contact column's centre from its diffusion's end."""
    return R.licon_diff_enc_end + R.licon / 2


def _sd_length(l_um: float) -> float:
    """S/D length: the contact column centre at least col() from the gate centre."""
    contact_x = sd_contact_x()
    least = R.licon_gate_space + R.licon + R.licon_diff_enc_end
    return up(max(least, col() + contact_x - l_um / 2))


def _gate_pad_y(w: float) -> float:
    """Centre of the gate's poly contact above a diffusion of width ``w``: clear of the
    diffusion, and of the p+ implant the block draws around a PMOS's diffusion."""
    clear = max(R.poly_licon_diff_space + 0.03, R.implant_diff_enc + R.poly_licon_psdm_space)
    return snap(w + clear + R.licon / 2)


@dataclass(frozen=True)
class Terminal:
    name: str  # "S", "G", "D" or "B" (tap)
    x: float
    y: float


def mos_terminals(w: float, l_um: float) -> tuple[float, list[Terminal]]:
    """(length, terminals) of a ``mos`` cell, in its own coordinates (diffusion from y = 0)."""
    sd = _sd_length(l_um)
    contact_x = sd_contact_x()
    length = snap(2 * sd + l_um)
    y_sd = _sd_pad_y(w)
    return length, [
        Terminal("S", snap(contact_x), y_sd),
        Terminal("G", snap(sd + l_um / 2), _gate_pad_y(w)),
        Terminal("D", snap(length - contact_x), y_sd),
    ]


def _sd_pad_y(w: float) -> float:
    """The S/D contacts' mcon: at the top of the contact column's li."""
    return snap(licon_column_li(0.0, w)[1] - R.mcon / 2 - 0.01)


@gf.cell
def mos(kind: str, w: float, l_um: float) -> gf.Component:
    """One transistor (no implant or well: the block draws those per group of devices)."""
    c = gf.Component()
    length, terms = mos_terminals(w, l_um)
    sd = _sd_length(l_um)
    rect(c, pdk.DIFF, 0, 0, length, w)
    yg = _gate_pad_y(w)
    xg = sd + l_um / 2
    pad_half_x = R.licon / 2 + R.licon_poly_enc_end
    pad_half_y = R.licon / 2 + R.licon_poly_enc
    rect(c, pdk.POLY, sd, -R.poly_endcap, sd + l_um, yg + pad_half_y)
    rect(c, pdk.POLY, xg - pad_half_x, yg - pad_half_y, xg + pad_half_x, yg + pad_half_y)
    square(c, pdk.LICON, xg, yg, R.licon)
    npc = R.licon / 2 + R.npc_licon_enc
    rect(c, pdk.NPC, xg - npc, yg - npc, xg + npc, yg + npc)
    rect(c, pdk.LI, xg - R.licon / 2, yg - 0.175, xg + R.licon / 2, yg + 0.175)
    for t in terms:
        if t.name != "G":
            _licon_column(c, t.x - R.licon / 2, 0, w)
        _mcon_to_met1(c, t.x, t.y)
        via1_pad(c, t.x, t.y)
    c.info["kind"] = kind
    return c


@gf.cell
def tap(kind: str) -> gf.Component:
    """A substrate (``p``: p+ tap) or n-well (``n``: n+ tap) contact, a tap_side() square
    from (0, 0)."""
    c = gf.Component()
    side = tap_side()
    rect(c, pdk.TAP, 0, 0, side, side)
    implant = pdk.PSDM if kind == "p" else pdk.NSDM
    e = R.implant_diff_enc
    rect(c, implant, -e, -e, side + e, side + e)
    xc = yc = side / 2
    square(c, pdk.LICON, xc, yc, R.licon)
    rect(c, pdk.LI, xc - R.licon / 2, yc - 0.175, xc + R.licon / 2, yc + 0.175)
    _mcon_to_met1(c, xc, yc)
    via1_pad(c, xc, yc)
    return c


@dataclass(frozen=True)
class Item:
    """A placed device or tap: nets of its terminals, kind, size and its cell."""

    name: str
    kind: str  # "n", "p" or "r" (device type; for a tap the diffusion it contacts)
    is_tap: bool
    nets: dict[str, str]
    w: float
    l_um: float

    @property
    def length(self) -> float:
        if self.kind == "r":
            return resistor_geometry(self.w, self.l_um).length
        return tap_side() if self.is_tap else mos_terminals(self.w, self.l_um)[0]

    @property
    def height(self) -> float:
        """Extent from the diffusion's bottom to the top of its terminal pads."""
        if self.kind == "r":
            return resistor_geometry(self.w, self.l_um).height
        if self.is_tap:
            return tap_side()
        return snap(_gate_pad_y(self.w) + pad_side() / 2)

    def terminals(self) -> list[Terminal]:
        if self.kind == "r":
            g = resistor_geometry(self.w, self.l_um)
            return [Terminal(t, x, g.y_pad) for t, x in zip("SD", g.x_terminals, strict=True)]
        if self.is_tap:
            return [Terminal("B", tap_side() / 2, tap_side() / 2)]
        return mos_terminals(self.w, self.l_um)[1]

    def cell(self) -> gf.Component:
        if self.kind == "r":
            return poly_resistor(self.w, self.l_um)
        return (
            tap("p" if self.kind == "n" else "n")
            if self.is_tap
            else mos(self.kind, self.w, self.l_um)
        )


def _item(d: Device, flipped: bool = False) -> Item:
    """A device; ``flipped``: drawn drain-left (so a neighbour's terminal on the same net is
    near, and that net's track short)."""
    sd = {"S": d.d, "D": d.s} if flipped else {"S": d.s, "D": d.d}
    gate = {} if d.kind == "r" else {"G": d.g}
    return Item(d.name, d.kind, False, {**sd, **gate}, d.w, d.l)


def _rows(cc: ClCircuit, chosen0: frozenset[str] | None = None) -> tuple[list[Item], list[Item]]:
    """Row 0: p+ tap, NMOS, n+ tap, PMOS (``row_first`` ones first), resistors (last: the
    NMOS stay within the latch-up distance of the tap); row 1: n+ tap, PMOS; the other PMOS
    split to balance the rows (``chosen0``: those that go to row 0)."""
    items = [_item(d, d.name in cc.flipped) for d in cc.devices if d.name not in cc.bed]
    nmos = [i for i in items if i.kind == "n"]
    if cc.nmos_order:
        nmos.sort(key=lambda i: cc.nmos_order.index(i.name))
    first = [i for name in cc.row_first for i in items if i.name == name]
    pmos = [i for i in items if i.kind == "p" and i.name not in cc.row_first]
    ptap = Item("TAPP", "n", True, {"B": "0"}, tap_side(), 0.0)

    def ntap(k: int) -> Item:
        return Item(f"TAPN{k}", "p", True, {"B": "vdd"}, tap_side(), 0.0)

    def span(items: list[Item]) -> float:
        return sum(i.length + ITEM_GAP for i in items)

    resistors = [i for i in items if i.kind == "r"]
    row0 = [ptap, *nmos, ntap(0), *first]
    row1 = [ntap(1)]
    if chosen0 is None:  # longest first, each into the shorter row; then the circuit's order
        chosen0 = frozenset()
        lengths = [span([*row0, *resistors]) + WELL_GAP, span(row1)]
        for it in sorted(pmos, key=lambda i: -i.length):
            k = 0 if lengths[0] <= lengths[1] else 1
            lengths[k] += it.length + ITEM_GAP
            if k == 0:
                chosen0 |= {it.name}
    row0 += [it for it in pmos if it.name in chosen0]
    row1 += [it for it in pmos if it.name not in chosen0]
    if not first and not chosen0:  # no PMOS in row 0: its n-well would hold the tap alone
        row0 = [it for it in row0 if it.name != "TAPN0"]
    if not first and not pmos:  # no PMOS at all: no row 1 (an n-well with a tap alone)
        row1 = []
    if resistors and not nmos and not first and not pmos:  # resistors alone: a p+ tap with
        row0 = row0[1:]  # no n+ diffusion near it is a latch-up rule's error (GF180MCU DF.14)
    return [*row0, *resistors], row1


@dataclass(frozen=True)
class Placed:
    item: Item
    x: float  # left end of the diffusion
    row: int


@dataclass(frozen=True)
class BlockPlan:
    placed: tuple[Placed, ...]
    tracks: dict[str, float]  # net -> track centre y
    y_row0: float  # bottom of row 0's diffusions
    y_row1: float  # top of row 1's diffusions (row 1 is mirrored)
    x_rows: float  # where the rows start (after the edge landing zone)
    x_stack: float  # the global via stacks' x
    length: float
    height: float
    bed: BedPlan | None = None  # capacitors under the channel

    def columns(self) -> list[tuple[str, float, float]]:
        """(net, x, y) of every terminal pad, block coordinates."""
        out = []
        for p in self.placed:
            for t in p.item.terminals():
                y = self.y_row0 + t.y if p.row == 0 else self.y_row1 - t.y
                out.append((p.item.nets[t.name], snap(p.x + t.x), snap(y)))
        return out


STUB_GAP = 0.14  # met2 spacing between a row-0 stub's end and a row-1 stub's end


def plan_block(
    cc: ClCircuit,
    edge_cols: tuple[tuple[str, float], ...],
    height_weight: float | None = None,
    under_landing: bool = False,
) -> BlockPlan:
    """Place the devices and assign tracks; ``edge_cols`` are the edge nets' landing x. The
    capacitor bed takes as many of the circuit's bed devices as fit under the channel (in
    their order); the rest stand in the rows. The placer keeps the smallest block: by area,
    or (``height_weight``) by length + weight x height, where the block is one of a lattice
    site's bands (stacked blocks: a site's height grows by two block heights).
    ``under_landing``: the rows and the bed start under the edge nets' landing zone, not
    after it (the landing stubs come down from the top and end on their channel tracks, so
    a row's stub may share a landing stub's x where their tracks keep them apart: the
    placer keeps them so); the block is shorter by about the zone's width."""
    for n in range(len(cc.bed), -1, -1):
        try:
            return _plan_block(replace(cc, bed=cc.bed[:n]), edge_cols, height_weight, under_landing)
        except BedFull:
            continue
    raise AssertionError("unreachable: a block without a bed always plans")


def _first_fit(
    it: Item,
    x_min: float,
    occupied: list[tuple[float, float]],
    below: list[tuple[str | None, float]],
    tracks: dict[str, float],
) -> float:
    """Leftmost x >= ``x_min`` where ``it`` keeps ITEM_GAP from the row's placed items
    (``occupied``: their x extents) and its stubs clear row 0's: a row-1 stub and a row-0
    stub share an x only where the row-1 net's track lies above the row-0 net's by a pad
    and a spacing (each stub ends at its own track); two stubs of one net never do (two
    via1 pads on one track would overlap), nor does any stub an edge landing. Row 1 fills
    the gaps its first devices leave, instead of only growing rightwards."""
    need = pad_side() + STUB_GAP
    blocked = [(x0 - ITEM_GAP - it.length, x1 + ITEM_GAP) for x0, x1 in occupied]
    for t in it.terminals():
        n1 = it.nets[t.name]
        for n0, x0 in below:
            if n0 is not None and tracks[n1] - tracks[n0] >= need:
                continue
            blocked.append((x0 - t.x - col(), x0 - t.x + col()))
    return _clear_of(up(x_min), blocked)


def _clear_of(x: float, blocked: list[tuple[float, float]]) -> float:
    """The least x' >= ``x`` inside none of the ``blocked`` open intervals (on the grid)."""
    moved = True
    while moved:
        moved = False
        for lo, hi in blocked:
            if lo + 1e-6 < x < hi - 1e-6:
                x, moved = up(hi), True
    return x


def _place_row1(
    row1: list[Item],
    x_rows: float,
    below: list[tuple[str | None, float]],
    tracks: dict[str, float],
    under_landing: bool = False,
) -> list[Placed]:
    """Row 1 by first fit in the better of two orders (the given one, and the longest
    devices first), its tap first; ``under_landing`` (the row starts where the edge's
    landing stubs cross it): each also with the tap second or last, since a device whose
    terminals clear the stubs may fill the room a tap cannot."""
    tap, rest = row1[:1], row1[1:]
    best: list[Placed] = []
    places = (0, 1, len(rest)) if under_landing else (0,)
    orders = [
        (*order[:k], *tap, *order[k:])
        for order in (rest, sorted(rest, key=lambda i: -i.length))
        for k in sorted(set(places))
    ]
    for order in orders:
        placed: list[Placed] = []
        for it in order:
            occupied = [(p.x, p.x + p.item.length) for p in placed]
            placed.append(Placed(it, _first_fit(it, x_rows, occupied, below, tracks), 1))
        if not best or _row_end(placed) < _row_end(best) - 1e-6:
            best = placed
    return best


def _place_row0(
    row0: list[Item],
    x_rows: float,
    edge_cols: tuple[tuple[str, float], ...],
    tracks: dict[str, float],
) -> list[Placed]:
    """Row 0 left to right in its order, the n-well's gap where NMOS meets PMOS; where the
    row starts under the landing zone (``edge_cols``), each item moves right until its
    stubs (up to their tracks) clear the edge's landing stubs (down to theirs)."""
    need = pad_side() + STUB_GAP
    placed: list[Placed] = []
    x = x_rows
    prev_kind = None
    for it in row0:
        if prev_kind == "n" and it.kind == "p":
            x += WELL_GAP - ITEM_GAP
        blocked = [
            (xe - t.x - col(), xe - t.x + col())
            for t in it.terminals()
            for n1, xe in edge_cols
            if tracks[n1] - tracks[it.nets[t.name]] < need
        ]
        x = _clear_of(x, blocked)
        placed.append(Placed(it, snap(x), 0))
        x += it.length + ITEM_GAP
        prev_kind = it.kind
    return placed


def _row_end(placed: list[Placed]) -> float:
    return max(p.x + p.item.length for p in placed)


def _splits(cc: ClCircuit) -> list[frozenset[str] | None]:
    """Which balanced PMOS go to row 0: the length-balancing default first, then every other
    split (a handful of devices: the placer keeps the one that makes the smallest block)."""
    free = [d.name for d in cc.devices if d.kind == "p" and d.name not in cc.bed]
    free = [n for n in free if n not in cc.row_first]
    if len(free) > 8:
        return [None]
    subsets = [
        frozenset(n for k, n in enumerate(free) if mask >> k & 1) for mask in range(2 ** len(free))
    ]
    return [None, *subsets]


def _plan_block(
    cc: ClCircuit,
    edge_cols: tuple[tuple[str, float], ...],
    height_weight: float | None,
    under_landing: bool,
) -> BlockPlan:
    """Every split of the PMOS between the rows, row 1 by first fit; the smallest block
    whose bed fits wins."""
    plans = []
    for k, plan in enumerate(_candidates(cc, edge_cols, active_pdk().name, under_landing)):
        size = (
            plan.length * plan.height
            if height_weight is None
            else plan.length + height_weight * plan.height
        )
        plans.append((round(size, 3), k, plan))
    plans.sort(key=lambda p: p[:2])
    for _, _, plan in plans:
        if plan.bed is not None or not any(d.name in cc.bed for d in cc.devices):
            return plan
    raise BedFull("no split of the rows leaves the bed its room")


@cache
def _candidates(
    cc: ClCircuit, edge_cols: tuple[tuple[str, float], ...], pdk_name: str, under_landing: bool
) -> list[BlockPlan]:
    """One plan per split (:func:`_splits`), whatever the weight that chooses among them;
    cached per PDK (``pdk_name``: the active one, whose rules the plans are drawn to)."""
    return [_plan_rows(cc, edge_cols, chosen0, under_landing) for chosen0 in _splits(cc)]


def _plan_rows(
    cc: ClCircuit,
    edge_cols: tuple[tuple[str, float], ...],
    chosen0: frozenset[str] | None,
    under_landing: bool = False,
) -> BlockPlan:
    """One split: the channel's tracks, row 0 left to right, row 1 by first fit, the bed
    (``bed`` None where it does not fit)."""
    row0, row1 = _rows(cc, chosen0)
    x_rows = snap(max((x for _, x in edge_cols), default=0.0) + col() + ITEM_GAP)
    if under_landing:
        x_rows = snap(min((x for _, x in edge_cols), default=ITEM_GAP))
    # y: row 0, channel (globals, edge nets, the rest), row 1; the tracks first: row 1's
    # stubs (and, under the landing zone, row 0's) may share an edge or row-0 stub's x where
    # their tracks keep them apart
    y_row0 = ROW_MARGIN
    top0 = y_row0 + max(it.height for it in row0)
    nets = {n for it in (*row0, *row1) for n in it.nets.values()} | {n for n, _ in edge_cols}
    bed_devices = [d for d in cc.devices if d.name in cc.bed]
    nets |= {n for d in bed_devices for n in (d.g, d.d)}
    signal = [n for n in cc.edge_nets if n not in cc.channel]
    signal += sorted(n for n in nets if n not in cc.channel and n not in signal)
    tracks: dict[str, float] = {}
    y = top0 + ROW_MARGIN + GLOBAL_TRACK / 2
    lift = _bed_lift(cc, bed_devices, top0 + ROW_MARGIN)
    # the channel's order (cl_circuit): G's track runs between two quiet ones (VFLOOR and
    # VSS, both DC): a track beside a lattice net would couple the node's swings into the
    # floating gate (3.4 fF each from A_F / B_F when G sat between them, ~3 % of a node step
    # on G)
    for k, n in enumerate(cc.channel):
        tracks[n] = snap(y)
        y += _channel_pitch(cc, k) + (lift if k == 0 else 0.0)
    y += track() - GLOBAL_TRACK / 2
    for n in signal:
        tracks[n] = snap(y)
        y += track()
    placed = _place_row0(row0, x_rows, edge_cols if under_landing else (), tracks)
    below: list[tuple[str | None, float]] = [
        (p.item.nets[t.name], snap(p.x + t.x)) for p in placed for t in p.item.terminals()
    ]
    below += [(None, x) for _, x in edge_cols]  # the edge's stubs come down from the top
    placed += _place_row1(row1, x_rows, below, tracks, under_landing)
    row_end = _row_end(placed)
    bed = None
    if bed_devices:
        spans: dict[str, list[float]] = {}
        for p in placed:
            for t in p.item.terminals():
                spans.setdefault(p.item.nets[t.name], []).append(p.x + t.x)
        for n, x in edge_cols:
            spans.setdefault(n, []).append(x)
        try:
            bed = plan_bed(
                bed_devices,
                tracks,
                {n: (min(xs) - col(), max(xs) + col()) for n, xs in spans.items()},
                (top0 + ROW_MARGIN, y - track() / 2),
                (x_rows, row_end),
                cc.bed_avoid,
            )
        except BedFull:
            bed = None
    x_stack = snap(row_end + col() + 0.3)
    length = up(x_stack + 0.6)
    top1 = max((p.item.height for p in placed if p.row == 1), default=0.0)  # no row 1: 0
    y_row1 = snap(y - track() / 2 + ROW_MARGIN + top1)
    height = up(y_row1 + ROW_MARGIN + R.well_diff_enc)
    return BlockPlan(tuple(placed), tracks, y_row0, y_row1, x_rows, x_stack, length, height, bed)


def _bed_lift(cc: ClCircuit, bed: list[Device], y_channel: float) -> float:
    """How far the channel's tracks above its first must move up so that a bed stripe fits
    below the plate's track, clear of the first track (X's, which stays by its row) where
    the bed must avoid it."""
    if not bed or bed[0].g not in cc.channel[1:]:
        return 0.0
    k = cc.channel.index(bed[0].g)
    first = y_channel + GLOBAL_TRACK / 2
    bottom = y_channel + BED_MARGIN
    if cc.channel[0] in cc.bed_avoid:
        bottom = max(bottom, first + BED_AVOID + 0.01)
    need = bottom + bed[0].w + BED_GAP / 2
    return up(max(0.0, need - (first + sum(_channel_pitch(cc, j) for j in range(k)))))


def _channel_pitch(cc: ClCircuit, k: int) -> float:
    """From channel track ``k`` to the next: a global pitch between two global nets (each
    has a via stack and a met3 stripe above) and beside the bed's plate (its li contacts
    and the shield's need the room), a signal pitch beside any other net (two globals with
    one net between them are still further apart than a global pitch)."""
    if k + 1 == len(cc.channel):
        return GLOBAL_TRACK
    pair = {cc.channel[k], cc.channel[k + 1]}
    plate = {d.g for d in cc.devices if d.name in cc.bed}
    return GLOBAL_TRACK if pair <= set(cc.globals) or pair & plate else track()


def _groups(plan: BlockPlan, row: int) -> list[list[Placed]]:
    """Runs of same-type neighbours in a row (taps start a new run: their implant differs)."""
    runs: list[list[Placed]] = []
    for p in sorted((p for p in plan.placed if p.row == row), key=lambda p: p.x):
        if p.item.is_tap or not runs or runs[-1][-1].item.is_tap:
            runs.append([p])
        elif runs[-1][-1].item.kind == p.item.kind:
            runs[-1].append(p)
        else:
            runs.append([p])
    return runs


def _draw_wells(
    c: gf.Component, plan: BlockPlan, row: int
) -> tuple[float, float, float, float] | None:
    """One implant box per run of devices, one n-well per row's PMOS (and their n+ tap);
    returns the n-well's box."""
    e = R.implant_diff_enc

    def ys(w: float) -> tuple[float, float]:
        if row == 0:
            return plan.y_row0, plan.y_row0 + w
        return plan.y_row1 - w, plan.y_row1

    well: list[Placed] = []
    for run in _groups(plan, row):
        first = run[0]
        if not first.item.is_tap and first.item.kind != "r":  # a resistor draws its own
            implant = pdk.NSDM if first.item.kind == "n" else pdk.PSDM
            # each device's implant to its own width (a run's widest would cover a narrower
            # PMOS's gate contact: licon to psdm), bridged to the next at the lower one
            for k, p in enumerate(run):
                y0, y1 = ys(p.item.w)
                rect(c, implant, p.x - e, y0 - e, p.x + p.item.length + e, y1 + e)
                if k + 1 < len(run):
                    q = run[k + 1]
                    y0, y1 = ys(min(p.item.w, q.item.w))
                    rect(c, implant, p.x + p.item.length, y0 - e, q.x, y1 + e)
        if first.item.kind == "p":
            well += run
    if well:
        x0 = min(p.x for p in well)
        x1 = max(p.x + p.item.length for p in well)
        y0, y1 = ys(max(p.item.w for p in well))
        enc = R.well_diff_enc
        box = (x0 - enc, y0 - enc, x1 + enc, y1 + enc)
        rect(c, pdk.NWELL, *box)
        return box
    return None


def _draw_bed(c: gf.Component, bed: BedPlan, wells: list[tuple[float, ...]]) -> None:
    """The capacitor bed; a PMOS bed's n-well joins the row n-well that overlaps it most
    along the block (tapped in the row: the capacitors' body is VDD), and any other row
    n-well nearer than the rules' spacing."""
    x0, y0, x1, y1 = draw_bed(c, bed)
    if bed.kind != "p":
        return
    e = R.well_diff_enc
    x0, y0, x1, y1 = x0 - e, y0 - e, x1 + e, y1 + e
    rect(c, pdk.NWELL, x0, y0, x1, y1)
    overlap = [(min(x1, w[2]) - max(x0, w[0]), w) for w in wells]
    best = max((o for o, _ in overlap), default=0.0)
    if best <= 0:
        raise ValueError("the capacitor bed's n-well meets no row n-well (its body would float)")
    for o, (wx0, wy0, wx1, wy1) in overlap:
        lo, hi = max(x0, wx0), min(x1, wx1)
        if o <= 0 or (o < best and min(abs(wy0 - y1), abs(y0 - wy1)) >= R.well_space):
            continue
        if wy0 >= y1:  # the row well above
            rect(c, pdk.NWELL, lo, y1 - e, hi, wy0 + e)
        elif y0 >= wy1:  # below
            rect(c, pdk.NWELL, lo, wy1 - e, hi, y0 + e)


@gf.cell
def update_block(
    edge_cols: tuple[tuple[str, float], ...],
    circuit_name: str = "memory",
    hold_cap_n: int = 1,
    reader: bool = False,
    height_weight: float | None = None,
    sizes: Sizes = (),
    under_landing: bool = False,
) -> gf.Component:
    """The update circuit (and ``reader``: the G reader; ``sizes``: its transistor sizes),
    placed and routed; edge nets land at ``edge_cols`` (x, left zone; ``under_landing``:
    :func:`plan_block`)."""
    cc = circuit(circuit_name, hold_cap_n, reader, sizes, active_pdk().name)
    return draw_block(cc, edge_cols, height_weight, under_landing)


def draw_block(
    cc: ClCircuit,
    edge_cols: tuple[tuple[str, float], ...] = (),
    height_weight: float | None = None,
    under_landing: bool = False,
) -> gf.Component:
    """Any circuit of :class:`ClCircuit` form, placed in two rows and routed on its channel's
    tracks; its global nets leave from via stacks (met3) at the right end
    (``height_weight``, ``under_landing``: :func:`plan_block`)."""
    plan = plan_block(cc, edge_cols, height_weight, under_landing)
    c = gf.Component()
    for p in plan.placed:
        ref = c.add_ref(p.item.cell())
        if p.row == 0:
            ref.dmove((p.x, plan.y_row0))
        else:
            ref.dmirror_y(0)
            ref.dmove((p.x, plan.y_row1))
    wells = [_draw_wells(c, plan, 0), _draw_wells(c, plan, 1)]
    cols = plan.columns()
    if plan.bed is not None:
        _draw_bed(c, plan.bed, [w for w in wells if w is not None])
    half = pad_side() / 2
    edge_y = plan.height  # the edge's stubs come in from the top
    for net, x in edge_cols:
        cols.append((net, x, edge_y))
    for net, x, y in cols:
        yt = plan.tracks[net]
        rect(c, pdk.MET2, x - half, min(y, yt) - half, x + half, max(y, yt) + half)
        via1_pad(c, x, yt)
    stack = via_stack("met3", STRIPE)  # stacks GLOBAL_TRACK apart: stripe-high pads
    for net in cc.globals:
        c.add_ref(stack).dmove((plan.x_stack, plan.tracks[net]))
        cols.append((net, plan.x_stack, plan.tracks[net]))
    if plan.bed is not None:  # the bed's contacts meet their tracks from below (mcon)
        cols += [(plan.bed.plate, x, plan.bed.plate_y) for x in plan.bed.plate_contacts()]
        cols += [(plan.bed.shield, x, plan.bed.shield_y) for x in plan.bed.shield_contacts()]
    for net, yt in plan.tracks.items():
        xs = [x for n, x, _ in cols if n == net]
        rect(c, pdk.MET1, min(xs) - half, yt - half, max(xs) + half, yt + half)
    rect(c, pdk.PR_BOUNDARY, 0, 0, plan.length, plan.height)
    c.info["stacks"] = {net: (plan.x_stack, plan.tracks[net]) for net in cc.globals}
    c.info["length"] = plan.length
    c.info["height"] = plan.height
    return c


# ------------------------------------------------------------------------ the whole cell
# the vertical cell's edge-net L-routes: taps along the edge, and landing columns whose
# parallel runs (~20 um) must not couple A/B swings onto G's (1.5 um: ~0.2 fF, not ~1 fF)
TAP_PITCH = 0.6
LAND_PITCH = 1.5
BAND_MARGIN = 1.0  # between the two blocks of a site, and around them
BAND_MARGIN_COMPACT = 0.4  # the same in the compact plan (the n-well rules hold with it)
ROUTE_SPACE = 0.3  # the vertical edge's last L-route from the blocks' band (beside)
# compact beside: the vertical edge's routes cross over its block on met3, one tap depth
# each; a route passes another's via2 pad (met3 0.33) with met3's spacing to spare
TAP_PITCH_OVER = 0.7


@dataclass(frozen=True)
class ClGeometry:
    """Where the two ``twin_edge_cl`` variants put their edge and block.

    ``below`` (horizontal edges, unrotated): the block hangs below the edge, at the B end,
    edge nets dropping straight into its left zone. ``stacked`` (vertical edges, which the
    array rotates by -90 deg): the block is turned so that in the array it lies horizontal,
    under the first block, in the same lattice site; the edge nets reach its left zone
    through met2 L-routes. Both blocks are then horizontal bands of the site's free quadrant.
    """

    edge: EdgeGeometry  # the horizontal cell's edge, stretched to the whole cell length
    edge_v: EdgeGeometry  # the vertical cell's edge (its own length, twins near the A end)
    edge_cols: tuple[tuple[str, float], ...]  # block-local x of the landing stubs (below)
    edge_cols_v: tuple[tuple[str, float], ...]  # the same for the stacked block
    taps_v: dict[str, float]  # vertical cell x where each edge net leaves its run / contact
    x_block: float  # horizontal cell: the block's left end
    x_land: float  # vertical cell: x of the stacked block's landing edge (its local top)
    block_length: float
    block_height: float
    tracks: dict[str, float]  # block-local y of the global tracks
    x_stack: float  # block-local x of the global via stacks
    x_stack_v: float  # the same in the stacked block (its landing zone differs)
    circuit: str  # cl_circuit name
    hold_cap_n: int  # the memory circuit's parallel hold capacitors
    sizes: Sizes  # the memory circuit's transistor sizes (the spec's overrides)
    globals: tuple[str, ...]  # the global nets the blocks bring out
    drop: float = GAP  # from the row's edge strip down to the blocks' band
    height_weight: float | None = None  # the block placer's weight of height (plan_block)
    # the vertical edge's routes run over its block on met3 (compact beside): no band above
    routes_over: bool = False

    @property
    def x_far(self) -> float:
        return snap(self.x_land + self.block_height)

    def stack_x(self) -> tuple[float, float]:
        """Site-relative array x of the global via stacks in the horizontal cell's block and
        in the vertical cell's stacked block."""
        return (
            snap(self.edge.tile_w + self.x_block + self.x_stack),
            snap(self.edge_v.height + GAP + self.x_stack_v),
        )

    def band_offsets(self) -> tuple[dict[str, float], dict[str, float]]:
        """Site-relative array y of each global track, in the horizontal cell's block and in
        the vertical cell's stacked block (both run along the lattice rows)."""
        y_h = -self.drop - self.block_height
        return (
            {n: snap(y_h + self.tracks[n]) for n in self.globals},
            {n: snap(self.tracks[n] - self.x_far) for n in self.globals},
        )


def _edge_cols(g: EdgeGeometry) -> dict[str, float]:
    """Edge-cell x of the stubs: A-side nets left of the A contacts, B-side right of B's."""
    contact_x = sd_contact_x()
    x_a = g.x_gate - g.sd + contact_x
    x_b = g.x_gate + g.gate_l + g.sd - contact_x
    return {
        "ac": snap(x_a - 2 * col() - 0.1),
        "af": snap(x_a - col() - 0.05),
        "g": snap(g.x_gate + g.gate_l / 2),
        "bf": snap(x_b + col() + 0.05),
        "bc": snap(x_b + 2 * col() + 0.1),
    }


def cl_geometry(
    w_um: float,
    l_um: float,
    c_gate_f: float,
    circuit_name: str = "memory",
    hold_cap_n: int = 1,
    reader: bool = False,
    cap_max_w: float = CAP_MAX_W_CL,
    cap_max_w_v: float = 0.0,
    beside: bool = False,
    sizes: Sizes = (),
    under_landing: bool = False,
    cap_l_v: float = 0.0,
) -> ClGeometry:
    """Size both cells so that a site's two blocks sit one under the other in its free
    quadrant (``beside``: side by side in one band under the row's edge strip, the vertical
    edge's block first), clear of each other's routes and of the next row and column; the
    vertical edges' capacitor folds into fingers at most ``cap_max_w_v`` wide (0:
    ``cap_max_w``; ``under_landing``: :func:`plan_block`, and beside, the routes over the
    vertical edge's block; ``cap_l_v``: the vertical capacitor's finger length, 0: the
    sizing rule's). The block placer weighs a block's height against its length; which
    weight makes the smallest lattice site depends on what sets the site's sides (the
    blocks, or the capacitor strips), so each of a few is tried."""
    options = [
        _cl_geometry(w_um, l_um, c_gate_f, circuit_name, hold_cap_n, reader, cap_max_w,
                     cap_max_w_v, beside, sizes, weight, under_landing, cap_l_v)
        for weight in HEIGHT_WEIGHTS
    ]  # fmt: skip
    return min(options, key=lambda cg: round(cg.edge.pitch * cg.edge.pitch_y, 3))


HEIGHT_WEIGHTS = (0.0, 0.5, 1.0, 2.0, 4.0)


def _cl_geometry(
    w_um: float,
    l_um: float,
    c_gate_f: float,
    circuit_name: str,
    hold_cap_n: int,
    reader: bool,
    cap_max_w: float,
    cap_max_w_v: float,
    beside: bool,
    sizes: Sizes,
    weight: float,
    under_landing: bool = False,
    cap_l_v: float = 0.0,
) -> ClGeometry:
    """:func:`cl_geometry` with the block placer's ``weight``."""
    g = edge_geometry(w_um, l_um, c_gate_f, cap_max_w)
    gv = vertical_geometry(g, w_um, l_um, c_gate_f, cap_max_w, cap_max_w_v, cap_l_v)
    cc = circuit(circuit_name, hold_cap_n, reader, sizes, active_pdk().name)
    rel = {n: x for n, x in _edge_cols(g).items() if n in cc.edge_nets}
    shift = 0.5 - min(rel.values())  # block-local x = edge x + shift
    edge_cols = tuple((n, snap(x + shift)) for n, x in rel.items())
    plan = plan_block(cc, edge_cols, weight, under_landing)
    # the stacked block: landing columns in the reverse order of the taps along the edge, so
    # that no L-route crosses another
    order = [n for n in ("bc", "bf", "g", "af", "ac") if n in cc.edge_nets]
    edge_cols_v = tuple((n, snap(0.5 + k * LAND_PITCH)) for k, n in enumerate(order))
    plan_v = plan_block(cc, edge_cols_v, weight, under_landing)
    # vertical cell: twins near the A end, their taps on the runs around them (compact
    # beside: the routes cross the block on met3, so further apart, and no band above it)
    routes_over = beside and under_landing
    pitch = TAP_PITCH_OVER if routes_over else TAP_PITCH
    contact_x = sd_contact_x()
    x_gate_v = snap(MARGIN_A + 2 * pitch + g.sd - contact_x + 0.2)
    edge_v0 = replace(gv, x_gate=x_gate_v)
    tv = _edge_cols(edge_v0)
    taps_v = {
        "ac": snap(MARGIN_A),
        "af": snap(MARGIN_A + pitch),
        "g": tv["g"],
        "bf": tv["bf"],
        "bc": snap(tv["bf"] + pitch) if routes_over else tv["bc"],
    }
    margin = BAND_MARGIN_COMPACT if under_landing else BAND_MARGIN
    if routes_over:
        drop = x_land = GAP
        x_block = up(GAP + plan_v.length + margin)
    elif beside:
        # both blocks in one band, below the vertical edge's L-routes (they leave the edge
        # at its taps, near its A end) and beside each other
        drop = up(max(GAP, max(taps_v[n] for n in cc.edge_nets) + pad_side() / 2 + ROUTE_SPACE))
        x_land = drop
        x_block = up(GAP + plan_v.length + BAND_MARGIN)
    else:
        drop = GAP
        x_land = snap(max(taps_v["bc"] + BAND_MARGIN, GAP + plan.height + BAND_MARGIN))
        # horizontal cell: its block starts right of the stacked block's landing routes
        zone_v = max(x for _, x in edge_cols_v) + pad_side()
        x_block = up(GAP + zone_v + BAND_MARGIN)
    # rows and columns get their own pitch: a column only has to hold the two blocks' height
    length = max(up(x_block + plan.length + margin), g.length)
    length_v = max(up(x_land + plan_v.height + margin), gv.length)
    x_gate = snap(g.x_gate + x_block + shift)
    return ClGeometry(
        edge=replace(g, length=length, x_gate=x_gate, length_vertical=length_v).with_vertical(gv),
        edge_v=replace(edge_v0, length=length_v),
        edge_cols=edge_cols,
        edge_cols_v=edge_cols_v,
        taps_v=taps_v,
        x_block=x_block,
        x_land=x_land,
        block_length=plan.length,
        block_height=plan.height,
        tracks=plan.tracks,
        x_stack=plan.x_stack,
        x_stack_v=plan_v.x_stack,
        circuit=circuit_name,
        hold_cap_n=hold_cap_n,
        sizes=sizes,
        globals=cc.globals,
        drop=drop,
        height_weight=weight,
        routes_over=routes_over,
    )


MARGIN_A = 0.7  # vertical cell: first tap from the A end


def _tap(c: gf.Component, g: EdgeGeometry, net: str, x: float) -> float:
    """Where an edge net leaves the edge: a via1 on its A/B run, or G's poly contact
    brought up to met2. Returns the y."""
    if net == "g":
        y = g.y_gate_contact
        _mcon_to_met1(c, x, y)
    else:
        y = {"af": g.y_free, "bf": g.y_free, "ac": g.y_clamp, "bc": g.y_clamp}[net]
    via1_pad(c, x, y)
    return y


def _edge_stubs(c: gf.Component, cg: ClGeometry) -> None:
    """Horizontal cell: met2 straight down from each edge net to the block's landing zone."""
    half = pad_side() / 2
    for net, xb in cg.edge_cols:
        x = snap(cg.x_block + xb)
        y = _tap(c, cg.edge, net, x)
        rect(c, pdk.MET2, x - half, -cg.drop - half, x + half, y + half)


def _edge_routes(c: gf.Component, cg: ClGeometry) -> None:
    """Vertical cell: met2 L-routes from the taps (along the edge, toward the block) to the
    stacked block's landing edge at x_land; taps further along the edge land nearer it.
    ``routes_over``: each route rises to met3 at its tap and crosses over the block's edge
    at the tap's depth, down (via2) onto the landing stub the block runs from its edge."""
    half = pad_side() / 2
    g = cg.edge_v
    for net, u in cg.edge_cols_v:
        x = cg.taps_v[net]
        y = _tap(c, g, net, x)
        y_col = snap(g.height + GAP + u)
        if cg.routes_over:
            w = R.met3_width / 2
            _via2_pad(c, x, y)
            rect(c, pdk.MET3, x - w, y, x + w, y_col)
            _via2_pad(c, x, y_col)
            continue
        rect(c, pdk.MET2, x - half, y - half, x + half, y_col + half)
        rect(c, pdk.MET2, x - half, y_col - half, cg.x_land + half, y_col + half)


def _via2_pad(c: gf.Component, x: float, y: float) -> None:
    """via2 with its met2 and met3 landings."""
    square(c, pdk.VIA2, x, y, R.via2)
    e = R.via2 / 2 + R.met2_via2_enc_end
    rect(c, pdk.MET2, x - e, y - e, x + e, y + e)
    e = R.via2 / 2 + R.met3_via2_enc
    rect(c, pdk.MET3, x - e, y - e, x + e, y + e)


@gf.cell
def twin_edge_cl(
    w_um: float = 1.0,
    l_um: float = 1.0,
    c_gate_f: float = 100e-15,
    side: str = "below",
    circuit_name: str = "memory",
    hold_cap_n: int = 1,
    reader: bool = False,
    cap_max_w: float = CAP_MAX_W_CL,
    cap_max_w_v: float = 0.0,
    beside: bool = False,
    sizes: Sizes = (),
    compact: bool = False,
    cap_l_v: float = 0.0,
) -> gf.Component:
    """A twin edge with its update circuit (:mod:`cl_circuit`): ``below`` (horizontal edges)
    or ``stacked`` (vertical edges; see :class:`ClGeometry`); ``reader``: with the G reader
    (a chip's cells); ``cap_max_w``: the gate capacitor's widest finger (the spec's
    ``cell.cap_finger_w_um``; ``compact``: the spec's ``cell.compact``, the blocks' rows
    under their landing zones (:func:`plan_block`) and, beside, the routes over the block)."""
    cg = cl_geometry(
        w_um, l_um, c_gate_f, circuit_name, hold_cap_n, reader, cap_max_w, cap_max_w_v, beside,
        sizes, compact, cap_l_v,
    )  # fmt: skip
    c = gf.Component()
    if side == "below":
        g = cg.edge
        draw_twin_edge(c, g)
        ref = c.add_ref(
            update_block(
                cg.edge_cols, circuit_name, hold_cap_n, reader, cg.height_weight, sizes, compact
            )
        )
        ref.dmove((cg.x_block, -cg.drop - cg.block_height))
        _edge_stubs(c, cg)
        box = (0.0, -cg.drop - cg.block_height, g.length, g.height)
    else:
        g = cg.edge_v
        draw_twin_edge(c, g)
        ref = c.add_ref(
            update_block(
                cg.edge_cols_v,
                circuit_name,
                hold_cap_n,
                reader,
                cg.height_weight,
                sizes,
                compact,
            )
        )
        # block-local (u, v) -> cell (x_far - v, h + GAP + u): after the array's -90 deg
        # turn the block lies horizontal, its landing edge (v = height) facing the edge
        ref.drotate(90)
        ref.dmove((cg.x_far, g.height + GAP))
        _edge_routes(c, cg)
        box = (0.0, 0.0, g.length, g.height + GAP + cg.block_length)
    rect(c, pdk.PR_BOUNDARY, *box)
    c.info["block_um2"] = round(cg.block_length * cg.block_height, 4)
    return c


def stripe_pad(c: gf.Component, x: float, y: float, bus: str = "met4") -> None:
    """Where a met3 row stripe crosses the bus of the same global net: via3 up to a met4
    bus, or via2 down to a met2 one (``bus``: where met4 may not run)."""
    if bus == "met4":
        square(c, pdk.VIA3, x, y, R.via3)
        h = max(STRIPE / 2, R.via3 / 2 + R.met3_via3_enc_end)
        rect(c, pdk.MET3, x - h, y - h, x + h, y + h)
        rect(c, pdk.MET4, x - h, y - h, x + h, y + h)
        return
    square(c, pdk.VIA2, x, y, R.via2)
    h = up(max(STRIPE / 2, R.via2 / 2 + R.met3_via2_enc, R.via2 / 2 + R.met2_via2_enc_end))
    rect(c, pdk.MET3, x - h, y - h, x + h, y + h)
    rect(c, pdk.MET2, x - h, y - h, x + h, y + h)
