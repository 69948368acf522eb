"""GF180MCU through the same generators and back-ends as SKY130: its 3.3 V models in ngspice,
a twin-edge cell DRC clean with the GF180MCU deck (and a seeded violation caught), the 4 x 4
array's LVS match (and a broken via a mismatch). Real tools, small sizes."""

from __future__ import annotations

import subprocess
from dataclasses import astuple, replace
from pathlib import Path

import gdsfactory as gf
import klayout.db as kdb
import pytest
from conftest import DESIGNS, needs_klayout

import twinedge.pdk
from twinedge.cells.gds import write_gds
from twinedge.cells.twin_edge import rect, twin_edge
from twinedge.characterise.bias import BiasTargets
from twinedge.circuits.bias import fields
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


@needs_klayout
def test_cl_cell_drc_clean_and_array_lvs_catches_an_open_update_input(
    tmp_path: Path, gf180_active
) -> None:
    """The on-chip learning cell from the SKY130 generators on GF180MCU's rules: the 4 x 4
    array (designs/xor_4x4_cl_gf180.yaml) matches its netlist, and with the via that lands an
    update block's first input cut it does not. (Its vertical cell's DRC runs on one layout
    with the periphery, in the periphery test below.)"""
    d = load_spec(DESIGNS / "xor_4x4_cl_gf180.yaml").design
    gds = run_layout(d, tmp_path / "layout").gds
    lvs = run_lvs(d, gds, tmp_path / "lvs")
    assert lvs.match, lvs.mismatches
    layout = kdb.Layout()
    layout.read(str(gds))
    block = next(c for c in layout.each_cell() if c.name.startswith("update_block"))
    via1 = layout.layer(*gf180mcu.LAYERS.VIA1)
    shapes = sorted(block.shapes(via1).each(), key=lambda s: (s.bbox().left, s.bbox().top))
    block.shapes(via1).erase(shapes[0])  # leftmost: the edge nets' landing zone
    opts = kdb.SaveLayoutOptions()
    opts.write_context_info = False
    cut = tmp_path / "open.gds"
    layout.write(str(cut), opts)
    assert not run_lvs(d, cut, tmp_path / "lvs_open").match


def test_mismatch_draws_each_instance_its_own_threshold(tmp_path: Path) -> None:
    """The model wrapper's Monte Carlo mismatch (the foundry's Pelgrom coefficients): four
    identical 1/1 um devices carry four different currents, ~1-5 % apart; without mismatch
    the same current."""
    from twinedge.characterise.mirror import model_header, run_ngspice

    pdk = twinedge.pdk.get("gf180mcu")

    def currents(seed: int | None) -> list[float]:
        lines = [model_header(pdk, "tt", seed).rstrip(), "Vg g 0 1.0", "Vd d 0 0.1"]
        for i in range(4):
            lines += [f"Vm{i} d d{i} 0", f"X{i} d{i} g 0 0 {pdk.nfet} w=1 l=1"]
        prints = [f"print i(vm{i})" for i in range(4)]
        out = run_ngspice("\n".join([*lines, ".control", "op", *prints, "quit 0", ".endc"]))
        return [float(ln.split("=")[1]) for ln in out.splitlines() if ln.startswith("i(vm")]

    nominal = currents(None)
    assert len(nominal) == 4 and max(nominal) - min(nominal) < 1e-6 * abs(nominal[0])
    spread = currents(1)
    rel = (max(spread) - min(spread)) / abs(sum(spread) / 4)
    assert 0.01 < rel < 0.2, spread


# a reference ladder as bench_rail_reference.py sizes it for XOR (lengths need not reach a
# target for DRC and LVS)
LADDER = (("0", "vlabel", 1, 5.47), ("vlabel", "vminus", 1, 1.32), ("vminus", "vplus", 1, 14.09),
          ("vplus", "vin_hi", 1, 7.61), ("vin_hi", "vreset", 2, 37.1),
          ("vreset", "vdd", 3, 36.56))  # fmt: skip


