"""The TinyTapeout tile frame (``twinedge.cells.tile``) and the precheck
(``twinedge.verify.precheck``): a frame written from the template data passes every check;
each defect a shuttle refuses fails its own check with a one-line reason."""

from __future__ import annotations

from pathlib import Path

import gdsfactory as gf
import pytest
import yaml

from twinedge.cells import tile as tt
from twinedge.cells.gds import write_gds
from twinedge.cells.twin_edge import rect
from twinedge.pdk import activate, get
from twinedge.pdk.tinytapeout import tile
from twinedge.reports.tt_info import info_yaml
from twinedge.spec.pinplan import Pin, PinPlan
from twinedge.verify.precheck import precheck, read_lef

SKY130 = get("sky130")
TOP = "tt_um_twinedge_test"
TILE = tile("sky130A", "1x2")
PLAN = PinPlan(  # one analog pin, one input bit, the clock: enough to exercise the format
    "test",
    (Pin("ua[0]", "READ", "analog out", "read-out"),
     Pin("ui_in[0]", "V1", "digital in", "input bit"),
     Pin("uio_in[0..1]", "RADDR", "digital in", "address"),
     Pin("clk", "PHASE", "clock", "phases")),
    {},
)  # fmt: skip
INFO = info_yaml(PLAN, TILE, TOP, "twinedge test tile", "twinedge", "a frame", False)


def _build(tmp_path: Path, *, analog_used: int = 1, defect: str = "") -> dict:
    """A 1x2 frame with ua[0..analog_used-1] wired (met4 from the pin up), optionally one
    defect; returns the precheck's rows by name."""
    activate("sky130")
    gf.clear_cache()  # a fresh cell library: every test's top cell has the same name
    stripes = tt.power_stripes(TILE, {"VDPWR": 4.0, "VGND": 8.0})
    if defect == "short stripe":
        stripes[1] = tt.Stripe("VGND", 8.0, 12.0, TILE.height - 5.0)
    c = tt.tile_frame(TILE, TOP, stripes)
    for p in TILE.analog_pins[:analog_used]:
        x0, _, x1, y1 = p.rect
        rect(c, SKY130.layers.MET4, x0, y1, x1, y1 + 20.0)
    if defect == "met5":
        rect(c, SKY130.layers.MET5, 50.0, 50.0, 60.0, 60.0)
    lef = tt.lef(TILE, TOP, stripes)
    if defect == "moved pin":  # ua[1] 0.1 um to the right in the LEF and the GDS
        r = TILE.pin("ua[1]").rect
        moved = (round(r[0] + 0.1, 3), r[1], round(r[2] + 0.1, 3), r[3])
        lef = lef.replace(" ".join(f"{v:.3f}" for v in r), " ".join(f"{v:.3f}" for v in moved))
        rect(c, SKY130.layers.MET4, *moved)
        rect(c, SKY130.layers.MET4_PIN, *moved)
    if defect == "label off metal":
        c.add_label("stray", position=(80.0, 100.0), layer=SKY130.layers.MET4_LABEL)
    if defect == "no boundary":
        c.remove_layers([SKY130.layers.PR_BOUNDARY])
    gds = write_gds(c, tmp_path / f"{TOP}.gds")
    info = INFO.replace("analog_pins: 1", "analog_pins: 2") if defect == "info" else INFO
    res = precheck(gds, lef, tt.verilog_stub(TILE, TOP), info, TILE, TOP, SKY130)
    return {row.name: row for row in res.checks} | {"__all__": res}


def test_a_frame_from_the_template_passes_every_check(tmp_path: Path) -> None:
    rows = _build(tmp_path)
    res = rows.pop("__all__")
    assert res.passed, [c.as_dict() for c in res.failed()]
    assert set(rows) == {"top cell", "cell names", "zero area", "layers", "LEF macro",
                         "boundary", "pins", "power pins", "pin labels", "info.yaml",
                         "analog pins"}  # fmt: skip
    lef = read_lef(tt.lef(TILE, TOP, tt.power_stripes(TILE, {"VDPWR": 4.0, "VGND": 8.0})))
    assert lef.size == (161.0, 225.76) and lef.pins["VGND"].use == "GROUND"
    info = yaml.safe_load(INFO)
    assert info["project"]["analog_pins"] == 1 and info["project"]["top_module"] == TOP
    assert info["pinout"]["ua[0]"] == "READ: analog out" and info["pinout"]["ua[5]"] == ""
    assert info["pinout"]["uio[1]"] == "RADDR[1]: digital in" and len(info["pinout"]) == 30
    stub = tt.verilog_stub(TILE, TOP)
    assert f"module {TOP} (" in stub and "inout wire [7:0] ua" in stub and "VDPWR" in stub


