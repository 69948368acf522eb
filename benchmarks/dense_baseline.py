"""The straightforward baseline: undamped Newton with a dense numpy Jacobian.

What one would write first: assemble the full N x N Jacobian with ``np.add.at``, solve it
with ``np.linalg.solve``, repeat until the step is small. Same physics and the same learning
step as twinedge's solver, so the benchmark compares implementations, not models.
"""

from __future__ import annotations

import numpy as np

from twinedge.sim.devices import Level1NMOS
from twinedge.sim.network import Network


def dense_newton(
    net: Network,
    model: Level1NMOS,
    g: np.ndarray,
    v: np.ndarray,
    held: np.ndarray,
    gmin: float = 1e-12,
    tol: float = 1e-10,
    max_iter: int = 100,
) -> np.ndarray:
    v = v.copy()
    a, b = net.edges[:, 0], net.edges[:, 1]
    n = net.n_nodes
    for _ in range(max_iter):
        cur = model.current(g, v[a], v[b])
        r = gmin * v
        np.add.at(r, a, cur.i)
        np.add.at(r, b, -cur.i)
        jac = np.diag(np.full(n, gmin))
        np.add.at(jac, (a, a), cur.di_dva)
        np.add.at(jac, (a, b), cur.di_dvb)
        np.add.at(jac, (b, a), -cur.di_dva)
        np.add.at(jac, (b, b), -cur.di_dvb)
        r[held] = 0.0
        jac[held, :] = 0.0
        jac[held, held] = 1.0
        step = np.linalg.solve(jac, -r)
        v += step
        if np.max(np.abs(step)) < tol:
            return v
    raise RuntimeError("dense Newton did not converge")


def dense_learning_step(
    net: Network,
    model: Level1NMOS,
    g: np.ndarray,
    vf: np.ndarray,
    vc: np.ndarray,
    free_held: np.ndarray,
    clamp_held: np.ndarray,
    label: float,
    eta: float,
    gain: float,
    g_min: float,
    g_max: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    vf = dense_newton(net, model, g, vf, free_held)
    vc = vc.copy()
    out = net.output_nodes
    if len(out) == 2:
        d = 0.5 * eta * (label - (vf[out[0]] - vf[out[1]]))
        vc[out] = [vf[out[0]] + d, vf[out[1]] - d]
    else:
        vc[out[0]] = eta * label + (1 - eta) * vf[out[0]]
    vc = dense_newton(net, model, g, vc, clamp_held)
    a, b = net.edges[:, 0], net.edges[:, 1]
    g = np.clip(g + gain * ((vf[a] - vf[b]) ** 2 - (vc[a] - vc[b]) ** 2), g_min, g_max)
    return g, vf, vc
