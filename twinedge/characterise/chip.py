"""The whole learning chip at transistor level: an ngspice transient of N learning steps,
driven only through its pins, against the behavioural model.

The chip (:mod:`twinedge.circuits.chip`) gets the supply, the clock PHASE (low: CAL, high:
LEARN), TRAIN/ENA high, RST_N (low for the reset, then high), each datapoint's bits (inputs
and LABEL, changed by the board just after the clock falls) and the analog pins of the pin
plan; a chip on a tile without analog pins gets VDPWR (3.3 V) alone and makes its VDD, rails
and VRESET itself, and the board runs its digital read-out instead of reading READ
(:mod:`twinedge.characterise.chip_board`). The test bench's only other element is the state
the chip starts in: every G at a different level between 0.3 V and the supply (what an
earlier training, or power-up, may have left). The board then resets the chip: RST_N low,
the clock high for the discharge phase (:func:`discharge_time`: every G sunk below the reset
level) then low for the charge phase, with VRESET (a pin, or the chip's own ladder tap) at
the level (:func:`reset_level`) that charges each G through its floor device to about the
spec's ``g_init``. G is read after every step.

The behavioural model runs the same datapoint sequence from the chip's G after the reset:
the characterised update rule (nominal circuit), the characterised error element's clamp
(nominal), the generated biases. Their difference per step is the agreement the chip's
report states.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import asdict, dataclass, replace

import numpy as np

from twinedge.characterise import chip_board as board
from twinedge.characterise.bias import BiasTargets, characterise_bias
from twinedge.characterise.error_element import cached_error_element, conditions_for
from twinedge.characterise.memory import ABSTOL
from twinedge.characterise.mirror import model_header, numeric_rows, run_transient
from twinedge.circuits import twin_edge as twin_edge_circuit
from twinedge.circuits.bias import BiasSizing
from twinedge.circuits.chip import (
    ChipWiring,
    OnChipBlocks,
    address_pin,
    bit_pin,
    instances,
    subckts,
)
from twinedge.circuits.cl import memory_sizing
from twinedge.circuits.memory import PORTS as MEMORY_PORTS
from twinedge.circuits.memory import SUBCKT as MEMORY_SUBCKT
from twinedge.circuits.memory import subckt as memory_subckt
from twinedge.circuits.nets import node_nets
from twinedge.pdk import Pdk
from twinedge.pdk import get as get_pdk
from twinedge.sim.network import Network
from twinedge.spec.loader import LoadedSpec
from twinedge.spec.pinplan import PinPlan, ReadMap, plan
from twinedge.spice.deck import pwl

READ_AFTER = 100e-9  # G read this long after the clock falls
BIT_AFTER = 30e-9  # the board changes the datapoint bits this long after the clock falls
EDGE = 1e-9
# the transient's largest time step: ngspice's error control picks the steps on the edges;
# the cap only bounds the settled stretches. One step of the chip deck at 2 ns, 10 ns and
# 50 ns: every G within 5e-7 V of each other (the step moved them 35 mV rms), each supply's
# charge within 2e-7, and 7,950 / 2,347 / 1,264 time points
MAX_STEP = 10e-9
CONVERT_MARGIN = 100e-9  # a conversion ends this long before the clock rises again
# each datapoint's time in the inference transient: at a trained G an output took over 1 us
# to settle to 1 mV (a high-resistance output node, as trained edges near g_min make it,
# loaded by the error element's input pairs, ~1 pF); a datapoint not settled within it is
# flagged, its energy a lower bound
T_INFERENCE = 3e-6
SETTLE_V = 1e-3  # an output settled: within this of where it ends
WITHIN = 16  # the model's LEARN slices (its G moves during LEARN as the chip's does)
T_RESET = 4e-6  # the reset's charge phase: every G charged up to about g_init
DISCHARGE_MARGIN = 0.1  # the discharge phase ends with G this far below g_init (V), or lower
DISCHARGE_CORNERS = ("tt", "ss", "ff")
T_DISCHARGE_MAX = 200e-6  # a discharge slower than this is an error
DISCHARGED_START = 0.3  # G at the start of reset_level's bench (V)
READ_EDGE = 0  # the training transient reads this edge's G on READ
# how far above VDD a chip's own VRESET may go: the sequencer's PMOS switches pass it to the
# floor line with their bodies at VDD, and a source-body junction forward-biased by 0.4 V
# conducts ~1e-11 A/um^2, nothing beside the ladder's 15 uA
VRESET_ABOVE_VDD = 0.4


@dataclass
class ChipRun:
    datapoints: list[int]
    g0: list[float]
    g_transistor: list[list[float]]  # (steps, edges) after each step
    g_model: list[list[float]]  # the model's trajectory from the same G0
    dg_model_from_chip: list[list[float]]  # the model's step from the chip's G before it
    energy_per_step_j: dict[str, float]  # by block (VDD or VDD33), and each analog rail
    sim_wall_s: float
    inference: dict | None = None  # :func:`inference`
    vdd_energy_each_step_j: list[float] | None = None  # the supply pin's, step by step
    # READ after each step, addressed to edge READ_EDGE's G (the tester's view of it: on
    # its pin, or from DOUT's edge; None: a conversion out of range)
    read_g_v: list[float | None] | None = None
    vreset_v: float | None = None  # the reset level (the board's, or the chip's tap)
    t_reset_s: float | None = None  # the charge phase
    t_discharge_s: float | None = None  # the discharge phase before it
    g_start: list[float] | None = None  # G before the reset
    discharge: dict | None = None  # :func:`discharge_time`, when it set the discharge phase
    # READ's own level at each read, where the chip converts it (read_g_v: the board's)
    read_net_v: list[float] | None = None
    own_levels_worst_v: dict[str, float] | None = None  # Transient's
    own_levels_beyond_s: dict[str, float] | None = None  # Transient's

    @property
    def error_v(self) -> np.ndarray:
        return np.asarray(self.g_transistor) - np.asarray(self.g_model)

    def summary(self) -> dict:
        err = self.error_v
        g_t = np.asarray(self.g_transistor)
        dg_t = g_t - np.vstack([self.g0, g_t[:-1]])
        dg_m = np.asarray(self.dg_model_from_chip)
        rms = np.sqrt(np.mean(dg_t**2, axis=1))
        step_err = np.sqrt(np.mean((dg_t - dg_m) ** 2, axis=1))
        corr = [float(np.corrcoef(a, b)[0, 1]) for a, b in zip(dg_t, dg_m, strict=True)]
        return {
            "steps": len(self.datapoints),
            "edges": len(self.g0),
            "trajectory_max_abs_error_v": float(np.abs(err).max()),
            "trajectory_rms_error_last_step_v": float(np.sqrt(np.mean(err[-1] ** 2))),
            "step_rms_dg_v": rms.tolist(),
            "step_rms_error_v": step_err.tolist(),
            "step_error_rel_max": float(np.max(step_err / rms)),
            "step_error_rel_total": float(np.sqrt(np.sum(step_err**2) / np.sum(rms**2))),
            "step_correlation_min": min(corr),
            "own_levels_worst_v": self.own_levels_worst_v,
            "own_levels_beyond_s": self.own_levels_beyond_s,
            "energy_per_step_j": self.energy_per_step_j,
            "sim_wall_s": self.sim_wall_s,
            "reset": {
                "vreset_v": self.vreset_v,
                "t_reset_s": self.t_reset_s,
                "t_discharge_s": self.t_discharge_s,
                "g_start_min_v": min(self.g_start) if self.g_start else None,
                "g_start_max_v": max(self.g_start) if self.g_start else None,
                "discharge": self.discharge,
                "g_mean_v": float(np.mean(self.g0)),
                "g_spread_v": float(np.ptp(self.g0)),
            },
        }

    def as_dict(self) -> dict:
        return {**asdict(self), "summary": self.summary()}


def _rail(pp: PinPlan, volts: float) -> str:
    v = round(float(volts), 9)
    if v == 0.0:
        return "0"
    return next(r for r, x in pp.rails.items() if round(x, 9) == v)


def bias_targets(spec: LoadedSpec) -> BiasTargets:
    """What the bias generator must make: the update circuit's characterised biases, its
    floor, the error element's VBE."""
    from twinedge.learn.train import circuit_characterisation

    m = circuit_characterisation(spec.design)
    b = m.bias
    knobs = spec.design.chip.error_element
    return BiasTargets(b["vbp"], b["vcn"], b["vcp"], m.vfloor, knobs.vbe, b["calb_high"])


