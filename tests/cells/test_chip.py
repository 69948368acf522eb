"""The whole learning chip (issue 16): its netlist joins the array and every periphery block
at the pins of the pin plan, its top cell is DRC clean and matches that netlist, and one
learning step of it at transistor level (ngspice, SKY130 models, driven only through its
pins) agrees with the behavioural model. At CI size: designs/xor_chip_sky130.yaml's chip on
the short CL design (2 us phases; conftest.short_chip)."""

from __future__ import annotations

import dataclasses
import re
from collections import Counter

import numpy as np
import pytest
from conftest import needs_klayout, short_chip

from twinedge.characterise import chip
from twinedge.characterise.bias import size_strings
from twinedge.circuits.bias import fields
from twinedge.circuits.chip import BLOCKS, instances
from twinedge.pdk import activate
from twinedge.pdk import get as get_pdk
from twinedge.spec.loader import load_spec

SKY130 = get_pdk("sky130")
PINS = {"VDD", "0", "PHASE", "TRAIN", "ENA", "RST_N", "V1_BIT", "V2_BIT", "LABEL", "VIN_HI",
        "VMINUS", "VPLUS", "VLABEL", "READ", "VRESET",
        *(f"RADDR{k}" for k in range(6))}  # fmt: skip


@pytest.fixture(scope="module")
def short_spec(tmp_path_factory):
    return load_spec(short_chip(tmp_path_factory.mktemp("chip")))


@pytest.fixture(scope="module")
def wired(short_spec):
    spec = short_spec
    pp = chip.plan(spec.design, spec.dataset.inputs, spec.dataset.labels, str(spec.path))
    strings = size_strings(SKY130, chip.bias_targets(spec))
    return spec, pp, chip.wiring(spec, pp, strings)


def _nets(lines: list[str]) -> Counter:
    """How many element terminals each top-level net has (ngspice: case-insensitive)."""
    count: Counter = Counter()
    for line in lines:
        words = line.split()
        if words[0][0] in "XV":  # subcircuit / device calls: nets, then the model or subckt
            nets = words[1:-1] if words[0][0] == "X" else words[1:3]
            nets = [n for n in nets if "=" not in n]
            if words[0][0] == "X" and "=" in line:  # a PDK device: d g s b model w= l=
                nets = words[1:5]
            count.update(n.upper() for n in nets)
    return count


def test_chip_netlist_joins_every_block_at_the_pins(wired) -> None:
    _spec, pp, w = wired
    lines = instances(SKY130, w)
    calls = Counter(re.sub(r"\d+$", "", line.split()[0]) for line in lines)
    assert calls["XU"] == 32 and calls["XEP"] == calls["XEM"] == 1  # 32 update circuits
    names = {line.split()[0] for line in lines}
    assert {"XSEQ", "XBIAS", "XDV1", "XDV2", "XDLP", "XDLM"} <= names
    assert {f"VDD_{b}" for b in BLOCKS} <= names
    nets = _nets(lines)
    # the rails of the pin plan and the board-driven pins are the chip's only inputs
    assert set(r.upper() for r in pp.rails) | {"VDD", "0"} <= set(nets)
    assert {"PHASE", "TRAIN", "ENA", "RST_N", "V1_BIT", "V2_BIT", "LABEL"} <= set(nets)
    dangling = {n for n, k in nets.items() if k < 2 and n not in PINS}
    assert not dangling, dangling  # every internal net joins two terminals or more
    # inputs join both twins at their driver; outputs keep a net per twin (the array's names)
    assert nets["V1"] > 2 and nets["OPLUS_F"] > 2 and nets["OPLUS_C"] > 2
    # the read-out: a reader per edge on READ, 4 row and 8 column lines, each with its
    # decoder gate and the readers of its row (8) or column and direction (4)
    assert calls["XRF_"] == calls["XRR_"] == calls["XRC_"] == 32 and "XREAD" in names
    assert nets["READ"] == 32 + 1
    assert all(nets[f"RSELB{r}"] == 8 + 1 for r in range(4))
    assert all(nets[f"CSELB{c}{d}"] == 4 + 1 for c in range(4) for d in "HV")


def test_inference_deck_holds_g_and_freezes_learning(wired) -> None:
    spec, pp, w = wired
    text, switches = chip.inference_deck(spec, w, pp, np.full(32, 1.1))
    assert "Vpin_TRAIN TRAIN 0 0\n" in text  # no phase runs
    assert text.count("gh") >= 2 * 32 and "Vgh0 gh0 0 1.1" in text
    assert len(switches) == len(spec.dataset.labels)


