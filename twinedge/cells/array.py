"""Array compiler: a spec's lattice as a grid of twin-edge cells and node tiles.

Site (r, c) holds the node tile of node (r, c) at the site origin, the horizontal edge to
node (r, c+1) to its right and the vertical edge to node (r+1, c) below it (rotated -90 deg,
terminal A on top), so cells connect by abutment. Both twins' nodes are a met1 bar across
and a met2 bar along the tile (the same wiring for both twins). Periodic wrap-around edges
are routed back across the array on met3 (rows) and met4 (columns) through via stacks
outside it; where the PDK's shuttle forbids met4 (``Pdk.route_top``), the column wraps run
in rings around the array on met2 and met3 instead, and the global buses on met2.
Input and constant nodes join the two twins (one driver sets both); outputs keep separate
free and clamped pins. Edges appear in the order of :func:`square_lattice_edges`, which the
reference netlist for LVS follows too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import gdsfactory as gf

from twinedge.cells import cell_factory
from twinedge.cells.twin_edge import (
    EdgeGeometry,
    edge_geometry,
    node_tile,
    rect,
    snap,
    square,
    up,
    via1_pad,
    via_stack,
)
from twinedge.cells.twin_edge_cl import (
    GLOBAL_TRACK,
    STRIPE,
    ClGeometry,
    cl_geometry,
    stripe_pad,
)
from twinedge.circuits import twin_edge as twin_edge_circuit
from twinedge.circuits.cl import PORT_NAMES, SELECT_LINES
from twinedge.circuits.nets import PinPlacement, node_net_name, pin_placements
from twinedge.circuits.twin_edge import cap_finger_l, cap_max_w
from twinedge.pdk import activate as activate_pdk
from twinedge.pdk import active as active_pdk
from twinedge.pdk import rules as R
from twinedge.pdk import tech as pdk
from twinedge.sim.network import Network
from twinedge.spec.pinplan import DIRECTIONS
from twinedge.spec.schema import Design

WRAP_OFFSET = 0.6  # distance of wrap-around via stacks from the array edge


def is_cl(design: Design) -> bool:
    return design.cell.type == "twin_edge_cl"


def cl_geometry_for(design: Design) -> ClGeometry:
    cell = design.cell
    return cl_geometry(
        cell.w_um, cell.l_um, cell.c_gate_f, cell.update.circuit, cell.update.hold_cap_n,
        design.chip is not None, cap_max_w(cell), cap_max_w(cell, vertical=True),
        cell.blocks == "beside", cell.update.sizing.items(), cell.compact,
        cap_finger_l(cell, vertical=True),
    )  # fmt: skip


def geometry_for(design: Design) -> EdgeGeometry:
    """The edge cell's geometry (for ``twin_edge_cl``: stretched to hold its update block)."""
    if is_cl(design):
        return cl_geometry_for(design).edge
    cell = design.cell
    return edge_geometry(cell.w_um, cell.l_um, cell.c_gate_f, cap_max_w(cell))


def edge_cells(design: Design) -> tuple[gf.Component, gf.Component]:
    """(horizontal, vertical) edge cells; the vertical one is placed rotated by -90 deg.

    Which cells, with which arguments, is :func:`twinedge.circuits.twin_edge.edge_cells`'s
    (the LVS reference names its subcircuits after them); a cell whose name differs from
    the one it states is an error here rather than an LVS mismatch later."""
    cells = []
    for call in twin_edge_circuit.edge_cells(design):
        component = cell_factory(call.function)(**call.kwargs)
        if component.name != call.name:
            raise RuntimeError(f"edge cell named {component.name!r}, expected {call.name!r}")
        cells.append(component)
    return cells[0], cells[1]


def site_origin(g: EdgeGeometry, r: int, c: int) -> tuple[float, float]:
    return snap(c * g.pitch), snap(-r * g.pitch_y)


