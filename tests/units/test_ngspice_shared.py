"""ngspice as a shared library: agreement with the solver, and the real SKY130 models."""

from __future__ import annotations

import os
import signal
import threading
import time

import numpy as np
import pytest
from conftest import DESIGNS

from twinedge.pdk import sky130
from twinedge.sim.learning import CoupledLearning
from twinedge.sim.models import edge_model
from twinedge.sim.network import Network
from twinedge.spec import load_spec
from twinedge.spice.deck import node_name, schematic_netlist
from twinedge.spice.shared import NgspiceSharedError, shared

TIGHT = ".options reltol=1e-9 vntol=1e-12 abstol=1e-18 gmin=1e-12\n"


def test_in_process_op_matches_solver_and_alter() -> None:
    spec = load_spec(DESIGNS / "xor_4x4_paper.yaml")
    net, model = Network.from_design(spec.design), edge_model(spec.design)
    t = CoupledLearning(net, model, spec.dataset, spec.design.training)
    t.g = np.random.default_rng(3).uniform(0.9, 5.7, net.n_edges)
    vf, _ = t.twin_states(2)
    held = {int(n): float(vf[n]) for n in np.flatnonzero(t.free_mask)}
    ng = shared()
    ng.load(schematic_netlist(net, t.g, held, model) + TIGHT)
    names = [node_name(net, n) for n in range(net.n_nodes)]
    try:
        v = ng.op(names)
        assert max(abs(v[names[n]] - vf[n]) for n in range(net.n_nodes)) <= 1e-6
        # change one gate in place (no re-parse) and compare again
        t.g[0] = 1.7
        ng.alter("VG0", 1.7)
        vf2, _ = t.twin_states(2)
        v2 = ng.op(names)
        assert max(abs(v2[names[n]] - vf2[n]) for n in range(net.n_nodes)) <= 1e-6
    finally:
        ng.reset()


def test_bad_circuit_is_reported() -> None:
    with pytest.raises(NgspiceSharedError):
        shared().load("* broken\nM1 a b c d no_such_model w=1u l=1u\nV1 a 0 1\n")
    shared().reset()


def test_sky130_nfet_from_pdk_models_runs() -> None:
    """The PDK's own nfet_01v8 (BSIM4, tt corner) in ngspice: a triode conductance that rises
    with the gate and is symmetric in drain and source, as the twin edge needs."""
    lib = sky130.model_lib()
    ng = shared()
    ng.load(
        f"* nfet\n.lib {lib} tt\nVd d 0 dc 0.05\nVs s 0 dc 0\nVg g 0 dc 1.2\n"
        f"X1 d g s 0 {sky130.NFET} w=1 l=1\n"
    )
    try:
        ng.command("op")
        i_fwd = -float(ng.vector("i(vd)")[0])
        ng.alter("Vg", 1.6)
        ng.command("op")
        i_hi = -float(ng.vector("i(vd)")[0])
        ng.alter("Vg", 1.2)
        ng.alter("Vd", 0.0)
        ng.alter("Vs", 0.05)
        ng.command("op")
        i_rev = float(ng.vector("i(vs)")[0])
    finally:
        ng.reset()
    assert 1e-7 < i_fwd < 1e-3
    assert i_hi > 1.2 * i_fwd
    assert i_rev == pytest.approx(-i_fwd, rel=0.05)


RC = "* rc\nV1 a 0 pulse(0 1 0 1n 1n 5u 10u)\nR1 a b 1k\nC1 b 0 1n\n"


def _interrupted_after(seconds: float, cmd: str, background: bool) -> float:
    """Seconds from a Ctrl-C (SIGINT to this process ``seconds`` into ``cmd``) until the
    command raised KeyboardInterrupt; fails if it returned instead."""
    ng = shared()
    ng.load(RC)
    sent: list[float] = []

    def ctrl_c() -> None:
        sent.append(time.perf_counter())
        os.kill(os.getpid(), signal.SIGINT)

    timer = threading.Timer(seconds, ctrl_c)
    try:
        timer.start()
        with pytest.raises(KeyboardInterrupt):
            ng.command(cmd, background=background)
        return time.perf_counter() - sent[0]
    finally:
        timer.cancel()
        timer.join()
        ng.reset()


def test_ctrl_c_inside_ngspice_is_raised_when_the_call_returns() -> None:
    """Ctrl-C while ngspice runs lands in its output callbacks, where ctypes swallowed the
    KeyboardInterrupt: the call now raises it once ngspice returns."""
    _interrupted_after(0.2, "tran 1n 400u", background=False)  # about 2 s


def test_ctrl_c_halts_a_long_analysis_at_once_and_ngspice_goes_on() -> None:
    assert _interrupted_after(0.3, "tran 1n 20m", background=True) < 1.0  # about 100 s
    ng = shared()
    ng.load("* divider\nV1 a 0 1\nR1 a b 1k\nR2 b 0 1k\n")
    try:
        assert ng.op(["b"])["b"] == pytest.approx(0.5)
    finally:
        ng.reset()