def test_the_reset_lands_every_g_on_g_init_from_above_and_below(short_spec, wired) -> None:
    """The two-phase reset (the sequencer's discharge, then the floor's charge) on one cell:
    a G at the supply, one trained low and one in between all end at g_init; the discharge
    settles below the charge's target at every corner."""
    spec = wired[0]
    dis = chip.discharge_time(spec)
    target = spec.design.training.g_init
    assert 0 < dis["t_discharge_s"] < chip.T_DISCHARGE_MAX
    assert all(c["settled_v"] < target - chip.DISCHARGE_MARGIN for c in dis["corners"].values())
    phases = (dis["t_discharge_s"], 2e-6)
    vreset = chip.reset_level(spec, phases)
    biases = chip.bias_targets(spec)
    ends = [chip._g_through_reset(spec, biases, vreset, phases, g)[-1, 1]
            for g in (SKY130.vdd, 1.3, 0.3)]  # fmt: skip
    assert ends == pytest.approx([target] * 3, abs=5e-3)
    # without the discharge phase a G above the target stays there: the floor only charges
    stuck = chip._g_through_reset(spec, biases, vreset, (1e-9, 2e-6), 1.3)[-1, 1]
    assert stuck > target + 0.2


@pytest.mark.slow
def test_one_step_of_the_whole_chip_matches_the_model(short_spec, wired) -> None:
    """One learning step of the chip (32 update circuits, the error element, drivers,
    sequencer, bias generator, read-out), reset through its pins (a short discharge phase:
    the start levels lie below the discharge's level; the full one is the cell test's),
    against the model's step from the same G."""
    reset = chip.plan_reset(short_spec, t_reset=2e-6, t_discharge=0.5e-6)
    res = chip.run_chip(short_spec, 1, with_inference=False, strings=wired[2].bias_strings,
                        reset=reset, start_span=(0.0, 0.6))  # fmt: skip
    s = res.summary()
    # the reset through the pins brought every G to about g_init
    assert s["reset"]["g_mean_v"] == pytest.approx(short_spec.design.training.g_init, abs=0.01)
    assert s["reset"]["g_spread_v"] < 5e-3
    assert s["step_rms_dg_v"][0] > 5e-3  # the step does move G
    assert s["step_correlation_min"] > 0.95
    assert s["step_error_rel_total"] < 0.35
    e = s["energy_per_step_j"]
    assert e["array"] > 0 and e["error_element"] > 0 and e["sequencer"] > 0 and e["bias"] > 0
    # the step's own VDD energy (what a post-layout run compares step by step) is the total's
    vdd = sum(v for k, v in e.items() if not k.startswith("rail"))
    assert res.vdd_energy_each_step_j == [pytest.approx(vdd, rel=1e-9)]


@needs_klayout
def test_chip_top_cell_is_drc_clean_and_matches_the_chip_netlist(wired, tmp_path) -> None:
    """Array + every periphery block, routed: both DRC decks (sign-off when PDK_ROOT is set)
    and LVS of the whole chip against its netlist; a netlist without one label driver
    mismatches."""
    from twinedge.cells.chip import chip_top
    from twinedge.cells.gds import write_gds
    from twinedge.verify.drc import run_drc
    from twinedge.verify.lvs import run_chip_lvs

    spec, _pp, w = wired
    top = chip_top(spec.design, w, tuple(fields(b) for b in w.bias_strings))
    gds = write_gds(top, tmp_path / "chip.gds")
    drc = run_drc(gds, tmp_path / "drc", SKY130)
    assert drc.clean and drc.violations == 0, drc.as_dict()["by_rule"]
    lvs = run_chip_lvs(spec.design, w, gds, tmp_path / "lvs")
    assert lvs.match, lvs.mismatches
    assert lvs.layout_devices == lvs.reference_devices > 32 + 100  # edge cells + periphery
    fewer = dataclasses.replace(w, label_rails={"LP": w.label_rails["LP"]})
    broken = run_chip_lvs(spec.design, fewer, gds, tmp_path / "lvs2")
    assert not broken.match and broken.mismatches


# ------------------------------------------------------------------ the chip in its tile
# (issue 17; here rather than in a file of its own so that it runs on the worker that has
# characterised this chip's periphery: the cache then serves it)
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
    top = chip_top(d, w, tuple(fields(b) for b in w.bias_strings))
    name = "tt_um_twinedge_test"
    tl = tapeout_tile(top, pp, pdk.install_name, name)
    gds = write_gds(tl.component, folder / f"{name}.gds")
    files = {
        "lef": lef(tl.tile, name, list(tl.stripes)),
        "v": verilog_stub(tl.tile, name),
        "info": info_yaml(pp, tl.tile, name, "test", "twinedge", "a learning chip", False),
    }
    return pdk, tl, gds, files, name