def wiring(
    spec: LoadedSpec, pp: PinPlan, bias_strings, on_chip: OnChipBlocks | None = None
) -> ChipWiring:
    """The chip's nets and sizes; ``on_chip``: its own rails, supply and read-out, sized
    (:func:`twinedge.characterise.on_chip.size_on_chip`), which a plan with its rails on
    chip needs."""
    if pp.rails_on_chip != (on_chip is not None):
        need = "needs its on-chip blocks sized" if pp.rails_on_chip else "has board rails"
        raise ValueError(f"{pp.design}: the pin plan {need}")
    d = spec.design
    net = Network.from_design(d)
    inputs = {}
    for j, name in enumerate(d.pins.inputs):
        levels = sorted({round(float(v), 9) for v in spec.dataset.inputs[:, j]})
        inputs[name] = (int(net.input_nodes[j]), _rail(pp, levels[0]), _rail(pp, levels[-1]))
    constants = {
        name: (int(net.const_nodes[j]), _rail(pp, c.volts))
        for j, (name, c) in enumerate(d.pins.constants.items())
    }
    labels = np.unique(np.round(spec.dataset.labels, 9))
    if len(labels) != 2:
        raise ValueError(f"the chip's LABEL bit selects one of two labels; there are {labels}")
    label_rails = {
        "LP": (_rail(pp, max(labels[0], 0.0)), _rail(pp, max(labels[1], 0.0))),
        "LM": (_rail(pp, max(-labels[0], 0.0)), _rail(pp, max(-labels[1], 0.0))),
    }
    cond = conditions_for(d, spec.dataset.labels)
    return ChipWiring(
        edges=tuple((int(a), int(b)) for a, b in net.edges.tolist()),
        node_nets=node_nets(net),
        inputs=inputs,
        constants=constants,
        outputs=(int(net.output_nodes[0]), int(net.output_nodes[1])),
        label_rails=label_rails,
        edge_devices=twin_edge_circuit.for_design(d).devices,
        k=cond.k,
        element_sizing=cond.sizing,
        memory_sizing=memory_sizing(d.cell.update.hold_cap_n, d.cell.update.sizing.items()),
        bias_strings=bias_strings,
        bias_sizing=BiasSizing(),
        read_map=ReadMap(net.rows, net.cols),
        node_rc={n: net.node_rc(n) for n in range(net.n_nodes)},
        on_chip=on_chip,
    )


