"""Check the characterised on-chip update against a fully transistor-level transient.

The whole ``twin_edge_cl`` array as one ngspice circuit with the PDK models: both twins'
nfet edges, each edge's gate capacitor on its shared G node, and the update circuit
(:mod:`twinedge.circuits.mirror`) on every edge wired to the edge's four terminals.
Inputs and constants drive both twins; the clamped twin's outputs are held at the nudged
values. One learning step - settle, a LEARN pulse of ``t_h``, then ``t_frozen`` frozen - is
simulated from the simulator's G, and each edge's dG is compared with what the
characterised model (:class:`twinedge.learn.onchip.OnChipRule`, nominal circuit) predicts
from the simulator's twin equilibria.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from twinedge.characterise.mirror import cached_characterisation, numeric_rows, run_ngspice
from twinedge.circuits.mirror import SUBCKT, UpdateSizing, subckt
from twinedge.circuits.nets import node_net_name
from twinedge.learn.onchip import OnChipRule, RuleLearning, apply_rule
from twinedge.pdk import Pdk
from twinedge.pdk import get as get_pdk
from twinedge.sim.network import Network
from twinedge.spec.loader import LoadedSpec

T_SETTLE = 50e-9  # before the pulse: the twins and the update circuit settle


@dataclass
class StepCheck:
    g0: np.ndarray
    dg_transistor: np.ndarray  # (E,) from the transient
    dg_model: np.ndarray  # (E,) from the characterised model
    datapoint: int
    wall_s: float

    @property
    def r2(self) -> float:
        res = self.dg_transistor - self.dg_model
        return float(1 - res.var() / self.dg_transistor.var())

    @property
    def max_error_v(self) -> float:
        return float(np.abs(self.dg_transistor - self.dg_model).max())

    def as_dict(self) -> dict:
        return {
            "datapoint": self.datapoint,
            "edges": len(self.g0),
            "dg_transistor_v": self.dg_transistor.tolist(),
            "dg_model_v": self.dg_model.tolist(),
            "r2": self.r2,
            "max_abs_error_v": self.max_error_v,
            "rms_dg_v": float(np.sqrt(np.mean(self.dg_transistor**2))),
            "wall_s": self.wall_s,
        }


def _node(net: Network, node: int, twin: str) -> str:
    return node_net_name(net, node, twin)


def array_deck(
    learner: RuleLearning,
    p: int,
    pdk: Pdk,
    corner: str,
    w_um: float,
    l_um: float,
    vbp: float,
    vfloor: float,
    c_gate_f: float,
    t_h: float,
    t_frozen: float,
) -> tuple[str, float]:
    """The transistor-level deck of one learning step on datapoint ``p``; returns (deck,
    end time)."""
    net = learner.net
    vf, vc = learner.twin_states(p)
    lib = pdk.reduced_model_lib((pdk.nfet, pdk.pfet), corner)
    vdd = pdk.vdd
    t_on, t_off = T_SETTLE, T_SETTLE + t_h
    t_end = t_off + max(t_frozen, 20e-9)
    edge = 0.5e-9
    lines = [
        "* twin_edge_cl array, one learning step, transistor level",
        f".lib {lib} {corner}",
        ".option scale=1u",
        subckt(pdk, UpdateSizing()),
        f"Vvdd vdd 0 {vdd!r}",
        f"Vvbp vbp 0 {vbp!r}",
        f"Vvfloor vfloor 0 {vfloor!r}",
        f"Vlearn learn 0 pwl(0 0 {t_on!r} 0 {t_on + edge!r} {vdd!r} {t_off!r} {vdd!r} "
        f"{t_off + edge!r} 0)",
        f"Vlearnb learnb 0 pwl(0 {vdd!r} {t_on!r} {vdd!r} {t_on + edge!r} 0 {t_off!r} 0 "
        f"{t_off + edge!r} {vdd!r})",
    ]
    ics = []
    for e, (a, b) in enumerate(net.edges.tolist()):
        af, bf, ac, bc = (_node(net, a, "F"), _node(net, b, "F"), _node(net, a, "C"),
                          _node(net, b, "C"))  # fmt: skip
        dev = f"{pdk.nfet} w={w_um!r} l={l_um!r}"
        lines += [
            f"XF{e} {af} g{e} {bf} 0 {dev}",
            f"XC{e} {ac} g{e} {bc} 0 {dev}",
            f"Cg{e} g{e} 0 {c_gate_f!r}",
            f"XU{e} {af} {bf} {ac} {bc} g{e} vdd vbp learn learnb vfloor {SUBCKT}",
        ]
        ics.append(f"v(g{e})={float(learner.g[e])!r}")
    held = {int(n): float(vf[n]) for n in (*net.input_nodes, *net.const_nodes)}
    for node, volts in held.items():
        for twin in ("F", "C"):
            lines.append(f"Vh{twin}{node} {_node(net, node, twin)} 0 {volts!r}")
    for node in net.output_nodes:
        lines.append(f"Vcl{int(node)} {_node(net, int(node), 'C')} 0 {float(vc[node])!r}")
    lines.append(".ic " + " ".join(ics))
    probes = " ".join(f"v(g{e})" for e in range(net.n_edges))
    lines += [
        ".control",
        f"tran 0.5n {t_end!r}",
        f"wrdata step.dat {probes}",
        "quit 0",
        ".endc",
        ".end",
    ]
    return "\n".join(lines) + "\n", t_end


def check_step(learner: RuleLearning, p: int, **deck_args) -> StepCheck:
    """Run the transistor-level step and the model's step from the same G."""
    import time

    rule = learner.rule
    assert isinstance(rule, OnChipRule)
    g0 = learner.g.copy()
    t0 = time.perf_counter()
    deck, _ = array_deck(learner, p, **deck_args)
    out = run_ngspice(deck, timeout=1200)
    g_end = numeric_rows(out)[-1, 1::2]  # wrdata writes (t, v) pairs per vector
    vf, vc = learner.twin_states(p)
    a, b = learner.net.edges[:, 0], learner.net.edges[:, 1]
    g_model = apply_rule(rule, g0, vf, vc, a, b)
    return StepCheck(g0, g_end - g0, g_model - g0, p, time.perf_counter() - t0)


