"""Characterisation of the time-differenced update circuit (:mod:`memory_circuit`).

Its update is not a DC current (the memory holds one phase's current into the next), so
every measurement is a transient of one whole learning step, per instance (many instances
side by side in one ngspice run, each with its own inputs, G capacitor and start value):

    G held at G0 until T_HOLD; inputs at the free state (the clamped twin at eta = 0);
    CAL opens at T_CAL_OFF, LEARN closes at T_LEARN; the clamp is nudged at T_NUDGE
    (inputs -> the clamped state); LEARN opens t_h later; G read READ_AFTER later.

The quantity is dG per step, in volts, against x = dV_F^2 - dV_C^2:

* transfer: T1(dV) = dG(dV_F = dV, dV_C = 0) - dG(0, 0) on a dV grid (the circuit computes
  f(dV_F) - f(dV_C) with one f, so T1 is the whole transfer); gain and R^2 over the range;
* zero input against G: the residual per step (memory charge injection, X's charge shared
  into G, output resistance) - its slope is a pull towards G_cal - and the gain against G
  (the output's compliance window);
* Monte Carlo (the PDK's local mismatch): per instance, the zero-input residual (offset)
  and the gain, input-referred in V^2;
* power: the supply current averaged over the step.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from twinedge import processes
from twinedge.artifacts import cache_lock, private_tmp
from twinedge.characterise.mirror import (
    CM_MID,
    FLOOR_MARGIN,
    G_REF,
    NODE_MAX,
    floor_crossing,
    model_header,
    numeric_rows,
    run_ngspice,
    run_transient,
)
from twinedge.circuits.memory import PORTS, SUBCKT, MemoryBias, MemorySizing, devices, subckt
from twinedge.pdk import Pdk
from twinedge.pdk import get as get_pdk
from twinedge.spice.deck import pwl as spice_pwl

T_HOLD, T_CAL_OFF, T_LEARN, T_NUDGE = 100, 110, 120, 130  # ns
READ_AFTER = 70  # ns after LEARN opens
EDGE = 1  # ns
# the step decks' largest time step (ns): ngspice's error control sets the steps on the
# phase edges; the cap only bounds the settled stretches. Measured on 8 instances (zero
# input at three G, five signals; 6 us LEARN, benchmarks/bench_max_step.py): every dG at a
# 5 ns cap within 1.4e-6 V of the 0.5 ns run, as 0.2 ns is (1.2e-6 V: the solver's own
# floor, against an offset sigma of ~6e-5 V of dG), in 8.5x fewer points
MAX_STEP_NS = 5.0
CELL_SUBCKT = "twinedge_cl_cell"
CELL_PORTS = ("af", "bf", *PORTS)  # an extracted cell's labelled nets


@dataclass(frozen=True)
class StepRun:
    """One instance's step: edge voltage differences of the free and clamped state, G0."""

    dv_free: float
    dv_clamp: float
    g0: float = 1.0
    cm: float = CM_MID
    # the clamped twin's dV before the CAL phase (the previous step's): the inputs jump from
    # it to the free state when the CAL phase starts; None: settled from the start (DC)
    dv_prev: float | None = None

    @property
    def x(self) -> float:
        return self.dv_free**2 - self.dv_clamp**2


# absolute current tolerance (A): at 1e-15 the CAL edge of uA-level instances on pF gates
# aborts ("timestep too small"); 1e-13 gives the same dG to 0.1 uV (checked on the default
# sizing's deck) and lets high-current sizings run
ABSTOL = 1e-13


def pwl(*pts: tuple[float, float]) -> str:
    """A piecewise-linear source, times in ns."""
    return spice_pwl(pts, "n")


def bias_sources(vdd: float, bias: MemoryBias, vfloor: float) -> list[str]:
    """The supply and the global bias voltages (every deck of the circuit)."""
    return [
        f"Vvdd vdd 0 {vdd!r}", f"Vvbp vbp 0 {bias.vbp!r}", f"Vvcn vcn 0 {bias.vcn!r}",
        f"Vvcp vcp 0 {bias.vcp!r}", f"Vvbj vbj 0 {bias.vbj!r}", f"Vvfloor vfloor 0 {vfloor!r}",
    ]  # fmt: skip