def address_sources(w: ChipWiring, address: int, high: float) -> list[str]:
    """The board's address pins held at ``address`` (``high``: a pin's high level)."""
    return [f"Vpin_{address_pin(k)} {address_pin(k)} 0 {high if address >> k & 1 else 0.0!r}"
            for k in range(w.read_map.bits)]  # fmt: skip


def edge_address(w: ChipWiring, e: int) -> int:
    a, b = w.edges[e]
    return w.read_map.edge_address(*w.read_map.site(w.node_rc[a], w.node_rc[b]))


@dataclass(frozen=True)
class Reset:
    """How the board resets the chip: VRESET, the discharge and charge phases' lengths (s),
    and G before it (a level per edge). A chip that makes its own VRESET takes it from its
    ladder's tap (sized to :class:`ResetPlan`'s level), not from ``vreset``."""

    vreset: float
    t_discharge: float
    t_charge: float
    g_start: list[float]

    @classmethod
    def none(cls, g: list[float], vreset: float) -> Reset:
        """No reset: the chip starts at ``g`` with RST_N high (a run that repeats another's
        steps from the G that one's reset reached)."""
        return cls(vreset, 0.0, 0.0, g)

    @property
    def end(self) -> float:
        """RST_N rises (the reset starts at time 0)."""
        return self.t_discharge + self.t_charge


def _g_through_reset(
    spec: LoadedSpec,
    t: BiasTargets,
    vreset: float,
    phases: tuple[float, float],
    g_start: float,
    corner: str = "tt",
) -> np.ndarray:
    """One cell's G (rows of time, G) through a reset as the sequencer runs it: the
    discharge phase (CAL and LEARN closed, the floor line at ground) for ``phases[0]``, then
    the charge phase (LEARN open, the floor line at ``vreset``) for ``phases[1]``; the
    clamped twin's terminals level (no dV: the squarer's least current, the slowest
    discharge), the gate capacitance on G (ngspice)."""
    d = spec.design
    pdk: Pdk = get_pdk(d.pdk)
    vdd = pdk.vdd
    t_dis, t_chg = phases
    sizing = memory_sizing(d.cell.update.hold_cap_n, d.cell.update.sizing.items())

    def step(v0: float, v1: float) -> str:
        return pwl([(0.0, v0), (t_dis, v0), (t_dis + EDGE, v1)])

    nets = {"ac": "nd", "bc": "nd", "g": "g", "vdd": "vdd", "vbp": "vbp", "vcn": "vcn",
            "vcp": "vcp", "vbj": "vdd", "cal": "vdd", "calb": "0", "learn": "learn",
            "learnb": "learnb", "vfloor": "vfl"}  # fmt: skip
    t_end = t_dis + t_chg
    lines = [
        model_header(pdk, corner, None, "twinedge G reset", abstol=ABSTOL).rstrip("\n"),
        memory_subckt(pdk, sizing).rstrip("\n"),
        f"X1 {' '.join(nets[p] for p in MEMORY_PORTS)} {MEMORY_SUBCKT}",
        f"Cg g 0 {d.cell.c_gate_f!r}",
        f"Vvdd vdd 0 {vdd!r}", f"Vvbp vbp 0 {t.vbp!r}", f"Vvcn vcn 0 {t.vcn!r}",
        f"Vvcp vcp 0 {t.vcp!r}", f"Vlearn learn 0 {step(vdd, 0.0)}",
        f"Vlearnb learnb 0 {step(0.0, vdd)}", f"Vvfl vfl 0 {step(0.0, vreset)}",
        "Vnd nd 0 0.2", f".ic v(g)={g_start!r}",
        ".control", "set numdgt=10", f"tran {t_end / 400!r} {t_end!r} uic",
        "wrdata reset.dat v(g)", "quit 0", ".endc", ".end",
    ]  # fmt: skip
    return numeric_rows(run_transient("\n".join(lines) + "\n"), columns=2)