@pytest.mark.parametrize(
    ("defect", "check", "reason"),
    [
        ("moved pin", "pins", "ua[1]: LEF met4 (132.59"),
        ("met5", "layers", "forbidden on this shuttle: 72/20 (met5)"),
        ("short stripe", "power pins", "VGND stripe at x 8 starts at y 12 (> 10 um)"),
        ("no boundary", "boundary", "no boundary shape in the top cell"),
        ("label off metal", "pin labels", "label 'stray' on met4_label off its drawing"),
    ],
)
def test_each_defect_fails_its_check_in_one_line(tmp_path, defect, check, reason) -> None:
    rows = _build(tmp_path, defect=defect)
    res = rows.pop("__all__")
    assert not res.passed
    assert [c.name for c in res.failed()] == [check]
    assert reason in rows[check].reason and "\n" not in rows[check].reason


def test_info_yaml_declaring_an_analog_pin_it_does_not_describe_fails(tmp_path) -> None:
    rows = _build(tmp_path, defect="info")
    assert rows["info.yaml"].reason == "pinout describes ua[0], analog_pins 2 declares ua[0..1]"
    assert rows["analog pins"].reason == "ua[1] unused, declared 2 analog pins"


def test_an_analog_pin_used_but_not_declared_fails(tmp_path: Path) -> None:
    rows = _build(tmp_path, analog_used=2)
    assert not rows["analog pins"].passed
    assert rows["analog pins"].reason == "ua[1] used, declared 1 analog pins"


def test_the_chip_pin_plan_gives_an_info_yaml_the_shuttle_accepts() -> None:
    """designs/xor_chip_sky130.yaml: six analog pins, each described, the address bus a line
    per bit (the tile itself does not exist yet: the chip does not fit one)."""
    from conftest import DESIGNS

    from twinedge.pdk.tinytapeout import SHUTTLE
    from twinedge.spec.loader import load_spec
    from twinedge.spec.pinplan import plan
    from twinedge.verify.precheck import _info

    spec = load_spec(DESIGNS / "xor_chip_sky130.yaml")
    pp = plan(spec.design, spec.dataset.inputs, spec.dataset.labels, str(spec.path))
    text = info_yaml(
        pp, tile("sky130A", "6x2"), "tt_um_xor_chip", "XOR chip", "me", "learns", False
    )
    check, n = _info(text, tile("sky130A", "6x2"), "tt_um_xor_chip", SHUTTLE["sky130A"])
    assert check.passed, check.reason
    assert n == 6
    pins = yaml.safe_load(text)["pinout"]
    assert pins["ua[4]"] == "READ: analog out" and pins["uio[5]"] == "RADDR[5]: digital in"
    assert pins["ui[3]"] == "TRAIN: digital in" and pins["uo[0]"] == ""


def _files(tmp_path: Path) -> Path:
    """A 1x2 frame with ua[0] wired, and its LEF, stub and info.yaml beside it."""
    activate("sky130")
    gf.clear_cache()
    stripes = tt.power_stripes(TILE, {"VDPWR": 4.0, "VGND": 8.0})
    c = tt.tile_frame(TILE, TOP, stripes)
    x0, _, x1, y1 = TILE.pin("ua[0]").rect
    rect(c, SKY130.layers.MET4, x0, y1, x1, y1 + 20.0)
    gds = write_gds(c, tmp_path / f"{TOP}.gds")
    gds.with_suffix(".lef").write_text(tt.lef(TILE, TOP, stripes))
    gds.with_suffix(".v").write_text(tt.verilog_stub(TILE, TOP))
    (tmp_path / "info.yaml").write_text(INFO)
    return gds


