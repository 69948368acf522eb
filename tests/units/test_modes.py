"""Gram-Schmidt error-mode bases of Appendix C."""

from __future__ import annotations

import numpy as np

from twinedge.reports.metrics import modes_in_order
from twinedge.sim.modes import halving_times, mode_basis, mode_errors


def test_xor_basis_is_the_papers() -> None:
    x = np.array([[0, 0], [0, 0.45], [0.45, 0], [0.45, 0.45]])
    names, basis = mode_basis(x)
    assert names == ["E00", "E01", "E10", "E11"]
    np.testing.assert_allclose(basis @ basis.T, np.eye(4), atol=1e-12)
    np.testing.assert_allclose(basis[0], [0.5, 0.5, 0.5, 0.5])
    np.testing.assert_allclose(basis[1], [-0.5, 0.5, -0.5, 0.5])  # V2 minus its mean
    np.testing.assert_allclose(basis[2], [-0.5, -0.5, 0.5, 0.5])
    np.testing.assert_allclose(basis[3], [0.5, -0.5, -0.5, 0.5])  # checkerboard (XOR)


def test_regression_basis_flat_linear_parabolic() -> None:
    v = np.linspace(0, 0.45, 8)[:, None]
    names, basis = mode_basis(v)
    assert names[:3] == ["E0", "E1", "E2"] and len(names) == 8
    np.testing.assert_allclose(basis @ basis.T, np.eye(8), atol=1e-9)
    np.testing.assert_allclose(basis[0], np.full(8, 8**-0.5))
    assert np.all(np.diff(basis[1]) > 0)  # linear, rising
    assert np.allclose(basis[2], basis[2][::-1])  # parabola symmetric about the middle


def test_mode_errors_decompose_mse() -> None:
    v = np.linspace(0, 0.45, 8)[:, None]
    _, basis = mode_basis(v)
    err = np.random.default_rng(0).normal(size=8)
    np.testing.assert_allclose(np.sum(mode_errors(basis, err) ** 2), np.sum(err**2))


def test_more_than_two_inputs_has_no_basis() -> None:
    names, basis = mode_basis(np.zeros((4, 3)))
    assert names == [] and basis.shape == (0, 4)


def test_halving_times_and_order() -> None:
    t = np.array([0.0, 1.0, 2.0, 3.0])
    vals = np.array([[1.0, 1.0, 1.0], [0.4, 0.9, 1.0], [0.3, 0.5, 0.9], [0.3, 0.4, 0.8]])
    np.testing.assert_array_equal(halving_times(t, vals)[:2], [1.0, 2.0])
    assert np.isnan(halving_times(t, vals)[2])
    h = {"E0": 1.0, "E1": 2.0, "E2": None}
    assert modes_in_order(["E0", "E1", "E2"], h, vals[0])
    assert not modes_in_order(["E0", "E1", "E2"], {"E0": 2.0, "E1": 1.0, "E2": None}, vals[0])
    # nothing halved: no order can be read off
    assert not modes_in_order(["E0", "E1"], {"E0": None, "E1": None}, np.ones(2))
