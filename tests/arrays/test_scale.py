"""Large lattices: a few learning steps end to end. CI runs 64x64; set TWINEDGE_SCALE=256
(the size the solver must reach) for the full check, e.g.
``TWINEDGE_SCALE=256 .venv/bin/python -m pytest -m slow tests/test_scale.py``."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import DESIGNS

from twinedge.sim.learning import CoupledLearning
from twinedge.sim.models import edge_model
from twinedge.sim.network import Network
from twinedge.spec import load_spec

SIZE = int(os.environ.get("TWINEDGE_SCALE", "64"))


@pytest.mark.slow
def test_large_lattice_learns_a_few_steps(tmp_path: Path) -> None:
    raw = yaml.safe_load((DESIGNS / "lattice_64x64.yaml").read_text())
    raw["network"]["rows"] = raw["network"]["cols"] = SIZE
    raw["training"]["steps"] = 4
    path = tmp_path / "big.yaml"
    path.write_text(yaml.safe_dump(raw))
    spec = load_spec(path)
    net = Network.from_design(spec.design)
    trainer = CoupledLearning(net, edge_model(spec.design), spec.dataset, spec.design.training)
    assert not trainer.solver.dense
    result = trainer.run()
    assert np.all(np.isfinite(result.g)) and not np.array_equal(result.g, result.g_init)
    vf, vc = trainer.twin_states(0)
    for v, mask in ((vf, trainer.free_mask), (vc, trainer.clamp_mask)):
        assert np.max(np.abs(trainer.solver.residual(trainer.g, v, mask))) < 1e-13
