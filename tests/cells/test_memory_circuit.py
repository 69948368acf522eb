"""The time-differenced on-chip update circuit (twinedge.circuits.memory): real ngspice
learning steps with the SKY130 models, its characterisation and its simulator rule."""

from __future__ import annotations

import dataclasses
import hashlib
import json

import numpy as np
import pytest
from conftest import short_cl

from twinedge.characterise.memory import (
    SIGNAL,
    StepRun,
    cached_memory_characterisation,
    calibrate_floor,
    squarer_dc,
    step_dg,
)
from twinedge.characterise.mirror import FLOOR_MARGIN
from twinedge.circuits.memory import MemoryBias, MemorySizing, devices, subckt
from twinedge.learn.onchip import MemoryRule
from twinedge.learn.train import circuit_conditions
from twinedge.pdk import get as get_pdk
from twinedge.spec.loader import load_spec

SKY130 = get_pdk("sky130")


@pytest.fixture(scope="module")
def characterised(tmp_path_factory):
    """The characterisation of test_onchip's short CL design (2 us phases, 4 Monte Carlo
    instances; the shipped design's 4 pF and 3 hold capacitors): the cache holds one run
    for both."""
    spec = load_spec(short_cl(tmp_path_factory.mktemp("cl")))
    return cached_memory_characterisation(circuit_conditions(spec.design))


def test_subckt_lists_every_device_once() -> None:
    names = [d.name for d in devices()]
    assert len(names) == len(set(names)) == 17
    text = subckt(SKY130)
    assert text.count("sky130_fd_pr__pfet_01v8") == 10
    assert text.count("sky130_fd_pr__nfet_01v8") == 7
    # a larger hold capacitance: parallel 5/20 PMOS capacitors (no model bin beyond L 20 um)
    big = subckt(SKY130, MemorySizing(hold_cap_n=3))
    assert big.count("sky130_fd_pr__pfet_01v8") == 12 and big.count(" vdd m vdd vdd ") == 3


