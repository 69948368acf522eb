"""One learning step of a whole twin_edge_cl array at transistor level (ngspice, SKY130 models)
against the characterised rule."""

from __future__ import annotations

import numpy as np
from conftest import DESIGNS, short_cl

from twinedge.spec.loader import load_spec

CL_MIRROR = DESIGNS / "xor_4x4_cl_mirror.yaml"


def test_memory_array_step_matches_measured_rule(tmp_path) -> None:
    """One learning step of the 4x4 array with 32 time-differenced circuits at transistor
    level (CAL at -eta, LEARN at +eta) against the measured per-step rule."""
    from twinedge.characterise.array_check import check_design

    res = check_design(load_spec(short_cl(tmp_path)))
    err = res.dg_transistor - res.dg_model
    assert np.sqrt(np.mean(res.dg_transistor**2)) > 2e-3  # the step does move G
    assert res.r2 > 0.9
    assert abs(err.mean()) < 3e-3


def test_transistor_level_step_matches_model() -> None:
    """One learning step of the 4x4 array, 32 update circuits at transistor level."""
    from twinedge.characterise.array_check import check_design

    res = check_design(load_spec(CL_MIRROR))
    err = res.dg_transistor - res.dg_model
    assert np.sqrt(np.mean(res.dg_transistor**2)) > 2e-3  # the step does move G
    assert res.r2 > 0.7
    assert abs(err.mean()) < 10e-3 and err.std() < 8e-3