def discharge_time(spec: LoadedSpec, biases: BiasTargets | None = None) -> dict:
    """How long the reset's discharge phase must last: a cell's G from the supply down to
    ``DISCHARGE_MARGIN`` below ``g_init`` with no dV (the least sink current), at each of
    ``DISCHARGE_CORNERS``; and the level the discharge settles at (the memory's diode
    voltage, which must lie below that). ``biases``: the update circuit's (default
    :func:`bias_targets`)."""
    target = spec.design.training.g_init - DISCHARGE_MARGIN
    biases = biases or bias_targets(spec)
    vdd = get_pdk(spec.design.pdk).vdd
    out = {}
    for corner in DISCHARGE_CORNERS:
        rows = _g_through_reset(spec, biases, 0.0, (T_DISCHARGE_MAX, 0.0), vdd, corner)
        t, g = rows[:, 0], rows[:, 1]
        if g[-1] >= target:
            raise ValueError(
                f"G reset ({corner}): the discharge phase leaves G at {g[-1]:.3f} V after "
                f"{T_DISCHARGE_MAX:g} s, above g_init - {DISCHARGE_MARGIN} = {target:.3f} V"
            )
        out[corner] = {"t_s": float(t[np.argmax(g < target)]), "settled_v": float(g[-1])}
    return {"target_v": target, "corners": out,
            "t_discharge_s": max(c["t_s"] for c in out.values())}  # fmt: skip


def reset_level(
    spec: LoadedSpec,
    phases: tuple[float, float],
    biases: BiasTargets | None = None,
    ceiling: float | None = None,
) -> float:
    """The VRESET that brings G to the spec's ``g_init`` through the reset (``phases``:
    discharge, charge), bisection to 1 mV up to ``ceiling`` (default VDD; see
    :func:`reset_ceiling`). The bench starts G at ``DISCHARGED_START``: the discharge phase
    brings a G below its level up to it as it brings a higher one down
    (:func:`discharge_time`), so the charge phase starts where it would from any G."""
    target = spec.design.training.g_init
    biases = biases or bias_targets(spec)
    vdd = get_pdk(spec.design.pdk).vdd
    top = vdd if ceiling is None else ceiling

    def g_after(vreset: float) -> float:
        rows = _g_through_reset(spec, biases, vreset, phases, DISCHARGED_START)
        return float(rows[-1, 1])

    lo, hi = target, top
    highest = g_after(hi)
    if highest < target:
        raise ValueError(
            f"G reset: even VRESET = {top:g} V (its ceiling) brings G only to {highest:.3f} V "
            f"in {phases[1]:g} s (g_init {target} V)"
        )
    while hi - lo > 1e-3:
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if g_after(mid) < target else (lo, mid)
    return round((lo + hi) / 2, 4)


def reset_ceiling(pdk: Pdk, pp: PinPlan) -> float:
    """The highest VRESET a chip takes: VDD where the board drives it (a pin), VDD +
    :data:`VRESET_ABOVE_VDD` where the chip makes it from its 3.3 V ladder. The floor
    follower puts G a threshold below VRESET, and GF180MCU's threshold with its body effect
    (~0.85 V at G = 1 V) leaves G under 0.93 V at VRESET = VDD after 8 us, below the level
    the discharge settles at (the memory's diode, 0.95-1.03 V over the corners): no G
    target is reachable at VDD there (measured on the cell, 2026-12-03)."""
    return pdk.vdd + (VRESET_ABOVE_VDD if pp.rails_on_chip else 0.0)


def start_levels(n_edges: int, span: tuple[float, float], seed: int) -> list[float]:
    """G before the reset: every edge at its own level across ``span`` (by default from
    0.3 V to the supply: both sides of the reset level), in an order drawn from ``seed``."""
    levels = np.linspace(*span, n_edges)
    return np.round(np.random.default_rng(seed).permutation(levels), 4).tolist()


