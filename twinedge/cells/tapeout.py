"""The learning chip in a TinyTapeout analog tile: the chip's top cell placed in the smallest
tile that holds it, every used template pin wired to its chip net, the power stripes on the
supply tracks, the unused outputs tied to ground.

Where things go (the template puts every pin in the tile's left ~150 um: the digital ones on
its top edge, the analog ones on its bottom edge, all on met4):

* the chip sits at the tile's bottom left, its routing channel (:mod:`twinedge.cells.chip`:
  one met3 track per chip net) a little above the bottom edge;
* an analog pin: met4 straight up from the pin to its net's track, via3; a digital input:
  met4 straight down from the pin, over the array (whose met4 runs at other x only), to its
  track; the track is lengthened to the pin's x where it ends short of it;
* the chip is shifted along x until every such line misses the chip's own met4 (its buses,
  escapes, column wraps, column select lines and block verticals) by a met4 spacing;
* VDPWR and VGND: met4 stripes the tile's height at x free of the chip's met4, joined to the
  VDD and VSS tracks by via3 where they cross them;
* the unused outputs (uo_out, uio_out, uio_oe): met4 stubs down to a met3 bar in the top
  margin, which crosses the VGND stripe (via3 there).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import gdsfactory as gf
import klayout.db as kdb

from twinedge.cells.tile import STRIPE_W, Stripe, power_stripes, tile_frame
from twinedge.cells.twin_edge import rect, snap
from twinedge.cells.twin_edge_cl import STRIPE, stripe_pad
from twinedge.circuits.chip import address_pin, bit_pin
from twinedge.pdk import rules as R
from twinedge.pdk import tech as pdk
from twinedge.pdk.tinytapeout import SHUTTLE, Tile, tiles
from twinedge.spec.pinplan import GROUND, PinPlan

MARGIN_BOTTOM = 3.0  # the chip's bottom (its channel) above the tile's bottom edge
STRIPE_END_FREE = 1.0  # the power stripes' ends from the edges (they stand clear of the pins)
PIN_CLEAR = 5.0  # a power stripe from the template's pins (all in the tile's left part)
MARGIN_TOP = 2.0  # and the tie bar's room under the top edge's pins
TIE_Y = 1.5  # the tie bar's centre below the top pins' bottom
SHIFT_STEP = 0.1  # um, the search for an x offset whose pin lines all miss the chip's met4
SHIFT_MAX = 60.0
UNUSED_OUTPUTS = re.compile(r"^(uo_out|uio_out|uio_oe)\[\d+\]$")


class TapeoutError(ValueError):
    """The chip does not fit a tile, or its pins cannot be wired (the reason in one line)."""


@dataclass(frozen=True)
class TileLayout:
    component: gf.Component
    tile: Tile
    stripes: tuple[Stripe, ...]
    offset: tuple[float, float]  # where the chip's origin sits in the tile
    wires: dict[str, str]  # template pin -> chip net it is wired to
    tied: tuple[str, ...]  # unused outputs tied to VGND


def pin_nets(plan: PinPlan) -> dict[str, str]:
    """Template pin -> the chip net (its channel track's label) for every used pin."""
    out = {}
    for p in plan.pins:
        if p.kind == "supply":
            continue
        m = re.fullmatch(r"(\w+)\[(\d+)\.\.(\d+)\]", p.pin)
        if m:  # a bus of address bits
            for k, i in enumerate(range(int(m.group(2)), int(m.group(3)) + 1)):
                out[f"{m.group(1)}[{i}]"] = address_pin(k)
        elif p.kind == "digital in" and p.pin.startswith("ui_in") and p.signal.startswith("V"):
            out[p.pin] = bit_pin(p.signal)
        else:
            out[p.pin] = p.signal
    return out


def supply_net(plan: PinPlan) -> str:
    """The chip net VDPWR feeds (VDD; VDD33 on a tile whose 3.3 V the chip regulates)."""
    return next((p.signal for p in plan.pins if p.pin == "VDPWR"), "VDD")


def tile_nets(
    wires: dict[str, str], tied: tuple[str, ...] | list[str], vdpwr: str = "VDD"
) -> dict[str, str]:
    """Every used pin of the tile -> its chip net: the wired pins, the power stripes on the
    chip's supplies (``vdpwr``: VDPWR's, :func:`supply_net`), the unused outputs tied to
    ground."""
    return {**wires, "VDPWR": vdpwr, "VGND": "VSS", **dict.fromkeys(tied, "VSS")}


def smallest_tile(pdk_name: str, width: float, height: float, supply: str | None = None) -> Tile:
    """The smallest tile of ``supply`` (None: the shuttle's core supply) holding the box."""
    supply = supply or SHUTTLE[pdk_name].core_supply
    fits = [t for t in tiles(pdk_name) if t.supply == supply and t.width >= width
            and t.height >= height]  # fmt: skip
    if not fits:
        biggest = max((t for t in tiles(pdk_name) if t.supply == supply), key=lambda t: t.area_um2)
        raise TapeoutError(
            f"the chip ({width:.1f} x {height:.1f} um with margins) fits no {supply} "
            f"TinyTapeout tile (largest {biggest.name}: {biggest.width} x {biggest.height} um)"
        )
    return fits[0]


def _pin_x(p) -> float:
    """A template pin's centre line (its met4 line runs there)."""
    return snap((p.rect[0] + p.rect[2]) / 2)


def _pin_end(p) -> float:
    """Where a pin's line meets it: a top-edge pin's bottom, a bottom-edge pin's top."""
    return p.rect[1] if p.rect[1] > 1.0 else p.rect[3]


def _clear() -> float:
    """A pin line's centre from any other met4 shape."""
    return R.met4_space + STRIPE / 2


def _free(x: float, y0: float, y1: float, shapes, pad: float | None = None) -> bool:
    pad = _clear() if pad is None else pad
    return not any(s[0] - pad < x < s[2] + pad and s[1] < y1 and y0 < s[3] for s in shapes)


def tapeout_tile(chip: gf.Component, plan: PinPlan, pdk_name: str, top: str) -> TileLayout:
    """The tile's top cell (named ``top``) with ``chip`` (a :func:`twinedge.cells.chip.
    chip_top`, whose channel tracks it reads from its info) placed and wired; a chip routed
    without met4 (its channel above it) by :func:`tapeout_tile_pins_above`."""
    if chip.info.get("channel") == "above":
        return tapeout_tile_pins_above(chip, plan, pdk_name, top)
    tracks = chip.info["track_y"]
    box = chip.dbbox()
    tile = smallest_tile(pdk_name, box.width() + 2.0, box.height() + MARGIN_BOTTOM + MARGIN_TOP)
    wires = pin_nets(plan)
    missing = sorted(n for n in wires.values() if n not in tracks)
    if missing:
        raise TapeoutError(f"pin plan nets without a channel track in the chip: {missing}")
    pins = {p.name: p for p in tile.pins}
    shapes = _shapes(chip, pdk.MET4)
    top_y = tile.height
    dy = snap(MARGIN_BOTTOM - box.bottom)

    dx = _shift(box, wires, pins, tracks, dy, shapes, _clear())
    if dx is None:
        raise TapeoutError("no x offset of the chip lets every pin's line miss its met4")
    if box.right + dx > tile.width - 1.0:
        raise TapeoutError(f"the chip shifted by {dx:.1f} um overruns the {tile.name} tile")
    moved = [(s[0] + dx, s[1] + dy, s[2] + dx, s[3] + dy) for s in shapes]
    lines = {name: (_pin_x(pins[name]), snap(tracks[net] + dy)) for name, net in wires.items()}
    # power stripes: the free x nearest the chip's right end (clear of the pin lines too)
    taken = [(x - STRIPE / 2, 0.0, x + STRIPE / 2, top_y) for x, _ in lines.values()]
    xs = {}
    x = snap(box.right + dx - STRIPE_W - 2.0)
    for net in ("VGND", "VDPWR"):
        while not _free(x + STRIPE_W / 2, 0.0, top_y, moved + taken, STRIPE_W / 2 + R.met4_space):
            x = snap(x - SHIFT_STEP)
            if x < 1.0:
                raise TapeoutError(f"no free x for the {net} stripe")
        xs[net] = x
        taken.append((x, 0.0, x + STRIPE_W, top_y))
        x = snap(x - STRIPE_W - 2.0)
    pins_right = max(p.rect[2] for p in tile.pins)
    if min(xs.values()) < pins_right + PIN_CLEAR:
        raise TapeoutError("the power stripes would run among the template's pins")
    stripes = power_stripes(tile, xs, STRIPE_END_FREE)
    c = tile_frame(tile, top, stripes)
    ref = c.add_ref(chip)
    ref.dmove((dx, dy))
    half = STRIPE / 2
    for name, (x, y) in lines.items():
        y_pin = _pin_end(pins[name])
        rect(c, pdk.MET4, x - half, min(y, y_pin), x + half, max(y, y_pin))
        stripe_pad(c, x, y)
        _reach(c, chip, wires[name], x - dx, dx, dy)
    for s in stripes:  # onto the supply tracks
        net = "VDD" if s.net == "VDPWR" else "VSS"
        xc = snap(s.x + STRIPE_W / 2)
        _reach(c, chip, net, xc - dx, dx, dy)
        y = snap(tracks[net] + dy)
        for k in (-1, 0, 1):
            stripe_pad(c, snap(xc + k * 0.6), y)
    tied = _tie_outputs(c, pins, wires, stripes, pdk.MET3, pdk.MET4, R.met4_width / 2, "met4")
    return TileLayout(c, tile, tuple(stripes), (dx, dy), wires, tied)


def _shift(
    box, wires: dict, pins: dict, tracks: dict, dy: float, shapes, pad: float
) -> float | None:
    """The least x offset of the chip (from its left edge 1 um in, by :data:`SHIFT_STEP`) at
    which every used pin's line, straight from the pin to its net's track, stays ``pad``
    from every one of the chip's ``shapes`` on the line's layer; None if none to
    :data:`SHIFT_MAX`."""

    def ok(dx: float) -> bool:
        for name, net in wires.items():
            x, y, y_pin = _pin_x(pins[name]) - dx, tracks[net], _pin_end(pins[name]) - dy
            if not _free(x, min(y, y_pin), max(y, y_pin), shapes, pad):
                return False
        return True

    dx0 = snap(1.0 - box.left)
    return next((snap(dx0 + k * SHIFT_STEP) for k in range(int(SHIFT_MAX / SHIFT_STEP))
                 if ok(snap(dx0 + k * SHIFT_STEP))), None)  # fmt: skip


def _tie_outputs(
    c: gf.Component, pins: dict, wires: dict, stripes, bar_layer, stub_layer,
    stub_half: float, pad_role: str,
) -> tuple[str, ...]:  # fmt: skip
    """The unused outputs tied low: a stub (``stub_half`` wide each side, on the pin
    layer ``stub_layer``) from each down to a bar on ``bar_layer`` under the pins that runs
    to and across the VGND stripe, a ``pad_role`` via at each stub and on the stripe."""
    tied = tuple(sorted(n for n in pins if UNUSED_OUTPUTS.match(n) and n not in wires))
    if not tied:
        return tied
    half = STRIPE / 2
    gnd = next(s for s in stripes if s.net == GROUND)
    y_bar = snap(min(pins[n].rect[1] for n in tied) - TIE_Y)
    xs_tied = [_pin_x(pins[n]) for n in tied]
    x_lo, x_hi = min(*xs_tied, gnd.x), max(*xs_tied, gnd.x + STRIPE_W)
    rect(c, bar_layer, x_lo - half, y_bar - half, x_hi + half, y_bar + half)
    for n, x in zip(tied, xs_tied, strict=True):
        rect(c, stub_layer, x - stub_half, y_bar - half, x + stub_half, pins[n].rect[1])
        stripe_pad(c, x, y_bar, pad_role)
    stripe_pad(c, snap(gnd.x + STRIPE_W / 2), y_bar, pad_role)
    return tied


def _reach(c, chip, net: str, x: float, dx: float, dy: float, layer=None) -> None:
    """Lengthen ``net``'s track (on ``layer``: met3 by default) to chip x ``x`` where it
    ends short of it."""
    xs = chip.info["track_x"][net]
    half = STRIPE / 2
    y = chip.info["track_y"][net] + dy
    if x < xs[0] or x > xs[1]:
        lo, hi = min(x, xs[0]), max(x, xs[1])
        rect(c, layer or pdk.MET3, lo + dx - half, y - half, hi + dx + half, y + half)


TOP_ROOM = 4.5  # a chip with its channel on top: from the channel to the tile's top edge
# (the pins' 1 um, the tie bar under them, a spacing)
STRIPE_GAP = 3.0  # the power stripes right of the chip, this far apart and from it


def _shapes(chip: gf.Component, layer) -> list[tuple[float, float, float, float]]:
    """Every shape of the chip on ``layer`` (flattened), as (x0, y0, x1, y1), chip coordinates."""
    layout = chip.kcl.layout
    li = layout.find_layer(*layer)
    if li is None:
        return []
    region = kdb.Region(chip.begin_shapes_rec(li)).merged()
    dbu = layout.dbu
    return [(b.left * dbu, b.bottom * dbu, b.right * dbu, b.top * dbu)
            for b in (p.bbox() for p in region.each())]  # fmt: skip


def tapeout_tile_pins_above(
    chip: gf.Component, plan: PinPlan, pdk_name: str, top: str
) -> TileLayout:
    """The tile around a chip whose channel runs along its top (routed without met4:
    :func:`twinedge.cells.chip.chip_top_channel_above`), for a tile whose pins are all on its
    top edge (TinyTapeout's GF180MCU): the chip at the tile's top left with its channel
    just under the pins; each used pin a line on the pin layer (the chip's ``met3`` role)
    straight down to its net's ``met2`` track, via2 there, the chip shifted along x until
    every line misses the chip's own ``met3`` (the verticals rising into the channel); the
    power stripes right of the chip, joined to the supply tracks (lengthened to them) by
    via2; the unused outputs' stubs down to a ``met2`` bar under the pins that crosses the
    VGND stripe (via2)."""
    rules = SHUTTLE[pdk_name]
    pin_layer = getattr(pdk, rules.pin_layer)
    tracks = chip.info["track_y"]
    box = chip.dbbox()
    width = box.width() + 2.0 + 2 * (STRIPE_W + STRIPE_GAP)
    tile = smallest_tile(pdk_name, width, box.height() + MARGIN_BOTTOM + TOP_ROOM)
    wires = pin_nets(plan)
    vdpwr = supply_net(plan)
    missing = sorted(n for n in [*wires.values(), vdpwr, "VSS"] if n not in tracks)
    if missing:
        raise TapeoutError(f"pin plan nets without a channel track in the chip: {missing}")
    pins = {p.name: p for p in tile.pins}
    if any(p.rect[1] < tile.height / 2 for p in tile.pins):
        raise TapeoutError(f"the {tile.name} tile has pins off its top edge: not this wrapper's")
    shapes = _shapes(chip, pin_layer)
    dy = snap(tile.height - TOP_ROOM - box.top)
    pad = getattr(R, f"{rules.pin_layer.lower()}_space") + STRIPE / 2

    dx = _shift(box, wires, pins, tracks, dy, shapes, pad)
    if dx is None:
        raise TapeoutError("no x offset of the chip lets every pin's line miss its met3")
    # right of the chip, and clear of the template's pins (their lines come down there)
    x_stripe = snap(max(box.right + dx, max(p.rect[2] for p in tile.pins) + PIN_CLEAR) + STRIPE_GAP)
    xs = {"VGND": x_stripe, "VDPWR": snap(x_stripe + STRIPE_W + STRIPE_GAP)}
    if xs["VDPWR"] + STRIPE_W > tile.width - 1.0:
        raise TapeoutError(f"the chip shifted by {dx:.1f} um leaves no room for the stripes")
    stripes = power_stripes(tile, xs, STRIPE_END_FREE)
    c = tile_frame(tile, top, stripes)
    c.add_ref(chip).dmove((dx, dy))
    half = STRIPE / 2
    for name, net in wires.items():
        x, y, y_pin = _pin_x(pins[name]), snap(tracks[net] + dy), _pin_end(pins[name])
        rect(c, pin_layer, x - half, y, x + half, y_pin)
        stripe_pad(c, x, y, "met2")
        _reach(c, chip, net, x - dx, dx, dy, pdk.MET2)
    for st in stripes:  # onto the supply tracks
        net = vdpwr if st.net == "VDPWR" else "VSS"
        xc = snap(st.x + STRIPE_W / 2)
        _reach(c, chip, net, xc + 0.6 - dx, dx, dy, pdk.MET2)  # past the last via
        y = snap(tracks[net] + dy)
        for k in (-1, 0, 1):
            stripe_pad(c, snap(xc + k * 0.6), y, "met2")
    tied = _tie_outputs(c, pins, wires, stripes, pdk.MET2, pin_layer, half, "met2")
    return TileLayout(c, tile, tuple(stripes), (dx, dy), wires, tied)
