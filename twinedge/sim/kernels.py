"""Compiled (numba) kernels for the hot loop: one twin learning step on a small network.

A learning step is two Newton solves of a ~16-node network; numpy's per-call overhead
(microseconds per array op, ~30 ops per iteration) would dominate, so the whole step is
compiled. The device is a ``model`` tuple (:func:`model_params`): the level-1 NMOS
(:class:`~twinedge.sim.devices.Level1NMOS`) or a PDK device table's cubic spline
(:class:`~twinedge.sim.tabulated.TabulatedNMOS`, evaluated as ``map_coordinates`` does); the
solver is :class:`~twinedge.sim.solver.EquilibriumSolver`'s; tests check the paths agree.
Return codes: >= 0 Newton iterations used; -1 no convergence; -2 singular Jacobian.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# Armijo constant: a Newton step must cut the squared KCL residual by this fraction of alpha.
# Deliberately strict, so a meaningless direction (near-singular Jacobian) is rejected and
# the Gauss–Seidel fallback takes over instead of creeping along it.
SUFFICIENT_DECREASE = 0.1


@njit(cache=True, inline="always")
def level1(g: float, va: float, vb: float, k: float, vth: float) -> tuple[float, float, float]:
    """Current a->b and its derivatives in Va, Vb (see Level1NMOS)."""
    forward = va >= vb
    lo = vb if forward else va
    vov = g - vth - lo
    if vov < 0.0:
        vov = 0.0
    vds = abs(va - vb)
    if vds > vov:
        vds = vov
    f = k * (vov - 0.5 * vds) * vds
    f_vov = k * vds
    f_vds = k * (vov - vds)
    if forward:
        return f, f_vds, -(f_vds + f_vov)
    return -f, f_vds + f_vov, -f_vds


LEVEL1, TABLE = 0, 1
NO_TABLE = np.zeros((3, 1, 1, 1))
NO_AXES = np.zeros(3)
UNSCALED = np.zeros(0)  # no per-edge current factor


def model_params(model) -> tuple | None:
    """The kernels' ``model`` tuple (kind, k, vth, coefficients, origin, inverse steps,
    per-edge current factors or UNSCALED) of an edge model; None if no kernel evaluates it."""
    from twinedge.sim.devices import Level1NMOS, ScaledEdges
    from twinedge.sim.tabulated import TabulatedNMOS

    if isinstance(model, ScaledEdges):
        base = model_params(model.model)
        scale = np.ascontiguousarray(model.scale, dtype=float)
        return None if base is None else (*base[:6], scale)
    if isinstance(model, Level1NMOS):
        return (LEVEL1, float(model.k), float(model.vth), NO_TABLE, NO_AXES, NO_AXES, UNSCALED)
    if isinstance(model, TabulatedNMOS):
        coef, origin, scale = model.kernel_coefficients()
        return (TABLE, 0.0, 0.0, coef, origin, scale, UNSCALED)
    return None


@njit(cache=True, inline="always")
def _weights(t: float) -> tuple[float, float, float, float]:
    """Cubic B-spline weights of the four samples around a point ``t`` past the second."""
    t2 = t * t
    t3 = t2 * t
    u = 1.0 - t
    return (
        u * u * u / 6.0,
        (3.0 * t3 - 6.0 * t2 + 4.0) / 6.0,
        (-3.0 * t3 + 3.0 * t2 + 3.0 * t + 1.0) / 6.0,
        t3 / 6.0,
    )


@njit(cache=True)
def table(
    g: float, va: float, vb: float, coef: np.ndarray, origin: np.ndarray, scale: np.ndarray
) -> tuple[float, float, float]:
    """Current a->b and its derivatives in Va, Vb from the spline coefficients ``coef[0..2]``
    (of I, dI/dVa, dI/dVb), indices beyond the grid clamped (``mode="nearest"``)."""
    x = (g - origin[0]) * scale[0]
    y = (va - origin[1]) * scale[1]
    z = (vb - origin[2]) * scale[2]
    fx, fy, fz = np.floor(x), np.floor(y), np.floor(z)
    wx, wy, wz = _weights(x - fx), _weights(y - fy), _weights(z - fz)
    i0, j0, k0 = int(fx) - 1, int(fy) - 1, int(fz) - 1
    ng, nv, nw = coef.shape[1] - 1, coef.shape[2] - 1, coef.shape[3] - 1
    cur = dva = dvb = 0.0
    for p in range(4):
        ip = min(max(i0 + p, 0), ng)
        for q in range(4):
            jq = min(max(j0 + q, 0), nv)
            wpq = wx[p] * wy[q]
            for r in range(4):
                kr = min(max(k0 + r, 0), nw)
                w = wpq * wz[r]
                cur += w * coef[0, ip, jq, kr]
                dva += w * coef[1, ip, jq, kr]
                dvb += w * coef[2, ip, jq, kr]
    return cur, dva, dvb


@njit(cache=True, inline="always")
def device(e: int, g: float, va: float, vb: float, model) -> tuple[float, float, float]:
    """The ``model`` tuple's current a->b through edge ``e`` and its derivatives in Va, Vb."""
    if model[0] == LEVEL1:
        cur, dva, dvb = level1(g, va, vb, model[1], model[2])
    else:
        cur, dva, dvb = table(g, va, vb, model[3], model[4], model[5])
    if model[6].shape[0] > 0:
        s = model[6][e]
        return cur * s, dva * s, dvb * s
    return cur, dva, dvb


