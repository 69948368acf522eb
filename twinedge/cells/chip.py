"""The learning chip's top cell: the array and every periphery block, routed at the nets of
the chip netlist (:mod:`twinedge.circuits.chip`).

Floor plan: the array at the top left; the periphery blocks right of it, in rows no taller
all together than the array (so the chip is as high as a TinyTapeout tile allows: the
array's height and the channel's); under both, a routing channel with one met3 track per
chip net. Every terminal reaches its net's track on met4 and drops onto it through via3:

* the array's global nets: its met4 buses (left of the array) run on down;
* the array's pin nets (inputs, constants, outputs): its escapes (met4 lines out of the pin
  tiles, :func:`twinedge.cells.array._escapes`) run on down;
* a block's port: a met3 jog from its via stack to a column of its own right of the block,
  then met4 down (over the blocks of the rows below: they use no met4).

Every vertical has an x of its own (no two closer than :data:`V_PITCH`), so verticals never
meet; tracks are met3, verticals met4, and a via3 joins a vertical to its own track only.
Each chip pin's track carries its name as a label, as every other net's does.
"""

from __future__ import annotations

from dataclasses import dataclass

import gdsfactory as gf

from twinedge.cells import periphery
from twinedge.cells.array import compile_array, routes_over
from twinedge.cells.error_element import error_element_block
from twinedge.cells.twin_edge import rect, snap
from twinedge.cells.twin_edge_cl import STRIPE, stripe_pad
from twinedge.circuits.chip import LABEL_DRIVER, BlockInstance, ChipWiring, OnChipBlocks, chip_net
from twinedge.circuits.chip import periphery as block_instances
from twinedge.circuits.rail_buffer import RailBufferSizing
from twinedge.pdk import activate as activate_pdk
from twinedge.pdk import tech as pdk
from twinedge.spec.schema import Design

TRACK_PITCH = 0.7  # channel tracks (met3 0.4 um, via3 pads as wide, 0.3 apart)
V_PITCH = 0.7  # verticals (met4, the same)
CHANNEL_GAP = 1.5  # the array's and the blocks' bottom -> first track
BLOCK_GAP = 3.0  # between blocks in a row, and from the array to the first
ROW_GAP = 3.0  # between rows of blocks
ROW_STEP = 5.0  # the rows' width limit grows by this until they are no taller than the array
JOG0 = 1.5  # a block's first jog column right of its via stacks


@dataclass
class _Vertical:
    net: str
    x: float
    y_end: float  # where it starts (it runs to its track)


def _block_component(b: BlockInstance, strings: tuple[tuple, ...], w: ChipWiring):
    if b.block == "error_element":
        return error_element_block(w.k, True)
    if b.block == "readout":
        return periphery.readout_block(w.read_map.rows, w.read_map.cols)
    if b.block == "drivers":
        return periphery.driver_block(b.subckt == LABEL_DRIVER)
    if b.block == "sequencer":
        return periphery.sequencer_block()
    if b.block == "bias":
        return periphery.bias_block(strings)
    return _on_chip_component(b, w.on_chip)


def _on_chip_component(b: BlockInstance, oc: OnChipBlocks | None):
    """A block of a chip that makes its own rails, supply and read-out."""
    if oc is None:
        raise ValueError(f"block {b.name}: the chip has no on-chip rails")
    if b.block == "ladder":
        return periphery.rail_reference_block(oc.ladder, oc.ladder_w, oc.ladder_cap)
    if b.block == "reference":
        return periphery.constant_gm_block(oc.reference)
    if b.block == "rails":
        s = RailBufferSizing(*oc.buffers[int(b.name[2:])][1])
        if s != RailBufferSizing(drive=s.drive, drive_w=s.drive_w, bias_w=s.bias_w):
            raise ValueError(f"block {b.name}: the rail buffer's layout takes {s} only in part")
        return periphery.rail_buffer_block(s.drive, s.drive_w, s.bias_w)
    if b.block == "regulator":
        return periphery.regulator_block(oc.regulator)
    if b.block == "slope_readout":
        return periphery.slope_readout_block(oc.slope)
    raise ValueError(f"block {b.name}: no layout for block {b.block!r}")


def _free_x(taken: list[float], x: float) -> float:
    while any(abs(x - t) < V_PITCH for t in taken):
        x = snap(x + 0.1)
    return x