WARMUP_STEPS = 20  # model steps before the check, so that the edges' G differ


def check_design(spec: LoadedSpec) -> StepCheck:
    """The check for a ``twin_edge_cl`` design: its nominal circuit (the transistor-level
    deck has no mismatch draws), a few model steps to spread G, then one step both ways."""
    from twinedge.learn.train import characterisation_conditions, nominal_circuit, trainer

    d = spec.design
    pdk = get_pdk(d.pdk)
    learner = trainer(replace(spec, design=nominal_circuit(d)))
    assert isinstance(learner, RuleLearning)
    n = len(spec.dataset.labels)
    for _ in range(WARMUP_STEPS):
        learner.learn(int(learner.rng.integers(n)))
    if d.cell.update.circuit == "memory":
        from twinedge.learn.train import circuit_characterisation

        m = circuit_characterisation(d)
        return check_memory_step(learner, 1 % n, pdk, m, d.cell.c_gate_f, d.cell.w_um, d.cell.l_um)
    ch = cached_characterisation(characterisation_conditions(d))
    tr = d.training
    return check_step(
        learner,
        1 % n,
        pdk=pdk,
        corner=ch.corner,
        w_um=d.cell.w_um,
        l_um=d.cell.l_um,
        vbp=ch.vbp,
        vfloor=ch.vfloor,
        c_gate_f=d.cell.c_gate_f,
        t_h=tr.t_h,
        t_frozen=tr.t_frozen,
    )