def test_characterisation_meets_its_claims(characterised) -> None:
    ch = characterised
    # dG per step against dV_F^2 - dV_C^2 over |dV| <= 0.45 V (the squarer compresses to
    # ~0.76 of the square law at 0.45 V: docs/on_chip_learning.md)
    assert ch.r2 >= 0.95
    # a step without a nudge barely moves G at any dV: the stored current's error (the
    # 0.42 um cascodes of the first sizing left -2.3e-3 V^2 at 0.45 V)
    assert np.max(np.abs(ch.common_v)) / ch.gain_v_per_v2 < 4e-4
    assert ch.common_v[len(ch.common_v) // 2] == pytest.approx(0.0, abs=1e-9)
    assert ch.gain_v_per_v2 > 0  # G rises when the free twin drops more
    # the point of the time-differenced circuit: at zero input, next to no update (the
    # mirror circuit it replaced left ~4e-3 V^2)
    assert abs(ch.offset_mean_v2) < 2e-4
    assert 0 < ch.power_w < 20e-6  # micro-watts, vs the breadboard's ~100 mW
    # frozen: the bias stays on; G droops by pA leakage, the floor pushes below ~0.5 V
    assert 0 < ch.power_frozen_w < 20e-6
    frozen = dict(zip(ch.frozen_g, ch.frozen_i_a, strict=True))
    assert abs(frozen[1.0]) < 1e-10 and frozen[0.5] > abs(frozen[1.0])
    lo, hi = ch.g_window
    assert lo < 1.0 < hi
    assert len(ch.mc_gain_rel) == 4 and np.std(ch.mc_offset_v2) > 0  # mismatch draws differ
    # the transfer is an even function of dV (one squarer for both samples), to a few %
    t1 = np.asarray(ch.t1_v)
    assert np.allclose(t1, t1[::-1], atol=0.05 * t1.max())


def test_zero_input_step_leaves_g_alone_where_a_signal_moves_it() -> None:
    """Two instances, one step each: no input change, and a nudge (x = -4.4e-3 V^2)."""
    runs = [StepRun(0.0, 0.0, 1.0), StepRun(*SIGNAL, 1.0)]
    dg, power = step_dg(runs, SKY130, "tt", MemorySizing(), MemoryBias(), 1e-12, 2000.0)
    assert dg[1] < -10e-3  # the clamped twin dropped more: G falls, by ~20 mV per 2 us
    assert abs(dg[0]) < abs(dg[1]) / 20
    assert power > 0


def test_floor_sources_full_scale_below_g_min() -> None:
    s = MemorySizing()
    target = 150e-9
    g_floor = 0.45 - FLOOR_MARGIN
    vfl = calibrate_floor(SKY130, "tt", s, g_floor, target)
    assert 0.5 < vfl < 1.8
    assert calibrate_floor(SKY130, "tt", s, g_floor, target / 100) < vfl  # monotonic


def test_memory_rule_mismatch_draws(characterised) -> None:
    ch = dataclasses.replace(characterised, mc_gain_rel=[-0.02, 0.02], mc_offset_v2=[-1e-5, 1e-5])
    off = MemoryRule(ch, 20000, 0.3, mismatch=False, seed=0, g_max=1.8)
    assert np.all(off.gain == 1) and np.all(off.residual_dev_v == 0)
    on = MemoryRule(ch, 20000, 0.3, mismatch=True, seed=0, g_max=1.8)
    assert np.std(on.gain) == pytest.approx(0.02, rel=0.05)
    assert np.std(on.residual_dev_v) == pytest.approx(1e-5 * ch.gain_v_per_v2, rel=0.05)
    # sign: a larger free drop raises G, a larger clamped drop lowers it
    off = MemoryRule(ch, 2, 0.3, mismatch=False, seed=0, g_max=1.8)
    g = np.full(2, 1.0)
    up = off(g, np.array([0.2, 0.0]), np.array([0.0, 0.2])) - off(g, np.zeros(2), np.zeros(2))
    assert up[0] > 0 > up[1]


def test_cal_phase_settling_is_measured_and_modelled(characterised) -> None:
    """The memory settles from the last step's state during CAL (tau ~0.2 us): a short CAL
    phase leaves a large error, 2 us next to none; MemoryRule adds what is left."""
    runs = [StepRun(0.0, 0.0, 1.0), StepRun(0.0, 0.0, 1.0, dv_prev=0.4)]
    errors = []
    for t_cal in (300.0, 2000.0):
        dg, _ = step_dg(
            runs, SKY130, "tt", MemorySizing(), MemoryBias(), 1e-12, 1000.0, t_cal_ns=t_cal
        )
        errors.append(abs(dg[1] - dg[0]))
    gain = characterised.gain_v_per_v2
    assert errors[0] / gain > 1e-3 and errors[1] / gain < 2e-5
    ch = dataclasses.replace(characterised, settle_dv=[-0.4, 0.0, 0.4], settle_v=[2e-3, 0.0, 2e-3])
    rule = MemoryRule(ch, 1, 0.3, mismatch=False, seed=0, g_max=1.8)
    g, zero = np.ones(1), np.zeros(1)
    first = rule(g, zero, np.full(1, 0.4))  # no previous state yet: no settling term
    second = rule(g, zero, zero)  # CAL starts from dV 0.4: + s(0.4) - s(0)
    fresh = MemoryRule(ch, 1, 0.3, mismatch=False, seed=0, g_max=1.8)
    fresh(g, zero, zero)
    assert second - fresh(g, zero, zero) == pytest.approx(2e-3)
    assert first.shape == (1,)


def test_squarer_pair_is_square_law_while_both_devices_conduct() -> None:
    """k (Vov^2 + dV^2) with a high follower bias; with a low one a squarer turns off beyond
    |dV| = Vov and the sum falls towards k/2 dV^2 (the compression the design note tracks)."""
    dv = np.linspace(0.0, 0.45, 10)

    def ratio(vbp: float) -> np.ndarray:
        i = squarer_dc(SKY130, "tt", MemorySizing(), vbp, dv)
        k = (i[1] - i[0]) / dv[1] ** 2
        return (i[1:] - i[0]) / (k * dv[1:] ** 2)

    assert np.allclose(ratio(0.4), 1.0, atol=0.05)
    assert 0.4 < ratio(0.7)[-1] < 0.7
    assert ratio(0.6)[-1] > ratio(0.7)[-1]  # the default VBP 0.6 squares further


def test_a_shifted_floor_is_a_characterisation_of_its_own(tmp_path) -> None:
    """VFLOOR off its calibrated level (the bias generator's spread) keys its own cached
    characterisation; the calibrated floor keeps the key it had."""
    cond = circuit_conditions(load_spec(short_cl(tmp_path)).design)
    assert cond.vfloor_shift == 0.0
    assert dataclasses.replace(cond, vfloor_shift=4.5e-3).digest() != cond.digest()
    # the calibrated floor's key leaves the field out: caches made before it stay valid
    fields = {k: v for k, v in dataclasses.asdict(cond).items() if k != "vfloor_shift"}
    text = json.dumps({**fields, "circuit": "memory", "version": 5}, sort_keys=True)
    assert cond.digest() == hashlib.sha256(text.encode()).hexdigest()[:16]