def phase_sources(
    vdd: float, bias: MemoryBias, vfloor: float, t_h_ns: float, t_cal_ns: float = 0.0
) -> list[str]:
    """Supplies, biases and the step's phase lines (CAL, CALB, LEARN, LEARNB) and the G hold
    switch's control ``hc`` (closed until T_HOLD): what every deck of a step shares."""
    t_cal_off, t_learn, t_nudge, t_hold = (
        t + t_cal_ns for t in (T_CAL_OFF, T_LEARN, T_NUDGE, T_HOLD)
    )
    t_off = t_nudge + t_h_ns

    def pulse(t0: float, t1: float, hi: bool) -> str:
        a, b = (0.0, vdd) if hi else (vdd, 0.0)
        return pwl((0, a), (t0, a), (t0 + EDGE, b), (t1, b), (t1 + EDGE, a))

    return [
        *bias_sources(vdd, bias, vfloor),
        f"Vcal cal 0 {pwl((0, vdd), (t_cal_off - EDGE, vdd), (t_cal_off, 0.0))}",
        f"Vcalb calb 0 {pwl((0, 0.0), (t_cal_off - EDGE, 0.0), (t_cal_off, bias.calb_high))}",
        f"Vlearn learn 0 {pulse(t_learn, t_off, True)}",
        f"Vlearnb learnb 0 {pulse(t_learn, t_off, False)}",
        f"Vhc hc 0 {pwl((0, 1.0), (t_hold, 1.0), (t_hold + EDGE, 0.0))}",
        ".model holdsw sw vt=0.5 vh=0.1 ron=10 roff=1e16",
    ]  # fmt: skip


def step_deck(
    runs: list[StepRun],
    pdk: Pdk,
    corner: str,
    sizing: MemorySizing,
    bias: MemoryBias,
    c_gate: float,
    t_h_ns: float,
    mismatch_seed: int | None = None,
    vfloor: float = 0.0,
    twin_wl: tuple[float, float] = (1.0, 1.0),
    cell: str | None = None,
    t_cal_ns: float = 0.0,
) -> str:
    """One ngspice deck: every run an instance of the circuit on its own G capacitor, loaded
    by the edge's two twin transistors (S/D at mid node voltage) as in the array. ``cell``:
    instead, the element lines of a whole extracted cell (twins, capacitor, circuit, wiring
    RC) whose nodes carry :data:`CELL_PORTS` names; the free twin's terminals sit at mid
    node voltage. ``t_cal_ns``: a CAL phase that long before CAL opens (every later phase
    shifted by it), during which runs with ``dv_prev`` settle from it to the free state."""
    t_nudge = T_NUDGE + t_cal_ns
    title = "twinedge time-differenced update circuit"
    lines = [model_header(pdk, corner, mismatch_seed, title, abstol=ABSTOL).rstrip("\n")]
    lines.append(subckt(pdk, sizing))
    if cell is not None:
        lines += [f".subckt {CELL_SUBCKT} {' '.join(CELL_PORTS)}", cell, f".ends {CELL_SUBCKT}"]
    t_off = t_nudge + t_h_ns
    lines += [*phase_sources(pdk.vdd, bias, vfloor, t_h_ns, t_cal_ns), f"Vtw tw 0 {CM_MID!r}"]
    for i, r in enumerate(runs):
        a0, b0 = r.cm + r.dv_free / 2, r.cm - r.dv_free / 2
        a1, b1 = r.cm + r.dv_clamp / 2, r.cm - r.dv_clamp / 2
        step = t_nudge + EDGE
        ports = {"ac": f"a{i}", "bc": f"b{i}", "g": f"g{i}"}
        pa = pb = ()
        if r.dv_prev is not None:  # settle from the previous step's state during CAL
            ap, bp = r.cm + r.dv_prev / 2, r.cm - r.dv_prev / 2
            pa = ((0, ap), (T_CAL_OFF - EDGE, ap))
            pb = ((0, bp), (T_CAL_OFF - EDGE, bp))
        lines += [
            f"Va{i} a{i} 0 {pwl(*pa, (T_CAL_OFF if pa else 0, a0), (t_nudge, a0), (step, a1))}",
            f"Vb{i} b{i} 0 {pwl(*pb, (T_CAL_OFF if pb else 0, b0), (t_nudge, b0), (step, b1))}",
            # G held at its start value by a switch (an .ic is lost if the op needs stepping)
            f"Vh{i} gh{i} 0 {r.g0!r}",
            f"Sh{i} g{i} gh{i} hc 0 holdsw",
        ]
        if cell is None:
            lines += [
                f"Cg{i} g{i} 0 {c_gate!r}",
                f"XTF{i} tw g{i} tw 0 {pdk.nfet} w={twin_wl[0]!r} l={twin_wl[1]!r}",
                f"XTC{i} tw g{i} tw 0 {pdk.nfet} w={twin_wl[0]!r} l={twin_wl[1]!r}",
                f"X{i} {' '.join(ports.get(p, p) for p in PORTS)} {SUBCKT}",
            ]
        else:
            ports |= {"af": "tw", "bf": "tw"}
            lines.append(f"XCELL{i} {' '.join(ports.get(p, p) for p in CELL_PORTS)} {CELL_SUBCKT}")
    vectors = " ".join(f"v(g{i})" for i in range(len(runs)))
    t_end = t_off + READ_AFTER + 10
    lines += [
        ".control", "set numdgt=12", f"tran 0.05n {t_end!r}n 0 {MAX_STEP_NS!r}n",
        f"wrdata tran.dat {vectors} i(vvdd)", "quit 0", ".endc", ".end",
    ]  # fmt: skip
    return "\n".join(lines) + "\n"


