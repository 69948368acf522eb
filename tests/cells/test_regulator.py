"""The circuits' supply regulator on GF180MCU (3.3 V -> 1.8 V): at its level within a few mV
over its load at every corner, load steps answered and settled at every corner, started from
a supply ramp; and the damping strip and its own output capacitor are what keep its fast
loop from ringing (the latter on the chip's few pF of VDD). Its layout's
DRC and LVS run with the other GF180MCU blocks (tests/cells/test_gf180.py)."""

from __future__ import annotations

from dataclasses import astuple, replace

import twinedge.pdk
from twinedge.characterise.constant_gm import reference_for
from twinedge.characterise.regulator import (
    CORNERS,
    RegulatorConditions,
    _steps,
    characterise_regulator,
    size_pass,
)

GF180 = twinedge.pdk.get("gf180mcu")


def _conditions() -> RegulatorConditions:
    ref = astuple(reference_for(GF180, 3.3, 2.2))
    cond = RegulatorConditions(level=1.8, i_load=300e-6, vdd=3.3, bias_reference=ref, mc_n=4)
    return replace(cond, sizing=size_pass(GF180, cond))


def test_regulator_holds_its_level_at_every_corner_and_starts() -> None:
    """1.8 V from 3.3 V and the ladder's 0.45 V (3 + 1 divider strips), bias from the
    constant-gm reference: within 5 mV from no load to 300 uA at every corner, load steps of
    300 uA on its own output capacitor (1 pF beside it) back within 5 mV in under 1 us at
    every corner, under 20 mV/V from the input supply, and up from a supply ramp."""
    ch = characterise_regulator(GF180, _conditions())
    assert max(ch.corner_max_error_v.values()) < 5e-3, ch.corner_max_error_v
    assert all(ch.corner_settle_s[c] < 1e-6 for c in CORNERS), ch.corner_settle_s
    assert abs(ch.line_v_per_v) < 0.02
    assert ch.started and ch.start_s < 20e-6


def test_without_its_damping_strip_or_its_output_capacitor_the_loop_rings() -> None:
    """The same regulator (which settles at every corner: above) without RX, or without its
    own output capacitor CO on the circuits' 1 pF (the chip's VDD rang so): after a load
    step it never gets back within 5 mV at tt (each step's segment 2 us long)."""
    cond = replace(_conditions(), t_step=2e-6)
    for bare in (dict(damp_l=0.0), dict(cap_n=0)):
        settle, _ = _steps(GF180, replace(cond, sizing=replace(cond.sizing, **bare)), "tt")
        assert settle > 0.8 * cond.t_step, (bare, settle)
