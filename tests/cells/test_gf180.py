"""GF180MCU through the same generators and back-ends as SKY130: its 3.3 V models in ngspice,
a twin-edge cell DRC clean with the GF180MCU deck (and a seeded violation caught), the 4 x 4
array's LVS match (and a broken via a mismatch). Real tools, small sizes."""

from __future__ import annotations

import subprocess
from pathlib import Path

import gdsfactory as gf
import klayout.db as kdb
import pytest
from conftest import DESIGNS, needs_klayout

import twinedge.pdk
from twinedge.cells.gds import write_gds
from twinedge.cells.twin_edge import rect, twin_edge
from twinedge.pdk import gf180mcu
from twinedge.spec import load_spec
from twinedge.stages.layout import run_layout
from twinedge.verify.drc import run_drc
from twinedge.verify.lvs import run_lvs


@pytest.fixture
def gf180_active():
    twinedge.pdk.activate("gf180mcu")
    yield
    twinedge.pdk.activate("sky130")


def _drain_current(device: str, vg: float, vd: float, tmp_path: Path) -> float:
    pdk = twinedge.pdk.get("gf180mcu")
    lib = pdk.reduced_model_lib((pdk.nfet, pdk.pfet), "tt")
    deck = tmp_path / "op.cir"
    deck.write_text(
        f"* op\n.lib {lib} tt\n.option scale=1u\nVd d 0 {vd}\nVg g 0 {vg}\n"
        f"X1 d g 0 0 {device} w=1 l=1\n.control\nop\nprint i(vd)\nquit 0\n.endc\n.end\n"
    )
    out = subprocess.run(["ngspice", "-b", str(deck)], capture_output=True, text=True).stdout
    line = next(ln for ln in out.splitlines() if ln.strip().startswith("i(vd)"))
    return -float(line.split("=")[1])  # into the drain


def test_models_conduct_as_3v3_devices(tmp_path: Path) -> None:
    """W/L 1/1 um (the library's geometry is in um, as on SKY130): the nfet is off below its
    ~0.65 V threshold and carries microamps above it; the pfet mirrors it."""
    off = _drain_current(gf180mcu.NFET, 0.3, 0.1, tmp_path)
    on = _drain_current(gf180mcu.NFET, 1.5, 0.1, tmp_path)
    assert 0 < off < 1e-8 and 2e-6 < on < 5e-5
    p_on = _drain_current(gf180mcu.PFET, -1.5, -0.1, tmp_path)
    assert -5e-5 < p_on < -5e-7


@needs_klayout
def test_cell_is_drc_clean_and_a_seeded_violation_is_caught(tmp_path: Path, gf180_active) -> None:
    """One run of the deck (~25 s even on a small cell): the cell, and beside it a Metal2
    sliver; the sliver is the one violation."""
    c = gf.Component("seeded_gf180")
    c.add_ref(twin_edge(1.0, 1.0, 20e-15))
    rect(c, gf180mcu.METAL[2], 10.0, 0.0, 12.0, 0.2)  # 0.2 um: under M2.1's 0.28 um
    res = run_drc(write_gds(c, tmp_path / "seeded.gds"), tmp_path)
    assert res.rules_checked > 500
    assert res.by_rule == {"M2.1": 1}


@needs_klayout
def test_array_lvs_matches_and_a_broken_via_does_not(tmp_path: Path, gf180_active) -> None:
    d = load_spec(DESIGNS / "xor_4x4_gf180.yaml").design
    gds = run_layout(d, tmp_path / "layout").gds
    assert run_lvs(d, gds, tmp_path / "lvs").match

    layout = kdb.Layout()
    layout.read(str(gds))
    tile = next(c for c in layout.each_cell() if c.name.startswith("node_tile"))
    via = layout.layer(*gf180mcu.LAYERS.VIA1)  # the role's layer: GF180MCU's Via2
    shapes = sorted(tile.shapes(via).each(), key=lambda s: (s.bbox().left, s.bbox().bottom))
    tile.shapes(via).erase(shapes[0])
    opts = kdb.SaveLayoutOptions()
    opts.write_context_info = False
    broken = tmp_path / "broken.gds"
    layout.write(str(broken), opts)
    res = run_lvs(d, broken, tmp_path / "lvs_broken")
    assert not res.match and res.mismatches
