"""Coupled Learning physics: Eqs. 4, 6, 7; compiled and reference paths agree."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import DESIGNS, base_spec, write_spec

from twinedge.sim.learning import CoupledLearning
from twinedge.sim.models import edge_model
from twinedge.sim.network import Network
from twinedge.spec import load_spec


def trainer(path, **updates) -> CoupledLearning:
    spec = load_spec(path)
    tr = spec.design.training.model_copy(update=updates)
    return CoupledLearning(
        Network.from_design(spec.design), edge_model(spec.design), spec.dataset, tr
    )


def test_differential_clamp_eq7() -> None:
    t = trainer(DESIGNS / "xor_4x4_paper.yaml")
    o_plus, o_minus, label = 0.30, 0.25, -0.087
    cp, cm = t.clamp_targets(np.array([o_plus, o_minus]), label)
    o = o_plus - o_minus
    assert cp == pytest.approx(o_plus + 0.25 * (label - o))  # eta/2 = 0.25
    assert cm == pytest.approx(o_minus - 0.25 * (label - o))
    assert cp - cm == pytest.approx(0.5 * label + 0.5 * o)  # recreates Eq. 6


def test_single_clamp_eq6(tmp_path) -> None:
    spec = base_spec()
    spec["training"]["eta"] = 0.3
    t = trainer(write_spec(tmp_path, spec))
    assert t.clamp_targets(np.array([0.2]), 0.1)[0] == pytest.approx(0.3 * 0.1 + 0.7 * 0.2)


def test_update_is_eq4_and_clipped(tmp_path) -> None:
    t = trainer(write_spec(tmp_path, base_spec()), substeps=1)
    g0 = t.g.copy()
    vf, vc = t.twin_states(1)
    t.v_free[1], t.v_clamp[1] = vf, vc  # warm starts already converged
    t.learn(1)
    a, b = t.net.edges[:, 0], t.net.edges[:, 1]
    expected = g0 + t.tr.t_h * t.tr.rate * ((vf[a] - vf[b]) ** 2 - (vc[a] - vc[b]) ** 2)
    np.testing.assert_allclose(t.g, np.clip(expected, t.tr.g_min, t.tr.g_max), atol=1e-12)
    assert t.tr.rate == pytest.approx(1 / (0.33 * 100 * 22e-6))


def test_no_learning_when_output_equals_label(tmp_path) -> None:
    spec = base_spec()
    t = trainer(write_spec(tmp_path, spec))
    vf, _ = t.twin_states(0)
    # relabel datapoint 0 with the network's own output: clamped state == free state
    t.data.labels[0] = t.net.output_of(vf)
    g0 = t.g.copy()
    t.learn(0)
    np.testing.assert_allclose(t.g, g0, atol=1e-12)


@pytest.mark.parametrize("design", ["xor_4x4_paper.yaml", "regression_4x4.yaml"])
def test_compiled_step_matches_reference_path(design: str) -> None:
    fast = trainer(DESIGNS / design, steps=300, duration=None)
    slow = trainer(DESIGNS / design, steps=300, duration=None)
    slow._compiled = False
    rf, rs = fast.run(), slow.run()
    np.testing.assert_allclose(rf.g, rs.g, atol=1e-9)
    np.testing.assert_allclose(rf.mse, rs.mse, rtol=1e-6, atol=1e-14)


def test_seeded_runs_are_reproducible() -> None:
    a = trainer(DESIGNS / "xor_4x4_paper.yaml", steps=500, duration=None).run()
    b = trainer(DESIGNS / "xor_4x4_paper.yaml", steps=500, duration=None).run()
    np.testing.assert_array_equal(a.g, b.g)


def test_uniform_init_uses_seed(tmp_path) -> None:
    spec = base_spec()
    spec["training"]["g_init"] = {"uniform": [1.0, 2.0]}
    t1 = trainer(write_spec(tmp_path, spec))
    spec["training"]["seed"] = 5
    t2 = trainer(write_spec(tmp_path, spec, "b.yaml"))
    assert t1.g.min() >= 1.0 and t1.g.max() <= 2.0
    assert not np.array_equal(t1.g, t2.g)


def test_symmetric_nudge_compares_the_clamp_at_minus_and_plus_eta(tmp_path) -> None:
    """``nudge: symmetric``: the update compares the clamped twin at -eta with it at +eta;
    on a linear-ish step the signal is twice the one-sided one."""
    one = trainer(DESIGNS / "xor_4x4_paper.yaml")
    sym = trainer(DESIGNS / "xor_4x4_paper.yaml", nudge="symmetric")
    assert sym._compiled  # the compiled step runs either nudge
    p = 1
    vf, vc = one.update_states(p)
    va, vc2 = sym.update_states(p)
    np.testing.assert_allclose(vc2, vc, atol=1e-9)  # +eta: the ordinary clamped state
    out = sym.net.output_nodes
    # the outputs at -eta mirror those at +eta around the free ones
    np.testing.assert_allclose(va[out] - vf[out], -(vc[out] - vf[out]), atol=1e-9)
    a, b = one.net.edges[:, 0], one.net.edges[:, 1]
    s1 = (vf[a] - vf[b]) ** 2 - (vc[a] - vc[b]) ** 2
    s2 = (va[a] - va[b]) ** 2 - (vc[a] - vc[b]) ** 2
    big = np.abs(s1) > 0.1 * np.abs(s1).max()
    np.testing.assert_allclose(s2[big] / s1[big], 2.0, rtol=0.2)
    g0 = sym.g.copy()
    sym.learn(p)
    expected = g0 + sym.tr.t_h * sym.tr.rate * s2
    np.testing.assert_allclose(sym.g, np.clip(expected, sym.tr.g_min, sym.tr.g_max), atol=1e-9)
