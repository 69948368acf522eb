"""Input drivers (twinedge.circuits.input_driver): the switch's on-resistance with the SKY130
models, and how far it moves the network's equilibria."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from conftest import DESIGNS

from twinedge.characterise.input_driver import (
    characterise_input_driver,
    equilibrium_shift,
    on_resistance,
)
from twinedge.circuits.input_driver import InputDriverSizing, devices, subckt
from twinedge.pdk import get as get_pdk
from twinedge.sim.learning import CoupledLearning
from twinedge.sim.models import edge_model
from twinedge.sim.network import Network
from twinedge.spec.loader import load_spec

SKY130 = get_pdk("sky130")


def test_driver_is_an_inverter_and_two_fingered_switches() -> None:
    devs = devices()
    assert len(devs) == 2 + 2 * InputDriverSizing().switch_n
    assert {d.g for d in devs if d.name.startswith("SH")} == {"bit"}
    assert {d.g for d in devs if d.name.startswith("SL")} == {"bitb"}
    assert subckt(SKY130).count(SKY130.nfet) == 1 + 2 * InputDriverSizing().switch_n


def test_on_resistance_falls_with_width_and_rises_at_the_high_rail() -> None:
    r_lo, r_hi = on_resistance(SKY130, "tt", (0.0, 0.45), InputDriverSizing())
    assert 10 < r_lo < r_hi < 1000  # the high rail leaves the NMOS less gate drive
    narrow = on_resistance(SKY130, "tt", (0.0, 0.45), InputDriverSizing(switch_n=1))
    assert narrow[0] == pytest.approx(4 * r_lo, rel=0.1)


def test_the_drivers_shift_of_the_xor_equilibria_is_measured() -> None:
    spec = load_spec(DESIGNS / "xor_4x4_cl.yaml")  # its network with the PDK's table model
    d = spec.design
    learner = CoupledLearning(Network.from_design(d), edge_model(d), spec.dataset, d.training)
    ch = characterise_input_driver(SKY130, "tt", learner)
    assert ch.max_input_current_a > 1e-7  # the network does draw input current
    # I x R_on at the inputs; it reaches the outputs attenuated
    assert 0 < ch.max_input_shift_v <= ch.max_input_current_a * ch.r_on_high_ohm * 1.01
    assert 0 < ch.max_output_shift_v < ch.max_input_shift_v
    # ten times the resistance, about ten times the shift (first order)
    ten = equilibrium_shift(learner, (10 * ch.r_on_low_ohm, 10 * ch.r_on_high_ohm))
    assert ten[0] == pytest.approx(10 * ch.max_input_shift_v, rel=0.2)
    assert dataclasses.asdict(ch) == ch.as_dict() and np.isfinite(list(ch.as_dict().values())).all()
