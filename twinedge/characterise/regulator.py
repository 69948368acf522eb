"""The linear regulator (:mod:`twinedge.circuits.regulator`): its pass device sized with the
PDK's models, then characterised as the supply it makes.

* load regulation at each corner: the output while the load sweeps from zero to the most
  the circuits draw (its worst error from the level, and the move over the load);
* line regulation: the output's move per volt of the input supply (the reference held; on
  chip the ladder's tap moves with the supply, so the output does, ratiometrically);
* offset at zero load over Monte Carlo instances (PDK local mismatch);
* load steps (zero to full and back, in 1 ns) on the regulator's own output capacitor and
  ``c_out`` beside it, at each corner:
  the largest excursion and the time back within :data:`SETTLE_TOL_V` (a loop that rings
  never gets back);
* start-up: the input supply ramped from 0 V (the reference with it, as the ladder's tap
  would be; the bias from the chip's constant-gm reference where given): the output must
  reach its level;
* power at zero load (the regulator's own draw, its divider included).

The bias ``vbe`` comes as for the rail buffers
(:func:`twinedge.characterise.rail_buffer.bias_lines`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from twinedge import processes
from twinedge.characterise.mirror import (
    model_header,
    monte_carlo_decks,
    numeric_rows,
    run_ngspice,
    run_transient,
)
from twinedge.characterise.rail_buffer import bias_lines, current_per_um
from twinedge.circuits.regulator import SUBCKT, RegulatorSizing, subckt
from twinedge.pdk import Pdk

CORNERS = ("tt", "ff", "ss", "sf", "fs")
SETTLE_TOL_V = 5e-3
PG_FULL = 1.5  # the pass device's gate at full load (V from ground)
PASS_MARGIN = 2.0  # the pass device sized for this many times the full load
RAMP_S = 10e-6
SWEEP_POINTS = 31


@dataclass(frozen=True)
class RegulatorConditions:
    level: float = 1.8  # the output (V)
    i_load: float = 300e-6  # the most the circuits draw (A)
    vdd: float = 3.3  # the input supply
    vbe: float = 2.2  # the tails' bias (rail_buffer.bias_lines: ideal, string or reference)
    bias_string: tuple | None = None
    bias_reference: tuple | None = None
    # on the output beside the regulator's own capacitor (CO): the circuits' VDD wiring and
    # gates, a lower bound (the less there is, the less the loop is damped)
    c_out: float = 1e-12
    t_step: float = 5e-6
    corner: str = "tt"
    mc_n: int = 8
    sizing: RegulatorSizing = field(default_factory=RegulatorSizing)

    @property
    def ref(self) -> float:
        return self.level / self.sizing.gain

    def __post_init__(self) -> None:  # plain floats: they are written into decks
        for name in ("level", "i_load", "vdd", "vbe", "c_out", "t_step"):
            object.__setattr__(self, name, float(getattr(self, name)))


@dataclass
class RegulatorCharacterisation:
    sizing: dict
    level: float
    i_load: float
    vdd: float
    bias_reference: tuple | None
    offset_v: float  # at zero load, the design corner
    corner_offset_v: dict[str, float]
    corner_max_error_v: dict[str, float]  # |out - level| over the load sweep
    corner_load_move_v: dict[str, float]  # zero-load to full-load change
    line_v_per_v: float  # d out / d vdd, the reference held
    mc_offset_sigma_v: float
    corner_settle_s: dict[str, float]  # back within SETTLE_TOL_V after the load steps
    corner_peak_v: dict[str, float]  # the largest excursion from the level at the steps
    started: bool
    start_s: float  # from the ramp's start to within SETTLE_TOL_V of the level
    power_w: float

    def as_dict(self) -> dict:
        return asdict(self)


def _header(pdk: Pdk, corner: str, seed: int | None = None) -> str:
    return model_header(pdk, corner, seed, "twinedge regulator", resistor=True).rstrip("\n")


def size_pass(pdk: Pdk, cond: RegulatorConditions) -> RegulatorSizing:
    """``cond.sizing`` with the pass device wide enough for the full load (times
    :data:`PASS_MARGIN`) with its gate at :data:`PG_FULL` and its drain at the level, at
    the slow corner (the level shifter cannot take its gate lower there)."""
    s = cond.sizing
    per_um = current_per_um(pdk, cond.vdd, "p", PG_FULL, cond.level, s.pass_l, corner="ss")
    w = math.ceil(cond.i_load * PASS_MARGIN / per_um / pdk.grid_um) * pdk.grid_um
    return RegulatorSizing(**{**s.as_dict(), "pass_w": round(w, 6)})


def _deck(pdk: Pdk, cond: RegulatorConditions, corner: str, vdd: str, ref: str) -> list[str]:
    return [_header(pdk, corner), subckt(pdk, cond.sizing).rstrip("\n"), vdd,
            *bias_lines(pdk, cond, corner), ref, f"X1 out ref vdd vbe {SUBCKT}"]  # fmt: skip


def load_sweep(pdk: Pdk, cond: RegulatorConditions, corner: str) -> tuple[np.ndarray, float]:
    """(rows (load A, out - level V), the regulator's power at zero load W)."""
    lines = _deck(pdk, cond, corner, f"Vvdd vdd 0 {cond.vdd!r}", f"Vref ref 0 {cond.ref!r}")
    step = cond.i_load / (SWEEP_POINTS - 1)
    lines += ["Iload out 0 0", ".control", "set numdgt=12",
              f"dc iload 0 {cond.i_load + step / 2!r} {step!r}",
              "wrdata dc.dat v(out) i(vvdd)", "quit 0", ".endc", ".end"]  # fmt: skip
    rows = numeric_rows(run_ngspice("\n".join(lines) + "\n"), columns=4)
    return np.c_[rows[:, 0], rows[:, 1] - cond.level], cond.vdd * -float(rows[0, 3])


def line_regulation(pdk: Pdk, cond: RegulatorConditions) -> float:
    """d out / d vdd (V/V) at zero load around ``cond.vdd`` (+-10 %), the reference held."""
    lines = _deck(pdk, cond, cond.corner, f"Vvdd vdd 0 {cond.vdd!r}", f"Vref ref 0 {cond.ref!r}")
    lo, hi = 0.9 * cond.vdd, 1.1 * cond.vdd
    lines += [".control", "set numdgt=12", f"dc vvdd {lo!r} {hi!r} {(hi - lo) / 10!r}",
              "wrdata line.dat v(out)", "quit 0", ".endc", ".end"]  # fmt: skip
    rows = numeric_rows(run_ngspice("\n".join(lines) + "\n"), columns=2)
    return float(np.polyfit(rows[:, 0], rows[:, 1], 1)[0])


def _offsets(pdk: Pdk, cond: RegulatorConditions, seed: int, n: int) -> np.ndarray:
    """Zero-load output errors of ``n`` Monte Carlo instances (one deck, ``seed``)."""
    lines = [_header(pdk, cond.corner, seed), subckt(pdk, cond.sizing).rstrip("\n"),
             f"Vvdd vdd 0 {cond.vdd!r}", *bias_lines(pdk, cond, cond.corner),
             f"Vref ref 0 {cond.ref!r}"]  # fmt: skip
    lines += [f"X{i} out{i} ref vdd vbe {SUBCKT}" for i in range(n)]
    lines += [".control", "set numdgt=10", "op", *[f"print v(out{i})" for i in range(n)],
              "quit 0", ".endc", ".end"]  # fmt: skip
    out = run_ngspice("\n".join(lines) + "\n")
    got = []
    for i in range(n):
        line = next(ln for ln in out.splitlines() if ln.startswith(f"v(out{i}) "))
        got.append(float(line.split("=")[1]) - cond.level)
    return np.array(got)


def _steps(pdk: Pdk, cond: RegulatorConditions, corner: str) -> tuple[float, float]:
    """(the slowest return within SETTLE_TOL_V of the end value after a load step, the
    largest excursion from the level) for zero -> full -> zero load."""
    rise, t = 1e-9, cond.t_step
    pwl = f"pwl(0 0 {t!r} 0 {t + rise!r} {cond.i_load!r} {2 * t!r} {cond.i_load!r} " \
          f"{2 * t + rise!r} 0)"  # fmt: skip
    lines = _deck(pdk, cond, corner, f"Vvdd vdd 0 {cond.vdd!r}", f"Vref ref 0 {cond.ref!r}")
    lines += [f"Iload out 0 {pwl}", f"Cout out 0 {cond.c_out!r}", ".control", "set numdgt=12",
              f"tran 2n {3 * t!r} 0 5n", "wrdata steps.dat v(out)", "quit 0", ".endc",
              ".end"]  # fmt: skip
    rows = numeric_rows(run_transient("\n".join(lines) + "\n"), columns=2)
    time, v = rows[:, 0], rows[:, 1]
    worst = 0.0
    for start, stop in ((t, 2 * t), (2 * t, 3 * t)):
        seg = (time >= start) & (time <= stop)
        outside = np.nonzero(np.abs(v[seg] - v[seg][-1]) > SETTLE_TOL_V)[0]
        if len(outside):
            worst = max(worst, float(time[seg][outside[-1]] - start))
    return worst, float(np.max(np.abs(v[time > t / 2] - cond.level)))


def _start(pdk: Pdk, cond: RegulatorConditions) -> tuple[bool, float]:
    """(reached the level, seconds until within SETTLE_TOL_V of it) from the input supply
    ramped from 0 V over RAMP_S, the reference ramped with it."""
    end = 4 * RAMP_S
    vdd = f"Vvdd vdd 0 pwl(0 0 {RAMP_S!r} {cond.vdd!r})"
    ref = f"Vref ref 0 pwl(0 0 {RAMP_S!r} {cond.ref!r})"
    lines = _deck(pdk, cond, cond.corner, vdd, ref)
    lines += [f"Cout out 0 {cond.c_out!r}", ".control", "set numdgt=12",
              f"tran 10n {end!r} 0 10n", "wrdata start.dat v(out)", "quit 0", ".endc",
              ".end"]  # fmt: skip
    rows = numeric_rows(run_transient("\n".join(lines) + "\n"), columns=2)
    time, v = rows[:, 0], rows[:, 1]
    outside = np.nonzero(np.abs(v - cond.level) > SETTLE_TOL_V)[0]
    # started: within the tolerance over the whole last ramp's length (not one sample: a
    # loop that rings would pass through the level)
    started = bool(np.all(np.abs(v[time > end - RAMP_S] - cond.level) < SETTLE_TOL_V))
    return started, float(time[outside[-1]]) if len(outside) else 0.0


def characterise_regulator(pdk: Pdk, cond: RegulatorConditions) -> RegulatorCharacterisation:
    """Every measurement of the module docstring, on ``cond.sizing`` as given (size it first
    with :func:`size_pass`)."""
    mc_decks = monte_carlo_decks(cond.mc_n)
    jobs = [("sweep", c) for c in CORNERS] + [("steps", c) for c in CORNERS]
    jobs += [("line", None), ("start", None)]
    jobs += [("mc", d) for d in mc_decks]

    def one(job: tuple):
        kind, arg = job
        if kind == "sweep":
            return load_sweep(pdk, cond, arg)
        if kind == "line":
            return line_regulation(pdk, cond)
        if kind == "steps":
            return _steps(pdk, cond, arg)
        if kind == "start":
            return _start(pdk, cond)
        return _offsets(pdk, cond, *arg)

    res = processes.parallel(one, jobs, min(len(jobs), processes.jobs()))
    n = len(CORNERS)
    sweeps = dict(zip(CORNERS, res[:n], strict=True))
    steps = dict(zip(CORNERS, res[n : 2 * n], strict=True))
    line, (started, start_s) = res[2 * n : 2 * n + 2]
    mc = np.concatenate(res[2 * n + 2 :])
    rows, power = sweeps[cond.corner]
    return RegulatorCharacterisation(
        sizing=cond.sizing.as_dict(),
        level=cond.level,
        i_load=cond.i_load,
        vdd=cond.vdd,
        bias_reference=cond.bias_reference,
        offset_v=float(rows[0, 1]),
        corner_offset_v={c: float(r[0, 1]) for c, (r, _) in sweeps.items()},
        corner_max_error_v={c: float(np.max(np.abs(r[:, 1]))) for c, (r, _) in sweeps.items()},
        corner_load_move_v={c: float(r[-1, 1] - r[0, 1]) for c, (r, _) in sweeps.items()},
        line_v_per_v=line,
        mc_offset_sigma_v=float(np.std(mc, ddof=1)) if len(mc) > 1 else 0.0,
        corner_settle_s={c: st for c, (st, _) in steps.items()},
        corner_peak_v={c: pk for c, (_, pk) in steps.items()},
        started=started,
        start_s=start_s,
        power_w=power,
    )