def test_precheck_command_passes_a_good_tile_and_runs_the_drc_decks(tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    from twinedge.cli import app

    gds = _files(tmp_path)
    res = CliRunner().invoke(app, ["precheck", str(gds), "--tile", "1x2"])
    assert res.exit_code == 0, res.output
    assert "every check passed" in res.output and "pass  DRC sky130A_mr.drc" in res.output
    rec = json.loads((tmp_path / "precheck" / "precheck.json").read_text())
    assert rec["passed"] and len(rec["checks"]) >= 13  # 11 rows and a DRC row per deck
    (tmp_path / "info.yaml").write_text(INFO.replace("tiles: 1x2", "tiles: 2x2"))
    res = CliRunner().invoke(app, ["precheck", str(gds), "--no-drc"])
    assert res.exit_code == 1 and "FAIL  info.yaml: project.tiles '2x2'" in res.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tile", "5x2"], "error: --tile/--supply: no 1v8 TinyTapeout tile '5x2' for sky130A"),
        (["--pdk", "tsmc"], "error: --pdk: 'tsmc' is not one of sky130"),
        (["--lef", "nowhere.lef"], "error: --lef: nowhere.lef: no such file"),
        (["--garbage-gds"], "error: GDS: "),
    ],
)
def test_precheck_command_refuses_bad_input_in_one_line(tmp_path, args, message) -> None:
    from typer.testing import CliRunner

    from twinedge.cli import app

    gds = _files(tmp_path)
    if args == ["--garbage-gds"]:
        gds.write_text("not a layout\n")
        args = []
    res = CliRunner().invoke(app, ["precheck", str(gds), "--no-drc", *args])
    assert res.exit_code == 2 and res.output.strip().startswith(message), res.output
    assert len(res.output.strip().splitlines()) == 1
    assert not (tmp_path / "precheck").exists()  # nothing written


def _gf180_frame(tmp_path: Path, metal5: bool = False, analog: int = 0) -> dict:
    """A GF180MCU 1x2 frame (digital pins only) with its LEF, stub and info.yaml."""
    pdk = activate("gf180mcu")
    try:
        t = tile("gf180mcuD", "1x2")
        stripes = tt.power_stripes(t, {"VDPWR": 4.0, "VGND": 8.0})
        c = tt.tile_frame(t, TOP, stripes)
        if metal5:  # the generators' met4 role is GF180's Metal5, which the shuttle forbids
            rect(c, pdk.layers.MET4, 50.0, 50.0, 60.0, 60.0)
        plan_ = PinPlan("test", (Pin("ui_in[0]", "V1", "digital in", "input bit"),), {})
        info = info_yaml(plan_, t, TOP, "twinedge test tile", "twinedge", "a frame", False)
        info = info.replace("analog_pins: 0", f"analog_pins: {analog}")
        gds = write_gds(c, tmp_path / f"{TOP}.gds")
        res = precheck(gds, tt.lef(t, TOP, stripes), tt.verilog_stub(t, TOP), info, t, TOP, pdk)
    finally:  # the other tests of this file draw on SKY130
        activate("sky130")
    return {row.name: row for row in res.checks} | {"__all__": res}


def test_a_gf180_frame_passes_and_metal5_or_an_analog_pin_fails(tmp_path: Path) -> None:
    """A frame from TinyTapeout's GF180MCU template passes every check; a Metal5 shape (the
    shuttle's power grid) or a declared analog pin (none exist there) fails."""
    t = tile("gf180mcuD", "1x2")
    rows = _gf180_frame(tmp_path)
    assert rows.pop("__all__").passed, [r.as_dict() for r in rows.values() if not r.passed]
    assert rows["power pins"].reason == "VDPWR, VGND: stripes on Metal4, full height"
    activate("gf180mcu")  # the stub's supplies are the active PDK's shuttle's
    try:
        assert "VAPWR" not in tt.verilog_stub(t, TOP)
    finally:
        activate("sky130")
    bad = _gf180_frame(tmp_path, metal5=True)
    assert [c.name for c in bad["__all__"].failed()] == ["layers"]
    assert bad["layers"].reason == "forbidden on this shuttle: 81/0 (met4)"
    declared = _gf180_frame(tmp_path, analog=1)
    assert declared["info.yaml"].reason == "project.analog_pins 1: an integer 0..0"
