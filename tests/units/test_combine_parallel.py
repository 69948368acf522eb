"""Parallel fingers combined into one instance with m= (twinedge.spice.combine): the same
currents and waveforms from ngspice, fewer devices."""

from __future__ import annotations

import re

import numpy as np

from twinedge.characterise.mirror import model_header, numeric_rows
from twinedge.pdk import get as get_pdk
from twinedge.spice.combine import combine_parallel
from twinedge.spice.deck import run_deck


def _fingers(pdk) -> list[str]:
    """Three fingers of one NMOS (the middle one drawn source-drain swapped, each with its
    own junctions, as an extractor writes them), a PMOS of another length beside them on
    the same nets, and a finger of a different width."""
    n, p = pdk.nfet, pdk.pfet
    return [
        f"X1 d g s 0 {n} l=1 w=1 as=0.285 ad=0.15 ps=2.57 pd=1.3",
        f"X2 s g d 0 {n} l=1 w=1 as=0.15 ad=0.15 ps=1.3 pd=1.3",
        f"X3 d g s 0 {n} l=1 w=1 as=0.15 ad=0.285 ps=1.3 pd=2.57",
        f"X4 d g s vdd {p} l=2 w=1 as=0.285 ad=0.285 ps=2.57 pd=2.57",
        f"X5 d g s 0 {n} l=1 w=2 as=0.57 ad=0.57 ps=4.57 pd=4.57",
        "C1 d 0 5f",
    ]


def _deck(pdk, body: list[str]) -> str:
    lines = [
        model_header(pdk, "tt", None, "fingers").rstrip("\n"),
        *body,
        ".options method=gear",  # no trapezoidal ringing on the edge
        "Vdd vdd 0 1.8",
        "Vg g 0 pwl(0 0 1n 0 1.5n 1.2)",
        "Rd vdd d 20k",
        "Vs s 0 0.1",
        ".control",
        "tran 20p 3n 0 20p",
        "wrdata out.dat v(d) i(vs)",
        "quit 0",
        ".endc",
        ".end",
    ]
    return "\n".join(lines) + "\n"


def test_combined_fingers_simulate_as_the_fingers_do() -> None:
    pdk = get_pdk("sky130")
    fingers = _fingers(pdk)
    combined = [" ".join(t) for t in combine_parallel([ln.split() for ln in fingers])]
    devices = [ln for ln in combined if ln.startswith("X")]
    assert len(devices) == 3  # X1-X3 one instance; X4 (PMOS) and X5 (other width) apart
    merged = dict(t.split("=") for t in devices[0].split()[6:])
    assert merged["m"] == "3"
    # junctions summed in X1's orientation (X2 swapped), one instance's share each
    assert abs(float(merged["as"]) * 3 - (0.285 + 0.15 + 0.15)) < 1e-12
    assert abs(float(merged["pd"]) * 3 - (1.3 + 1.3 + 2.57)) < 1e-12
    a, b = (numeric_rows(run_deck(_deck(pdk, body)), 4) for body in (fingers, combined))
    # on one time grid (the two runs' time points differ by femtoseconds on the edge)
    va, ia = a[:, 1], a[:, 3]
    vb, ib = (np.interp(a[:, 0], b[:, 0], b[:, k]) for k in (1, 3))
    assert np.ptp(va) > 0.3  # the gate step moves the drain: the devices do work
    # the same to 20 uV on a 1.4 V edge (time points a femtosecond apart)
    assert np.max(np.abs(va - vb)) < 2e-5
    charge = [np.trapezoid(i, a[:, 0]) for i in (ia, ib)]  # the source's charge, edges too
    assert abs(charge[0] - charge[1]) < 1e-5 * abs(charge[0])
    assert abs(ia[-1] - ib[-1]) < 1e-6 * abs(ia[-1])  # settled


def test_devices_that_differ_stay_apart() -> None:
    lines = [
        "X1 a g b 0 nf l=1 w=1",
        "X2 a g b 0 nf l=1 w=1 nf=2",  # another parameter
        "X3 a h b 0 nf l=1 w=1",  # another gate
        "X4 a g c 0 nf l=1 w=1",  # another net
        "R1 a b 1k",
        "X5 a g b 0 nf l=1 w=1 m=2",  # joins X1: m adds up
        "X6 c b e 0 npn area=1",
        "X7 e b c 0 npn area=1",  # no junction parameters: not symmetric, stays apart
        "X8 c b e 0 npn area=1",  # joins X6
        "X9 a g b 0 nf l=1 w=1 as={2*x}",  # an expression: kept as drawn
    ]
    st = [ln.split() for ln in lines]
    out = combine_parallel(st)
    assert [t[0] for t in out] == ["X1", "X2", "X3", "X4", "R1", "X6", "X7", "X9"]
    assert out[0][-1] == "m=3" and out[5][-1] == "m=2"
    assert not any(re.match("m=", t) for t in out[1])
