"""The rails' reference ladder on GF180MCU (its poly resistor): sized from the model, every
tap at its level at every corner, the levels a design's chip needs; refusals. Its layout's
DRC and LVS run with the other GF180MCU blocks (tests/cells/test_gf180.py)."""

from __future__ import annotations

import pytest
from conftest import DESIGNS

import twinedge.pdk
from twinedge.characterise.rail_reference import LadderConditions, characterise_ladder
from twinedge.circuits.rail_reference import stretches_of
from twinedge.spec import load_spec
from twinedge.spec.pinplan import rail_levels


def _xor_levels() -> dict[str, float]:
    spec = load_spec(DESIGNS / "xor_4x4_cl_gf180.yaml")
    return rail_levels(spec.design, spec.dataset.inputs, spec.dataset.labels)


def test_a_designs_chip_levels_are_its_rails() -> None:
    assert _xor_levels() == {"VIN_HI": 0.45, "Vplus": 0.33, "Vminus": 0.11, "VLABEL": 0.087}


def test_ladder_taps_hold_their_levels_at_every_corner() -> None:
    """XOR's four levels and a reset level from 3.3 V: within 2 mV of their targets at every
    corner (the sheet resistance moves +-20 % at ss/ff, every strip's alike; what is left is
    the heads'), the common scale within 1 %, the current as asked at tt."""
    levels = {k.lower(): v for k, v in _xor_levels().items()} | {"vreset": 1.6}
    cond = LadderConditions(tuple(levels.items()), 3.3, 15e-6)
    c = characterise_ladder(twinedge.pdk.get("gf180mcu"), cond)
    assert set(c.corner_levels) == {"tt", "ff", "ss", "sf", "fs"}
    assert max(c.corner_max_error_v.values()) < 2e-3, c.corner_max_error_v
    assert c.corner_max_error_v["tt"] < 1e-4
    assert all(abs(s - 1) < 0.01 for s in c.corner_scale.values()), c.corner_scale
    assert abs(c.current_a / 15e-6 - 1) < 0.01
    # the strips' lengths follow the stretches' voltages: the longest stretch is VDD's
    by_net = {s["hi"]: s["strips"] * s["l_um"] for s in c.stretches}
    assert max(by_net, key=by_net.get) == "vdd"


def test_a_stretch_shorter_than_the_shortest_strip_is_refused() -> None:
    """23 mV between the label level and 0.11 V at 20 uA: 1.15 kohm, under one strip's
    shortest (1 um of 1 kohm/sq, plus its heads)."""
    levels = {k.lower(): v for k, v in _xor_levels().items()}
    cond = LadderConditions(tuple(levels.items()), 3.3, 20e-6)
    with pytest.raises(ValueError, match=r"vlabel -> vminus .* under the resistor's 1 um"):
        characterise_ladder(twinedge.pdk.get("gf180mcu"), cond)


@pytest.mark.parametrize("levels", [{"a": 0.0}, {"a": 3.3}, {"a": 0.2, "b": 0.2}, {}])
def test_taps_must_lie_between_ground_and_the_supply(levels: dict) -> None:
    with pytest.raises(ValueError, match=r"strictly between 0 and 3\.3 V"):
        stretches_of(levels, 3.3)