def _footprint(b, comp: gf.Component) -> float:
    """A block's width in its row: itself, its jog columns and the gap to the next."""
    return comp.info["length"] + JOG0 + (len(b.ports) + 1) * V_PITCH + BLOCK_GAP


def _rows(blocks: list, height: float) -> list[list]:
    """The blocks in rows (in their order, each row filled up to a width), the narrowest
    width whose rows stand no taller than ``height``, the array's (else one block a row)."""
    width = max(_footprint(b, c) for b, c in blocks)
    total = sum(_footprint(b, c) for b, c in blocks)
    while width <= total:
        rows: list[list] = [[]]
        used = 0.0
        for b, c in blocks:
            if rows[-1] and used + _footprint(b, c) > width:
                rows.append([])
                used = 0.0
            rows[-1].append((b, c))
            used += _footprint(b, c)
        tall = sum(max(c.info["height"] for _, c in r) for r in rows) + ROW_GAP * (len(rows) - 1)
        if tall <= height:
            return rows
        width += ROW_STEP
    return [[bc] for bc in blocks]


def chip_top(design: Design, w: ChipWiring, strings: tuple[tuple, ...]) -> gf.Component:
    """The chip's top cell (named ``<design>_chip``); ``strings``: the sized bias
    generator's strings (:class:`twinedge.circuits.bias.BiasString` fields). Where the
    PDK's shuttle forbids met4, :func:`chip_top_channel_above`."""
    activate_pdk(design.pdk)
    if not routes_over():
        return chip_top_channel_above(design, w, strings)
    array = compile_array(design)  # clears the cell cache: first
    top = gf.Component(name=f"{design.name}_chip")
    top.add_ref(array)
    box = array.dbbox()
    verticals: list[_Vertical] = []
    for net, (x, y) in array.info["buses"].items():
        verticals.append(_Vertical(net, x, y))
    for net, (x, y) in array.info["escapes"].items():
        verticals.append(_Vertical(net, x, y))
    blocks = [(b, _block_component(b, strings, w)) for b in block_instances(w)]
    nets = sorted({v.net for v in verticals} | {chip_net(b.net(p)) for b, _ in blocks
                                                 for p in b.ports})  # fmt: skip
    taken = [v.x for v in verticals]
    placed, bottom = _place_block_rows(top, blocks, box, taken, verticals, pdk.MET3, "met4")
    y_top = snap(min(bottom, box.bottom) - CHANNEL_GAP)
    track = {n: snap(y_top - k * TRACK_PITCH) for k, n in enumerate(nets)}
    _draw_channel(top, verticals, track, pdk.MET4, pdk.MET3, "met4")
    top.info["blocks"] = placed
    return top


def _place_block_rows(
    top: gf.Component, blocks: list, box, taken: list[float], verticals: list[_Vertical],
    jog_layer, pad_role: str, clear_stacks: bool = False,
) -> tuple[dict, float]:  # fmt: skip
    """The blocks right of the array (``box``) in rows from its top down, each port jogged
    on ``jog_layer`` from its via stack to a column of its own right of its block (a
    ``pad_role`` pad there: :func:`stripe_pad`), each column added to ``verticals`` from its
    port's y; ``clear_stacks``: every column also :data:`STACK_CLEAR` from the via stacks of
    the rows already placed (which the verticals pass over on those stacks' top layer).
    Returns (block name -> (x, length), the lowest row's bottom)."""
    half = STRIPE / 2
    stacks: list[float] = []
    placed = {}
    y_row = snap(box.top)
    bottom = box.top
    for row in _rows(blocks, box.height()):
        x = snap(box.right + BLOCK_GAP)
        height = max(comp.info["height"] for _, comp in row)
        row_stacks = []
        for b, comp in row:
            y0 = snap(y_row - comp.info["height"])
            top.add_ref(comp).dmove((x, y0))
            jog = snap(x + comp.info["length"] + JOG0)
            for port in (*b.ports, "0"):
                sx, sy = comp.info["stacks"][port]
                px, py = snap(x + sx), snap(y0 + sy)
                row_stacks.append(px)
                jog = _free_x(taken, jog)
                while clear_stacks and any(abs(jog - s) < STACK_CLEAR for s in stacks):
                    jog = _free_x(taken, snap(jog + 0.1))
                taken.append(jog)
                rect(top, jog_layer, px - half, py - half, jog + half, py + half)
                stripe_pad(top, jog, py, pad_role)
                verticals.append(_Vertical(chip_net(b.net(port)), jog, py))
                jog = snap(jog + V_PITCH)
            placed[b.name] = (x, comp.info["length"])
            x = snap(jog + BLOCK_GAP)
        stacks += row_stacks
        bottom = min(bottom, y_row - height)
        y_row = snap(y_row - height - ROW_GAP)
    return placed, bottom


