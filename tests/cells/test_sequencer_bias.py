"""The phase sequencer and the bias generator (issue 16's periphery), with the SKY130 models:
the sequencer's edges in the order the update circuit's step assumes, the generator's biases
at their targets and their spread measured."""

from __future__ import annotations

import dataclasses

import pytest
from conftest import needs_klayout

from twinedge.characterise.bias import BiasTargets, characterise_bias, size_strings
from twinedge.characterise.sequencer import VFLOOR, VRESET, SequencerConditions, measure
from twinedge.circuits import bias as bias_circuit
from twinedge.circuits.sequencer import PORTS, devices
from twinedge.pdk import get as get_pdk

SKY130 = get_pdk("sky130")
TARGETS = BiasTargets(vbp=0.6, vcn=0.8, vcp=0.5, vfloor=0.9115, vbe=0.6, vcalb=0.959)


def test_sequencer_is_cmos_logic_on_its_ports() -> None:
    devs = devices()
    nets = {n for d in devs for n in (d.d, d.g, d.s)}
    assert set(PORTS) - {"vdd"} <= nets  # every port is used
    assert sum(d.kind == "p" for d in devs) >= sum(d.kind == "n" for d in devs) - 4


def test_sequencer_phases_never_overlap_and_the_sign_follows_learn() -> None:
    c = measure(SKY130, SequencerConditions(), "tt")
    assert c.gap_cal_learn_s > 0.5e-9  # CAL opens before LEARN closes
    assert c.gap_learn_cal_s > 0.5e-9  # LEARN opens before CAL closes
    assert c.nudge_after_learn_s > 0  # +eta only once LEARN holds
    assert c.calb_high_v == pytest.approx(0.959, abs=2e-3)  # CALB reaches VCALB
    assert c.vbe_ee_v == pytest.approx(0.6, abs=1e-3)  # the error element biased
    assert 0 < c.energy_per_cycle_j < 1e-10
    # the cells' floor line: the floor bias while running, the reset level once RST_N falls
    assert c.vfloor_run_v == pytest.approx(VFLOOR, abs=1e-3)
    assert c.vfloor_reset_v == pytest.approx(VRESET, abs=1e-3)
    # the reset's discharge phase (clock high): CAL and LEARN closed together, the floor
    # devices off; then (clock low) the charge phase: LEARN open, the floor line at VRESET
    vdd = SKY130.vdd
    dis = c.discharge_v
    assert dis["cal"] > vdd - 1e-2 and dis["learn"] > vdd - 1e-2
    assert dis["learnb"] < 1e-2 and dis["vfloor"] < 1e-2
    assert c.vfloor_charge_v == pytest.approx(VRESET, abs=1e-3)


def test_sequencer_calb_follows_its_supply() -> None:
    """CALB's level is the bias it is given (a trim), not the logic supply."""
    c = measure(SKY130, dataclasses.replace(SequencerConditions(), vcalb=1.8), "tt")
    assert c.calb_high_v == pytest.approx(1.8, abs=2e-3)


@pytest.fixture(scope="module")
def characterised():
    return characterise_bias(SKY130, TARGETS)


def test_bias_strings_reach_their_targets_and_spread_is_measured(characterised) -> None:
    ch = characterised
    for net, err in ch.error_v.items():
        assert abs(err) < 1e-3, (net, err)
    # corners move a diode's Vgs by tens of mV; the Monte Carlo spread is mV-level
    spread = {n: max(v[n] for v in ch.corners_v.values()) - min(v[n] for v in ch.corners_v.values())
              for n in ch.nominal_v}  # fmt: skip
    assert all(0.005 < s < 0.3 for s in spread.values()), spread
    assert all(0 < s < 0.01 for s in ch.mc_sigma_v.values()), ch.mc_sigma_v
    assert all(r > 0 for r in ch.r_out_ohm.values())
    assert 0 < ch.power_w < 50e-6


def test_a_bias_at_the_supply_is_the_supply() -> None:
    strings = size_strings(SKY130, dataclasses.replace(TARGETS, vcalb=1.8))
    calb = next(b for b in strings if b.net == "vcalb")
    assert bias_circuit.is_supply(calb)
    devs = bias_circuit.devices(strings)
    assert [d for d in devs if d.name.startswith("VCALB")] == [
        bias_circuit.Device("VCALB_ON", "p", "vcalb", "0", "vdd", 4.0, 0.15)
    ]


def test_an_unreachable_bias_is_refused() -> None:
    with pytest.raises(ValueError, match=r"vcp = 0\.05 V is outside"):
        size_strings(SKY130, dataclasses.replace(TARGETS, vcp=0.05))


@needs_klayout
@pytest.mark.usefixtures("sky130_active")
def test_sequencer_layout_is_drc_clean_and_matches_its_circuit(tmp_path) -> None:
    """The block placed and routed from its netlist: both DRC decks (sign-off when PDK_ROOT
    is set), LVS against its device list; the reference without one transistor mismatches.
    (Every block is checked again, in place, by the chip's top cell: test_chip.py.)"""
    from twinedge.cells import periphery
    from twinedge.cells.gds import write_gds
    from twinedge.verify.drc import run_drc
    from twinedge.verify.lvs import run_block_lvs

    comp, cc = periphery.sequencer_block(), periphery.sequencer_circuit()
    gds = write_gds(comp, tmp_path / "sequencer.gds")
    drc = run_drc(gds, tmp_path / "drc", SKY130)
    assert drc.clean and drc.violations == 0, drc.as_dict()
    lvs = run_block_lvs(gds, list(cc.globals), list(cc.devices), SKY130, tmp_path / "lvs")
    assert lvs.match, lvs.mismatches
    fewer = [d for d in cc.devices if d.name != "CBP"]
    broken = run_block_lvs(gds, list(cc.globals), fewer, SKY130, tmp_path / "lvs2")
    assert not broken.match and broken.mismatches