def step_dg(
    runs: list[StepRun],
    pdk: Pdk,
    corner: str,
    sizing: MemorySizing,
    bias: MemoryBias,
    c_gate: float,
    t_h_ns: float,
    mismatch_seed: int | None = None,
    vfloor: float = 0.0,
    twin_wl: tuple[float, float] = (1.0, 1.0),
    cell: str | None = None,
    t_cal_ns: float = 0.0,
) -> tuple[np.ndarray, float]:
    """dG per step of every run (V) and the supply power per instance averaged over the
    step from G's release (W)."""
    deck = step_deck(
        runs, pdk, corner, sizing, bias, c_gate, t_h_ns, mismatch_seed, vfloor, twin_wl, cell,
        t_cal_ns,
    )  # fmt: skip
    out = run_transient(deck)
    rows = numeric_rows(out, columns=2 * (len(runs) + 1))
    t = rows[:, 0]
    t_hold = T_HOLD + t_cal_ns
    t0, t1 = (t_hold - 1) * 1e-9, (T_NUDGE + t_cal_ns + t_h_ns + READ_AFTER) * 1e-9
    dg = np.array(
        [np.interp(t1, t, rows[:, 2 * i + 1]) - np.interp(t0, t, rows[:, 2 * i + 1])
         for i in range(len(runs))]
    )  # fmt: skip
    window = (t >= t_hold * 1e-9) & (t <= t1)
    i_vdd = -rows[window, -1]
    power = pdk.vdd * float(np.trapezoid(i_vdd, t[window]) / (t1 - t_hold * 1e-9)) / len(runs)
    return dg, power


FROZEN_G = (0.5, 0.75, 1.0, 1.25, 1.5)  # G of the frozen-droop operating points