def _periphery_blocks() -> dict:
    """Every periphery block of the chip as drawn on the active PDK, and its circuit."""
    from twinedge.cells import periphery
    from twinedge.cells.error_element import error_element_block
    from twinedge.circuits import bias, rail_buffer, readout, regulator, slope_readout
    from twinedge.circuits import error_element as ee
    from twinedge.circuits.constant_gm import ConstantGmSizing
    from twinedge.circuits.regulator import RegulatorSizing
    from twinedge.circuits.slope_readout import SlopeReadoutSizing

    def own_circuit(module, sizing):  # a module that makes its own block circuit
        return module.block_circuit(twinedge.pdk.get("gf180mcu"), sizing)

    # a bias generator's strings (sizes need not reach a target for DRC and LVS)
    strings = tuple(
        (net, 1.8, None, None) if net == "vcalb" else (net, 0.7, 1.0, 1.5, 1 + (net == "vcn"))
        for net in bias.BIASES
    )
    m = readout.ReadMap(4, 4)
    return {
        "resistors": (periphery.labelled(_resistor_circuit()), _resistor_circuit()),
        "constant_gm": (
            periphery.constant_gm_block(astuple(ConstantGmSizing(r_l=41.06))),
            periphery.constant_gm_circuit(astuple(ConstantGmSizing(r_l=41.06))),
        ),
        "regulator": (
            periphery.regulator_block(astuple(RegulatorSizing(pass_w=25.8))),
            own_circuit(regulator, RegulatorSizing(pass_w=25.8)),
        ),
        "slope_readout": (
            periphery.slope_readout_block(),
            own_circuit(slope_readout, SlopeReadoutSizing()),
        ),
        "rail_reference": (
            periphery.rail_reference_block(LADDER, 1.0),
            periphery.rail_reference_circuit(LADDER, 1.0),
        ),
        "sequencer": (periphery.sequencer_block(), periphery.sequencer_circuit()),
        "driver": (periphery.driver_block(False), periphery.driver_circuit(False)),
        "label_driver": (periphery.driver_block(True), periphery.driver_circuit(True)),
        "readout": (
            periphery.readout_block(4, 4),
            periphery.block_circuit(readout.SUBCKT, m.ports(), readout.devices(m)),
        ),
        "bias": (periphery.bias_block(strings), periphery.bias_circuit_block(strings)),
        "error_element": (
            error_element_block(0.25, True),
            ee.block_circuit(twinedge.pdk.get("gf180mcu"), 0.25, True),
        ),
        **{
            f"rail_buffer_{drive}": (
                periphery.rail_buffer_block(drive, dw, bw),
                rail_buffer.block_circuit(
                    twinedge.pdk.get("gf180mcu"),
                    rail_buffer.RailBufferSizing(drive=drive, drive_w=dw, bias_w=bw),
                ),
            )
            for drive, dw, bw in (("source", 26.215, 6.5), ("sink", 134.22, 61.36))
        },
    }


def _resistor_circuit(r1_l: float = 10.0):
    """Poly resistors among transistors (a divider loading an inverter)."""
    from twinedge.cells.periphery import block_circuit
    from twinedge.circuits.mirror import Device

    devs = [
        Device("R1", "r", "vdd", "vdd", "out", 1.0, r1_l),
        Device("R2", "r", "out", "out", "mid", 2.0, 4.0),
        Device("M1", "n", "mid", "in", "0", 1.0, 0.5),
        Device("M2", "p", "out", "in", "vdd", 1.0, 0.5),
    ]
    return block_circuit("resistors", ("vdd", "in", "out"), devs)


