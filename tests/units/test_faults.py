"""Faults drawn into the trained network: damage (``network.damage``: removed edges vanish
from the simulated lattice, stuck edges keep their initial G) and twin mismatch
(``cell.twin_mismatch``: each twin transistor its own threshold and current factor, the same
in the compiled step and the numpy path, with either nudge) and G leaking away
(``cell.g_leak``); the layout refuses them."""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from conftest import DESIGNS
from typer.testing import CliRunner

from twinedge.cli import app
from twinedge.learn.train import run_training
from twinedge.sim.network import Network
from twinedge.spec.errors import SpecError
from twinedge.spec.loader import load_spec_text


def _paper(tmp_path, section: str, field: str, **values):
    """designs/xor_4x4_paper.yaml (0.05 s of learning) with ``section.field`` = ``values``;
    the loaded spec and its file."""
    raw = yaml.safe_load((DESIGNS / "xor_4x4_paper.yaml").read_text())
    raw[section][field] = values
    raw["training"]["duration"] = 0.05
    path = tmp_path / f"{field}.yaml"
    path.write_text(yaml.safe_dump(raw))
    return load_spec_text(path.read_text(), str(path), tmp_path), path


def _spec(tmp_path, **damage):
    return _paper(tmp_path, "network", "damage", **damage)


def test_removed_and_stuck_edges_are_drawn_from_the_seed(tmp_path) -> None:
    spec, _ = _spec(tmp_path, removed=0.25, stuck=0.25, seed=3)
    whole = Network.from_design(spec.design)
    net = Network.for_learning(spec.design)
    assert whole.n_edges == 32 and net.n_edges == 24 and net.stuck.sum() == 6
    lattice = {tuple(e) for e in whole.edges.tolist()}
    assert {tuple(e) for e in net.edges.tolist()} < lattice
    again = Network.for_learning(spec.design)
    assert np.array_equal(again.edges, net.edges) and np.array_equal(again.stuck, net.stuck)
    other, _ = _spec(tmp_path, removed=0.25, stuck=0.25, seed=4)
    assert not np.array_equal(Network.for_learning(other.design).edges, net.edges)


def test_stuck_edges_keep_their_initial_g_and_the_rest_learn(tmp_path) -> None:
    spec, _ = _spec(tmp_path, stuck=0.5, seed=1)
    stuck = Network.for_learning(spec.design).stuck
    res = run_training(spec)
    assert np.array_equal(res.g[stuck], res.g_init[stuck])
    assert np.count_nonzero(res.g[~stuck] != res.g_init[~stuck]) >= 12


def test_the_layout_refuses_a_damaged_network_in_one_line(tmp_path, monkeypatch) -> None:
    _, path = _spec(tmp_path, removed=0.1)
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(app, ["layout", str(path)])
    assert res.exit_code == 2, res.output
    assert "network.damage: faults are simulated, not laid out" in res.output


def _mismatched(tmp_path, **mismatch):
    return _paper(tmp_path, "cell", "twin_mismatch", **mismatch)


def test_twin_mismatch_is_drawn_per_twin_and_trains_alike_compiled_or_not(tmp_path) -> None:
    from conftest import train_compiled_and_numpy

    spec, _ = _mismatched(tmp_path, vth_sigma_v=0.02, k_sigma=0.1, seed=5)
    net = Network.for_learning(spec.design)
    assert net.twin_dg.shape == net.twin_scale.shape == (2, 32)
    assert 0.01 < np.std(net.twin_dg) < 0.03 and not np.allclose(net.twin_dg[0], net.twin_dg[1])
    a, b = train_compiled_and_numpy(spec)
    assert np.abs(a.g - b.g).max() < 1e-9
    nominal, _ = _mismatched(tmp_path, vth_sigma_v=0.0, k_sigma=0.0)
    assert Network.for_learning(nominal.design).twin_dg is None
    assert np.abs(run_training(nominal).g - a.g).max() > 1e-3  # the mismatch matters


def test_the_symmetric_nudge_trains_alike_compiled_or_not(tmp_path) -> None:
    from conftest import train_compiled_and_numpy

    _, path = _mismatched(tmp_path, vth_sigma_v=0.01, k_sigma=0.05, seed=2)
    raw = yaml.safe_load(path.read_text())
    raw["training"]["nudge"] = "symmetric"
    spec = load_spec_text(yaml.safe_dump(raw), str(path), tmp_path)
    a, b = train_compiled_and_numpy(spec)
    assert np.abs(a.g - b.g).max() < 1e-9 and np.abs(a.g - a.g_init).max() > 1e-3
    from twinedge.learn.train import trainer

    learner = trainer(spec)
    before = learner.solver.stats.solves
    learner.learn(0)
    assert learner.solver.stats.solves - before == 3  # the compiled step ran, three solves
    one_sided = run_training(load_spec_text(path.read_text(), str(path), tmp_path))
    assert np.abs(one_sided.g - a.g).max() > 1e-3  # the nudge changes what is learned


def test_the_layout_refuses_twin_mismatch_in_one_line(tmp_path, monkeypatch) -> None:
    _, path = _mismatched(tmp_path, vth_sigma_v=0.01)
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(app, ["layout", str(path)])
    assert res.exit_code == 2, res.output
    assert "cell.twin_mismatch: simulated, not laid out" in res.output


def test_g_leaks_towards_its_rest_value_each_step_and_the_layout_refuses_it(
    tmp_path, monkeypatch
) -> None:
    from twinedge.learn.train import trainer

    tight, path = _paper(tmp_path, "cell", "g_leak", tau_s=0.01, to_v=0.3)
    raw = yaml.safe_load(path.read_text())
    del raw["cell"]["g_leak"]
    plain = load_spec_text(yaml.safe_dump(raw), str(path), tmp_path)
    leaky, clean = trainer(tight), trainer(plain)
    assert np.array_equal(leaky.g, clean.g)
    for p in (0, 1, 2):
        leaky.learn(p)
        clean.learn(p)
        # the same update, then G relaxes towards 0.3 V over the step (t_h = 100 us)
        decay = np.exp(-tight.design.training.t_h / 0.01)
        np.testing.assert_allclose(leaky.g, 0.3 + (clean.g - 0.3) * decay, atol=1e-9)
        clean.g = leaky.g.copy()
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(app, ["layout", str(path)])
    assert res.exit_code == 2, res.output
    assert "cell.g_leak: simulated, not laid out" in res.output
    with pytest.raises(SpecError, match=r"cell.g_leak.tau_s.*shorter than 100 learning steps"):
        _paper(tmp_path, "cell", "g_leak", tau_s=0.005)  # 50 steps of t_h = 100 us