def _draw_channel(
    top: gf.Component, verticals: list[_Vertical], track: dict[str, float],
    vertical_layer, track_layer, pad_role: str,
) -> None:  # fmt: skip
    """Each vertical on ``vertical_layer`` from where it starts to its net's track, a
    ``pad_role`` pad there; each net's track on ``track_layer`` from the channel's left end
    (the chip's pins line up there, and a one-terminal pin's track is no stub under the
    layer's minimum area) to its last vertical, labelled with the net; the channel in the
    cell's info (``track_x``, ``track_y``, ``tracks``) for the tile wrapper."""
    half = STRIPE / 2
    for v in verticals:
        y = track[v.net]
        rect(top, vertical_layer, v.x - half, min(v.y_end, y) - half, v.x + half,
             max(v.y_end, y) + half)  # fmt: skip
        stripe_pad(top, v.x, y, pad_role)
    label = pdk.label_of[track_layer]
    x0 = snap(min(v.x for v in verticals) - 1.0)
    top.info["track_x"] = {}
    for net, y in track.items():
        x1 = snap(max(v.x for v in verticals if v.net == net) + half)
        rect(top, track_layer, x0, y - half, x1, y + half)
        top.add_label(net, position=(x0 + half, y), layer=label)
        top.info["track_x"][net] = (x0, x1)
    top.info["track_y"] = track
    top.info["tracks"] = len(track)


STACK_CLEAR = 1.0  # a met3 vertical's centre from any block's via stack centre (its pad)


def chip_top_channel_above(
    design: Design, w: ChipWiring, strings: tuple[tuple, ...]
) -> gf.Component:
    """The chip's top cell where met4 may not run (``Pdk.route_top``; GF180MCU's tiles, whose
    pins are all on the top edge): the channel runs above the array and the blocks, one met2
    track per chip net, and every terminal rises to its track on met3, dropping onto it
    through via2:

    * the array's pin escapes and column select lines leave it at its top on met2
      (:func:`twinedge.cells.array._corridor_lines`), its global buses on met2 left of it
      run up to the same height; there each steps up to met3;
    * a block's port: a met2 jog from its via stack to a column of its own right of the
      block, via2, then met3 up past the rows above (clear of their via stacks, their only
      met3).

    Verticals keep :data:`V_PITCH` apart, so only a net's own via2 joins it to a track."""
    array = compile_array(design)  # clears the cell cache: first
    top = gf.Component(name=f"{design.name}_chip")
    top.add_ref(array)
    box = array.dbbox()
    half = STRIPE / 2
    ends = array.info["escapes"]
    y_join = max(y for _, y in ends.values())
    rises: list[_Vertical] = [_Vertical(net, x, y_join) for net, (x, _) in ends.items()]
    for net, (x, y) in array.info["buses_top"].items():
        rect(top, pdk.MET2, x - half, y - half, x + half, y_join + half)
        rises.append(_Vertical(net, x, y_join))
    for v in rises:
        stripe_pad(top, v.x, v.y_end, "met2")
    blocks = [(b, _block_component(b, strings, w)) for b in block_instances(w)]
    nets = sorted({v.net for v in rises} | {chip_net(b.net(p)) for b, _ in blocks
                                             for p in b.ports})  # fmt: skip
    taken = [v.x for v in rises]
    placed, _ = _place_block_rows(top, blocks, box, taken, rises, pdk.MET2, "met2", True)
    y_base = snap(y_join + CHANNEL_GAP)
    track = {n: snap(y_base + k * TRACK_PITCH) for k, n in enumerate(nets)}
    _draw_channel(top, rises, track, pdk.MET3, pdk.MET2, "met2")
    top.info["blocks"] = placed
    top.info["channel"] = "above"  # the tile wrapper's cue (tapeout.tapeout_tile)
    top.info["under_channel"] = y_join  # the array's lines and every block end below it
    return top