@needs_klayout
def test_periphery_and_cells_drc_clean_a_seeded_violation_caught_and_lvs_match(
    tmp_path: Path, gf180_tile, gf180_active
) -> None:
    """The chip's periphery from the same block placer on GF180MCU: its logic and switches,
    sized at SKY130's shortest channel, are drawn at GF180MCU's (0.28 um) in layout, netlist
    and LVS reference alike. Every block, the chip in its TinyTapeout tile (the array's cells
    with the G reader, all routed without Metal5) and the plain twin-edge cell on one layout
    pass the deck,
    where a seeded Metal2 sliver and a poly too near a resistor are the only violations; each
    block matches its own device list in LVS."""
    from twinedge.circuits import cl
    from twinedge.verify.lvs import run_block_lvs

    pdk = twinedge.pdk.get("gf180mcu")
    # the chip in its tile (the fixture's GDS, merged in below), routed without Metal5: its
    # array's cells with the G reader, its lines up the met2 corridors, its wraps in rings,
    # its blocks' ports rising on met3 to a met2 channel above everything, the pins down to it
    chip, *_, tile_gds = gf180_tile
    cell = cl.circuit("memory", 3, True, chip.cell.update.sizing.items(), "gf180mcu")
    assert all(d.l >= pdk.rules.nfet_min_l for d in cell.devices)  # the reader's switches too
    blocks = _periphery_blocks()
    top, x = gf.Component("gf180_periphery"), 0.0
    for name, (comp, cc) in blocks.items():
        assert all(d.l >= pdk.rules.nfet_min_l for d in cc.devices), name
        if name == "resistors":  # the others are in the chip's tile (DRC once)
            top.add_ref(comp).dmove((x, 0.0))
            x += comp.info["length"] + 10.0
        gds = write_gds(comp, tmp_path / f"{name}.gds")
        lvs = run_block_lvs(gds, list(cc.globals), list(cc.devices), pdk, tmp_path / name)
        assert lvs.match, (name, lvs.mismatches)
    # and the learning cell without the G reader (the plain GF180 design's, stacked blocks)
    from twinedge.cells.twin_edge_cl import twin_edge_cl

    d = load_spec(DESIGNS / "xor_4x4_cl_gf180.yaml").design
    sizes = d.cell.update.sizing.items()
    c = twin_edge_cl(1.0, 1.0, d.cell.c_gate_f, "stacked", "memory", 3, False, sizes=sizes)
    top.add_ref(c).dmove((x, 0.0))
    x += c.xsize + 10.0
    # the plain twin-edge cell too, and a Metal2 sliver (0.2 um: under M2.1's 0.28 um) that
    # must be the one violation (one run of the deck: ~20 s even on a small layout)
    top.add_ref(twin_edge(1.0, 1.0, 20e-15)).dmove((x, 0.0))
    rect(top, gf180mcu.METAL[2], x, -10.0, x + 2.0, -9.8)
    # and a lone resistor with unrelated Poly2 0.2 um above its RESISTOR layer (HRES.5:
    # 0.3 um): the deck sees the strip as a high-resistance poly resistor
    from twinedge.cells.resistor import poly_resistor, resistor_geometry

    g = resistor_geometry(1.0, 5.0)
    top.add_ref(poly_resistor(1.0, 5.0)).dmove((x, -30.0))
    y_res = -30.0 + g.y0 + 1.0 + 0.4  # the RESISTOR layer's top edge
    rect(top, gf180mcu.POLY2, x + g.x0, y_res + 0.2, x + g.x0 + 3.0, y_res + 0.7)
    extras = write_gds(top, tmp_path / "periphery.gds")
    layout = kdb.Layout()  # one layout, one deck run: the tile and the extras beside it
    layout.read(str(tile_gds))
    tile_top = layout.top_cell()
    layout.read(str(extras))
    both = layout.create_cell("gf180_drc")
    both.insert(kdb.DCellInstArray(tile_top.cell_index(), kdb.DTrans(0.0, 0.0)))
    dx = -top.dbbox().right - 20.0
    both.insert(
        kdb.DCellInstArray(layout.cell("gf180_periphery").cell_index(), kdb.DTrans(dx, 0.0))
    )
    opts = kdb.SaveLayoutOptions()
    opts.write_context_info = False
    layout.write(str(tmp_path / "all.gds"), opts)
    drc = run_drc(tmp_path / "all.gds", tmp_path / "drc", pdk)
    assert drc.rules_checked > 500
    assert drc.by_rule == {"M2.1": 1, "HRES.5": 1}, drc.as_dict()


def test_shortest_channel_is_the_pdks() -> None:
    """SKY130 keeps its 0.15 um devices (its netlists are unchanged); GF180MCU draws them at
    0.28 um; longer devices keep their length on both."""
    from twinedge.circuits import input_driver
    from twinedge.circuits.mirror import at_shortest_channel

    devs = input_driver.devices()
    assert min(d.l for d in devs) == 0.15
    assert at_shortest_channel(devs, twinedge.pdk.get("sky130")) == devs
    drawn = at_shortest_channel(devs, twinedge.pdk.get("gf180mcu"))
    assert {d.l for d in drawn} == {0.28}
    long = [replace(d, l=2.0) for d in devs]
    assert at_shortest_channel(long, twinedge.pdk.get("gf180mcu")) == long


def test_every_periphery_netlist_on_gf180_is_at_its_shortest_channel_or_longer() -> None:
    """The netlists the characterisations and the chip simulate (not only the layout LVS
    compares with): no channel below GF180MCU's 0.28 um in any block's ``.subckt``."""
    import re

    from twinedge.circuits import bias, error_element, input_driver, rail_buffer, readout, sequencer

    pdk = twinedge.pdk.get("gf180mcu")
    strings = tuple(bias.BiasString(n, 0.7, 1.0, 1.5) for n in bias.BIASES)
    texts = [
        input_driver.subckt(pdk), sequencer.subckt(pdk), bias.subckt(pdk, strings),
        readout.subckt(pdk, readout.ReadMap(4, 4)), error_element.subckt(pdk, 0.25, True),
        rail_buffer.subckt(pdk, rail_buffer.RailBufferSizing(drive="sink")),
    ]  # fmt: skip
    lengths = [float(x) for t in texts for x in re.findall(r" l=([0-9.eE+-]+)", t)]
    assert len(lengths) > 100 and min(lengths) >= pdk.rules.nfet_min_l


