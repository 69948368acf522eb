"""The learning chip in a TinyTapeout tile (issue 17): the smallest tile that holds the chip,
every used pin wired to its chip net, power stripes on the supply tracks, unused outputs tied
to ground; the shuttle's precheck rows, both DRC decks and the pins' wiring all pass, and a
pin wired to the wrong net or a chip too big for any tile is a one-line failure. At CI size:
the short CL design with its blocks beside each other (a site one block high) and a chip
section."""

from __future__ import annotations

import dataclasses
import re

import pytest
from conftest import needs_klayout, short_chip

from twinedge.characterise import chip
from twinedge.characterise.bias import size_strings
from twinedge.pdk import activate

BESIDE = "\n  blocks: beside\n  cap_finger_w_um: 6.0\n  cap_finger_w_v_um: 20.0"


@pytest.fixture(scope="module")
def tiled(tmp_path_factory):
    from twinedge.cells.chip import chip_top
    from twinedge.cells.gds import write_gds
    from twinedge.cells.tapeout import tapeout_tile
    from twinedge.cells.tile import lef, verilog_stub
    from twinedge.reports.tt_info import info_yaml
    from twinedge.spec.loader import load_spec

    folder = tmp_path_factory.mktemp("tapeout")
    path = short_chip(folder)
    path.write_text(re.sub(r"(\n  c_gate_f: [^\n]*)", r"\1" + BESIDE, path.read_text(), count=1))
    spec = load_spec(path)
    d = spec.design
    pdk = activate(d.pdk)
    pp = chip.plan(d, spec.dataset.inputs, spec.dataset.labels, str(path))
    w = chip.wiring(spec, pp, size_strings(pdk, chip.bias_targets(spec)))
    top = chip_top(d, w, tuple(dataclasses.astuple(b) for b in w.bias_strings))
    name = "tt_um_twinedge_test"
    tl = tapeout_tile(top, pp, top.info["track_y"], pdk.install_name, name)
    gds = write_gds(tl.component, folder / f"{name}.gds")
    files = {
        "lef": lef(tl.tile, name, list(tl.stripes)),
        "v": verilog_stub(tl.tile, name),
        "info": info_yaml(pp, tl.tile, name, "test", "twinedge", "a learning chip"),
    }
    return pdk, tl, gds, files, name


@needs_klayout
def test_the_chip_in_its_tile_passes_precheck_drc_and_its_wiring(tiled, tmp_path) -> None:
    from twinedge.verify.drc import run_drc
    from twinedge.verify.precheck import precheck
    from twinedge.verify.tile_wiring import pin_wiring

    pdk, tl, gds, files, name = tiled
    assert tl.tile.name == "6x2" and tl.tile.height == 225.76
    res = precheck(gds, files["lef"], files["v"], files["info"], tl.tile, name, pdk)
    assert all(c.passed for c in res.checks), [c for c in res.checks if not c.passed]
    drc = run_drc(gds, tmp_path / "drc", pdk)
    assert drc.clean, drc.as_dict()["by_rule"]
    wires = {**tl.wires, "VDPWR": "VDD", "VGND": "VSS", **dict.fromkeys(tl.tied, "VSS")}
    assert {"ua[0]", "ui_in[0]", "clk", "rst_n", "ena"} <= set(tl.wires)
    assert len(tl.tied) == 24  # every uo_out, uio_out and uio_oe: none used by the chip
    ok = pin_wiring(gds, name, tl.tile, wires, pdk)
    assert ok.passed, ok.reason
    wrong = pin_wiring(gds, name, tl.tile, {**wires, "ua[0]": "READ"}, pdk)
    assert not wrong.passed and wrong.reason == "ua[0] does not reach READ"


def test_a_chip_no_tile_holds_is_a_one_line_error() -> None:
    from twinedge.cells.tapeout import TapeoutError, smallest_tile

    with pytest.raises(TapeoutError, match=r"fits no 1v8 TinyTapeout tile \(largest 6x2"):
        smallest_tile("sky130A", 1200.0, 200.0)
    assert smallest_tile("sky130A", 300.0, 200.0).name == "2x2"