@njit(cache=True, inline="always")
def stamp_devices(
    a: np.ndarray,
    b: np.ndarray,
    g: np.ndarray,
    v: np.ndarray,
    pos: np.ndarray,
    model,
    res: np.ndarray,
    jac: np.ndarray,
    with_jac: bool,
    sign: float,
) -> None:
    """Add every edge's current to the KCL sums ``res`` (``sign`` times the current leaving
    each node; rows ``pos[node]``, -1 for a node held) and its derivatives to ``jac``
    (those of the current leaving, whatever ``sign``): the dense solver (``sign`` -1, it
    keeps minus the residual) and the post-layout reduced solver (+1) share it."""
    for e in range(a.shape[0]):
        ia, ib = a[e], b[e]
        cur, dva, dvb = device(e, g[e], v[ia], v[ib], model)
        pa, pb = pos[ia], pos[ib]
        if pa >= 0:
            res[pa] += sign * cur
            if with_jac:
                jac[pa, pa] += dva
                if pb >= 0:
                    jac[pa, pb] += dvb
        if pb >= 0:
            res[pb] -= sign * cur
            if with_jac:
                jac[pb, pb] -= dvb
                if pa >= 0:
                    jac[pb, pa] -= dva


@njit(cache=True)
def _kcl_dense(
    a: np.ndarray,
    b: np.ndarray,
    g: np.ndarray,
    v: np.ndarray,
    pos: np.ndarray,
    free: np.ndarray,
    model,
    gmin: float,
    jac: np.ndarray,
    rhs: np.ndarray,
    with_jac: bool,
) -> float:
    """rhs = -KCL residual at free nodes (and the Jacobian if asked); returns max |residual|."""
    nf = free.shape[0]
    if with_jac:
        jac[:, :] = 0.0
    for q in range(nf):
        rhs[q] = -gmin * v[free[q]]
        if with_jac:
            jac[q, q] = gmin
    stamp_devices(a, b, g, v, pos, model, rhs, jac, with_jac, -1.0)
    worst = 0.0
    for q in range(nf):
        worst = max(worst, abs(rhs[q]))
    return worst


@njit(cache=True)
def _node_current(
    node: int,
    x: float,
    a: np.ndarray,
    b: np.ndarray,
    g: np.ndarray,
    v: np.ndarray,
    inc_ptr: np.ndarray,
    inc_edge: np.ndarray,
    model,
    gmin: float,
) -> tuple[float, float]:
    """Current out of ``node`` if it sat at ``x`` (others as in v), and its derivative."""
    out = gmin * x
    d = gmin
    for j in range(inc_ptr[node], inc_ptr[node + 1]):
        e = inc_edge[j]
        if a[e] == node:
            cur, dva, _ = device(e, g[e], x, v[b[e]], model)
            out += cur
            d += dva
        else:
            cur, _, dvb = device(e, g[e], v[a[e]], x, model)
            out -= cur
            d -= dvb
    return out, d


