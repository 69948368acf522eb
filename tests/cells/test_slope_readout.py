"""The digital read-out on GF180MCU (a ramp, a comparator, the board's timer): every level
from 0.1 to 1.7 V read back within 10 mV after the board's two-point calibration, at tt and
ss, later edges for higher levels, one timer tick under 15 mV. Its layout's DRC and LVS run
with the other GF180MCU blocks (tests/cells/test_gf180.py)."""

from __future__ import annotations

from dataclasses import astuple

import numpy as np

import twinedge.pdk
from twinedge.characterise.constant_gm import reference_for
from twinedge.characterise.slope_readout import SlopeConditions, characterise_slope_readout

GF180 = twinedge.pdk.get("gf180mcu")


def test_levels_read_back_within_10_mv_after_calibration() -> None:
    ref = astuple(reference_for(GF180, 3.3, 2.2))
    levels = (0.1, 0.3, 0.7, 0.9, 1.2, 1.45, 1.7)
    cond = SlopeConditions(bias_reference=ref, levels=levels)
    ch = characterise_slope_readout(GF180, cond, ("tt", "ss"))
    for c in ("tt", "ss"):
        t = np.array(ch.corner_times_s[c])
        assert np.all(np.diff(t) > 0), t  # later edges for higher levels
        assert ch.corner_max_error_v[c] < 10e-3, ch.corner_max_error_v
        assert ch.corner_lsb_v[c] < 15e-3  # one 8 ns tick of ramp
    assert ch.full_scale_s < 3e-6


def test_each_read_out_has_its_own_bias_inner_nodes_included() -> None:
    """A bias with an inner node (a string's tap) copied per read-out: loading one copy's
    output leaves the other's where it was (shared inner nodes would couple them)."""
    import re

    from twinedge.characterise.mirror import run_ngspice
    from twinedge.characterise.slope_readout import _own_biases

    string = ["R1 vdd vbe_0 1k", "R2 vbe_0 vbe 1k", "R3 vbe 0 2k"]
    deck = ["* own biases", "Vvdd vdd 0 3.3", *_own_biases(string, 2), "Rload vbe0 0 1k",
            ".control", "op", "print v(vbe0) v(vbe1)", "quit 0", ".endc", ".end"]  # fmt: skip
    out = run_ngspice("\n".join(deck) + "\n")
    v = {k: float(x) for k, x in re.findall(r"v\((vbe\d)\)\s*=\s*(\S+)", out)}
    assert abs(v["vbe1"] - 1.65) < 1e-6, v  # the unloaded copy: 3.3 V * 2k / 4k
    assert v["vbe0"] < 1.2, v
