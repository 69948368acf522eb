"""What on-chip rails must drive: the current each boundary level of a design's network
sources (+) or sinks (-), both twins together, over its datapoints and phases (free with the
clamped twin at +eta, and at -eta for the symmetric nudge), at several G states (every
edge at g_init, at g_max, at g_min, and uniformly random in [g_min, g_max], seeded).

A chip on a shuttle without analog pins (TinyTapeout's GF180MCU tiles) makes these levels on
chip: this is the load its rail buffers must hold (docs/periphery.md, "A learning chip on
GF180MCU"). Behavioural network with the design's device model (its PDK table), no
parasitics. The clamped outputs are driven by the error element, not by a rail: not listed.
"""

from __future__ import annotations

import numpy as np

from twinedge.learn.train import _cl_solver, _learner_args
from twinedge.sim.learning import CoupledLearning
from twinedge.spec.loader import LoadedSpec

MIN_A = 5e-6  # the least current a buffer is sized for either way
DECIMALS = 9  # levels compared to a nanovolt, as the pin plan's rails are


def _injections(learner: CoupledLearning, v: np.ndarray) -> np.ndarray:
    """Current into the network at every node (A): what a source there delivers."""
    i = learner.solver.model.current(learner.g, v[learner._a], v[learner._b]).i
    out = np.zeros(learner.net.n_nodes)
    np.add.at(out, learner._a, i)
    np.add.at(out, learner._b, -i)
    return out


def rail_currents(spec: LoadedSpec, seed: int = 0) -> dict[str, dict[float, tuple[float, float]]]:
    """{G state: {rail's volts (to a nanovolt): (most sunk, most sourced) A}} over datapoints
    and phases."""
    tr = spec.design.training
    args = _learner_args(spec)
    learner = CoupledLearning(*args, solver=_cl_solver(args), compiled=False)
    net, data = learner.net, spec.dataset
    n_g = learner.g.shape
    states = {
        "g_init": learner.g.copy(),
        "g_max": np.full(n_g, tr.g_max),
        "g_min": np.full(n_g, tr.g_min),
        "random": np.random.default_rng(seed).uniform(tr.g_min, tr.g_max, n_g),
    }
    out: dict[str, dict[float, tuple[float, float]]] = {}
    for state, g in states.items():
        learner.g = g.copy()
        per_rail: dict[float, list[float]] = {}
        for p in range(len(data.labels)):
            vf, vc = learner.twin_states(p)
            clamped = [vc]
            if tr.nudge == "symmetric":
                clamped.append(learner._clamped(p, vf, -1.0, learner.v_anti, "clamped, -eta"))
            free_i = _injections(learner, vf)
            for vcl in clamped:
                both = free_i + _injections(learner, vcl)
                sums: dict[float, float] = {}
                sources = [(node, data.inputs[p, k]) for k, node in enumerate(net.input_nodes)]
                sources += list(zip(net.const_nodes, net.const_volts, strict=True))
                for node, volts in sources:
                    level = round(float(volts), DECIMALS)
                    sums[level] = sums.get(level, 0.0) + both[node]
                for rail, amps in sums.items():
                    per_rail.setdefault(rail, []).append(amps)
        out[state] = {r: (min(a), max(a)) for r, a in sorted(per_rail.items())}
    return out


def rail_loads(spec: LoadedSpec) -> dict[float, tuple[float, float]]:
    """{level (V): (most sourced, most sunk) A} over the G states, ground left out, each at
    least :data:`MIN_A`: what each rail's buffer is sized for."""
    out: dict[float, tuple[float, float]] = {}
    for per_rail in rail_currents(spec).values():
        for level, (lo, hi) in per_rail.items():
            if level == 0.0:
                continue
            src, snk = out.get(level, (0.0, 0.0))
            out[level] = (float(max(src, hi, MIN_A)), float(max(snk, -lo, MIN_A)))
    return dict(sorted(out.items()))