def frozen_state(
    pdk: Pdk,
    corner: str,
    sizing: MemorySizing,
    bias: MemoryBias,
    vfloor: float,
    g: tuple = FROZEN_G,
) -> tuple[np.ndarray, float]:
    """Between steps (LEARN low, CAL low): the current into G at each G (leakage of the
    LEARN switches and the floor follower: the droop is it over C_G) and the supply power
    per circuit (its bias stays on), from one operating point with G held by sources."""
    lines = [model_header(pdk, corner, None, "twinedge memory circuit, frozen").rstrip("\n")]
    frozen = ["Vcal cal 0 0", f"Vcalb calb 0 {bias.calb_high!r}", "Vlearn learn 0 0",
              f"Vlearnb learnb 0 {pdk.vdd!r}"]  # fmt: skip
    lines += [subckt(pdk, sizing), *bias_sources(pdk.vdd, bias, vfloor), *frozen]
    lines.append(f"Vtw tw 0 {CM_MID!r}")
    for i, v in enumerate(g):
        ports = {"ac": "tw", "bc": "tw", "g": f"g{i}"}
        lines += [
            f"Vg{i} g{i} 0 {float(v)!r}",
            f"X{i} {' '.join(ports.get(p, p) for p in PORTS)} {SUBCKT}",
        ]
    lines += [".control", "op", *[f"print i(vg{i})" for i in range(len(g))], "print i(vvdd)",
              "quit 0", ".endc", ".end"]  # fmt: skip
    out = run_ngspice("\n".join(lines) + "\n")
    vals = dict(re.findall(r"i\((v\w+)\)\s*=\s*([-+0-9.eE]+)", out))
    into_g = np.array([float(vals[f"vg{i}"]) for i in range(len(g))])  # into G: > 0
    return into_g, pdk.vdd * -float(vals["vvdd"]) / len(g)


def calibrate_floor(
    pdk: Pdk, corner: str, sizing: MemorySizing, g_floor: float, current: float
) -> float:
    """VFLOOR at which the floor device (an NMOS follower from VDD onto G) sources
    ``current`` into G at G = ``g_floor``: above it the device is subthreshold and lets G be.
    """
    vfl = np.round(np.arange(0.5, pdk.vdd + 1e-9, 0.01), 3)
    lib = pdk.reduced_model_lib(pdk.nfet, corner)
    lines = ["* twinedge floor calibration", f".lib {lib} {corner}", ".option scale=1u",
             f"Vvdd vdd 0 {pdk.vdd!r}"]  # fmt: skip
    for i, v in enumerate(vfl):
        lines += [
            f"Vf{i} f{i} 0 {float(v)!r}",
            f"Vg{i} g{i} 0 {g_floor!r}",
            f"X{i} vdd f{i} g{i} 0 {pdk.nfet} w={sizing.floor_w!r} l={sizing.floor_l!r}",
        ]
    lines += [".control", "op"]
    lines += [f"print i(vg{i})" for i in range(len(vfl))]
    lines += ["quit 0", ".endc", ".end"]
    out = run_ngspice("\n".join(lines) + "\n")
    vals = dict(re.findall(r"i\((vg\d+)\)\s*=\s*([-+0-9.eE]+)", out))
    i_floor = np.array([float(vals[f"vg{i}"]) for i in range(len(vfl))])  # into G: > 0
    return floor_crossing(vfl, i_floor, current, g_floor)