@njit(cache=True)
def _gauss_seidel_sweep(
    a: np.ndarray,
    b: np.ndarray,
    g: np.ndarray,
    v: np.ndarray,
    free: np.ndarray,
    inc_ptr: np.ndarray,
    inc_edge: np.ndarray,
    model,
    gmin: float,
    vlo: float,
    vhi: float,
) -> None:
    """Nonlinear Gauss–Seidel: solve each free node's KCL exactly with the others fixed.

    A node's outflow is monotone increasing in its own voltage (every edge current rises with
    its own terminal), so a safeguarded Newton/bisection on [vlo, vhi] always succeeds; sweeps
    of such exact 1-D solves converge globally for these monotone networks.
    """
    for q in range(free.shape[0]):
        node = free[q]
        lo, hi = vlo, vhi
        x = min(max(v[node], lo), hi)
        for _ in range(100):
            f, d = _node_current(node, x, a, b, g, v, inc_ptr, inc_edge, model, gmin)
            if f > 0.0:
                hi = x
            else:
                lo = x
            nx = x - f / d if d > 0.0 else 0.5 * (lo + hi)
            if not (lo < nx < hi):
                nx = 0.5 * (lo + hi)
            if abs(nx - x) <= 1e-15 or hi - lo <= 1e-15:
                x = nx
                break
            x = nx
        v[node] = x


@njit(cache=True)
def newton_dense(
    a: np.ndarray,
    b: np.ndarray,
    g: np.ndarray,
    v: np.ndarray,
    held: np.ndarray,
    model,
    gmin: float,
    vtol: float,
    itol: float,
    max_step: float,
    max_iter: int,
) -> int:
    """Solve KCL at the nodes not ``held``, in place in ``v``; dense LU on free nodes only.

    Damped, projected Newton. By the maximum principle of monotone networks every node lies
    between the lowest and highest held voltage (0 V included, for gmin), so iterates are kept
    in that box. The step is capped at ``max_step`` volts and halved until the residual norm
    falls by a fair fraction (a step leaving the box counts as a failure). If it will not, or
    the step is longer than the box (a node reached only through saturated or cut-off edges
    makes the Jacobian nearly singular and its Newton direction meaningless), a few nonlinear
    Gauss–Seidel sweeps make progress instead. Converged when the full Newton step is below
    ``vtol`` or every residual below ``itol``.
    """
    n = v.shape[0]
    pos = -np.ones(n, np.int64)
    nf = 0
    vlo, vhi = 0.0, 0.0
    for i in range(n):
        if not held[i]:
            pos[i] = nf
            nf += 1
        else:
            vlo = min(vlo, v[i])
            vhi = max(vhi, v[i])
    if nf == 0:
        return 0
    free = np.empty(nf, np.int64)
    for i in range(n):
        if pos[i] >= 0:
            free[pos[i]] = i
            v[i] = min(max(v[i], vlo), vhi)
    # node -> incident edges (CSR)
    inc_ptr = np.zeros(n + 1, np.int64)
    for e in range(a.shape[0]):
        inc_ptr[a[e] + 1] += 1
        inc_ptr[b[e] + 1] += 1
    for i in range(n):
        inc_ptr[i + 1] += inc_ptr[i]
    fill = inc_ptr[:-1].copy()
    inc_edge = np.empty(2 * a.shape[0], np.int64)
    for e in range(a.shape[0]):
        inc_edge[fill[a[e]]] = e
        fill[a[e]] += 1
        inc_edge[fill[b[e]]] = e
        fill[b[e]] += 1

    jac = np.empty((nf, nf))
    rhs = np.empty(nf)
    trial_rhs = np.empty(nf)
    v_old = np.empty(nf)
    for it in range(1, max_iter + 1):
        worst = _kcl_dense(a, b, g, v, pos, free, model, gmin, jac, rhs, True)
        if worst <= itol:
            return it
        norm0 = 0.0
        for q in range(nf):
            norm0 += rhs[q] * rhs[q]
        step = np.linalg.solve(jac, rhs)
        big = 0.0
        finite = True
        for q in range(nf):
            if not np.isfinite(step[q]):
                finite = False
                break
            big = max(big, abs(step[q]))
        accepted = False
        # A Newton step longer than the whole voltage box comes from a near-singular Jacobian
        # (a node reached only through saturated or cut-off edges): do not follow it.
        if finite and big <= vhi - vlo:
            alpha = 1.0 if big <= max_step else max_step / big
            for q in range(nf):
                v_old[q] = v[free[q]]
            for _ in range(12):
                clipped = False
                for q in range(nf):
                    x = v_old[q] + alpha * step[q]
                    if x < vlo or x > vhi:
                        clipped = True
                        x = min(max(x, vlo), vhi)
                    v[free[q]] = x
                if not clipped:
                    _kcl_dense(a, b, g, v, pos, free, model, gmin, jac, trial_rhs, False)
                    norm1 = 0.0
                    for q in range(nf):
                        norm1 += trial_rhs[q] * trial_rhs[q]
                    if norm1 <= (1.0 - SUFFICIENT_DECREASE * alpha) * norm0:
                        accepted = True
                        break
                alpha *= 0.5
            if accepted and big <= vtol:
                return it
            if not accepted:
                for q in range(nf):
                    v[free[q]] = v_old[q]
        if not accepted:
            for _ in range(3):
                _gauss_seidel_sweep(a, b, g, v, free, inc_ptr, inc_edge, model, gmin, vlo, vhi)
    if _kcl_dense(a, b, g, v, pos, free, model, gmin, jac, rhs, False) <= itol:
        return max_iter
    return -1