def deck(
    spec: LoadedSpec,
    w: ChipWiring,
    pp: PinPlan,
    order: list[int],
    reset: Reset,
    body: str | None = None,
    max_step: float = MAX_STEP,
) -> tuple[str, list[float]]:
    """The transient deck and the times G is read (after each step). The chip starts with
    every G at ``reset.g_start`` and is reset through its pins (RST_N low: the clock high
    for the discharge phase, then low for the charge phase, VRESET at ``reset.vreset``:
    the board's, or the chip's own ladder tap); then the first CAL phase, then the steps.
    A chip with its own supply and read-out converts READ after each step and then both
    references (:class:`~twinedge.characterise.chip_board.Conversions`). ``body``: the
    chip's element lines from its layout (extracted, on the chip's net names) instead of
    its circuits; the deck then measures the supply as a whole (one supply net in the
    layout), not by block."""
    d = spec.design
    pdk: Pdk = get_pdk(d.pdk)
    tr = d.training
    t_cal, t_h = tr.t_frozen, tr.t_h
    t_step = t_cal + t_h
    hi = board.pin_high(pdk, w)
    t_run = reset.end
    # the clock: high for the reset's discharge phase; then (CAL t_cal, LEARN t_h) per step,
    # G held through the first CAL
    clk = [(0.0, hi), (reset.t_discharge, hi), (reset.t_discharge + EDGE, 0.0)]
    if reset.t_discharge == 0:  # no discharge phase (or no reset: RST_N high throughout)
        clk = [(0.0, 0.0)]
    reads = []
    for k in range(len(order)):
        rise = t_run + t_cal + k * t_step
        fall = rise + t_h
        clk += [(rise, 0.0), (rise + EDGE, hi), (fall, hi), (fall + EDGE, 0.0)]
        reads.append(fall + READ_AFTER)
    t_end = reads[-1] + 10e-9
    rst_n = pwl([(0.0, 0.0), (t_run, 0.0), (t_run + EDGE, hi)]) if t_run > 0 else repr(hi)
    bits = {}
    for name, col in _bit_levels(spec).items():
        pts = [(0.0, hi if col[order[0]] else 0.0)]
        for k in range(1, len(order)):
            t = t_run + t_cal + (k - 1) * t_step + t_h + BIT_AFTER
            pts += [(t, pts[-1][1]), (t + EDGE, hi if col[order[k]] else 0.0)]
        bits[name] = pts
    read_out = []
    if w.on_chip:
        conv = conversions(w, reads, t_cal)
        read_out, t_end = conv.sources(hi), conv.end + 10e-9
    lines = [
        model_header(pdk, "tt", None, f"twinedge chip {d.name}", abstol=ABSTOL,
                     resistor=w.on_chip is not None).rstrip("\n"),
        *([subckts(pdk, w).rstrip("\n"), *instances(pdk, w)] if body is None else [body]),
        *board.supply_lines(pdk, w, pp, reset.vreset),
        *(f"Vpin_{p} {p} 0 {hi!r}" for p in ("TRAIN", "ENA")),
        f"Vpin_RST_N RST_N 0 {rst_n}",
        f"Vpin_PHASE PHASE 0 {pwl(clk)}",
        *(f"Vpin_{name} {name} 0 {pwl(pts)}" for name, pts in bits.items()),
        *address_sources(w, edge_address(w, READ_EDGE), hi),
        *read_out,
        # the state before the reset: each G at its own level
        ".ic " + " ".join(f"v(g{e})={g!r}" for e, g in enumerate(reset.g_start)),
    ]  # fmt: skip
    lines += [
        ".control", "set numdgt=10", f"tran 1n {t_end!r} 0 {max_step!r}",
        f"wrdata chip.dat {' '.join(training_probes(pdk, w, pp, body is not None))}", "quit 0",
        ".endc", ".end",
    ]  # fmt: skip
    return "\n".join(lines) + "\n", reads


def conversions(w: ChipWiring, reads: list[float], t_cal: float) -> board.Conversions:
    """The digital read-out's conversions of a training transient: one per read of G, in
    the CAL phase that follows it (until :data:`CONVERT_MARGIN` before the clock rises)."""
    return board.Conversions.after(reads, t_cal - READ_AFTER - CONVERT_MARGIN, w)


def training_probes(pdk: Pdk, w: ChipWiring, pp: PinPlan, whole_supply: bool) -> list[str]:
    """What a training transient writes, in order: every G, the supplies
    (:func:`~twinedge.characterise.chip_board.probes`), READ, and on a chip with its own
    read-out DOUT and the levels it makes (:func:`chip_board.own_levels`; not on an
    extracted body)."""
    out = [f"v(g{e})" for e in range(len(w.edges))]
    out += [*board.probes(w, pp, whole_supply), "v(read)"]
    if not w.on_chip:
        return out
    levels = {} if whole_supply else board.own_levels(pdk, w, pp)
    return [*out, "v(dout)", *board.level_probes(levels)]