def compile_array(design: Design) -> gf.Component:
    """The whole lattice, top cell named after the design.

    Starts from an empty cell library, so cell names and the GDS depend on the spec alone
    (and compiling the same design twice in one process is allowed).
    """
    activate_pdk(design.pdk)
    gf.clear_cache()
    net = Network.from_design(design)
    cell = design.cell
    g = geometry_for(design)
    edge_h, edge_v = edge_cells(design)
    wmax = {
        "cap_max_w": cap_max_w(cell),
        "cap_max_w_v": cap_max_w(cell, vertical=True),
        "cap_l_v": cap_finger_l(cell, vertical=True),
    }
    plain = node_tile(cell.w_um, cell.l_um, cell.c_gate_f, short_twins=False, **wmax)
    joined = node_tile(cell.w_um, cell.l_um, cell.c_gate_f, short_twins=True, **wmax)
    pins = pin_placements(net)
    joined_nodes = {p.node for p in pins if p.twin == "FC"}

    top = gf.Component(name=design.name)
    for r in range(net.rows):
        for c in range(net.cols):
            x0, y0 = site_origin(g, r, c)
            tile = joined if net.node_id((r, c)) in joined_nodes else plain
            top.add_ref(tile).dmove((x0, y0))
            if c < net.cols - 1 or net.periodic:
                top.add_ref(edge_h).dmove((x0 + g.tile_w, y0))
            if r < net.rows - 1 or net.periodic:
                ref = top.add_ref(edge_v)
                ref.drotate(-90)
                ref.dmove((x0, y0))
    if net.periodic:
        _wrap_rows(top, g, net)
        if routes_over():
            _wrap_cols(top, g, net)
    _place_pins(top, g, net, pins)
    if is_cl(design):
        _global_stripes(top, design, net)
    if routes_over():
        if design.chip is not None:
            _escapes(top, g, net, pins)
        return top
    if net.periodic:  # the rings go round everything but the lines out
        _wrap_cols_around(top, g, net)
    if design.chip is not None:
        _corridor_lines(top, design, g, net, pins)
    return top


def routes_over() -> bool:
    """Whether the active PDK's layouts may run lines on met4 (over the array)."""
    return active_pdk().route_top == "met4"


ESC_X0 = 2.0  # node tile: the first escape's x (the tile's bars sit at x, y > ~13 um)
ESC_PITCH = 1.2
ESC_Y = (8.0, 10.5)  # node tile: the free / clamped net's escape via stack y (at most)
ESC_CLEAR = 1.5  # the clamped net's escape stack below the free net's bar
ESC_APART = 2.5  # the free net's below the clamped net's
ESC_FLOOR = 1.0  # and above the tile's bottom (the vertical edge's A end)


def _escape_y(g: EdgeGeometry) -> tuple[float, float]:
    """The escapes' via stack y in a node tile: ESC_Y, or lower in a short tile (blocks
    beside: the rows' strip is narrow)."""
    y1 = min(ESC_Y[1], snap(g.y_free - ESC_CLEAR))
    return snap(min(ESC_Y[0], y1 - ESC_APART)), y1


ESC_BELOW = 3.0  # escapes end this far below the array's wrap stacks


