"""Training speed: twinedge's solver vs a straightforward dense-numpy Newton, side by side.

Both run the same Coupled Learning steps from the same state on the same network; the
script prints steps/s for each, their ratio, and the largest difference in final G and node
voltages (so the speed-up is not bought with accuracy). Sizes: the paper's 4x4 XOR and the
64x64 benchmark array; ``--big`` adds one 256x256 equilibrium solve (twinedge only: a dense
65536^2 Jacobian would need 34 GB).

    .venv/bin/python benchmarks/bench_train.py [--steps4 2000] [--steps64 6] [--big]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dense_baseline import dense_learning_step

from twinedge.sim.devices import Level1NMOS
from twinedge.sim.learning import CoupledLearning
from twinedge.sim.models import edge_model
from twinedge.sim.network import Network, square_lattice_edges
from twinedge.sim.solver import EquilibriumSolver
from twinedge.spec import load_spec

DESIGNS = Path(__file__).resolve().parent.parent / "designs"


def _trainer(design: str) -> CoupledLearning:
    spec = load_spec(DESIGNS / design)
    return CoupledLearning(
        Network.from_design(spec.design),
        edge_model(spec.design),
        spec.dataset,
        spec.design.training,
    )


def compare(design: str, steps: int) -> tuple[float, float, float, float]:
    ours, base = _trainer(design), _trainer(design)
    order = np.random.default_rng(0).integers(len(ours.data.labels), size=steps + 1)
    ours.learn(int(order[-1]))  # warm-up: JIT compilation, caches
    base.g, base.v_free, base.v_clamp = ours.g.copy(), ours.v_free.copy(), ours.v_clamp.copy()
    tr = ours.tr
    gain = tr.t_h * tr.rate
    model = ours.solver.model
    assert isinstance(model, Level1NMOS)

    t0 = time.perf_counter()
    for p in order[:steps]:
        ours.learn(int(p))
    t_ours = time.perf_counter() - t0

    t0 = time.perf_counter()
    g = base.g
    for p in order[:steps]:
        g, base.v_free[p], base.v_clamp[p] = dense_learning_step(
            base.net,
            model,
            g,
            base.v_free[p],
            base.v_clamp[p],
            base.free_mask,
            base.clamp_mask,
            float(base.data.labels[p]),
            tr.eta,
            gain,
            tr.g_min,
            tr.g_max,
        )
    t_base = time.perf_counter() - t0
    dg = float(np.max(np.abs(ours.g - g)))
    dv = float(np.max(np.abs(ours.v_free - base.v_free)))
    return steps / t_ours, steps / t_base, dg, dv


def big_solve(n: int) -> float:
    edges = square_lattice_edges(n, n, True)
    net = Network(
        rows=n,
        cols=n,
        periodic=True,
        edges=edges,
        input_nodes=np.array([0, n * n // 2]),
        input_names=("V1", "V2"),
        const_nodes=np.zeros(0, np.int64),
        const_volts=np.zeros(0),
        const_names=(),
        output_nodes=np.array([n * n - 1]),
    )
    g = np.random.default_rng(0).uniform(1.0, 5.0, len(edges))
    mask = np.zeros(n * n, bool)
    mask[net.input_nodes] = True
    v0 = np.full(n * n, 0.2)
    v0[net.input_nodes] = [0.45, 0.0]
    solver = EquilibriumSolver(net, Level1NMOS(1e-3, 0.7))
    t0 = time.perf_counter()
    v = solver.solve(g, mask, v0)
    dt = time.perf_counter() - t0
    assert np.max(np.abs(solver.residual(g, v, mask))) < 1e-13
    return dt


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps4", type=int, default=2000)
    ap.add_argument("--steps64", type=int, default=6)
    ap.add_argument("--big", action="store_true")
    args = ap.parse_args()
    print(
        f"{'network':<14}{'steps':>7}{'twinedge steps/s':>18}{'dense numpy steps/s':>21}"
        f"{'ratio':>9}{'max|dG| V':>12}{'max|dV| V':>12}"
    )
    for label, design, steps in (
        ("4x4 (XOR)", "xor_4x4_paper.yaml", args.steps4),
        ("64x64", "lattice_64x64.yaml", args.steps64),
    ):
        fast, slow, dg, dv = compare(design, steps)
        print(
            f"{label:<14}{steps:>7}{fast:>18.1f}{slow:>21.2f}{fast / slow:>8.1f}x"
            f"{dg:>12.1e}{dv:>12.1e}",
            flush=True,
        )
    if args.big:
        print(f"256x256 periodic lattice, one cold-start equilibrium: {big_solve(256):.2f} s")


if __name__ == "__main__":
    main()