def inference_deck(
    spec: LoadedSpec, w: ChipWiring, pp: PinPlan, g: np.ndarray
) -> tuple[str, list[float]]:
    """The chip in inference (TRAIN low: no phase runs, every G held at ``g`` by the test
    bench's switches): the board steps through every datapoint, :data:`T_INFERENCE` each.
    Returns the deck and the times the bits change. A chip with its own read-out keeps it
    in reset (RRST high): READ, addressed to O+, is the internal net."""
    d = spec.design
    pdk: Pdk = get_pdk(d.pdk)
    hi = board.pin_high(pdk, w)
    order = list(range(len(spec.dataset.labels))) * 2  # every change seen from a settled state
    switches = [T_INFERENCE * (k + 1) for k in range(len(order) - 1)]
    bits = {}
    for name, col in _bit_levels(spec).items():
        pts = [(0.0, hi if col[order[0]] else 0.0)]
        for k, t in enumerate(switches, start=1):
            pts += [(t, pts[-1][1]), (t + EDGE, hi if col[order[k]] else 0.0)]
        bits[name] = pts
    t_end = switches[-1] + T_INFERENCE
    idle = [f"Vpin_RRST RRST 0 {hi!r}", "Vpin_RCAL RCAL 0 0", "Vpin_RHI RHI 0 0"]
    lines = [
        model_header(pdk, "tt", None, f"twinedge chip {d.name}, inference", abstol=ABSTOL,
                     resistor=w.on_chip is not None).rstrip("\n"),
        subckts(pdk, w).rstrip("\n"),
        *instances(pdk, w),
        # RST_N high: VRESET is not used
        *board.supply_lines(pdk, w, pp, d.training.g_init),
        "Vpin_TRAIN TRAIN 0 0",
        *(f"Vpin_{p} {p} 0 {hi!r}" for p in ("ENA", "RST_N")),
        "Vpin_PHASE PHASE 0 0",
        *(f"Vpin_{name} {name} 0 {pwl(pts)}" for name, pts in bits.items()),
        *address_sources(w, w.read_map.output_address(0), hi),
        *(idle if w.on_chip else []),
        ".model holdsw sw vt=0.5 vh=0.1 ron=10 roff=1e16",
        "Vhc hc 0 1.0",
    ]  # fmt: skip
    for e in range(len(w.edges)):
        lines += [f"Vgh{e} gh{e} 0 {float(g[e])!r}", f"Sh{e} g{e} gh{e} hc 0 holdsw"]
    lines += [
        ".control", "set numdgt=10", f"tran 0.5n {t_end!r} 0 2n",
        f"wrdata inference.dat {' '.join(inference_probes(pdk, w, pp))}", "quit 0", ".endc", ".end",
    ]  # fmt: skip
    return "\n".join(lines) + "\n", switches[len(spec.dataset.labels) - 1 :]


def inference_probes(pdk: Pdk, w: ChipWiring, pp: PinPlan) -> list[str]:
    """What the inference transient writes, in order: both free outputs, the supplies
    (:func:`~twinedge.characterise.chip_board.probes`), READ."""
    plus, minus = w.outputs
    outs = [f"v({w.node_nets[(plus, 'F')]})", f"v({w.node_nets[(minus, 'F')]})"]
    return [*outs, *board.probes(w, pp, False), "v(read)",
            *board.level_probes(board.own_levels(pdk, w, pp))]  # fmt: skip