def _escapes(top: gf.Component, g: EdgeGeometry, net: Network, pins: list[PinPlacement]) -> None:
    """A way out for every pin net of a chip's array (its periphery drives and reads them):
    in the pin's node tile, a jog from the twin's bar (met2 for the free net, met1 across the
    free net's met2 bar for the clamped one) to a via stack, then a met4 line straight down
    past the array's bottom. Inside the array met4 carries only the column wraps (at the
    tiles' bar x) and met3 only the row wraps and the blocks' stripes (at other y), so the
    stacks and lines in the tiles' empty lower left touch nothing else."""
    stack = via_stack("met4")
    esc_y = _escape_y(g)
    if esc_y[0] < ESC_FLOOR or ESC_X0 + len(pins) * ESC_PITCH + ESC_CLEAR > g.x_free:
        size = f"{g.tile_w} x {g.height} um"
        raise ValueError(f"the node tile ({size}) has no room for {len(pins)} escapes")
    bottom = _array_bottom(g, net)
    w2 = R.via1 / 2 + R.met2_via1_enc_end
    half1 = R.mcon / 2 + R.met1_mcon_enc
    out = {}
    for k, pin in enumerate(pins):
        r, c = net.node_rc(pin.node)
        x0, y0 = site_origin(g, r, c)
        twin = "F" if pin.twin in ("F", "FC") else "C"
        x = snap(x0 + ESC_X0 + k * ESC_PITCH)
        y = snap(y0 + (esc_y[0] if twin == "F" else esc_y[1]))
        if twin == "F":  # met2 from the free net's met2 bar
            rect(top, pdk.MET2, x, y - w2, x0 + g.x_free, y + w2)
        else:  # a via1 on the clamped net's met2 bar, met1 under the free net's bar
            via1_pad(top, snap(x0 + g.x_clamp), y)
            rect(top, pdk.MET1, x, y - half1, x0 + g.x_clamp, y + half1)
        top.add_ref(stack).dmove((x, y))
        rect(top, pdk.MET4, x - STRIPE / 2, bottom, x + STRIPE / 2, y)
        out[pin.name] = (x, bottom)
    top.info["escapes"] = {**top.info.get("escapes", {}), **out}


BUS_X = -2.0  # the global nets' met4 buses, left of the array (and of its wrap stacks)


def _global_stripes(top: gf.Component, design: Design, net: Network) -> None:
    """The update circuits' global nets (VDD, VSS, VBP, LEARN, LEARNB, VFLOOR, READ): each
    lattice row has two bands of blocks (the horizontal cells' and, under them, the vertical
    cells'), each band one met3 stripe per net over its blocks' via stacks; a met4 bus per
    net left of the array joins that net's stripes through via3. The read-out's select
    lines (a chip's cells): a row line joins only its row's two stripes (a bus per row), and
    a column line is a met4 line down each site column through its blocks' via stacks."""
    cg = cl_geometry_for(design)
    g = cg.edge
    bands = cg.band_offsets()
    rows = list(range(net.rows))
    bus_role = "met4" if routes_over() else "met2"
    bus_layer, bus_area = (pdk.MET4, R.met4_area) if routes_over() else (pdk.MET2, R.met2_area)
    buses = [(PORT_NAMES[n], n, rows) for n in cg.globals if n not in SELECT_LINES]
    if "rselb" in cg.globals:  # a bus per lattice row
        buses += [(f"{PORT_NAMES['rselb']}{r}", "rselb", [r]) for r in rows]
    bus = {name: snap(BUS_X - k * GLOBAL_TRACK) for k, (name, _, _) in enumerate(buses)}
    x_left, x_right = snap(min(bus.values()) - STRIPE), snap(net.cols * g.pitch)
    half = STRIPE / 2
    top.info["buses"], top.info["buses_top"] = {}, {}
    for name, local, bus_rows in buses:
        ys = []
        for r in bus_rows:
            _, y0 = site_origin(g, r, 0)
            for band in bands:
                y = snap(y0 + band[local])
                if y in ys:  # blocks beside: both bands' stripes on one line
                    continue
                ys.append(y)
                rect(top, pdk.MET3, x_left, y - half, x_right, y + half)
                stripe_pad(top, bus[name], y, bus_role)
        # a row's bus with one band (blocks beside) is one pad: long enough for its area
        reach = max(half, snap(bus_area / STRIPE / 2 + 0.005))
        lo, hi = (min(ys) - half, max(ys) + half)
        if len(ys) == 1:
            lo, hi = ys[0] - reach, ys[0] + reach
        rect(top, bus_layer, bus[name] - half, lo, bus[name] + half, hi)
        top.add_label(name, position=(bus[name], max(ys)), layer=pdk.label_of[bus_layer])
        top.info["buses"][name] = (bus[name], min(ys))
        top.info["buses_top"][name] = (bus[name], max(ys))
    if "cselb" in cg.globals and routes_over():
        _column_lines(top, cg, net)


def _array_bottom(g: EdgeGeometry, net: Network) -> float:
    """Where lines leaving the array downwards end: below its wrap stacks."""
    return snap(-(net.rows - 1) * g.pitch_y - g.vertical_length - WRAP_OFFSET - ESC_BELOW)


