"""The rail buffer (:mod:`twinedge.circuits.rail_buffer`): its output stage sized with the
PDK's models, then characterised as the rail it makes.

Sizing (:func:`size_output`): each output device's width from one operating point of a
device at the voltages it sees at full load (the follower with its gate
:data:`X2_BELOW_TAIL` under the input pair's tail, the flipped follower's sink with its gate
at :data:`XF_FULL`, the biased device at the tails' bias), for its current times
:data:`BIAS_MARGIN`. Characterisation of the sized buffer at its rail level:

* load regulation, at each corner: the level while the rail's load sweeps from sinking to
  sourcing the largest currents (the datapoints' currents lie inside; zero is a sweep
  point): its output resistance at zero load, the worst move from the zero-load level and
  the worst error from the reference over the sweep. The tails' bias comes from the design's
  bias string (its current moves with the process), or without one from an ideal current
  reference at corners other than the design's (:func:`bias_lines`);
* offset at zero load, nominal and over Monte Carlo instances (PDK local mismatch);
* settling after the load steps by the largest current and back (the datapoint changes), on
  the rail's capacitance: to within :data:`SETTLE_TOL_V`;
* power per buffer at zero load.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field, replace

import numpy as np

from twinedge import processes
from twinedge.characterise.mirror import (
    model_header,
    monte_carlo_decks,
    numeric_rows,
    run_ngspice,
    run_transient,
)
from twinedge.circuits import bias as bias_circuit
from twinedge.circuits import constant_gm
from twinedge.circuits.error_element import ErrorElementSizing
from twinedge.circuits.mirror import at_shortest_channel
from twinedge.circuits.rail_buffer import SUBCKT, RailBufferSizing, subckt
from twinedge.pdk import Pdk

CORNERS = ("tt", "ff", "ss", "sf", "fs")
SETTLE_TOL_V = 1e-3
SWEEP_POINTS = 41
# the follower's gate at full load, below the pair's tail node (x2 cannot rise above it:
# the tail is at the rail plus the input device's Vsg), and the flipped follower's sink
# gate at full load
X2_BELOW_TAIL = 0.5
XF_FULL = 0.9
# the biased device's current over what the rail must carry its way: the corners and the
# mismatch move it, and at exactly that current the driven device would have to switch off
BIAS_MARGIN = 2.0


@dataclass(frozen=True)
class RailBufferConditions:
    level: float = 0.33  # the rail (V)
    i_source: float = 200e-6  # the most the rail sources into the network (A)
    i_sink: float = 20e-6  # the most it sinks from it (A)
    vbe: float = 0.6  # the tails' bias (and the flipped follower's IB)
    # the buffer's supply (V); None: the PDK's circuits' supply. A shuttle that supplies more
    # (TinyTapeout's GF180MCU tiles: 3.3 V) gives the input pair and the follower headroom
    vdd: float | None = None
    # the bias made on chip: a string's fields (twinedge.circuits.bias.BiasString, net "vbe",
    # sized by twinedge.characterise.bias.size_strings at this supply); None: ``vbe`` from
    # an ideal source at the design corner and an ideal current reference at the others
    bias_string: tuple | None = None
    # or a constant-gm reference's (twinedge.circuits.constant_gm.ConstantGmSizing fields,
    # sized by twinedge.characterise.constant_gm.size_reference): its current does not
    # follow the thresholds, as a string's does
    bias_reference: tuple | None = None
    c_load: float = 1e-12  # the rail's capacitance (its nodes, drivers and wiring)
    t_step: float = 2e-6  # how long each load level is held in the settling run
    corner: str = "tt"
    mc_n: int = 16
    sizing: RailBufferSizing = field(default_factory=RailBufferSizing)

    def __post_init__(self) -> None:  # plain floats: they are written into decks
        for name in ("level", "i_source", "i_sink", "vbe", "c_load", "t_step"):
            object.__setattr__(self, name, float(getattr(self, name)))


@dataclass
class RailBufferCharacterisation:
    sizing: dict
    bias_string: list | None  # the string that made vbe (BiasString fields); None: ideal
    bias_reference: dict | None  # or the constant-gm reference that made it (its sizing)
    level: float
    i_source: float
    i_sink: float
    r_out_ohm: float  # at zero load
    worst_move_v: float  # |level - its zero-load value| over the load sweep
    offset_v: float  # at zero load (the design corner)
    corner_offset_v: dict[str, float]
    corner_worst_move_v: dict[str, float]
    corner_max_error_v: dict[str, float]  # |level - reference| over the load sweep
    mc_offset_sigma_v: float
    settle_s: float  # the slowest of the load steps
    peak_v: float  # the largest excursion from the level during the load steps
    power_w: float
    sweep: list[list[float]]  # (load current sourced A, level error V)

    def as_dict(self) -> dict:
        return asdict(self)


def _supply(pdk: Pdk, cond: RailBufferConditions) -> float:
    return pdk.vdd if cond.vdd is None else cond.vdd


def _header(pdk: Pdk, corner: str = "tt", seed: int | None = None) -> str:
    # with the PDK's resistor, where it has one: a constant-gm bias reference draws one
    resistor = pdk.resistor is not None
    return model_header(pdk, corner, seed, "twinedge rail buffer", resistor=resistor).rstrip("\n")


def _printed(out: str, name: str) -> float:
    return float(re.search(rf"^{re.escape(name)}\s*=\s*(\S+)", out, re.M).group(1))


def current_per_um(
    pdk: Pdk,
    vdd: float,
    kind: str,
    vg: float,
    vd: float,
    l: float,  # noqa: E741 - the SPICE parameter's name
    vs: float = 0.0,
    corner: str = "tt",
) -> float:
    """A device's drain current per um of width (A/um, magnitude), body at its rail: an
    NMOS with gate ``vg``, drain ``vd`` and source ``vs`` (ground by default), or a PMOS
    with gate ``vg`` and drain ``vd``, source at VDD."""
    w0 = 10.0
    model, src = (pdk.nfet, "s") if kind == "n" else (pdk.pfet, "vdd")
    body = "0" if kind == "n" else "vdd"
    deck = [_header(pdk, corner), f"Vvdd vdd 0 {vdd!r}", f"Vg g 0 {vg!r}", f"Vd d 0 {vd!r}",
            f"Vs s 0 {vs!r}", f"X1 d g {src} {body} {model} w={w0!r} l={l!r}",
            ".control", "op", "print i(vd)", "quit 0", ".endc", ".end"]  # fmt: skip
    return abs(_printed(run_ngspice("\n".join(deck) + "\n"), "i(vd)")) / w0


def _snap(w: float, grid: float) -> float:
    return round(round(w / grid) * grid, 6)


def _ops(
    pdk: Pdk, cond: RailBufferConditions, sizings: list[RailBufferSizing], corner: str = "tt",
    seed: int | None = None, probe: str = "out",
) -> np.ndarray:  # fmt: skip
    """Each buffer's unloaded ``probe`` node (V), one buffer per sizing in one deck (the
    same sizing repeated: Monte Carlo instances with ``seed``)."""
    lines = [_header(pdk, corner, seed), f"Vvdd vdd 0 {_supply(pdk, cond)!r}",
             *bias_lines(pdk, cond, corner), f"Vref ref 0 {cond.level!r}"]  # fmt: skip
    names = {}
    for i, s in enumerate(sizings):
        if s not in names:
            names[s] = f"{SUBCKT}_{len(names)}"
            lines.append(subckt(pdk, s).replace(SUBCKT, names[s]).rstrip("\n"))
        lines.append(f"X{i} out{i} ref vdd vbe {names[s]}")
    node = (lambda i: f"v(out{i})") if probe == "out" else (lambda i: f"v(x{i}.{probe})")
    prints = [f"print {node(i)}" for i in range(len(sizings))]
    lines += [".control", "set numdgt=10", "op", *prints, "quit 0", ".endc", ".end"]
    out = run_ngspice("\n".join(lines) + "\n")
    return np.array([_printed(out, node(i)) for i in range(len(sizings))])


def size_output(pdk: Pdk, cond: RailBufferConditions) -> RailBufferSizing:
    """``cond.sizing`` with its output stage sized for the rail's currents (each with
    :data:`BIAS_MARGIN`): the follower ``MF`` to source ``i_source`` with its gate
    :data:`X2_BELOW_TAIL` under the pair's tail, carrying ``i_source`` and ``SNK``'s
    standing current, and ``SNK`` to sink ``i_sink``; or the flipped follower's ``IB`` to
    source ``i_source`` and its sink ``MP`` to take ``i_sink`` and IB's current with its
    gate at :data:`XF_FULL`. (The flipped follower's ``MS`` keeps its given size: it carries
    IB's current, small for a rail that mostly sinks.)"""
    s, level, grid, vdd = cond.sizing, cond.level, pdk.grid_um, _supply(pdk, cond)
    if s.drive == "source":
        nb = float(_ops(pdk, cond, [s], cond.corner, probe="nb")[0])
        per_um = current_per_um(pdk, vdd, "n", nb, level, s.bias_l, corner=cond.corner)
        bias = BIAS_MARGIN * cond.i_sink / per_um
        x2_full = float(_ops(pdk, cond, [s], cond.corner, probe="ta")[0]) - X2_BELOW_TAIL
        full = current_per_um(pdk, vdd, "n", x2_full, vdd, s.drive_l, level, cond.corner)
        drive = BIAS_MARGIN * (cond.i_source + cond.i_sink) / full
    else:
        per_um = current_per_um(pdk, vdd, "p", cond.vbe, XF_FULL, s.bias_l, corner=cond.corner)
        bias = BIAS_MARGIN * cond.i_source / per_um
        full = current_per_um(pdk, vdd, "n", XF_FULL, level, s.drive_l, corner=cond.corner)
        drive = BIAS_MARGIN * (cond.i_sink + cond.i_source) / full
    w_min = pdk.rules.mos_w_min
    return replace(s, bias_w=_snap(max(bias, w_min), grid), drive_w=_snap(max(drive, w_min), grid))


def bias_lines(pdk: Pdk, cond: RailBufferConditions, corner: str) -> list[str]:
    """The lines that make ``vbe``: the design's bias string (``cond.bias_string``: the chip's
    own, at every corner and in Monte Carlo) or constant-gm reference (``bias_reference``,
    likewise), or without either, at the design corner the bias
    itself and at another the gate voltage of a diode-connected tail unit carrying the
    design corner's tail current: an ideal current reference, whose PMOS diode's gate moves
    with the process so that the current it sets does not (a string's own current moves
    too)."""
    if cond.bias_string is not None:  # the chip's own string, at every corner
        devs = bias_circuit.devices((bias_circuit.BiasString(*cond.bias_string),))
        return [d.spice(pdk) for d in at_shortest_channel(devs, pdk)]
    if cond.bias_reference is not None:  # the chip's constant-gm reference, at every corner
        ref = constant_gm.ConstantGmSizing(*cond.bias_reference)
        return [constant_gm.subckt(pdk, ref).rstrip("\n"), f"Xbias vbe vdd {constant_gm.SUBCKT}"]
    if corner == cond.corner:
        return [f"Vvbe vbe 0 {cond.vbe!r}"]
    unit = ErrorElementSizing()
    vdd = _supply(pdk, cond)
    per_um = current_per_um(pdk, vdd, "p", cond.vbe, cond.vbe, unit.tail_l, corner=cond.corner)
    i_unit = unit.tail_w * per_um
    return [f"Xbias vbe vbe vdd vdd {pdk.pfet} w={unit.tail_w!r} l={unit.tail_l!r}",
            f"Ibias vbe 0 {i_unit!r}"]  # fmt: skip


def load_sweep(pdk: Pdk, cond: RailBufferConditions, corner: str) -> tuple[np.ndarray, float]:
    """(rows (load sourced A, out - ref V), supply power at zero load): a current source
    draws the load from the rail, swept from sinking ``i_sink`` to sourcing ``i_source``;
    at other corners than the design's, the bias tracks (:func:`bias_lines`)."""
    lines = [_header(pdk, corner), subckt(pdk, cond.sizing).rstrip("\n"),
             f"Vvdd vdd 0 {_supply(pdk, cond)!r}", *bias_lines(pdk, cond, corner),
             f"Vref ref 0 {cond.level!r}", "Iload out 0 0",
             f"X1 out ref vdd vbe {SUBCKT}"]  # fmt: skip
    # from exactly -i_sink through exactly zero load, up to i_source (or at most one step past)
    k = max(1, math.ceil(cond.i_sink / ((cond.i_sink + cond.i_source) / (SWEEP_POINTS - 1))))
    step = cond.i_sink / k
    lo, hi = -cond.i_sink, step * math.ceil(cond.i_source / step - 1e-9)
    lines += [".control", "set numdgt=12", f"dc iload {lo!r} {hi + step / 2!r} {step!r}",
              "wrdata dc.dat v(out) i(vvdd)", "quit 0", ".endc", ".end"]  # fmt: skip
    rows = numeric_rows(run_ngspice("\n".join(lines) + "\n"), columns=4)
    load, v, i_vdd = rows[:, 0], rows[:, 1], rows[:, 3]
    zero = int(np.argmin(np.abs(load)))
    return np.c_[load, v - cond.level], _supply(pdk, cond) * -float(i_vdd[zero])


def _steps(cond: RailBufferConditions) -> list[tuple[float, float]]:
    """(time, load) of the settling run: zero, sourcing i_source, sinking i_sink, zero."""
    return [(0.0, 0.0), (cond.t_step, cond.i_source), (2 * cond.t_step, -cond.i_sink),
            (3 * cond.t_step, 0.0)]  # fmt: skip


def _settle(pdk: Pdk, cond: RailBufferConditions) -> tuple[float, float]:
    """(seconds until the rail is back within SETTLE_TOL_V of its level's end value after
    each load step, the worst; the largest excursion from the reference, V)."""
    rise = 1e-9
    pts = []
    prev = 0.0
    for t, i in _steps(cond):
        pts += [f"{t!r} {prev!r}", f"{t + rise!r} {i!r}"] if t > 0 else ["0 0"]
        prev = i
    end = 4 * cond.t_step
    lines = [_header(pdk, cond.corner), subckt(pdk, cond.sizing).rstrip("\n"),
             f"Vvdd vdd 0 {_supply(pdk, cond)!r}", *bias_lines(pdk, cond, cond.corner),
             f"Vref ref 0 {cond.level!r}", f"Iload out 0 pwl({' '.join(pts)})",
             f"Cl out 0 {cond.c_load!r}", f"X1 out ref vdd vbe {SUBCKT}",
             ".control", "set numdgt=12", f"tran 1n {end!r} 0 5n", "wrdata settle.dat v(out)",
             "quit 0", ".endc", ".end"]  # fmt: skip
    rows = numeric_rows(run_transient("\n".join(lines) + "\n"), columns=2)
    t, v = rows[:, 0], rows[:, 1]
    worst = 0.0
    starts = [t0 for t0, _ in _steps(cond)[1:]]
    for start, stop in zip(starts, [*starts[1:], end], strict=True):
        seg = (t >= start) & (t <= stop)
        outside = np.nonzero(np.abs(v[seg] - v[seg][-1]) > SETTLE_TOL_V)[0]
        if len(outside):
            worst = max(worst, float(t[seg][outside[-1]] - start))
    return worst, float(np.max(np.abs(v[t > rise] - cond.level)))


def characterise_rail_buffer(pdk: Pdk, cond: RailBufferConditions) -> RailBufferCharacterisation:
    """Every measurement of the module docstring, on ``cond.sizing`` as given (size it first
    with :func:`size_output`)."""
    # a few Monte Carlo instances to a deck (16 wide followers in one deck ran for minutes)
    mc_decks = monte_carlo_decks(cond.mc_n)
    jobs = [("sweep", c) for c in CORNERS] + [("settle", None)] + [("mc", d) for d in mc_decks]

    def one(job: tuple):
        kind, arg = job
        if kind == "sweep":
            return load_sweep(pdk, cond, arg)
        if kind == "settle":
            return _settle(pdk, cond)
        seed, n = arg
        return _ops(pdk, cond, [cond.sizing] * n, cond.corner, seed) - cond.level

    res = processes.parallel(one, jobs, min(len(jobs), processes.jobs()))
    sweeps = dict(zip(CORNERS, res[: len(CORNERS)], strict=True))
    settle, peak = res[len(CORNERS)]
    mc = np.concatenate(res[len(CORNERS) + 1 :])

    def at_zero(rows: np.ndarray) -> tuple[int, float, float]:
        zero = int(np.argmin(np.abs(rows[:, 0])))
        return zero, float(rows[zero, 1]), float(np.max(np.abs(rows[:, 1] - rows[zero, 1])))

    rows, power = sweeps[cond.corner]
    zero, offset, worst = at_zero(rows)
    near = slice(max(zero - 1, 0), zero + 2)
    r_out = float(-np.polyfit(rows[near, 0], rows[near, 1], 1)[0])
    return RailBufferCharacterisation(
        sizing=cond.sizing.as_dict(),
        bias_string=list(cond.bias_string) if cond.bias_string else None,
        bias_reference=(
            constant_gm.ConstantGmSizing(*cond.bias_reference).as_dict()
            if cond.bias_reference
            else None
        ),
        level=cond.level,
        i_source=cond.i_source,
        i_sink=cond.i_sink,
        r_out_ohm=r_out,
        worst_move_v=worst,
        offset_v=offset,
        corner_offset_v={c: at_zero(r)[1] for c, (r, _) in sweeps.items()},
        corner_worst_move_v={c: at_zero(r)[2] for c, (r, _) in sweeps.items()},
        corner_max_error_v={c: float(np.max(np.abs(r[:, 1]))) for c, (r, _) in sweeps.items()},
        mc_offset_sigma_v=float(np.std(mc, ddof=1)) if len(mc) > 1 else 0.0,
        settle_s=settle,
        peak_v=peak,
        power_w=power,
        sweep=[[float(a), float(e)] for a, e in rows],
    )