def _columns(rows: np.ndarray, names: list[str]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(time, probe -> values) from ``wrdata`` rows (a time column before every probe's)."""
    vals = rows[:, 1::2]
    if vals.shape[1] != len(names):
        raise ValueError(f"chip transient: {vals.shape[1]} columns written, {len(names)} asked")
    return rows[:, 0], {n: vals[:, k] for k, n in enumerate(names)}


def inference(spec: LoadedSpec, w: ChipWiring, pp: PinPlan, g: np.ndarray) -> dict:
    """Energy per inference from the chip's supply and rails: from each datapoint change
    until both free outputs stay within :data:`SETTLE_V` of where they end, split by block;
    the static power (the settled chip) beside it."""
    from twinedge.learn.energy import integrate_energy, settling_time

    pdk = get_pdk(spec.design.pdk)
    text, switches = inference_deck(spec, w, pp, g)
    names = inference_probes(pdk, w, pp)
    t, col = _columns(numeric_rows(run_transient(text)), names)
    outs = np.vstack([col[names[0]], col[names[1]]])
    power = board.block_power(pdk, w, pp, col, False)
    settle, energy = [], {key: 0.0 for key in power}
    for t0 in switches:
        t1 = t0 + T_INFERENCE - 1e-9
        ts = settling_time(t, outs, t0, t1, SETTLE_V)
        settle.append(ts)
        for key, p in power.items():
            energy[key] += integrate_energy(t, p, t0, t0 + ts) / len(switches)
    static = {key: float(np.interp(switches[0] - 1e-9, t, p)) for key, p in power.items()}
    # a chip's own supply and rails over every datapoint change (the first included)
    levels = board.own_levels(pdk, w, pp)
    own, beyond = board.level_excursions(t, col, levels, T_INFERENCE, t[-1])
    window = T_INFERENCE - 1e-9
    ends = [t0 + T_INFERENCE - 2e-9 for t0 in switches]  # each datapoint's settled outputs
    return {
        # READ (addressed to O+, through the output follower) beside O+: the tester's view
        # where READ is a pin, the read-out's input where the chip converts it
        "read_o_plus_v": [float(np.interp(te, t, col["v(read)"])) for te in ends],
        "o_plus_v": [float(np.interp(te, t, outs[0])) for te in ends],
        "settle_s": settle,
        "settled": [bool(ts < window - 0.05 * T_INFERENCE) for ts in settle],
        "window_s": window,
        "energy_per_inference_j": energy,
        "energy_per_inference_total_j": float(sum(energy.values())),
        "static_power_w": static,
        "static_power_total_w": float(sum(static.values())),
        "settle_tolerance_v": SETTLE_V,
        **({"own_levels_worst_v": own, "own_levels_beyond_s": beyond} if own else {}),
    }


def _bit_levels(spec: LoadedSpec) -> dict[str, np.ndarray]:
    """Each digital pin's level (True: 1) per datapoint: an input's or label's higher level
    (the pin plan's bit order)."""
    d = spec.design
    x, y = spec.dataset.inputs, spec.dataset.labels
    out = {bit_pin(name): x[:, j] == x[:, j].max() for j, name in enumerate(d.pins.inputs)}
    out["LABEL"] = y == y.max()
    return out


def _model(spec: LoadedSpec):
    from twinedge.learn.clamp import ErrorElementClamp
    from twinedge.learn.train import nominal_circuit, trainer

    d = spec.design
    ch = cached_error_element(d.pdk, conditions_for(d, spec.dataset.labels))
    learner = trainer(replace(spec, design=nominal_circuit(d)), clamp=ErrorElementClamp(ch))
    learner.rule.settled()
    return learner


def model_run(spec: LoadedSpec, order: list[int], g0: np.ndarray) -> np.ndarray:
    """(steps, edges): the behavioural model's G after each step from ``g0`` (nominal
    circuit and element, LEARN in :data:`WITHIN` slices)."""
    learner = _model(spec)
    learner.g = np.array(g0, dtype=float)
    out = []
    for p in order:
        learner.learn_within(p, WITHIN)
        out.append(learner.g.copy())
    return np.array(out)


def model_steps_from(spec: LoadedSpec, order: list[int], g_before: np.ndarray) -> np.ndarray:
    """(steps, edges): the model's dG of each step taken from the chip's own G before it
    (``g_before[k]``): the per-step agreement, free of the drift two trajectories build up
    (a step's error moves every later state)."""
    learner = _model(spec)
    out = []
    for p, g in zip(order, g_before, strict=True):
        learner.g = np.array(g, dtype=float)
        learner.learn_within(p, WITHIN)
        out.append(learner.g - g)
    return np.array(out)


@dataclass
class Transient:
    """A chip transient's readings: G before the first step and after each, the energy per
    step by supply (VDD or VDD33 by block, or whole for a layout) and rail, the supply's
    energy in each step, READ after each step (the board's: on its pin, or converted by the
    chip's read-out and calibrated), ngspice's wall time; with a chip's own read-out, READ's
    internal level at each read beside what the board made of it."""

    g0: list[float]
    g: list[list[float]]
    energy_per_step_j: dict[str, float]
    read_v: list[float | None]
    wall_s: float
    vdd_energy_each_step_j: list[float]
    read_net_v: list[float] | None = None
    # a chip's own VDD, rails and VRESET after the reset: each one's largest distance from
    # its level and longest disturbance beyond the tolerance (:func:`chip_board.level_excursions`)
    own_levels_worst_v: dict[str, float] | None = None
    own_levels_beyond_s: dict[str, float] | None = None


BASE_TIMEOUT_S = 1800.0
TIMEOUT_PER_STEP_S = 600.0
"""The whole chip's transient takes ~180 s a step alone on a two-core machine (10 steps with
the reset: 1768 s on 2026-12-01), and three times that beside two other simulations: a fixed
limit (1800 s) killed a healthy run that shared the machine."""


def simulate(
    spec: LoadedSpec,
    w: ChipWiring,
    pp: PinPlan,
    order: list[int],
    reset: Reset,
    body: str | None = None,
) -> Transient:
    """Run :func:`deck` (the chip's circuits, or its extracted ``body``) and read it."""
    from twinedge.learn.energy import integrate_energy

    d = spec.design
    pdk = get_pdk(d.pdk)
    text, reads = deck(spec, w, pp, order, reset, body)
    t0 = time.perf_counter()
    timeout = BASE_TIMEOUT_S + TIMEOUT_PER_STEP_S * len(order)
    names = training_probes(pdk, w, pp, body is not None)
    t, col = _columns(numeric_rows(run_transient(text, timeout)), names)
    wall = time.perf_counter() - t0
    n_e = len(w.edges)
    g = np.array([[np.interp(tr, t, col[f"v(g{e})"]) for e in range(n_e)] for tr in reads])
    # the model starts from the chip's G after the reset (before the first LEARN)
    t_first = reset.end + d.training.t_frozen - 20e-9
    g0 = np.array([np.interp(t_first, t, col[f"v(g{e})"]) for e in range(n_e)])
    read_net = [float(np.interp(tr, t, col["v(read)"])) for tr in reads]
    read_v: list[float | None] = list(read_net)
    if w.on_chip:  # the board's reading: DOUT's edge in each conversion, calibrated
        conv = conversions(w, reads, d.training.t_frozen)
        read_v = conv.levels(t, col["v(dout)"], board.pin_high(pdk, w))
    # energy per step: whole periods, from where a read would be before the first step to
    # the last read; and each step's period alone (the supply's). With a digital read-out,
    # each period but the first holds the conversion of the step before it
    bounds = [reset.end + READ_AFTER, *reads]
    power = board.block_power(pdk, w, pp, col, body is not None)
    energy = {k: integrate_energy(t, p, bounds[0], bounds[-1]) / len(reads)
              for k, p in power.items()}  # fmt: skip
    if w.on_chip and body is None:  # the pin's own current: every block's adds up to it
        supply = board.supply_power(pdk, w, col)
    else:
        supply = sum(p for k, p in power.items() if not k.startswith("rail "))
    each = [integrate_energy(t, supply, a, b) for a, b in itertools.pairwise(bounds)]
    own = board.own_levels(pdk, w, pp) if body is None else {}
    worst, beyond = board.level_excursions(t, col, own, reset.end, t[-1]) if own else (None, None)
    return Transient(g0.tolist(), g.tolist(), energy, read_v, wall, each,
                     read_net if w.on_chip else None, worst, beyond)  # fmt: skip


@dataclass(frozen=True)
class ResetPlan:
    """The reset the board runs: VRESET (applied by the board, or the chip's own ladder tap
    at it), the discharge and charge phases (s), and :func:`discharge_time`'s record when
    it set the discharge phase."""

    vreset: float
    t_discharge: float
    t_charge: float
    discharge: dict | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def plan_reset(
    spec: LoadedSpec,
    biases: BiasTargets | None = None,
    t_reset: float = T_RESET,
    t_discharge: float | None = None,
) -> ResetPlan:
    """The discharge phase (:func:`discharge_time` unless given), then the VRESET that
    charges G to ``g_init`` in ``t_reset`` (:func:`reset_level`, up to
    :func:`reset_ceiling`). A chip that makes its own VRESET needs this before its ladder
    is sized."""
    d = spec.design
    biases = biases or bias_targets(spec)
    discharge = None
    if t_discharge is None:
        discharge = discharge_time(spec, biases)
        t_discharge = discharge["t_discharge_s"]
    pp = plan(d, spec.dataset.inputs, spec.dataset.labels, str(spec.path))
    ceiling = reset_ceiling(get_pdk(d.pdk), pp)
    vreset = reset_level(spec, (t_discharge, t_reset), biases, ceiling)
    return ResetPlan(vreset, t_discharge, t_reset, discharge)


def run_chip(
    spec: LoadedSpec,
    steps: int,
    seed: int = 0,
    trained_g: list[float] | None = None,
    with_inference: bool = True,
    strings: tuple | None = None,
    reset: ResetPlan | None = None,
    start_span: tuple[float, float] | None = None,
    on_chip: OnChipBlocks | None = None,
) -> ChipRun:
    """``steps`` learning steps of the chip at transistor level and of the model, the
    datapoints drawn from ``seed``; then the chip's inference at ``trained_g`` (else at the
    transient's last G); ``strings``: the sized bias generator, if already known;
    ``reset``: the reset's level and phases (default :func:`plan_reset`); ``start_span``:
    G's levels before the reset (:func:`start_levels`); ``on_chip``: the chip's own rails,
    supply and read-out, sized with ``reset``'s VRESET (default: sized here), where its
    pin plan makes them on chip."""
    d = spec.design
    pdk = get_pdk(d.pdk)
    pp = plan(d, spec.dataset.inputs, spec.dataset.labels, str(spec.path))
    biases = bias_targets(spec)
    if strings is None:  # the bias generator sized to this design's biases
        strings = characterise_bias(pdk, biases).sized()
    reset = reset or plan_reset(spec, biases)
    if pp.rails_on_chip and on_chip is None:
        from twinedge.characterise.on_chip import size_on_chip

        on_chip = size_on_chip(spec, pp, reset.vreset)
    if on_chip is not None and abs(dict(on_chip.taps)["VRESET"] - reset.vreset) > 1e-9:
        raise ValueError(f"the chip's VRESET tap is not at the reset's {reset.vreset} V")
    w = wiring(spec, pp, strings, on_chip)
    rng = np.random.default_rng(seed)
    order = [int(p) for p in rng.integers(len(spec.dataset.labels), size=steps)]
    start = start_levels(len(w.edges), start_span or (0.3, pdk.vdd), seed)
    sim = simulate(spec, w, pp, order, Reset(reset.vreset, reset.t_discharge, reset.t_charge,
                                             start))  # fmt: skip
    g0, g = np.asarray(sim.g0), np.asarray(sim.g)
    g_model = model_run(spec, order, g0)
    dg_from_chip = model_steps_from(spec, order, np.vstack([g0, g[:-1]]))
    g_inf = np.asarray(trained_g if trained_g is not None else g[-1], dtype=float)
    inf = inference(spec, w, pp, g_inf) if with_inference else None
    return ChipRun(order, g0.tolist(), g.tolist(), g_model.tolist(), dg_from_chip.tolist(),
                   sim.energy_per_step_j, sim.wall_s, inf, sim.vdd_energy_each_step_j,
                   sim.read_v, reset.vreset, reset.t_charge, reset.t_discharge, start,
                   reset.discharge, sim.read_net_v, sim.own_levels_worst_v,
                   sim.own_levels_beyond_s)  # fmt: skip