def _column_lines(top: gf.Component, cg: ClGeometry, net: Network) -> None:
    """The read-out's column select lines: per site column and direction, a met4 line at
    its blocks' via stack x, joined to every row's stack (via3) and run down past the array
    (the chip routes it on as it does the escapes)."""
    g = cg.edge
    bands = cg.band_offsets()
    bottom = _array_bottom(g, net)
    half = STRIPE / 2
    out = top.info.get("escapes", {})
    for c in range(net.cols):
        x0, _ = site_origin(g, 0, c)
        for d, dx, band in zip(DIRECTIONS, cg.stack_x(), bands, strict=True):
            x = snap(x0 + dx)
            ys = [snap(site_origin(g, r, c)[1] + band["cselb"]) for r in range(net.rows)]
            for y in ys:
                stripe_pad(top, x, y)
            rect(top, pdk.MET4, x - half, bottom, x + half, max(ys) + half)
            name = f"{PORT_NAMES['cselb']}{c}{d.upper()}"
            top.add_label(name, position=(x, max(ys)), layer=pdk.label_of[pdk.MET4])
            out[name] = (x, bottom)
    top.info["escapes"] = out


CORRIDOR_CLEAR = 1.7  # a chip's column lines without met4: the first this far left of x_free
CORRIDOR_PITCH = 0.8  # and the next one this far left of it
CORRIDOR_ABOVE = 3.0  # the lines end this far above everything else the array draws


def _corridor_lines(
    top: gf.Component, design: Design, g: EdgeGeometry, net: Network, pins: list[PinPlacement]
) -> None:
    """A chip array's pin escapes and column select lines where met4 may not run: up a
    corridor that every site column has free of met2 over the array's whole height (the node
    tile's and the vertical strip's left side, left of the twins' met2 bars), on met2, to
    above everything the array draws (the side a tile with its pins on the top edge routes
    from). An escape: in the pin's node tile a via1 and a met1 jog to the twin's met2 bar.
    A column select line: in each row, a met3 jog along its band's track from the block's
    via stack to the corridor, via2 down onto the line."""
    cg = cl_geometry_for(design)
    lines = cg.stack_x() if "cselb" in cg.globals else ()
    x_lines = [snap(g.x_free - CORRIDOR_CLEAR - j * CORRIDOR_PITCH) for j in range(len(lines))]
    esc_y = _escape_y(g)
    room = min(x_lines, default=g.x_free) - ESC_CLEAR
    if esc_y[0] < ESC_FLOOR or ESC_X0 + len(pins) * ESC_PITCH > room:
        size = f"{g.tile_w} x {g.height} um"
        raise ValueError(f"the node tile ({size}) has no room for {len(pins)} escapes")
    y_end = snap(top.dbbox().top + CORRIDOR_ABOVE)
    half, half1 = STRIPE / 2, R.mcon / 2 + R.met1_mcon_enc
    out = {}
    for k, pin in enumerate(pins):
        r, c = net.node_rc(pin.node)
        x0, y0 = site_origin(g, r, c)
        free = pin.twin in ("F", "FC")
        x = snap(x0 + ESC_X0 + k * ESC_PITCH)
        y = snap(y0 + (esc_y[0] if free else esc_y[1]))
        bar = snap(x0 + (g.x_free if free else g.x_clamp))
        via1_pad(top, x, y)
        via1_pad(top, bar, y)
        rect(top, pdk.MET1, x, y - half1, bar, y + half1)
        rect(top, pdk.MET2, x - half, y - half, x + half, y_end)
        out[pin.name] = (x, y_end)
    for c in range(net.cols):
        x0, _ = site_origin(g, 0, c)
        for d, dx, band, xl in zip(DIRECTIONS, lines, cg.band_offsets(), x_lines, strict=False):
            x, xs = snap(x0 + xl), snap(x0 + dx)
            ys = [snap(site_origin(g, r, c)[1] + band["cselb"]) for r in range(net.rows)]
            for y in ys:
                rect(top, pdk.MET3, x, y - half, xs, y + half)
                stripe_pad(top, x, y, "met2")
            rect(top, pdk.MET2, x - half, min(ys) - half, x + half, y_end)
            name = f"{PORT_NAMES['cselb']}{c}{d.upper()}"
            top.add_label(name, position=(x, max(ys)), layer=pdk.label_of[pdk.MET2])
            out[name] = (x, y_end)
    top.info["escapes"] = out


