"""The constant-gm bias reference on GF180MCU (its poly resistor): sized to the rail buffers'
tail current, it holds that current over the corners far better than a diode string and
starts by itself (and does not without its start-up devices); a GF180MCU rail biased by it
holds at the slow corner, where a string-biased one let go (docs/periphery.md). Its layout's
DRC and LVS run with the other GF180MCU blocks (tests/cells/test_gf180.py)."""

from __future__ import annotations

from dataclasses import astuple, replace

import twinedge.pdk
from twinedge.characterise.constant_gm import (
    characterise_reference,
    reference_op,
    size_reference,
    starts,
    tail_unit_current,
)
from twinedge.characterise.rail_buffer import (
    RailBufferConditions,
    load_sweep,
    size_output,
)

GF180 = twinedge.pdk.get("gf180mcu")
VDD = 3.3


def _tail_current(vbe: float = 2.2) -> float:
    return tail_unit_current(GF180, VDD, vbe)


def test_reference_sized_to_a_tail_current_holds_it_over_the_corners_and_starts() -> None:
    """The tail current vbe = 2.2 V gives at tt: within 1 % at tt; at ss (thresholds up, and
    the resistor's sheet +20 %) within -35 %, at ff within +60 % (a string's fell
    several-fold); started from zero current at every corner, and without its start-up
    devices it stays there."""
    i_unit = _tail_current()
    s = size_reference(GF180, i_unit, VDD)
    ch = characterise_reference(GF180, s, VDD, i_unit)
    i = ch.corner_i_unit_a
    assert abs(i["tt"] / i_unit - 1) < 0.01, i
    assert i["ss"] > 0.65 * i["tt"] and i["ff"] < 1.6 * i["tt"], i
    assert all(ch.corner_started.values()), ch.corner_started
    bare = replace(s, startup=False)
    assert not starts(GF180, bare, VDD, "tt", reference_op(GF180, s, VDD, "tt")["i_unit"])


def test_a_gf180_rail_biased_by_the_reference_holds_at_the_slow_corner() -> None:
    """The 0.33 V follower rail at 3.3 V, its tails on the reference: within 5 mV of its
    level over its whole load at ss; on a diode string sized to the same vbe, over 50 mV
    off there."""
    from twinedge.characterise.bias import size_strings

    s = size_reference(GF180, _tail_current(), VDD)
    cond = RailBufferConditions(level=0.33, i_source=180e-6, i_sink=5e-6, vbe=2.2, vdd=VDD,
                                bias_reference=astuple(s), mc_n=1)  # fmt: skip
    cond = replace(cond, sizing=size_output(GF180, cond))
    rows, _ = load_sweep(GF180, cond, "ss")
    assert abs(rows[:, 1]).max() < 5e-3, abs(rows[:, 1]).max()
    (string,) = size_strings(GF180, {"vbe": 2.2}, vdd=VDD)
    on_string = replace(cond, bias_reference=None, bias_string=astuple(string))
    rows, _ = load_sweep(GF180, on_string, "ss")
    assert abs(rows[:, 1]).max() > 50e-3, abs(rows[:, 1]).max()