def test_switching_pdk_redraws_cached_cells() -> None:
    """gdsfactory caches a cell by its arguments; a block drawn on GF180MCU must not be handed
    out after switching back to SKY130 (its layout would fail SKY130's DRC and LVS)."""
    from twinedge.cells import periphery

    twinedge.pdk.activate("gf180mcu")
    try:
        on_gf180 = periphery.sequencer_block().info["length"]
    finally:
        twinedge.pdk.activate("sky130")
    assert periphery.sequencer_block().info["length"] != on_gf180


def test_resistor_model_at_its_corners_and_refused_where_a_pdk_has_none(tmp_path: Path) -> None:
    """ppolyf_u_1k in ngspice 39 (the foundry's subcircuit, its body line in a form ngspice
    reads: as shipped, ngspice gave 20 squares 173 ohm): 20 squares of 1 kohm/sq plus the
    width bias and the heads at tt, the library's +-20 % sheet at ss / ff. SKY130 has no
    resistor in twinedge yet: a circuit with one is refused, naming the PDK."""
    from twinedge.circuits.mirror import Device
    from twinedge.spice.deck import ngspice_op

    pdk = twinedge.pdk.get("gf180mcu")
    r = Device("R1", "r", "a", "a", "0", 1.0, 20.0)
    ohms = {}
    for corner in ("tt", "ss", "ff"):
        lib = pdk.reduced_model_lib((pdk.nfet, pdk.resistor.model), corner)
        net = f"* r\n.lib {lib} {corner}\nI1 0 a dc 10u\n{r.spice(pdk)}\n"
        ohms[corner] = ngspice_op(net, ["a"])["a"] / 10e-6
    assert 1.02 < ohms["tt"] / pdk.resistor.ohms(1.0, 20.0) < 1.06, ohms
    assert ohms["ss"] / ohms["tt"] > 1.15 and ohms["ff"] / ohms["tt"] < 0.85, ohms
    with pytest.raises(ValueError, match="sky130: no poly resistor"):
        r.spice(twinedge.pdk.get("sky130"))


@needs_klayout
def test_resistor_lvs_checks_its_value_and_its_ends(tmp_path: Path, gf180_active) -> None:
    """The extracted resistor's R (sheet x squares of its marked body) is compared: a
    reference 2 um longer is a mismatch, and so is a resistor moved to another net."""
    from twinedge.cells.periphery import labelled
    from twinedge.verify.lvs import run_block_lvs

    pdk = twinedge.pdk.get("gf180mcu")
    cc = _resistor_circuit()
    gds = write_gds(labelled(cc), tmp_path / "r.gds")
    ports = list(cc.globals)
    assert run_block_lvs(gds, ports, list(cc.devices), pdk, tmp_path / "ok").match
    longer = list(_resistor_circuit(12.0).devices)
    bad = run_block_lvs(gds, ports, longer, pdk, tmp_path / "long")
    assert not bad.match and any("R=10000" in m and "R=12000" in m for m in bad.mismatches)
    moved = [replace(d, d="in") if d.name == "R2" else d for d in cc.devices]
    assert not run_block_lvs(gds, ports, moved, pdk, tmp_path / "moved").match


def test_arrays_draw_no_layer_the_shuttle_forbids(tmp_path: Path, gf180_active) -> None:
    """TinyTapeout's GF180MCU tiles forbid Metal5, the met4 role (``route_top`` says so, and
    agrees with the shuttle's data): both GF180MCU arrays, periodic, route their column
    wraps round the array and their buses below met4, drawing nothing on a forbidden layer
    (their LVS, above, shows the wraps still join the right nodes)."""
    from twinedge.cells.array import compile_array
    from twinedge.pdk.tinytapeout import SHUTTLE

    pdk = twinedge.pdk.get("gf180mcu")
    forbidden = SHUTTLE[pdk.install_name].forbidden
    assert pdk.route_top == "met3" and "MET4" in forbidden
    assert twinedge.pdk.get("sky130").route_top == "met4"
    for name in ("xor_4x4_gf180", "xor_4x4_cl_gf180"):
        d = load_spec(DESIGNS / f"{name}.yaml").design
        assert d.network.periodic
        gds = write_gds(compile_array(d), tmp_path / f"{name}.gds")
        layout = kdb.Layout()
        layout.read(str(gds))
        for role in forbidden:
            li = layout.find_layer(*pdk.layer(role))
            n = 0 if li is None else sum(1 for _ in layout.top_cell().begin_shapes_rec(li))
            assert n == 0, (name, role, n)