@dataclass
class MemoryCharacterisation:
    """Per-step numbers of the time-differenced circuit (volts of G per learning step)."""

    corner: str
    sizing: dict
    bias: dict
    c_gate_f: float
    t_h: float
    range_v: float
    vfloor: float
    gain_v_per_v2: float  # dG per step per V^2 of x, small signal at G_REF
    r2: float  # of dG against x over |dV| <= range_v, nudges up to MAX_NUDGE_V
    r2_points: list[list[float]] = field(default_factory=list)  # (x, dG) of the fit
    dv_grid: list[float] = field(default_factory=list)
    t1_v: list[float] = field(default_factory=list)  # T1(dV): dG(dV, 0) - dG(0, 0)
    # dG(dV, dV) - dG(0, 0) on dv_grid: the error at no nudge, growing with the stored
    # current (the cascodes' output conductance as X moves from its CAL voltage to G's)
    common_v: list[float] = field(default_factory=list)
    g_grid: list[float] = field(default_factory=list)
    zero_v: list[float] = field(default_factory=list)  # zero-input dG per step against G
    gain_vs_g: list[float] = field(default_factory=list)  # relative to gain at G_REF
    pull_v2_per_v: float = 0.0  # -d(zero residual)/dG, input-referred
    g_cal: float = 0.0  # where the zero-input residual crosses zero
    g_window: tuple[float, float] = (0.0, 0.0)  # gain within 10 % and residual < 3e-4 V^2
    mc_n: int = 0
    mc_offset_v2: list[float] = field(default_factory=list)  # input-referred, per instance
    mc_gain_rel: list[float] = field(default_factory=list)
    power_w: float = 0.0
    # the CAL phase (s) and what it leaves unsettled: dG error per step when the clamped
    # twin's dV jumps from settle_dv to 0 as CAL starts (the memory settles with ~0.2 us)
    t_cal: float = 0.0
    settle_dv: list[float] = field(default_factory=list)
    settle_v: list[float] = field(default_factory=list)
    # frozen (LEARN and CAL low): current into G at FROZEN_G, and the bias's power
    frozen_g: list[float] = field(default_factory=list)
    frozen_i_a: list[float] = field(default_factory=list)
    power_frozen_w: float = 0.0

    @property
    def offset_mean_v2(self) -> float:
        return float(np.mean(self.mc_offset_v2)) if self.mc_offset_v2 else 0.0

    @property
    def offset_sigma_v2(self) -> float:
        return float(np.std(self.mc_offset_v2)) if self.mc_offset_v2 else 0.0

    @property
    def gain_sigma_rel(self) -> float:
        return float(np.std(self.mc_gain_rel)) if self.mc_gain_rel else 0.0

    def summary(self) -> dict:
        d = asdict(self)
        for k in ("dv_grid", "t1_v", "g_grid", "zero_v", "gain_vs_g", "mc_offset_v2",
                  "mc_gain_rel", "r2_points", "settle_dv", "settle_v"):  # fmt: skip
            d.pop(k)
        fs = self.range_v**2  # full scale of x (V^2)
        d.update(
            circuit="memory",
            offset_mean_v2=self.offset_mean_v2,
            offset_sigma_v2=self.offset_sigma_v2,
            full_scale_v2=fs,
            offset_fraction_of_full_scale=abs(self.offset_mean_v2) / fs,
            offset_sigma_fraction=self.offset_sigma_v2 / fs,
            gain_sigma_rel=self.gain_sigma_rel,
            breadboard_power_w=0.1,
            settling_error_max_v2=max(map(abs, self.settle_v), default=0.0) / self.gain_v_per_v2,
            droop_v_per_s_at_g={
                f"{g:.2f}": i / self.c_gate_f
                for g, i in zip(self.frozen_g, self.frozen_i_a, strict=True)
            },
        )
        return d


SIGNAL = (0.10, 0.12)  # (dV_F, dV_C) of the gain measurements: x = -4.4e-3 V^2
FLOOR_FRACTION = 0.1  # of the full-scale learning current, at G_min - FLOOR_MARGIN
CHUNK = 8  # steps per nominal deck: ngspice's time grows faster than a deck's (32: 21 s, 8: 2.5 s)
NUDGE_V = 0.02  # dV_C - dV_F of the transfer's slope measurements
MAX_NUDGE_V = 0.06  # the largest |dV_C - dV_F| of the linearity points


def _fit_pairs(range_v: float, n: int = 32, seed: int = 1) -> list[StepRun]:
    """Random learning steps over the claimed range: dV_F, a nudge of up to MAX_NUDGE_V,
    a common mode that keeps both terminals within 0 .. NODE_MAX."""
    rng = np.random.default_rng(seed)
    out = []
    while len(out) < n:
        dvf = rng.uniform(-range_v, range_v)
        dvc = dvf + rng.uniform(-MAX_NUDGE_V, MAX_NUDGE_V)
        half = max(abs(dvf), abs(dvc)) / 2
        if abs(dvc) > range_v or half > NODE_MAX - half:
            continue
        out.append(
            StepRun(float(dvf), float(dvc), G_REF, float(rng.uniform(half, NODE_MAX - half)))
        )
    return out