def _met1_run(top: gf.Component, x0: float, y0: float, x1: float, y1: float) -> None:
    half = R.mcon / 2 + R.met1_mcon_enc
    if y0 == y1:
        rect(top, pdk.MET1, x0, y0 - half, x1, y0 + half)
    else:
        rect(top, pdk.MET1, x0 - half, y0, x0 + half, y1)


def _wrap_rows(top: gf.Component, g: EdgeGeometry, net: Network) -> None:
    """Row wrap edges: from the last edge cell's B side back to node (r, 0) on met3."""
    stack = via_stack("met3")
    right = snap(net.cols * g.pitch)
    xl, xr = -WRAP_OFFSET, right + WRAP_OFFSET
    for r in range(net.rows):
        _, y0 = site_origin(g, r, 0)
        for y in (y0 + g.y_free, y0 + g.y_clamp):
            _met1_run(top, xl, y, 0, y)
            _met1_run(top, right, y, xr, y)
            top.add_ref(stack).dmove((xl, y))
            top.add_ref(stack).dmove((xr, y))
            rect(top, pdk.MET3, xl, y - R.met3_width / 2, xr, y + R.met3_width / 2)


def _wrap_cols(top: gf.Component, g: EdgeGeometry, net: Network) -> None:
    """Column wrap edges: from the last vertical cell's B side up to node (0, c) on met4."""
    stack = via_stack("met4")
    bottom = snap(-(net.rows - 1) * g.pitch_y - g.vertical_length)
    yb, yt = bottom - WRAP_OFFSET, g.height + WRAP_OFFSET
    for c in range(net.cols):
        x0, _ = site_origin(g, 0, c)
        for x in (x0 + g.x_free, x0 + g.x_clamp):
            _met1_run(top, x, yb, x, bottom)
            _met1_run(top, x, g.height, x, yt)
            top.add_ref(stack).dmove((x, yb))
            top.add_ref(stack).dmove((x, yt))
            rect(top, pdk.MET4, x - R.met4_width / 2, yb, x + R.met4_width / 2, yt)


def _wrap_cols_around(top: gf.Component, g: EdgeGeometry, net: Network) -> None:
    """Column wrap edges where met4 may not run: each twin's line leaves the last vertical
    cell's B side and node (0, c) on met1 as over the array, then goes round it in a ring
    of its own: met2 down (up) to its met3 track below (above) everything drawn, met3 out to
    its met2 column left of everything, which joins the two. The rings nest, the leftmost
    column's innermost, so none crosses another; each is ~2x the wire of a line over the
    array (PEX extracts its R and C)."""
    bottom = snap(-(net.rows - 1) * g.pitch_y - g.vertical_length)
    yb, yt = snap(bottom - WRAP_OFFSET), snap(g.height + WRAP_OFFSET)
    xs = []
    for c in range(net.cols):
        x0, _ = site_origin(g, 0, c)
        for x in (snap(x0 + g.x_free), snap(x0 + g.x_clamp)):
            _met1_run(top, x, yb, x, bottom)
            _met1_run(top, x, g.height, x, yt)
            via1_pad(top, x, yb)
            via1_pad(top, x, yt)
            xs.append(x)
    box = top.dbbox()
    e = max(
        R.via2 / 2 + R.met2_via2_enc_end,
        R.via2 / 2 + R.met3_via2_enc,
        R.via1 / 2 + R.met2_via1_enc_end,
    )
    e = up(max(e, math.sqrt(max(R.met2_area, R.met3_area)) / 2))
    pitch = up(2 * e + max(R.met2_space, R.met3_space))
    w2, w3 = R.met2_width / 2, R.met3_width / 2
    for k, x in enumerate(sorted(xs)):
        y_lo, y_hi = snap(box.bottom - (k + 1) * pitch), snap(box.top + (k + 1) * pitch)
        x_l = snap(box.left - (k + 1) * pitch)
        rect(top, pdk.MET2, x - w2, y_lo, x + w2, yb)
        rect(top, pdk.MET2, x - w2, yt, x + w2, y_hi)
        rect(top, pdk.MET2, x_l - w2, y_lo, x_l + w2, y_hi)
        for y in (y_lo, y_hi):
            rect(top, pdk.MET3, x_l, y - w3, x, y + w3)
            for xv in (x_l, x):
                square(top, pdk.VIA2, xv, y, R.via2)
                for layer in (pdk.MET2, pdk.MET3):
                    rect(top, layer, xv - e, y - e, xv + e, y + e)