def _chip_design():
    """designs/xor_chip_gf180.yaml on a 3 x 3 lattice (CI size: the chip's DRC is flat; the
    4 x 4 chip: the flow, benchmarks/gf180_chip.py)."""
    import yaml

    from twinedge.spec.schema import Design

    d = yaml.safe_load((DESIGNS / "xor_chip_gf180.yaml").read_text())
    d["name"] = "xor_3x3_chip_gf180"
    d["network"].update(rows=3, cols=3)
    d["pins"]["output"]["minus"] = [1, 0]  # (3, 1) is off a 3 x 3 lattice
    return Design.model_validate(d)


@needs_klayout
def test_chip_array_routes_out_without_metal5(tmp_path: Path, gf180_active) -> None:
    """A chip's array on GF180MCU: its pin escapes and column select lines leave it upwards
    on met2 (no Metal5 anywhere), LVS matches (the select lines carry their nets' labels),
    and each escape's end is on its pin's net and no other pin's (LVS alone would not see an
    open escape: the pins are labelled in their node tiles). Its DRC runs with the periphery
    above."""
    from twinedge.cells.array import compile_array
    from twinedge.circuits.nets import SUBSTRATE
    from twinedge.pdk.tinytapeout import SHUTTLE

    pdk = twinedge.pdk.get("gf180mcu")
    d = _chip_design()
    comp = compile_array(d)
    ends = comp.info["escapes"]
    assert {n for n in ends if n.startswith("CSELB")} == {
        f"CSELB{c}{h}" for c in range(3) for h in "HV"
    }
    tops = {y for _, y in ends.values()}
    assert len(tops) == 1 and tops.pop() > comp.dbbox().top - 1.0  # all out at the top
    gds = write_gds(comp, tmp_path / "chip_array.gds")
    lvs = run_lvs(d, gds, tmp_path / "lvs")
    assert lvs.match, lvs.mismatches
    layout = kdb.Layout()
    layout.read(str(gds))
    cell = layout.top_cell()
    for role in SHUTTLE[pdk.install_name].forbidden:
        li = layout.find_layer(*pdk.layer(role))
        assert li is None or not any(True for _ in cell.begin_shapes_rec(li)), role
    l2n = kdb.LayoutToNetlist(kdb.RecursiveShapeIterator(layout, cell, []))
    regions = pdk.connect(l2n, layout, substrate_net=SUBSTRATE, with_pfet=True)
    l2n.extract_netlist()
    met2 = regions[gf180mcu.METAL_NAMES[3]]  # the met2 role: Metal3
    labels = {}
    for role in ("MET1", "MET2"):
        for sh in cell.shapes(layout.layer(*pdk.label_of[pdk.layer(role)])).each(kdb.Shapes.STexts):
            labels[sh.text.string] = (role, kdb.DPoint(sh.dtext.x, sh.dtext.y))
    met = {"MET1": regions[gf180mcu.METAL_NAMES[2]], "MET2": met2}
    seen = {}
    for pin, (x, y) in ends.items():
        if pin.startswith("CSELB"):
            continue
        end = l2n.probe_net(met2, kdb.DPoint(x, y - 0.1))
        role, at = labels[pin]
        net = l2n.probe_net(met[role], at)
        assert end is not None and net is not None and end.cluster_id == net.cluster_id, pin
        assert seen.setdefault(end.cluster_id, pin) == pin, (pin, seen[end.cluster_id])
    assert len(seen) == 8  # V1, V2, Vminus, Vplus and both twins of both outputs


# designs/xor_4x4_cl_gf180.yaml's memory biases and floor (2026-12-03); the element's VBE as
# designs/xor_chip_gf180.yaml sets it
BIASES = BiasTargets(0.7, 1.0, 0.5, 0.9897, 0.85, 1.8)
T_DISCHARGE = 0.5e-6