def characterise_memory(
    pdk: Pdk,
    corner: str,
    sizing: MemorySizing | None = None,
    bias: MemoryBias | None = None,
    c_gate: float = 1e-12,
    t_h: float = 2e-6,
    range_v: float = 0.45,
    mc_n: int = 24,
    seed: int = 0,
    g_min: float | None = None,
    twin_wl: tuple[float, float] = (1.0, 1.0),
    t_cal: float = 0.0,
    vfloor_shift: float = 0.0,
) -> MemoryCharacterisation:
    """Every measurement of the module docstring (~4 min on two cores with ``mc_n`` 32);
    ``t_cal``: the CAL phase whose incomplete settling is measured (0: not measured);
    ``vfloor_shift``: VFLOOR that far from its calibrated level (a bias generator's spread:
    the chip's VFLOOR is generated, not calibrated per chip)."""
    sizing, bias = sizing or MemorySizing(), bias or MemoryBias()
    th = round(t_h * 1e9, 3)
    x_sig = SIGNAL[0] ** 2 - SIGNAL[1] ** 2
    kw: dict = {"twin_wl": twin_wl}
    vfloor = 0.0
    if g_min is not None:
        # the floor sources a tenth of a full-range step's learning current FLOOR_MARGIN
        # below G_min; at G_min it is already ~100x weaker (subthreshold)
        pre, _ = step_dg(
            [StepRun(0.0, 0.0, G_REF), StepRun(*SIGNAL, G_REF)], pdk, corner, sizing, bias,
            c_gate, th, twin_wl=twin_wl,
        )  # fmt: skip
        full_scale = (pre[1] - pre[0]) / x_sig * range_v**2 * c_gate / t_h
        floor_current = FLOOR_FRACTION * full_scale
        vfloor = calibrate_floor(pdk, corner, sizing, g_min - FLOOR_MARGIN, floor_current)
        vfloor = round(vfloor + vfloor_shift, 6)
        kw["vfloor"] = vfloor
    dv = np.round(np.linspace(-range_v, range_v, 19), 6)
    g = np.round(np.arange(0.3, 1.81, 0.1), 6)
    # transfer: the slope f'(dV) from pairs NUDGE_V apart (a learning step's x is small: a
    # pair far apart would move G by ~1 V in one step and measure the output's compliance)
    runs = [StepRun(0.0, 0.0, G_REF)]
    runs += [StepRun(float(d - NUDGE_V / 2), float(d + NUDGE_V / 2), G_REF) for d in dv]
    runs += [StepRun(0.0, 0.0, float(v)) for v in g]
    runs += [StepRun(*SIGNAL, float(v)) for v in g]
    pairs = _fit_pairs(range_v)
    common = [StepRun(float(d), float(d), G_REF) for d in dv]
    mc = [StepRun(0.0, 0.0, G_REF)] * mc_n + [StepRun(*SIGNAL, G_REF)] * mc_n

    def chunks(steps: list[StepRun]) -> list[list[StepRun]]:
        return [steps[i : i + CHUNK] for i in range(0, len(steps), CHUNK)]

    # (runs, mismatch seed, CAL phase in ns) per deck; the nominal steps in decks of CHUNK,
    # each led by the zero-input step at G_REF that re-references it to the first deck's
    transfer = chunks(runs[1:])  # the supply power is these steps' average
    pieces = transfer + chunks([*pairs, *common])
    jobs = [([runs[0], *piece], None, 0.0) for piece in pieces]
    jobs += [(mc, seed, 0.0)] if mc_n else []
    settle_dv = np.round(np.linspace(-range_v, range_v, 7), 6) if t_cal else np.zeros(0)
    settle = [StepRun(0.0, 0.0, G_REF)] + [
        StepRun(0.0, 0.0, G_REF, dv_prev=float(d)) for d in settle_dv
    ]

    def run(job: tuple) -> tuple[np.ndarray, float]:
        deck_runs, mc_seed, t_cal_ns = job
        return step_dg(
            deck_runs, pdk, corner, sizing, bias, c_gate, th, mc_seed, t_cal_ns=t_cal_ns, **kw
        )

    jobs += [(settle, None, t_cal * 1e9)] if t_cal else []
    # independent ngspice runs, side by side on the machine's cores
    done = processes.parallel(run, jobs, min(len(jobs), processes.jobs()))
    zero = float(done[0][0][0])
    dg = np.concatenate([[zero], *(d[1:] - d[0] + zero for d, _ in done[: len(pieces)])])
    second = dg[len(runs) :]
    dg = np.concatenate([dg[: len(runs)], second[: len(pairs)]])
    n_per = [len(p) + 1 for p in transfer]
    power = float(np.dot([p for _, p in done[: len(transfer)]], n_per) / sum(n_per))
    cm = second[len(pairs) :] - zero
    k = 1 + len(dv)
    # a pair (dV -+ NUDGE_V / 2) carries the common-mode error at dV too: not the slope's
    slope_f = -(dg[1:k] - zero - cm) / NUDGE_V
    t1 = np.concatenate(([0.0], np.cumsum((slope_f[1:] + slope_f[:-1]) / 2 * np.diff(dv))))
    t1 -= np.interp(0.0, dv, t1)
    zero_g = dg[k : k + len(g)]
    gain_g = (dg[k + len(g) : k + 2 * len(g)] - zero_g) / x_sig
    ref = int(np.argmin(abs(g - G_REF)))
    gain = float(gain_g[ref])
    # linearity over the claimed range: dG against x at random (dV_F, dV_C, common mode)
    xs = np.array([r.x for r in pairs])
    ys = dg[k + 2 * len(g) :] - zero
    fit = np.polyfit(xs, ys, 1)
    r2 = float(1 - np.sum((ys - np.polyval(fit, xs)) ** 2) / np.sum((ys - ys.mean()) ** 2))
    # the zero-input residual near G_REF: a line (pull towards g_cal)
    near = np.abs(g - G_REF) <= 0.25
    slope, icpt = np.polyfit(g[near], zero_g[near], 1)
    ok = (np.abs(gain_g / gain - 1) <= 0.1) & (np.abs(zero_g / gain) <= 3e-4)
    lo = hi = ref
    while lo > 0 and ok[lo - 1]:
        lo -= 1
    while hi < len(g) - 1 and ok[hi + 1]:
        hi += 1
    dmc, gains = np.zeros(0), np.ones(0)
    if mc_n:
        dmc = done[len(pieces)][0]
        gains = (dmc[mc_n:] - dmc[:mc_n]) / x_sig
    settle_v = done[-1][0][1:] - done[-1][0][0] if t_cal else np.zeros(0)
    frozen_i, p_frozen = frozen_state(pdk, corner, sizing, bias, vfloor)
    return MemoryCharacterisation(
        corner=corner,
        sizing=sizing.as_dict(),
        bias=asdict(bias),
        c_gate_f=c_gate,
        t_h=t_h,
        range_v=range_v,
        vfloor=vfloor,
        gain_v_per_v2=gain,
        r2=r2,
        r2_points=np.c_[xs, ys].tolist(),
        dv_grid=dv.tolist(),
        t1_v=t1.tolist(),
        common_v=cm.tolist(),
        g_grid=g.tolist(),
        zero_v=zero_g.tolist(),
        gain_vs_g=(gain_g / gain).tolist(),
        pull_v2_per_v=float(-slope / gain),
        g_cal=float(-icpt / slope) if slope else G_REF,
        g_window=(float(g[lo]), float(g[hi])),
        mc_n=mc_n,
        mc_offset_v2=(dmc[:mc_n] / gains).tolist(),
        mc_gain_rel=(gains / gains.mean() - 1).tolist(),
        power_w=power,
        t_cal=t_cal,
        settle_dv=settle_dv.tolist(),
        settle_v=settle_v.tolist(),
        frozen_g=list(FROZEN_G),
        frozen_i_a=frozen_i.tolist(),
        power_frozen_w=p_frozen,
    )


