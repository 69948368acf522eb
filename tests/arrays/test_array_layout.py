"""Arrays on SKY130: real DRC (KLayout program) and LVS (KLayout netlist compare) of laid-out
lattices, seeded faults, reproducible GDS."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import klayout.db as kdb
import pytest
import yaml
from conftest import DESIGNS, ROOT, needs_klayout

from twinedge.cells.array import compile_array
from twinedge.pdk import sky130
from twinedge.pdk.tinytapeout import tiles
from twinedge.spec import load_spec
from twinedge.stages.layout import run_layout
from twinedge.verify.drc import run_drc
from twinedge.verify.lvs import run_lvs

pytestmark = pytest.mark.usefixtures("sky130_active")


def _design(name: str, **network: object):
    raw = yaml.safe_load((DESIGNS / name).read_text())
    raw["network"].update(network)
    if network:
        raw["name"] = f"{raw['name']}_{raw['network']['rows']}x{raw['network']['cols']}"
    return load_spec_from(raw)


def load_spec_from(raw: dict):
    from twinedge.spec import load_spec_text

    return load_spec_text(yaml.safe_dump(raw), "test.yaml", DESIGNS).design


def _mutate(gds: Path, out: Path, edit) -> Path:
    layout = kdb.Layout()
    layout.read(str(gds))
    edit(layout)
    opts = kdb.SaveLayoutOptions()
    opts.write_context_info = False
    layout.write(str(out), opts)
    return out


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


def _clean_and_matching(d, tmp_path: Path):
    """Lay ``d`` out, assert DRC clean and LVS match; the LVS result."""
    lay = run_layout(d, tmp_path / "layout")
    drc = run_drc(lay.gds, tmp_path / "drc")
    assert drc.clean, drc.by_rule
    lvs = run_lvs(d, lay.gds, tmp_path / "lvs")
    assert lvs.match, lvs.mismatches
    return lvs


@needs_klayout
def test_cl_open_lattice_drc_clean_and_lvs_match(tmp_path: Path) -> None:
    """A non-periodic 4x4 twin_edge_cl lattice: global stripes and their via3 mesh without
    the wrap-around routes; LVS checks every pfet/nfet of every update circuit."""
    d = _design("xor_4x4_cl.yaml", rows=4, cols=4, periodic=False)
    lvs = _clean_and_matching(d, tmp_path)
    # 24 edges x (2 twins + cap + 17 update devices: the 3 parallel hold capacitors, one W)
    assert lvs.layout_devices == 24 * 20


@needs_klayout
def test_cl_blocks_beside_drc_clean_and_lvs_match(tmp_path: Path) -> None:
    """A periodic 4x4 lattice whose sites hold their two update blocks side by side
    (``cell.blocks: beside``): the vertical edges' L-routes drop into the band beside the
    horizontal edges' block, the vertical capacitor folds into fewer, wider fingers, the
    node tile is no longer square; DRC on both decks and LVS against the same circuits."""
    raw = yaml.safe_load((DESIGNS / "xor_4x4_cl.yaml").read_text())
    raw["name"] = "xor_4x4_cl_beside_test"
    raw["cell"].update(blocks="beside", cap_finger_w_um=6.0, cap_finger_w_v_um=20.0)
    lvs = _clean_and_matching(load_spec_from(raw), tmp_path)
    assert lvs.layout_devices == 32 * 20


# issue 16's baseline: xor_4x4_cl's array on 2026-11-30 (main at 3f9b9ff), 631 x 367 um
BASELINE_EDGES_PER_MM2 = 138


@needs_klayout
def test_compact_4x_cell_fits_tile_height_drc_clean_and_lvs_match(tmp_path: Path) -> None:
    """designs/xor_4x4_cl_compact.yaml (the memory circuit sized down, its blocks beside each
    other, rows under the landing zone, the vertical edge's routes over its block on met3):
    at least 4x the baseline's edges per mm^2 over the laid-out array's bounding box, no
    taller than a TinyTapeout analog tile, DRC clean (every deck the stage runs) and LVS
    matched; a via2 cut from one route over the block is an LVS mismatch."""
    d = load_spec(DESIGNS / "xor_4x4_cl_compact.yaml").design
    lay = run_layout(d, tmp_path / "layout")
    assert lay.area.edges_per_mm2 >= 4 * BASELINE_EDGES_PER_MM2, lay.area
    assert lay.area.bbox_um[1] < min(t.height for t in tiles("sky130A"))
    drc = run_drc(lay.gds, tmp_path / "drc")
    assert drc.clean, drc.by_rule
    lvs = run_lvs(d, lay.gds, tmp_path / "lvs")
    assert lvs.match, lvs.mismatches
    assert lvs.layout_devices == 32 * 20

    def cut_route_via2(layout: kdb.Layout) -> None:
        edge = next(
            c
            for c in layout.each_cell()
            if c.name.startswith("twin_edge_cl_") and "Sstacked" in c.name
        )
        via2 = layout.layer(*sky130.VIA2)
        shapes = list(edge.shapes(via2).each())
        assert len(shapes) == 2 * 3  # a tap and a landing per edge net (A_C, B_C, G)
        edge.shapes(via2).erase(shapes[0])

    cut = _mutate(lay.gds, tmp_path / "cut.gds", cut_route_via2)
    assert not run_lvs(d, cut, tmp_path / "lvs_cut").match


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
