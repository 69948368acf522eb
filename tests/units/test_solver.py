"""Equilibrium solver: KCL satisfied, dense/sparse/compiled paths agree, clear failures."""

from __future__ import annotations

import numpy as np
import pytest

from twinedge.sim.devices import EdgeCurrent, Level1NMOS
from twinedge.sim.network import Network, square_lattice_edges
from twinedge.sim.solver import ConvergenceError, EquilibriumSolver

MODEL = Level1NMOS(k=1e-3, vth=0.7)


def lattice(rows: int, cols: int, periodic: bool, pins: list[int]) -> Network:
    return Network(
        rows=rows,
        cols=cols,
        periodic=periodic,
        edges=square_lattice_edges(rows, cols, periodic),
        input_nodes=np.array(pins[:-1]),
        input_names=tuple(f"V{i}" for i in range(len(pins) - 1)),
        const_nodes=np.zeros(0, np.int64),
        const_volts=np.zeros(0),
        const_names=(),
        output_nodes=np.array(pins[-1:]),
    )


def held_state(net: Network, volts: np.ndarray, batch: int = 1) -> tuple[np.ndarray, np.ndarray]:
    mask = np.zeros((batch, net.n_nodes), bool)
    mask[:, net.input_nodes] = True
    v0 = np.full((batch, net.n_nodes), 0.2)
    v0[:, net.input_nodes] = volts
    return mask, v0


def test_lattice_edge_counts() -> None:
    assert len(square_lattice_edges(4, 4, True)) == 32  # the paper's 32 twin edges
    assert len(square_lattice_edges(4, 4, False)) == 24
    assert len(square_lattice_edges(3, 5, True)) == 30


def test_kcl_residual_and_box() -> None:
    net = lattice(4, 4, True, [0, 5, 10, 15])
    rng = np.random.default_rng(0)
    g = rng.uniform(0.7, 5.7, net.n_edges)
    mask, v0 = held_state(net, np.array([0.0, 0.45, 0.11]), batch=1)
    solver = EquilibriumSolver(net, MODEL)
    v = solver.solve(g, mask, v0)
    assert np.max(np.abs(solver.residual(g, v, mask))) < 1e-14
    free = ~mask[0]
    assert v[0, free].min() >= 0 and v[0, free].max() <= 0.45  # maximum principle


@pytest.mark.parametrize("seed", range(5))
def test_dense_sparse_compiled_agree(seed: int) -> None:
    net = lattice(5, 6, True, [0, 7, 20, 29])
    rng = np.random.default_rng(seed)
    g = rng.uniform(0.7, 3.0, net.n_edges)  # low G: saturation and cut-off edges appear
    volts = rng.uniform(0, 0.45, (4, 3))
    mask, v0 = held_state(net, volts, batch=4)
    results = []
    for dense in (True, False):
        solver = EquilibriumSolver(net, MODEL, dense=dense)
        results.append(solver.solve(g, mask, v0))
    # batched numpy path on a dense-size network: per-member G disables the compiled kernel
    solver = EquilibriumSolver(net, MODEL, dense=True)
    results.append(solver.solve(np.tile(g, (4, 1)), mask, v0))
    for other in results[1:]:
        np.testing.assert_allclose(other, results[0], atol=1e-9)


def test_near_floating_cluster_converges() -> None:
    """Edges at G ~ Vth isolate nodes behind cut-off/saturated transistors; gmin stepping and
    the Gauss-Seidel/Jacobi fallbacks must still find the equilibrium on every path."""
    net = lattice(4, 4, True, [0, 3, 6, 9])
    rng = np.random.default_rng(7)
    g = rng.uniform(0.7, 1.2, net.n_edges)
    volts = np.array([[0.45, 0.0, 0.3], [0.0, 0.45, 0.11], [0.33, 0.45, 0.0]])
    mask, v0 = held_state(net, volts, batch=3)
    out = [EquilibriumSolver(net, MODEL, dense=d).solve(g, mask, v0) for d in (True, False)]
    for v in out:
        assert np.max(np.abs(EquilibriumSolver(net, MODEL).residual(g, v, mask))) < 1e-13
    np.testing.assert_allclose(out[0], out[1], atol=1e-6)


def test_large_lattice_sparse() -> None:
    net = lattice(48, 48, False, [0, 47, 48 * 48 - 48, 48 * 48 - 1])
    rng = np.random.default_rng(1)
    g = rng.uniform(1.0, 5.0, net.n_edges)
    mask, v0 = held_state(net, np.array([0.45, 0.0, 0.3]), batch=2)
    solver = EquilibriumSolver(net, MODEL)
    assert not solver.dense
    v = solver.solve(g, mask, v0)
    assert np.max(np.abs(solver.residual(g, v, mask))) < 1e-13


class BrokenModel:
    """A device whose current is undefined: the solver must raise, never return."""

    def current(self, g: np.ndarray, va: np.ndarray, vb: np.ndarray) -> EdgeCurrent:
        nan = np.full(np.broadcast(g, va, vb).shape, np.nan)
        return EdgeCurrent(nan, nan, nan, nan)


def test_non_convergence_names_member_and_residual() -> None:
    net = lattice(4, 4, False, [0, 5, 15])
    mask, v0 = held_state(net, np.array([[0.0, 0.45], [0.45, 0.0]]), batch=2)
    solver = EquilibriumSolver(net, BrokenModel(), max_iter=5)
    with pytest.raises(ConvergenceError) as info:
        solver.solve(
            np.full(net.n_edges, 2.0), mask, v0, tags=["datapoint 0 (free)", "datapoint 1 (free)"]
        )
    msg = str(info.value)
    assert msg.startswith("equilibrium did not converge for datapoint ")
    assert "max KCL residual" in msg


def test_max_iter_one_still_reports_converged_state() -> None:
    """A solve that converges on its last allowed iteration is a success, not an error."""
    net = lattice(4, 4, False, [0, 5, 15])
    mask, v0 = held_state(net, np.array([0.0, 0.45]))
    solver = EquilibriumSolver(net, MODEL)
    v = solver.solve(np.full(net.n_edges, 2.0), mask, v0)
    again = EquilibriumSolver(net, MODEL, max_iter=1).solve(np.full(net.n_edges, 2.0), mask, v)
    np.testing.assert_allclose(again, v, atol=1e-12)
