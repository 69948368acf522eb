"""Error modes of Appendix C: project the error vector onto a Gram–Schmidt basis of monomials.

For one input the basis comes from (V1)^m, m = 0, 1, 2, ... (flat, linear, parabolic ...);
for two inputs from V1^j * V2^k in the paper's order 00, 01, 10, 11, ... Monomials that are
linearly dependent on earlier ones on this dataset (e.g. V^2 when V takes two values) are
skipped, so the basis has at most one vector per datapoint.
"""

from __future__ import annotations

import itertools

import numpy as np

MAX_MODE_INPUTS = 2


def _multi_indices(n_inputs: int, max_degree: int) -> list[tuple[int, ...]]:
    idx = list(itertools.product(range(max_degree + 1), repeat=n_inputs))
    return sorted(idx, key=lambda t: (max(t), sum(t), t))


def mode_basis(inputs: np.ndarray, rel_tol: float = 1e-8) -> tuple[list[str], np.ndarray]:
    """Names (``E0``.. or ``E00``..) and orthonormal rows ``(M, P)`` for a ``(P, n)`` input set.

    Returns an empty basis for tasks with more than two inputs (Appendix C defines none).
    """
    x = np.asarray(inputs, float)
    p, n = x.shape
    if n == 0 or n > MAX_MODE_INPUTS:
        return [], np.zeros((0, p))
    names: list[str] = []
    basis: list[np.ndarray] = []
    for mi in _multi_indices(n, min(p - 1, 9)):
        v = np.prod(x ** np.asarray(mi), axis=1)
        norm0 = np.linalg.norm(v)
        if norm0 == 0:
            continue
        w = v.copy()
        for _ in range(2):  # modified Gram–Schmidt, twice for stability (Eq. C1/C3)
            for q in basis:
                w -= (w @ q) * q
        if np.linalg.norm(w) <= rel_tol * norm0:
            continue
        basis.append(w / np.linalg.norm(w))
        names.append("E" + "".join(str(d) for d in mi))
        if len(basis) == p:
            break
    return names, np.array(basis)


def mode_errors(basis: np.ndarray, error: np.ndarray) -> np.ndarray:
    """|E_m| = |n_m · E| for error vectors ``(..., P)``."""
    return np.abs(np.asarray(error) @ basis.T)


def halving_times(times: np.ndarray, values: np.ndarray) -> np.ndarray:
    """First time each column of ``values (T, M)`` is at or below half its initial value.

    NaN where a mode never halves within the run.
    """
    values = np.asarray(values, float)
    out = np.full(values.shape[1], np.nan)
    for m in range(values.shape[1]):
        hit = np.nonzero(values[:, m] <= 0.5 * values[0, m])[0]
        if hit.size:
            out[m] = times[hit[0]]
    return out
