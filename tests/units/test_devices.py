"""Level-1 NMOS edge: regions, symmetry and derivatives."""

from __future__ import annotations

import numpy as np
import pytest

from twinedge.sim.devices import Level1NMOS
from twinedge.sim.kernels import level1

M = Level1NMOS(k=2e-3, vth=0.7)


def test_triode_is_paper_eq_a2() -> None:
    g, va, vb = 3.0, 0.4, 0.1
    i = M.current(np.array(g), np.array(va), np.array(vb)).i
    assert i == pytest.approx(M.k * (g - M.vth - (va + vb) / 2) * (va - vb), rel=1e-14)


def test_saturation_and_cutoff() -> None:
    # source at 0.1 V, vov = 0.3 V; vds = 0.4 V > vov: saturation
    sat = M.current(np.array(1.1), np.array(0.5), np.array(0.1)).i
    assert sat == pytest.approx(0.5 * M.k * 0.3**2)
    # vov < 0: no current whatever the drain voltage
    off = M.current(np.array(0.75), np.array(0.45), np.array(0.1))
    assert off.i == 0 and off.di_dva == 0 and off.di_dvb == 0


def test_symmetric_in_terminals() -> None:
    rng = np.random.default_rng(1)
    g, va, vb = rng.uniform(0.7, 5, 200), rng.uniform(0, 0.45, 200), rng.uniform(0, 0.45, 200)
    fwd, rev = M.current(g, va, vb), M.current(g, vb, va)
    np.testing.assert_allclose(fwd.i, -rev.i, rtol=0, atol=1e-18)
    np.testing.assert_allclose(fwd.di_dva, -rev.di_dvb, atol=1e-18)


def test_derivatives_match_finite_differences() -> None:
    rng = np.random.default_rng(2)
    g, va, vb = rng.uniform(0.7, 3, 500), rng.uniform(0, 0.6, 500), rng.uniform(0, 0.6, 500)
    h = 1e-7
    cur = M.current(g, va, vb)
    for name, d in (("di_dva", (h, 0, 0)), ("di_dvb", (0, h, 0)), ("di_dg", (0, 0, h))):
        up = M.current(g + d[2], va + d[0], vb + d[1]).i
        dn = M.current(g - d[2], va - d[0], vb - d[1]).i
        np.testing.assert_allclose(getattr(cur, name), (up - dn) / (2 * h), atol=1e-9, err_msg=name)


def test_compiled_kernel_matches_numpy_model() -> None:
    rng = np.random.default_rng(3)
    for _ in range(300):
        g, va, vb = rng.uniform(0.6, 3), rng.uniform(0, 0.6), rng.uniform(0, 0.6)
        cur = M.current(np.array(g), np.array(va), np.array(vb))
        i, dva, dvb = level1(g, va, vb, M.k, M.vth)
        assert (i, dva, dvb) == pytest.approx(
            (float(cur.i), float(cur.di_dva), float(cur.di_dvb)), abs=1e-18
        )