def _chip_wiring():
    """The XOR chip on GF180MCU as its netlist wires it (the pin plan with its rails on
    chip), its bias strings sized to the GF180MCU design's characterised biases (as data:
    characterising them takes minutes on a cold cache): VCP at 0.5 V needs a string with a
    longer PMOS diode (GF180MCU's threshold)."""
    from twinedge.characterise import chip
    from twinedge.characterise.bias import size_strings
    from twinedge.characterise.on_chip import size_on_chip
    from twinedge.spec.loader import LoadedSpec, build_dataset

    d = _chip_design()
    data = build_dataset(d, "chip.yaml", DESIGNS)
    spec = LoadedSpec(design=d, path=DESIGNS / "chip.yaml", dataset=data)
    pp = chip.plan(d, data.inputs, data.labels, "chip.yaml")
    assert pp.rails_on_chip
    pdk = twinedge.pdk.get("gf180mcu")
    strings = size_strings(pdk, BIASES)
    assert next(b for b in strings if b.net == "vcp").p_l is not None  # a longer PMOS
    # VRESET for a short discharge phase (the transient's test starts every G below the
    # memory's diode level, which it lifts them to); the rails' loads are the 4 x 4 XOR
    # network's (learn.rail_loads, 2026-12-03): this network's own would first build
    # GF180MCU's device table (minutes on a cold cache)
    reset = chip.plan_reset(spec, BIASES, t_discharge=T_DISCHARGE)
    assert reset.vreset > pdk.vdd  # a threshold above g_init: above VDD (reset_ceiling)
    loads = {0.11: (21.3e-6, 164.3e-6), 0.33: (182.2e-6, 5e-6), 0.45: (186.8e-6, 5e-6)}
    oc = size_on_chip(spec, pp, vreset=reset.vreset, loads=loads)
    return d, chip.wiring(spec, pp, strings, oc), pp


def _build_tile() -> tuple:
    """(design, wiring, pin plan, chip top cell, tile layout) on the active PDK (GF180MCU)."""
    from twinedge.cells.chip import chip_top
    from twinedge.cells.tapeout import tapeout_tile

    d, w, pp = _chip_wiring()
    top = chip_top(d, w, tuple(fields(b) for b in w.bias_strings))
    return d, w, pp, top, tapeout_tile(top, pp, "gf180mcuD", TILE_TOP)


TILE_TOP = "tt_um_twinedge_gf180"


@pytest.fixture(scope="module")
def gf180_tile(tmp_path_factory):
    """The XOR chip on GF180MCU, built once: its design, wiring and pin plan, its top cell's
    GDS and channel, its tile (the cells die with a PDK switch: files and plain data only)."""
    folder = tmp_path_factory.mktemp("gf180_chip")
    twinedge.pdk.activate("gf180mcu")
    try:
        d, w, pp, top, tl = _build_tile()
        channel = {"track_y": dict(top.info["track_y"]), "top": top.dbbox().top,
                   "under": top.info["under_channel"]}  # fmt: skip
        chip_gds = write_gds(top, folder / "chip.gds")
        tile_gds = write_gds(tl.component, folder / f"{TILE_TOP}.gds")
    finally:
        twinedge.pdk.activate("sky130")
    return d, w, pp, chip_gds, channel, tl, tile_gds


@needs_klayout
def test_chip_top_routes_without_metal5_and_matches_its_netlist(
    tmp_path: Path, gf180_tile, gf180_active
) -> None:
    """The chip's top cell on GF180MCU: the array, the SKY130 chip's blocks and the ones
    that replace its analog pins (the reference ladder, the constant-gm reference, a buffer
    per current-carrying rail, the regulator making VDD from VDD33, the digital read-out on
    DOUT), its channel above them on met2, every terminal rising on met3; no Metal5; LVS of
    the whole chip against its netlist matches (resistors included), and a netlist without
    one label driver does not. Its DRC runs with the periphery above."""
    import dataclasses

    from twinedge.pdk.tinytapeout import SHUTTLE
    from twinedge.verify.lvs import run_chip_lvs

    pdk = twinedge.pdk.get("gf180mcu")
    from twinedge.cells.array import compile_array
    from twinedge.cells.tapeout import pin_nets

    d, w, pp, gds, channel, _tl, _tile_gds = gf180_tile
    ys, y_top = channel["track_y"].values(), channel["top"]
    assert abs(max(ys) + 0.2 - y_top) < 1e-3  # the channel is the chip's top band
    assert min(ys) > channel["under"] >= compile_array(d).dbbox().top  # above the array
    assert set(pin_nets(pp).values()) <= set(channel["track_y"])  # every pin has its track
    layout = kdb.Layout()
    layout.read(str(gds))
    for role in SHUTTLE[pdk.install_name].forbidden:
        li = layout.find_layer(*pdk.layer(role))
        assert li is None or not any(True for _ in layout.top_cell().begin_shapes_rec(li)), role
    lvs = run_chip_lvs(d, w, gds, tmp_path / "lvs")
    assert lvs.match, lvs.mismatches
    assert lvs.layout_devices == lvs.reference_devices > 18 + 300  # 18 edge cells
    oc = w.on_chip
    assert [r for r, _ in oc.buffers] == ["VIN_HI", "Vminus", "Vplus"]  # VLABEL: gates only
    assert oc.refs["regulator"] == oc.refs["VIN_HI"]  # 0.45 V: one tap for both
    assert {"VDD33", "DOUT", "RRST", "VLABEL", "VRESET"} <= set(channel["track_y"])
    fewer = dataclasses.replace(w, label_rails={"LP": w.label_rails["LP"]})
    assert not run_chip_lvs(d, fewer, gds, tmp_path / "lvs2").match


