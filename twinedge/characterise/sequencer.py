"""Characterisation of the phase sequencer (:mod:`twinedge.circuits.sequencer`) with the PDK's
models: the order and gaps of its edges, which the update circuit's step assumes, over the
corners.

One transient per corner: the clock rises and falls with every output loaded by the array's
lines (``c_line``). Measured at half swing: the non-overlap gaps (CAL off -> LEARN on, LEARN
off -> CAL on), NUDGE's delay after LEARN closes, CALB's settled level against VCALB, the
energy one clock period takes from the supply (the lines' charging included), and the
reset: RST_N falls, the clock rises (discharge: CAL and LEARN closed, the floor line at
ground) and falls (charge: LEARN open, the floor line at VRESET).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from twinedge import processes
from twinedge.characterise.mirror import model_header, numeric_rows, run_transient
from twinedge.circuits.sequencer import PORTS, SUBCKT, SequencerSizing, subckt
from twinedge.pdk import Pdk
from twinedge.spice.deck import pwl

CORNERS = ("tt", "ff", "ss", "sf", "fs")
T_RISE, T_FALL, T_END = 20e-9, 70e-9, 120e-9  # clock edges (s); one period ends at T_END
T_RESET = 125e-9  # then RST_N falls: the floor line switches to VRESET
T_DIS, T_CHG, T_STOP = 175e-9, 225e-9, 275e-9  # the clock high in reset (discharge), low
VFLOOR, VRESET = 0.9115, 1.6  # the floor bias and a reset level, to tell them apart


@dataclass(frozen=True)
class SequencerConditions:
    vcalb: float = 0.959
    c_line: float = 300e-15  # each output line: 32 cells' gates and the wire
    sizing: SequencerSizing = field(default_factory=SequencerSizing)


@dataclass
class SequencerCorner:
    corner: str
    gap_cal_learn_s: float  # CAL below half swing -> LEARN above it (clock rises)
    gap_learn_cal_s: float  # LEARN below half swing -> CAL above it (clock falls)
    nudge_after_learn_s: float  # LEARN up -> NUDGE up
    nudge_after_cal_s: float  # CAL up -> NUDGE down (clock falls)
    calb_high_v: float  # CALB's level with CAL open
    vbe_ee_v: float  # the error element's bias while running (VBE passed through)
    energy_per_cycle_j: float
    vfloor_run_v: float  # the cells' floor line while running (VFLOOR passed)
    vfloor_reset_v: float  # the same with RST_N low (VRESET passed)
    # RST_N low, clock high: the discharge phase's lines (CAL and LEARN high, LEARNB and the
    # floor line low)
    discharge_v: dict[str, float] = field(default_factory=dict)
    vfloor_charge_v: float = 0.0  # the floor line once the clock falls again in reset

    def as_dict(self) -> dict:
        return asdict(self)


DISCHARGE_LINES = ("cal", "learn", "learnb", "vfloor")
INPUTS = ("clk", "train", "ena", "rst_n", "vdd", "vcalb", "vbe", "vfloor_in", "vreset")


def _crossing(t: np.ndarray, v: np.ndarray, level: float, after: float, rising: bool) -> float:
    """First time after ``after`` where ``v`` crosses ``level`` in the given direction."""
    above = v > level
    hit = (above[1:] & ~above[:-1]) if rising else (~above[1:] & above[:-1])
    for i in np.nonzero(hit)[0]:
        if t[i + 1] > after:
            return float(t[i] + (t[i + 1] - t[i]) * (level - v[i]) / (v[i + 1] - v[i]))
    raise ValueError(f"no {'rising' if rising else 'falling'} crossing of {level} after {after}")


def deck(pdk: Pdk, cond: SequencerConditions, corner: str) -> str:
    vdd = pdk.vdd
    clk = pwl([(0, 0), (T_RISE, 0), (T_RISE + 0.2e-9, vdd), (T_FALL, vdd), (T_FALL + 0.2e-9, 0),
               (T_DIS, 0), (T_DIS + 0.2e-9, vdd), (T_CHG, vdd), (T_CHG + 0.2e-9, 0)])  # fmt: skip
    rst = pwl([(0, vdd), (T_RESET, vdd), (T_RESET + 0.2e-9, 0)])
    ports = {p: p for p in INPUTS} | {"train": "vdd", "ena": "vdd"}
    outs = [p for p in PORTS if p not in ports]
    lines = [
        model_header(pdk, corner, None, "twinedge phase sequencer").rstrip("\n"),
        subckt(pdk, cond.sizing).rstrip("\n"),
        f"Vvdd vdd 0 {vdd!r}",
        f"Vvcalb vcalb 0 {cond.vcalb!r}",
        "Vvbe vbe 0 0.6",
        f"Vclk clk 0 {clk}",
        f"Vrst rst_n 0 {rst}",
        f"Vvfloor vfloor_in 0 {VFLOOR!r}",
        f"Vvreset vreset 0 {VRESET!r}",
        f"X1 {' '.join(ports.get(p, p) for p in PORTS)} {SUBCKT}",
        *(f"C{o} {o} 0 {cond.c_line!r}" for o in outs),
        ".control", "set numdgt=10", f"tran 10p {T_STOP!r} 0 20p",
        f"wrdata seq.dat {' '.join(f'v({o})' for o in outs)} i(vvdd)", "quit 0", ".endc", ".end",
    ]  # fmt: skip
    return "\n".join(lines) + "\n"


def measure(pdk: Pdk, cond: SequencerConditions, corner: str) -> SequencerCorner:
    outs = [p for p in PORTS if p not in INPUTS]
    rows = numeric_rows(run_transient(deck(pdk, cond, corner)), columns=2 * (len(outs) + 1))
    t = rows[:, 0]
    v = {o: rows[:, 1 + 2 * k] for k, o in enumerate(outs)}
    i_vdd = rows[:, -1]
    half = pdk.vdd / 2
    cal_off = _crossing(t, v["cal"], half, T_RISE, rising=False)
    learn_on = _crossing(t, v["learn"], half, T_RISE, rising=True)
    nudge_on = _crossing(t, v["nudge"], half, T_RISE, rising=True)
    learn_off = _crossing(t, v["learn"], half, T_FALL, rising=False)
    cal_on = _crossing(t, v["cal"], half, T_FALL, rising=True)
    nudge_off = _crossing(t, v["nudge"], half, T_FALL, rising=False)
    calb = float(np.interp(T_FALL - 5e-9, t, v["calb"]))
    vbe_ee = float(np.interp(T_FALL - 5e-9, t, v["vbe_ee"]))
    # one period: from before the rising edge to the end (every line back where it started)
    sel = (t >= T_RISE - 5e-9) & (t <= T_END)
    energy = pdk.vdd * -float(np.trapezoid(i_vdd[sel], t[sel]))
    vfloor_run = float(np.interp(T_FALL - 5e-9, t, v["vfloor"]))
    vfloor_reset = float(np.interp(T_DIS - 5e-9, t, v["vfloor"]))
    discharge = {o: float(np.interp(T_CHG - 5e-9, t, v[o])) for o in DISCHARGE_LINES}
    vfloor_charge = float(np.interp(T_STOP - 5e-9, t, v["vfloor"]))
    return SequencerCorner(
        corner, learn_on - cal_off, cal_on - learn_off, nudge_on - learn_on, nudge_off - cal_on,
        calb, vbe_ee, energy, vfloor_run, vfloor_reset, discharge, vfloor_charge,
    )  # fmt: skip


def characterise_sequencer(pdk: Pdk, cond: SequencerConditions) -> list[SequencerCorner]:
    """Every corner (one transient each, side by side)."""
    workers = min(len(CORNERS), processes.jobs())
    return processes.parallel(lambda c: measure(pdk, cond, c), CORNERS, workers)