@needs_klayout
def test_the_chip_in_its_tile_passes_precheck_drc_and_its_wiring(tiled, tmp_path) -> None:
    from twinedge.cells.tapeout import tile_nets
    from twinedge.verify.drc import run_drc
    from twinedge.verify.precheck import precheck
    from twinedge.verify.tile_wiring import pin_wiring

    pdk, tl, gds, files, name = tiled
    assert tl.tile.name == "6x2" and tl.tile.height == 225.76
    res = precheck(gds, files["lef"], files["v"], files["info"], tl.tile, name, pdk)
    assert all(c.passed for c in res.checks), [c for c in res.checks if not c.passed]
    drc = run_drc(gds, tmp_path / "drc", pdk)
    assert drc.clean, drc.as_dict()["by_rule"]
    wires = tile_nets(tl.wires, tl.tied)
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


def test_each_gate_of_the_tile_is_named_after_its_edge_and_a_stray_one_is_refused(
    tiled, tmp_path
) -> None:
    """The whole tile's extraction names every gate ``g<e>`` from the edge cell instance its
    label lies in (the schematic deck's names), so the deck can drive the layout."""
    from twinedge.characterise.chip_post_layout import gate_names
    from twinedge.verify.pex_lvsdb import build_pex_lvsdb

    pdk, _tl, gds, _files, _name = tiled
    spec = load_spec(next(gds.parent.glob("*.yaml")))
    pp = chip.plan(spec.design, spec.dataset.inputs, spec.dataset.labels, str(spec.path))
    w = chip.wiring(spec, pp, size_strings(pdk, chip.bias_targets(spec)))
    names = gate_names(spec.design, w)
    assert sorted(names.values()) == sorted(f"g{e}" for e in range(len(w.edges)))
    db = build_pex_lvsdb(gds, tmp_path / "t.lvsdb", with_pfet=True, pdk=pdk, gate_names=names)
    assert sorted(db.gates) == sorted(names.values())
    fewer = dict(list(names.items())[1:])
    with pytest.raises(ValueError, match="lies in no known edge cell instance"):
        build_pex_lvsdb(gds, tmp_path / "u.lvsdb", with_pfet=True, pdk=pdk, gate_names=fewer)


def test_the_layout_deck_drives_the_extracted_chip_by_the_schematic_names(wired) -> None:
    """chip_body renames the tile's pins to the chip's nets (ground to 0); the deck then
    carries the same sources and reset, measures VDD whole, and has no block circuits."""
    from twinedge.characterise.chip_post_layout import chip_body

    spec, pp, w = wired
    text = (
        ".SUBCKT tt_um_x VDPWR VGND|uo_out[3] ua[5] clk g0\n"
        "M1 g0 clk VGND|uo_out[3] VGND|uo_out[3] sky130_fd_pr__nfet_01v8 L=0.15 W=0.42\n"
        "C1 ua[5] VGND|uo_out[3] 1e-15\nC2 g0 ua[5] 2e-16\nC3 VDPWR clk_b 1e-15\n.ENDS\n"
    )
    pins = {"VDPWR": "VDD", "VGND": "0", "ua[5]": "VRESET", "clk": "PHASE", "uo_out[3]": "0"}
    body = chip_body(text, pins, SKY130)
    assert body.splitlines() == [
        "M1 g0 PHASE 0 0 sky130_fd_pr__nfet_01v8 L=0.15 W=0.42",
        "C1 VRESET 0 1e-15", "C2 g0 VRESET 2e-16", "C3 VDD clk_b 1e-15",
    ]  # fmt: skip
    # the chip's ground net VSS (as tile_nets names it) is the decks' 0 too
    assert chip_body(text, {**pins, "VGND": "VSS", "uo_out[3]": "VSS"}, SKY130) == body
    with pytest.raises(ValueError, match="pins of different nets"):
        chip_body(text.replace("VGND|uo_out[3]", "VGND|ua[5]"), pins, SKY130)
    reset = chip.Reset(1.7, 1e-6, 2e-6, [0.5] * len(w.edges))
    deck, reads = chip.deck(spec, w, pp, [0, 1], reset, body)
    assert body in deck and "XU0" not in deck and "VDD_array" not in deck
    assert "i(vsupply)" in deck and "i(vdd_array)" not in deck
    assert "Vpin_VRESET VRESET 0 1.7" in deck and len(reads) == 2
