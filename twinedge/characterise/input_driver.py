"""Characterisation of the input drivers (:mod:`twinedge.circuits.input_driver`): the
switch's on-resistance at both rails (ngspice, PDK models), and how much it moves the
network's equilibria.

The network draws its input current through the switch, so an input node sits at
V_rail - I x R_on instead of V_rail. The shift is found by iterating the network's own
equilibrium: solve the free twin with the inputs held, read each input's current (KCL over
its edges; both twins draw it, so twice the free twin's), move the held voltage by
I x R_on, and solve again until the node moves by less than a microvolt.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

import numpy as np

from twinedge.characterise.mirror import model_header, run_ngspice
from twinedge.circuits.input_driver import SUBCKT, InputDriverSizing, subckt
from twinedge.pdk import Pdk
from twinedge.sim.learning import CoupledLearning

TEST_CURRENT_A = 20e-6
TWINS = 2  # the input's net feeds both twins' input nodes


@dataclass
class InputDriverCharacterisation:
    r_on_low_ohm: float  # bit 0: the node on the low rail
    r_on_high_ohm: float  # bit 1: on the high rail
    max_input_shift_v: float  # over datapoints and inputs, at the learner's G
    max_output_shift_v: float  # the network's output O (O+ - O- if differential)
    max_input_current_a: float
    iterations: int

    def as_dict(self) -> dict:
        return asdict(self)


def on_resistance(
    pdk: Pdk, corner: str, levels: tuple[float, float], s: InputDriverSizing
) -> tuple[float, float]:
    """(R_on at the low rail, at the high rail): +- TEST_CURRENT_A through the closed
    switch, from one operating point of four drivers."""
    lo, hi = levels
    lines = [model_header(pdk, corner, title="twinedge input driver").rstrip("\n"),
             subckt(pdk, s).rstrip("\n"), f"Vvdd vdd 0 {pdk.vdd!r}", f"Vlo vlo 0 {lo!r}",
             f"Vhi vhi 0 {hi!r}"]  # fmt: skip
    cases = [(0.0, +1), (0.0, -1), (pdk.vdd, +1), (pdk.vdd, -1)]
    for i, (bit, sign) in enumerate(cases):
        lines += [
            f"Vb{i} b{i} 0 {bit!r}",
            f"I{i} 0 n{i} {sign * TEST_CURRENT_A!r}",  # into the node: sign > 0
            f"X{i} n{i} b{i} vlo vhi vdd {SUBCKT}",
        ]
    lines += [".control", "set numdgt=12", "op", *[f"print v(n{i})" for i in range(4)],
              "quit 0", ".endc", ".end"]  # fmt: skip
    out = run_ngspice("\n".join(lines) + "\n")
    v = {int(k): float(x) for k, x in re.findall(r"^v\(n(\d+)\)\s*=\s*(\S+)", out, flags=re.M)}
    r_lo = (v[0] - v[1]) / (2 * TEST_CURRENT_A)
    r_hi = (v[2] - v[3]) / (2 * TEST_CURRENT_A)
    return float(r_lo), float(r_hi)


def input_currents(learner: CoupledLearning, v: np.ndarray) -> np.ndarray:
    """Current (A) each node's source delivers into the network at node voltages ``v``."""
    net = learner.net
    a, b = net.edges[:, 0], net.edges[:, 1]
    i_ab = learner.solver.model.current(learner.g, v[a], v[b]).i
    out = np.zeros(net.n_nodes)
    np.add.at(out, a, i_ab)
    np.add.at(out, b, -i_ab)
    return out


def equilibrium_shift(
    learner: CoupledLearning, r_on: tuple[float, float], tol_v: float = 1e-6
) -> tuple[float, float, float, int]:
    """(max input shift, max output shift, max input current, iterations) over the
    datapoints when every input reaches its node through ``r_on`` (low, high rail)."""
    net = learner.net
    inputs = net.input_nodes
    levels = learner.data.inputs
    lo = levels.min(axis=0)
    worst_in = worst_out = worst_i = 0.0
    iterations = 0
    for p in range(len(levels)):
        r = np.where(np.isclose(levels[p], lo), r_on[0], r_on[1])
        v0 = learner.v_bound[p].copy()
        ideal = learner.solver.solve(learner.g, learner.free_mask, v0)[0]
        v, moved, k = ideal.copy(), np.inf, 0
        while moved >= tol_v and k < 50:  # a fixed point: the shift is ~1e-3 of the level
            i_in = TWINS * input_currents(learner, v)[inputs]
            held = v0.copy()
            held[inputs] = levels[p] - i_in * r
            new = learner.solver.solve(learner.g, learner.free_mask, held)[0]
            moved = float(np.max(np.abs(new[inputs] - v[inputs])))
            v, k = new, k + 1
        iterations = max(iterations, k)
        worst_in = max(worst_in, float(np.max(np.abs(v[inputs] - levels[p]))))
        worst_out = max(worst_out, float(np.abs(net.output_of(v) - net.output_of(ideal))))
        worst_i = max(worst_i, float(np.max(np.abs(i_in))))
    return worst_in, worst_out, worst_i, iterations


def characterise_input_driver(
    pdk: Pdk, corner: str, learner: CoupledLearning, s: InputDriverSizing | None = None
) -> InputDriverCharacterisation:
    """On-resistance at the dataset's two input levels, and the equilibria it moves."""
    s = s or InputDriverSizing()
    levels = learner.data.inputs
    r_on = on_resistance(pdk, corner, (float(levels.min()), float(levels.max())), s)
    shift_in, shift_out, i_max, its = equilibrium_shift(learner, r_on)
    return InputDriverCharacterisation(r_on[0], r_on[1], shift_in, shift_out, i_max, its)
