"""On-chip learning cell: real ngspice characterisation with the SKY130 models, the update
rules (characterised circuit, ideal, hybrid digital) and a transistor-level array step."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from conftest import DESIGNS, short_cl
from typer.testing import CliRunner

from twinedge.characterise.mirror import (
    FLOOR_MARGIN,
    Conditions,
    Point,
    calibrate_floor,
    characterise,
    operating_points,
)
from twinedge.circuits.mirror import UpdateSizing, devices, subckt
from twinedge.cli import app
from twinedge.learn.onchip import HybridRule, IdealRule, OnChipRule, RuleLearning
from twinedge.pdk import get as get_pdk
from twinedge.sim.learning import CoupledLearning
from twinedge.sim.models import edge_model
from twinedge.sim.network import Network
from twinedge.spec.loader import load_spec
from twinedge.spec.schema import HybridUpdate

runner = CliRunner()
CL = DESIGNS / "xor_4x4_cl.yaml"  # the time-differenced circuit (cell.update.circuit: memory)
CL_MIRROR = DESIGNS / "xor_4x4_cl_mirror.yaml"
SKY130 = get_pdk("sky130")


@pytest.fixture(scope="module")
def characterised():
    cond = Conditions("sky130", "tt", UpdateSizing(), 0.7, 100e-15, 0.45, 200e-9, mismatch_n=4)
    return characterise(cond)


def test_subckt_lists_every_device_once() -> None:
    names = [d.name for d in devices()]
    assert len(names) == len(set(names)) == 21
    text = subckt(SKY130)
    assert text.count("sky130_fd_pr__pfet_01v8") == 15
    assert text.count("sky130_fd_pr__nfet_01v8") == 6


def test_characterisation_meets_its_claims(characterised) -> None:
    ch = characterised
    assert ch.r2 >= 0.95  # linear in dV_F^2 - dV_C^2 over |dV| <= 0.3 V
    assert ch.gain_a_per_v2 > 0  # sources into G when the free twin drops more
    assert ch.offset_fraction < 0.2
    assert 0 < ch.power_learning_w < 20e-6  # micro-watts, vs the breadboard's ~100 mW
    assert ch.power_gated_w < ch.power_frozen_w / 100
    lo, hi = ch.g_window
    assert lo < 1.0 < hi
    # the G node's capacitance: the spec's gate capacitor plus a little from the circuit
    assert 100e-15 < ch.c_gate_f < 130e-15
    assert len(ch.mc_gain) == 4 and np.std(ch.mc_gain) > 0  # mismatch draws differ
    assert 0.3 < ch.pulse_efficiency <= 1.05


def test_floor_sources_full_scale_below_g_min() -> None:
    s = UpdateSizing()
    target = 150e-9
    g_floor = 0.45 - FLOOR_MARGIN
    vfl = calibrate_floor(SKY130, "tt", s, 0.7, g_floor, target)
    pts = [
        Point(0.2, 0.2, 0.2, 0.2, g, learn=False, vbp=0.7, vfloor=vfl) for g in (g_floor, 0.45, 1.0)
    ]
    i, _ = operating_points(pts, SKY130, "tt", s)
    assert i[0] == pytest.approx(target, rel=0.15)
    assert i[1] < i[0] / 10 and abs(i[2]) < 1e-10  # off above the floor


def test_onchip_rule_mismatch_draws(characterised) -> None:
    ch = characterised
    ch = dataclasses.replace(ch, gain_sigma_rel=0.02, offset_sigma_a=5e-9)
    off = OnChipRule(ch, 20000, 200e-9, 100e-9, mismatch=False, seed=0, g_max=1.8)
    assert np.all(off.gain == 1) and np.all(off.offset == 0)
    on = OnChipRule(ch, 20000, 200e-9, 100e-9, mismatch=True, seed=0, g_max=1.8)
    assert np.std(on.gain) == pytest.approx(0.02, rel=0.05)
    assert np.std(on.offset) == pytest.approx(5e-9, rel=0.05)
    # sign: a larger free drop raises G, a larger clamped drop lowers it
    off = OnChipRule(ch, 2, 200e-9, 100e-9, mismatch=False, seed=0, g_max=1.8)
    g = np.full(2, 1.0)
    up = off(g, np.array([0.2, 0.0]), np.array([0.0, 0.2])) - off(g, np.zeros(2), np.zeros(2))
    assert up[0] > 0 > up[1]


def test_hybrid_rule_quantises() -> None:
    cfg = HybridUpdate(mode="hybrid", adc_bits=4, dac_bits=6, full_scale_v2=0.1)
    rule = HybridRule(cfg, rate=1000.0, t_h=1e-3, g_min=0.5, g_max=1.5)
    g = rule.write(np.array([0.5, 0.9, 1.5]))
    lsb = 1.0 / 63
    assert np.allclose((g - 0.5) / lsb, np.round((g - 0.5) / lsb))
    # an update below half an ADC step is measured as zero and lost
    small = rule(g, np.array([0.01, 0.01, 0.01]), np.zeros(3))
    assert np.array_equal(small, g)
    big = rule(g, np.array([1.0, 1.0, 1.0]), np.zeros(3))  # clipped to the ADC full scale
    assert big[1] == pytest.approx(rule.write(np.array([g[1] + 1000 * 1e-3 * 0.1]))[0])


def test_ideal_rule_reproduces_the_compiled_learner() -> None:
    spec = load_spec(DESIGNS / "xor_4x4_paper.yaml")
    d = spec.design
    d = d.model_copy(
        update={"training": d.training.model_copy(update={"duration": None, "steps": 60})}
    )
    args = (Network.from_design(d), edge_model(d), spec.dataset, d.training)
    ref = CoupledLearning(*args).run()
    tr = d.training
    rule = IdealRule(tr.rate, tr.t_h, tr.g_min, tr.g_max)
    got = RuleLearning(*args, rule=rule).run()
    assert np.allclose(got.g, ref.g, atol=1e-9)


def test_hybrid_update_learns_xor(tmp_path) -> None:
    res = runner.invoke(
        app, ["train", str(DESIGNS / "xor_4x4_cl_hybrid.yaml"), "--out", str(tmp_path)]
    )
    assert res.exit_code == 0, res.output
    assert "XOR solved" in res.output
    import json

    rec = json.loads((tmp_path / "train.json").read_text())
    assert rec["update"]["rule"] == "hybrid digital"
    assert rec["update"]["circuit"]["r2"] >= 0.95
    energy = rec["update"]["energy"]
    assert energy["energy_per_step_j"] == pytest.approx(
        energy["twins_power_w"] * energy["step_s"], rel=1e-9
    )


def test_flow_on_cl_design_lays_out_verifies_and_trains(tmp_path, monkeypatch) -> None:
    """The CL flow on the time-differenced circuit: a DRC-clean, LVS-matched layout (real
    KLayout deck and comparer) of the twins and their 17-transistor update circuits, the
    circuit's whole-step characterisation, one cell extracted (kpex) and its steps re-run,
    training with both rules, the report. Short steps (1 us) and 300 of them keep CI quick."""
    import json

    from twinedge.circuits.memory import MemorySizing
    from twinedge.circuits.memory import devices as memory_devices

    spec = short_cl(tmp_path)
    monkeypatch.chdir(tmp_path)
    res = runner.invoke(app, ["flow", str(spec)])
    assert res.exit_code == 0, res.output
    assert "drc: clean" in res.output and "lvs: match" in res.output
    build = tmp_path / "build" / "xor_4x4_cl"
    lvs = json.loads((build / "lvs" / "lvs.json").read_text())
    # twins, gate capacitor, update circuit; LVS combines the parallel hold capacitors
    per_edge = 3 + len(memory_devices(MemorySizing(hold_cap_n=1)))
    assert lvs["layout_devices"] == lvs["reference_devices"] == 32 * per_edge
    rec = json.loads((build / "train" / "train.json").read_text())
    energy = rec["update"]["energy"]
    assert rec["update"]["rule"] == "on-chip" and rec["update"]["update_circuit"] == "memory"
    total = energy["energy_per_step_twins_j"] + energy["energy_per_step_update_circuits_j"]
    assert energy["energy_per_step_j"] == pytest.approx(total)
    assert 1e-11 < energy["energy_per_step_j"] < 1e-8  # 32 circuits at ~5 uW for ~1.2 us
    assert (build / "characterise" / "characterisation.png").exists()
    summary = json.loads((build / "characterise" / "summary.json").read_text())
    assert summary["circuit"] == "memory" and summary["r2"] >= 0.95
    assert summary["offset_fraction_of_full_scale"] < 0.01
    # one laid-out cell extracted (kpex, pfet layers included) and its steps re-run
    assert "post-layout cell (klayout-pex" in res.output
    pl = json.loads((build / "post_layout_cell" / "post_layout.json").read_text())
    assert pl["resistors"] > 100 and pl["capacitors"] > 100
    assert pl["gain_v_per_v2"] == pytest.approx(summary["gain_v_per_v2"], rel=0.3)
    assert pl["schematic_gain_v_per_v2"] == summary["gain_v_per_v2"]
    assert len(pl["zero_v"]) == len(pl["g_points"]) >= 3
    # the layout's systematic charge on the hold node, trimmed away with CALB's level
    trim = json.loads((build / "trim" / "trim.json").read_text())
    assert 0.0 < trim["calb_high_v"] < 1.8 and abs(trim["residual_v2"]) <= 1e-4
    assert pl["calb_high_v"] == trim["calb_high_v"] and abs(pl["residual_v2"]) < 1e-4
    report = json.loads((build / "report.json").read_text())
    assert report["post_layout_cell"] == pl and report["trim"] == trim
    post = json.loads((build / "post_layout" / "train.json").read_text())
    assert post["post_layout_cell"] == pl  # trained with the extracted cell's numbers
    assert post["update"]["circuit"]["gain_v_per_v2"] == pl["gain_v_per_v2"]
    assert report["post_layout_training"]["final_mse"] == post["final_mse"]
    assert report["tapeout_ready"] is False and report["not_ready_because"]
    assert all(d["clean"] for d in report["verified"]["drc"])
    assert report["verification"]["drc"]["violations"] == 0
    assert report["energy"]["energy_per_step_j"] == energy["energy_per_step_j"]
    html = (build / "report.html").read_text()
    assert "On-chip learning circuit" in html and "time-differenced" in html


def test_characterise_rejects_plain_cell() -> None:
    res = runner.invoke(app, ["characterise", str(DESIGNS / "xor_4x4.yaml")])
    assert res.exit_code == 2
    assert "cell.type" in res.output and "twin_edge_cl" in res.output


def test_memory_array_step_matches_measured_rule(tmp_path) -> None:
    """One learning step of the 4x4 array with 32 time-differenced circuits at transistor
    level (CAL at -eta, LEARN at +eta) against the measured per-step rule."""
    from twinedge.characterise.array_check import check_design

    res = check_design(load_spec(short_cl(tmp_path)))
    err = res.dg_transistor - res.dg_model
    assert np.sqrt(np.mean(res.dg_transistor**2)) > 2e-3  # the step does move G
    assert res.r2 > 0.9
    assert abs(err.mean()) < 3e-3


def test_transistor_level_step_matches_model() -> None:
    """One learning step of the 4x4 array, 32 update circuits at transistor level."""
    from twinedge.characterise.array_check import check_design

    res = check_design(load_spec(CL_MIRROR))
    err = res.dg_transistor - res.dg_model
    assert np.sqrt(np.mean(res.dg_transistor**2)) > 2e-3  # the step does move G
    assert res.r2 > 0.7
    assert abs(err.mean()) < 10e-3 and err.std() < 8e-3


def test_characterise_rejects_unknown_corner() -> None:
    res = runner.invoke(app, ["characterise", str(CL), "--corners", "tt,xx"])
    assert res.exit_code == 2
    assert "--corners" in res.output and "'xx'" in res.output and "tt, ff" in res.output
