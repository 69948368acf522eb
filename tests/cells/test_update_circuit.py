"""The on-chip update circuit (mirror): real ngspice characterisation with the SKY130 models,
and the update rules (characterised circuit, ideal, hybrid digital)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from conftest import DESIGNS

from twinedge.characterise.mirror import (
    FLOOR_MARGIN,
    Conditions,
    Point,
    calibrate_floor,
    characterise,
    operating_points,
)
from twinedge.circuits.mirror import UpdateSizing, devices, subckt
from twinedge.learn.onchip import HybridRule, IdealRule, OnChipRule, RuleLearning
from twinedge.pdk import get as get_pdk
from twinedge.sim.learning import CoupledLearning
from twinedge.sim.models import edge_model
from twinedge.sim.network import Network
from twinedge.spec.loader import load_spec
from twinedge.spec.schema import HybridUpdate

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