@needs_klayout
def test_the_chip_in_its_tile_passes_precheck_and_its_wiring(
    tmp_path: Path, gf180_tile, gf180_active
) -> None:
    """The GF180MCU chip in the smallest TinyTapeout GF180MCU tile that holds it: every
    precheck row passes (no Metal5, all 43 pins on the top edge exact, VDPWR / VGND stripes
    on Metal4, no analog pin), and each used pin, VDPWR (on VDD33, the regulator's input)
    and VGND reach their chip nets only; the tile's DRC runs with the periphery above."""
    from twinedge.cells.tapeout import supply_net, tile_nets
    from twinedge.cells.tile import lef, verilog_stub
    from twinedge.reports.tt_info import info_yaml
    from twinedge.verify.precheck import precheck
    from twinedge.verify.tile_wiring import pin_wiring

    pdk = twinedge.pdk.get("gf180mcu")
    _d, _w, pp, _chip_gds, _channel, tl, gds = gf180_tile
    name = TILE_TOP
    assert "uo_out[0]" in tl.wires and len(tl.tied) == 23  # 7 uo_out, 8 uio_out, 8 uio_oe
    # the 3 x 3 chip: with its decoupling (the regulator's block 413 um long, the ladder's
    # 371 um) wider than a 2x2 tile (711 um); the 4 x 4 one needs 3x4 (389 um tall)
    assert tl.tile.name == "3x2"
    info = info_yaml(pp, tl.tile, name, "test", "twinedge", "a learning chip", False)
    files = (lef(tl.tile, name, list(tl.stripes)), verilog_stub(tl.tile, name), info)
    res = precheck(gds, *files, tl.tile, name, pdk)
    assert all(c.passed for c in res.checks), [c for c in res.checks if not c.passed]
    assert supply_net(pp) == "VDD33"
    wiring = pin_wiring(gds, name, tl.tile, tile_nets(tl.wires, tl.tied, supply_net(pp)), pdk)
    assert wiring.passed, wiring.reason
    # VDPWR wired as on SKY130 (onto VDD, which the regulator makes here) is caught
    assert not pin_wiring(gds, name, tl.tile, tile_nets(tl.wires, tl.tied), pdk).passed


def test_on_chip_taps_are_shared_by_level_but_vreset_and_two_names_at_one_level_refused() -> None:
    from twinedge.characterise.on_chip import tap_names

    taps, refs = tap_names({"VIN_HI": 0.45, "VLABEL": 0.087, "regulator": 0.45, "VRESET": 1.6})
    assert taps == (("VLABEL", 0.087), ("ref_vin_hi", 0.45), ("VRESET", 1.6))
    assert refs["regulator"] == refs["VIN_HI"] == "ref_vin_hi"
    with pytest.raises(ValueError, match="one net, two names"):
        tap_names({"VLABEL": 0.6, "VLABEL2": 0.6})
    with pytest.raises(ValueError, match=r"VRESET .* needs a tap of its own; regulator"):
        tap_names({"VRESET": 0.45, "regulator": 0.45})


def test_wiring_needs_on_chip_blocks_exactly_when_the_plan_makes_its_rails() -> None:
    from twinedge.cells.tapeout import supply_net
    from twinedge.characterise import chip
    from twinedge.spec.loader import LoadedSpec, build_dataset

    d = _chip_design()
    data = build_dataset(d, "chip.yaml", DESIGNS)
    pp = chip.plan(d, data.inputs, data.labels, "chip.yaml")
    with pytest.raises(ValueError, match="on-chip blocks sized"):
        chip.wiring(LoadedSpec(d, DESIGNS / "chip.yaml", data), pp, ())
    sky = load_spec(DESIGNS / "xor_chip_sky130.yaml")
    sky_pp = chip.plan(sky.design, sky.dataset.inputs, sky.dataset.labels, "x.yaml")
    assert supply_net(sky_pp) == "VDD" and supply_net(pp) == "VDD33"
    assert "rails_on_chip" not in sky_pp.as_dict()  # SKY130's pin_plan.json as it was


