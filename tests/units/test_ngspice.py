"""The solver against ngspice on the same level-1 network: agreement to 1 microvolt."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from conftest import DESIGNS

from twinedge.sim.devices import Level1NMOS
from twinedge.sim.learning import CoupledLearning
from twinedge.sim.models import edge_model
from twinedge.sim.network import Network
from twinedge.spec import load_spec
from twinedge.spice.deck import ngspice_op, node_name, schematic_netlist

pytestmark = pytest.mark.skipif(
    shutil.which("ngspice") is None and not __import__("os").environ.get("CI"),
    reason="ngspice not installed",
)


def _compare(
    net: Network, model: Level1NMOS, g: np.ndarray, v: np.ndarray, mask: np.ndarray
) -> float:
    held = {int(n): float(v[n]) for n in np.flatnonzero(mask)}
    deck = schematic_netlist(net, g, held, model)
    names = [node_name(net, n) for n in range(net.n_nodes)]
    spice = ngspice_op(deck, names)
    return max(abs(spice[node_name(net, n)] - v[n]) for n in range(net.n_nodes))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_free_and_clamped_twins_match_ngspice(seed: int) -> None:
    spec = load_spec(DESIGNS / "xor_4x4_paper.yaml")
    net = Network.from_design(spec.design)
    model = edge_model(spec.design)
    trainer = CoupledLearning(net, model, spec.dataset, spec.design.training)
    rng = np.random.default_rng(seed)
    trainer.g = rng.uniform(0.9, 5.7, net.n_edges)  # includes saturated edges
    for p in range(len(spec.dataset.labels)):
        vf, vc = trainer.twin_states(p)
        assert _compare(net, model, trainer.g, vf, trainer.free_mask) <= 1e-6
        assert _compare(net, model, trainer.g, vc, trainer.clamp_mask) <= 1e-6


def test_trained_network_matches_ngspice() -> None:
    """After real training (G driven toward the floor, edges in saturation and cut-off)."""
    spec = load_spec(DESIGNS / "regression_4x4.yaml")
    net = Network.from_design(spec.design)
    model = edge_model(spec.design)
    tr = spec.design.training.model_copy(update={"steps": 4000, "duration": None})
    trainer = CoupledLearning(net, model, spec.dataset, tr)
    trainer.run()
    for p in (0, len(spec.dataset.labels) - 1):
        vf, _ = trainer.twin_states(p)
        assert _compare(net, model, trainer.g, vf, trainer.free_mask) <= 1e-6