def _place_pins(top: gf.Component, g: EdgeGeometry, net: Network, pins: list[PinPlacement]) -> None:
    """Pin shapes and labels at the node tiles: met1 on free nets, met2 on clamped nets.

    Every other node net gets its name as a label too: a periodic lattice is symmetric, and
    named nets let LVS pair nodes directly instead of searching among equivalent ones.
    """
    s = 0.1
    named = {(p.node, t) for p in pins for t in (("F", "C") if p.twin == "FC" else (p.twin,))}
    for node in range(net.n_nodes):
        r, c = net.node_rc(node)
        x0, y0 = site_origin(g, r, c)
        for twin, (x, y), layer in (
            ("F", (g.x_free, g.y_free), pdk.MET1),
            ("C", (g.x_clamp, g.y_clamp), pdk.MET2),
        ):
            if (node, twin) not in named:
                top.add_label(
                    node_net_name(net, node, twin),
                    position=(snap(x0 + x), snap(y0 + y)),
                    layer=pdk.label_of[layer],
                )
    for pin in pins:
        r, c = net.node_rc(pin.node)
        x0, y0 = site_origin(g, r, c)
        if pin.twin == "FC":
            # on the via joining the twins: the free bar runs from here to the free node's
            # joint, the clamped bar the same length to the clamped node's joint
            x, y, layer, pin_layer = x0 + g.x_clamp, y0 + g.y_free, pdk.MET1, pdk.MET1_PIN
        elif pin.twin == "F":
            x, y, layer, pin_layer = x0 + g.x_free, y0 + g.y_free, pdk.MET1, pdk.MET1_PIN
        else:
            x, y, layer, pin_layer = x0 + g.x_clamp, y0 + g.y_clamp, pdk.MET2, pdk.MET2_PIN
        rect(top, pin_layer, x - s, y - s, x + s, y + s)
        top.add_label(pin.name, position=(snap(x), snap(y)), layer=pdk.label_of[layer])


@dataclass(frozen=True)
class AreaReport:
    cell_um2: float
    site_um2: float
    array_um2: float
    bbox_um: tuple[float, float]
    edges: int
    edges_per_mm2: float
    active_fraction: float  # twin-edge cell area / array bounding box

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def area_report(design: Design, component: gf.Component) -> AreaReport:
    net = Network.from_design(design)
    g = geometry_for(design)
    bbox = component.dbbox()
    w, h = bbox.width(), bbox.height()
    array = w * h
    cell = g.length * g.height
    if is_cl(design):  # mean of the two edge strips (rows and columns differ) plus a block
        cg = cl_geometry_for(design)
        strips = (g.length * g.height + g.vertical_length * g.tile_w) / 2
        cell = strips + cg.block_length * cg.block_height
    return AreaReport(
        cell_um2=round(cell, 4),
        site_um2=round(g.pitch * g.pitch_y, 4),
        array_um2=round(array, 2),
        bbox_um=(round(w, 3), round(h, 3)),
        edges=net.n_edges,
        edges_per_mm2=round(net.n_edges / (array * 1e-6), 1),
        active_fraction=round(net.n_edges * cell / array, 4),
    )