# ------------------------------------------------------------ the time-differenced circuit
def memory_array_deck(
    learner: RuleLearning,
    states: tuple[np.ndarray, np.ndarray],
    pdk: Pdk,
    m,
    c_gate_f: float,
    w_um: float,
    l_um: float,
) -> tuple[str, float]:
    """One learning step of the whole array with the time-differenced circuit on every edge,
    transistor level: the clamped twin at the first compared state while CAL stores each
    edge's squarer current, CAL opens, LEARN closes, the clamped outputs move to the second
    state (+eta), LEARN opens; ``states``: the two compared node-voltage states
    (:meth:`update_states`); returns (deck, the time G is read)."""
    from twinedge.characterise import memory as mc
    from twinedge.circuits import memory as memory_circuit

    net = learner.net
    v1, v2 = states
    bias = memory_circuit.MemoryBias(**m.bias)
    th = m.t_h * 1e9
    t_off = mc.T_NUDGE + th
    t_read = t_off + mc.READ_AFTER
    title = "twin_edge_cl array, time-differenced circuit"
    lines = [
        mc.model_header(pdk, m.corner, None, title, abstol=mc.ABSTOL).rstrip("\n"),
        memory_circuit.subckt(pdk, memory_circuit.MemorySizing(**m.sizing)),
        *mc.phase_sources(pdk.vdd, bias, m.vfloor, th),
    ]
    dev = f"{pdk.nfet} w={w_um!r} l={l_um!r}"
    for e, (a, b) in enumerate(net.edges.tolist()):
        af, bf, ac, bc = (_node(net, a, "F"), _node(net, b, "F"), _node(net, a, "C"),
                          _node(net, b, "C"))  # fmt: skip
        ports = {"ac": ac, "bc": bc, "g": f"g{e}"}
        lines += [
            f"XF{e} {af} g{e} {bf} 0 {dev}",
            f"XC{e} {ac} g{e} {bc} 0 {dev}",
            f"Cg{e} g{e} 0 {c_gate_f!r}",
            f"Vgh{e} gh{e} 0 {float(learner.g[e])!r}",
            f"Sh{e} g{e} gh{e} hc 0 holdsw",
            f"XU{e} {' '.join(ports.get(q, q) for q in memory_circuit.PORTS)} "
            f"{memory_circuit.SUBCKT}",
        ]
    for node in (*net.input_nodes, *net.const_nodes):
        for twin in ("F", "C"):
            lines.append(f"Vh{twin}{int(node)} {_node(net, int(node), twin)} 0 {float(v1[node])!r}")
    for node in net.output_nodes:
        a, b = float(v1[node]), float(v2[node])
        step = mc.pwl((0, a), (mc.T_NUDGE, a), (mc.T_NUDGE + mc.EDGE, b))
        lines.append(f"Vcl{int(node)} {_node(net, int(node), 'C')} 0 {step}")
    probes = " ".join(f"v(g{e})" for e in range(net.n_edges))
    lines += [
        ".control", "set numdgt=12", f"tran 0.05n {t_read + 10!r}n 0 {mc.MAX_STEP_NS!r}n",
        f"wrdata step.dat {probes}", "quit 0", ".endc", ".end",
    ]  # fmt: skip
    return "\n".join(lines) + "\n", t_read * 1e-9


def check_memory_step(learner: RuleLearning, p: int, pdk: Pdk, m, c_gate_f: float, w_um: float,
                      l_um: float) -> StepCheck:  # fmt: skip
    """The transistor-level step against the measured rule, from the same G (the rule's
    settling memory reset: the deck starts with every circuit settled)."""
    import time

    from twinedge.characterise.memory import T_HOLD
    from twinedge.characterise.mirror import run_transient
    from twinedge.learn.onchip import MemoryRule

    rule = learner.rule
    assert isinstance(rule, MemoryRule)
    g0 = learner.g.copy()
    t0 = time.perf_counter()
    v1, v2 = learner.update_states(p)
    deck, t_read = memory_array_deck(learner, (v1, v2), pdk, m, c_gate_f, w_um, l_um)
    rows = numeric_rows(run_transient(deck))
    t = rows[:, 0]
    cols = rows[:, 1::2]
    start = np.array([np.interp((T_HOLD - 1) * 1e-9, t, cols[:, e]) for e in range(len(g0))])
    end = np.array([np.interp(t_read, t, cols[:, e]) for e in range(len(g0))])
    a, b = learner.net.edges[:, 0], learner.net.edges[:, 1]
    rule.settled()
    g_model = apply_rule(rule, g0, v1, v2, a, b)
    return StepCheck(g0, end - start, g_model - g0, p, time.perf_counter() - t0)