@dataclass(frozen=True)
class MemoryConditions:
    """What a characterisation of the time-differenced circuit depends on (its cache key)."""

    pdk: str  # the spec's pdk: name
    corner: str
    sizing: MemorySizing
    bias: MemoryBias
    c_gate_f: float
    g_min: float
    t_h: float
    range_v: float = 0.45
    mc_n: int = 32
    twin_wl: tuple[float, float] = (1.0, 1.0)
    t_cal: float = 0.0
    vfloor_shift: float = 0.0  # VFLOOR off its calibrated level (V)

    def digest(self) -> str:
        import hashlib

        d = asdict(self)
        if not d["vfloor_shift"]:  # the calibrated floor: the key it had before the field
            del d["vfloor_shift"]
        text = json.dumps({**d, "circuit": "memory", "version": 5}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def save(m: MemoryCharacterisation, path: Path) -> None:
    path.write_text(json.dumps(asdict(m), indent=1))


def load(path: Path) -> MemoryCharacterisation:
    d = json.loads(path.read_text())
    d["g_window"] = tuple(d["g_window"])
    return MemoryCharacterisation(**d)


def cached_memory_characterisation(cond: MemoryConditions) -> MemoryCharacterisation:
    """:func:`characterise_memory` for ``cond``, cached (``$TWINEDGE_CACHE`` or ~/.cache)."""
    from twinedge.sim.tabulated import cache_dir

    path = cache_dir() / f"cl_memory_{cond.digest()}.json"
    with cache_lock(path):
        if path.exists():
            return load(path)
        m = characterise_memory(
            get_pdk(cond.pdk), cond.corner, cond.sizing, cond.bias, cond.c_gate_f, cond.t_h,
            cond.range_v, cond.mc_n, g_min=cond.g_min, twin_wl=cond.twin_wl, t_cal=cond.t_cal,
            vfloor_shift=cond.vfloor_shift,
        )  # fmt: skip
        tmp = private_tmp(path)
        save(m, tmp)
        tmp.replace(path)
    return m


def squarer_dc(
    pdk: Pdk, corner: str, sizing: MemorySizing, vbp: float, dv: np.ndarray, cm: float = CM_MID
) -> np.ndarray:
    """The squarer pair's DC current (A) against dV (followers, squarers and the NMOS
    diode only, one op): where it stays k (Vov^2 + dV^2) - both squarers on - and where one
    turns off (|dV| > Vov) and the sum falls towards k/2 dV^2."""
    keep = {"Fac", "Bac", "Fbc", "Bbc", "S1", "S2", "ND"}
    lib = pdk.reduced_model_lib((pdk.nfet, pdk.pfet), corner)
    lines = ["* twinedge squarer pair, DC", f".lib {lib} {corner}", ".option scale=1u",
             ".subckt sqpair ac bc vdd vbp"]  # fmt: skip
    for d in devices(sizing):
        if d.name in keep:
            # the diode's current through a 0 V source
            lines.append(d.spice(pdk).replace("XND sq sq 0", "XND sqd sqd 0"))
    lines += ["Vm sq sqd 0", ".ends sqpair", f"Vvdd vdd 0 {pdk.vdd!r}", f"Vvbp vbp 0 {vbp!r}"]
    for i, d in enumerate(dv):
        a, b = float(cm + d / 2), float(cm - d / 2)
        lines += [f"Va{i} a{i} 0 {a!r}", f"Vb{i} b{i} 0 {b!r}", f"X{i} a{i} b{i} vdd vbp sqpair"]
    lines += [".control", "op", *[f"print i(v.x{i}.vm)" for i in range(len(dv))], "quit 0",
              ".endc", ".end"]  # fmt: skip
    out = run_ngspice("\n".join(lines) + "\n")
    vals = dict(re.findall(r"i\(v\.x(\d+)\.vm\)\s*=\s*([-+0-9.eE]+)", out))
    return np.array([float(vals[str(i)]) for i in range(len(dv))])