@njit(cache=True, inline="always")
def _clamp_outputs(vf: np.ndarray, v: np.ndarray, out_nodes: np.ndarray, label: float, eta: float):
    """The clamped twin's outputs from the free ones: O_C = eta L + (1 - eta) O, or for a
    differential output O+- +- eta/2 (L - O) (``eta`` < 0: the mirror image)."""
    if out_nodes.shape[0] == 2:
        o = vf[out_nodes[0]] - vf[out_nodes[1]]
        d = 0.5 * eta * (label - o)
        v[out_nodes[0]] = vf[out_nodes[0]] + d
        v[out_nodes[1]] = vf[out_nodes[1]] - d
    else:
        v[out_nodes[0]] = eta * label + (1.0 - eta) * vf[out_nodes[0]]


@njit(cache=True)
def twin_step(
    a: np.ndarray,
    b: np.ndarray,
    g: np.ndarray,
    vf: np.ndarray,
    vc: np.ndarray,
    va: np.ndarray,
    symmetric: bool,
    free_held: np.ndarray,
    clamp_held: np.ndarray,
    out_nodes: np.ndarray,
    label: float,
    eta: float,
    gain: float,
    g_min: float,
    g_max: float,
    model_f,
    model_c,
    dg_f: np.ndarray,
    dg_c: np.ndarray,
    gmin: float,
    vtol: float,
    itol: float,
    max_step: float,
    max_iter: int,
) -> int:
    """One Coupled Learning (sub)step (Eqs. 4, 6, 7), in place on g, vf, vc (and va). The
    free twin solves with ``model_f`` at G + ``dg_f``, the clamped one with ``model_c`` at
    G + ``dg_c``. The update compares the free state with the clamped one at +eta, or with
    ``symmetric`` the clamped twin at -eta (in ``va``) with it at +eta.

    ``gain`` = dt / (V0 R0 C0). Returns the Newton iterations used, or -1 if a solve
    failed, in which case g is untouched and the caller falls back to the robust path.
    """
    gf, gc = g + dg_f, g + dg_c  # each twin's gate drive (its threshold mismatch; zeros: none)
    its = newton_dense(a, b, gf, vf, free_held, model_f, gmin, vtol, itol, max_step, max_iter)
    if its < 0:
        return -1
    _clamp_outputs(vf, vc, out_nodes, label, eta)
    itc = newton_dense(a, b, gc, vc, clamp_held, model_c, gmin, vtol, itol, max_step, max_iter)
    if itc < 0:
        return -1
    its += itc
    v1 = vf
    if symmetric:
        _clamp_outputs(vf, va, out_nodes, label, -eta)
        ita = newton_dense(a, b, gc, va, clamp_held, model_c, gmin, vtol, itol, max_step, max_iter)
        if ita < 0:
            return -1
        its += ita
        v1 = va
    for e in range(a.shape[0]):
        dv1 = v1[a[e]] - v1[b[e]]
        dvc = vc[a[e]] - vc[b[e]]
        x = g[e] + gain * (dv1 * dv1 - dvc * dvc)
        g[e] = min(max(x, g_min), g_max)
    return its