def test_the_chip_at_rest_makes_its_own_supply_and_rails(gf180_tile) -> None:
    """The whole GF180MCU chip's netlist at DC, only its pins driven (VDD33 at 3.3 V): the
    regulator makes VDD within 5 mV of 1.8 V, every rail and VRESET sits within 2 mV of its
    level (ladder taps, buffered where they carry current), the constant-gm bias near the
    tails' 2.2 V; the chip draws under 0.5 mA at rest."""
    from twinedge.characterise.on_chip import operating_point

    _d, w, pp, *_ = gf180_tile
    op = operating_point(w, pp, "gf180mcu")
    lv = op["levels_v"]
    assert abs(lv["VDD"] - 1.8) < 5e-3, lv
    for rail, v in {**pp.rails, "VRESET": dict(w.on_chip.taps)["VRESET"]}.items():
        assert abs(lv[rail] - v) < 2e-3, (rail, lv[rail])
    assert abs(lv["vbe_rails"] - 2.2) < 0.1 and 0 < op["supply_a"] < 0.5e-3, op


@pytest.mark.slow
def test_the_chip_resets_learns_and_reads_g_through_its_pins_alone(gf180_tile) -> None:
    """One learning step of the whole GF180MCU chip (ngspice), its only sources the tile's
    pins: VDPWR at 3.3 V (the regulator makes VDD, the ladder and buffers the rails and
    VRESET), the clock, the bits, the read-out's RRST / RCAL / RHI. Every G starts at its
    own level below the memory's diode level; the reset through the pins lands all of them
    at g_init (VRESET a ladder tap above VDD), the step moves them, the board's reading of
    edge 0's G from DOUT's edge (calibrated on the two reference conversions) matches READ
    inside the chip, and the blocks' energies add up to what VDPWR delivered."""
    import numpy as np

    from twinedge.characterise import chip
    from twinedge.spec.loader import LoadedSpec, build_dataset

    d, w, pp, *_ = gf180_tile
    short = d.training.model_copy(update={"t_h": 1e-6, "t_frozen": 1.5e-6})
    d = d.model_copy(update={"training": short})
    spec = LoadedSpec(d, DESIGNS / "chip.yaml", build_dataset(d, "chip.yaml", DESIGNS))
    vreset = dict(w.on_chip.taps)["VRESET"]
    start = chip.start_levels(len(w.edges), (0.0, 0.6), 0)
    reset = chip.Reset(vreset, T_DISCHARGE, chip.T_RESET, start)
    sim = chip.simulate(spec, w, pp, [0], reset)
    g0, g1 = np.array(sim.g0), np.array(sim.g[0])
    assert abs(g0.mean() - d.training.g_init) < 0.01 and np.ptp(g0) < 5e-3, g0
    assert np.abs(g1 - g0).max() > 1e-4  # the step moved G (1 us of LEARN at GF180's rate)
    (read,), (net,) = sim.read_v, sim.read_net_v
    assert read is not None and abs(read - net) < 0.01, (read, net)
    assert 0.1 < net < 1.7  # inside the read-out's calibrated range
    e = sim.energy_per_step_j
    assert set(e) == {"array", "error_element", "drivers", "sequencer", "bias", "readout",
                      "ladder", "reference", "rails", "regulator", "slope_readout"}  # fmt: skip
    assert all(v > 0 for k, v in e.items() if k != "drivers"), e
    assert sum(e.values()) == pytest.approx(sim.vdd_energy_each_step_j[0], rel=1e-3)
    # its own levels are watched through the run (VDD, every rail, VRESET): peak and
    # longest time beyond the tolerance, which the flow's verdict turns into a reason
    from twinedge.characterise.chip_board import LEVEL_RECOVERY_S, RESET_ONLY_LEVELS
    from twinedge.stages.flow import _own_levels_verdict

    worst, beyond = sim.own_levels_worst_v, sim.own_levels_beyond_s
    assert set(worst) == set(beyond) == {"VDD", *pp.rails, "VRESET"}
    assert all(np.isfinite(v) and v >= 0 for v in worst.values()), worst
    assert all(0 <= s < 5e-6 for s in beyond.values()), beyond  # no level lost for good
    transient = {"summary": {"own_levels_worst_v": worst, "own_levels_beyond_s": beyond}}
    held = all(s <= LEVEL_RECOVERY_S for n, s in beyond.items() if n not in RESET_ONLY_LEVELS)
    assert bool(_own_levels_verdict(transient)) == (not held), worst
