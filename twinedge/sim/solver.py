"""Equilibrium (DC operating point) of a transistor network by damped Newton on KCL.

Unknowns are all node voltages; a node held by a source gets an identity row, so the free
and clamped twins (different held nodes) share one sparsity pattern and can be solved as one
batch. Small networks use batched dense LU (``numpy.linalg.solve``); large ones one sparse
block-diagonal LU (SuperLU), which keeps 256x256 lattices to a few MB.

Newton steps are capped at ``max_step`` volts and then halved until the KCL residual norm
falls: the level-1 edge is C1 but not C2 at the saturation and cut-off boundaries, where plain
Newton can cycle. A member has converged when its full Newton step is below ``vtol`` or every
residual below ``itol``.

Like SPICE, every node has ``gmin`` to ground so a node isolated by cut-off edges still has
a defined voltage; at the default 1e-12 S its effect is below a nanovolt.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from scipy.linalg.lapack import dgesv

from twinedge.sim.devices import EdgeModel, ScaledEdges
from twinedge.sim.kernels import SUFFICIENT_DECREASE, model_params, newton_dense
from twinedge.sim.network import Network

DENSE_MAX_NODES = 400
ORDERING = "MMD_AT_PLUS_A"  # fill-reducing ordering; ~1.6x faster than COLAMD on lattices
CHORD_MIN_CONTRACTION = 0.3  # reused LU factors must cut the residual at least this much
GMIN_LADDER = (1e-6, 1e-7, 1e-8, 1e-9, 1e-10, 1e-11, 1e-12, 1e-13)
Runner = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray], np.ndarray]


class ConvergenceError(RuntimeError):
    """Newton failed to reach an equilibrium; names the batch member and its residual."""

    def __init__(self, tag: str, residual: float, iterations: int) -> None:
        self.tag, self.residual, self.iterations = tag, residual, iterations
        super().__init__(
            f"equilibrium did not converge for {tag}: max KCL residual {residual:.3e} A "
            f"after {iterations} damped-Newton iterations and gmin stepping"
        )


@dataclass
class SolveStats:
    solves: int = 0
    iterations: int = 0


@dataclass
class EquilibriumSolver:
    network: Network
    model: EdgeModel
    gmin: float = 1e-12
    vtol: float = 1e-10
    itol: float = 1e-15
    max_step: float = 0.25
    max_iter: int = 150
    dense: bool | None = None
    chord: bool = True
    compiled: bool = True  # the numba Newton for small networks; False: numpy throughout
    stats: SolveStats = field(default_factory=SolveStats)

    def __post_init__(self) -> None:
        net = self.network
        n = net.n_nodes
        a, b = net.edges[:, 0], net.edges[:, 1]
        self._a, self._b = a, b
        if self.dense is None:
            self.dense = n <= DENSE_MAX_NODES
        # KCL residual: +I leaves node a, -I enters node b (scatter-add by bincount).
        self._kcl_nodes = np.r_[a, b]
        # Jacobian: the four entries of each edge, then the diagonal (gmin / held rows).
        rows = np.r_[a, a, b, b, np.arange(n)]
        cols = np.r_[a, b, a, b, np.arange(n)]
        flat = rows * n + cols
        if self.dense:
            self._slot = flat  # position in the flattened N x N matrix
            self._slot_size = n * n
        else:
            uniq, inverse = np.unique(flat, return_inverse=True)
            self._pat_rows, self._pat_cols = uniq // n, uniq % n
            self._slot = inverse  # position in the sparse pattern
            self._slot_size = len(uniq)
            self._pat_diag = np.searchsorted(uniq, np.arange(n) * (n + 1))
        self._cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._lu_cache: dict[bytes, spla.SuperLU] = {}

    def _offsets(self, bsz: int) -> tuple[np.ndarray, np.ndarray]:
        """Scatter indices for a batch: KCL rows and Jacobian slots, offset per member."""
        if bsz not in self._cache:
            n = self.network.n_nodes
            kcl = (self._kcl_nodes[None, :] + n * np.arange(bsz)[:, None]).ravel()
            jac = (self._slot[None, :] + self._slot_size * np.arange(bsz)[:, None]).ravel()
            self._cache[bsz] = (kcl, jac)
        return self._cache[bsz]

    # ------------------------------------------------------------------ public
    def solve(
        self,
        g: np.ndarray,
        fixed_mask: np.ndarray,
        v_init: np.ndarray,
        tags: Sequence[str] | None = None,
        twin: int = 0,
    ) -> np.ndarray:
        """Equilibrium voltages ``(B, N)``.

        ``fixed_mask (B, N)`` marks nodes held by sources; their voltages are taken from
        ``v_init``, which also warm-starts every other node. ``g`` is ``(E,)`` (shared) or
        ``(B, E)``. ``twin``: 0 the free network, 1 the clamped one; they differ where the
        network draws each twin's transistors apart (``Network.twin_dg`` / ``twin_scale``).
        """
        net = self.network
        if net.twin_dg is None:
            return self._solve(g, fixed_mask, v_init, tags)
        nominal = self.model
        self.model = ScaledEdges(nominal, net.twin_scale[twin])
        try:
            return self._solve(np.asarray(g) + net.twin_dg[twin], fixed_mask, v_init, tags)
        finally:
            self.model = nominal

    def _solve(
        self,
        g: np.ndarray,
        fixed_mask: np.ndarray,
        v_init: np.ndarray,
        tags: Sequence[str] | None,
    ) -> np.ndarray:
        v = np.array(v_init, dtype=float, copy=True)
        if v.ndim == 1:
            v = v[None, :]
        mask = np.ascontiguousarray(np.broadcast_to(np.asarray(fixed_mask, bool), v.shape))
        # Maximum principle: free nodes lie between the lowest and highest held voltage
        # (0 V counts, through gmin).
        held = np.where(mask, v, 0.0)
        vlo = np.minimum(held.min(axis=1), 0.0)
        vhi = np.maximum(held.max(axis=1), 0.0)
        v = np.where(mask, v, np.clip(v, vlo[:, None], vhi[:, None]))
        self.stats.solves += v.shape[0]
        if self._use_kernel(g):
            run = self._run_compiled
        elif not self.dense and self.chord:
            run = self._run_members  # one at a time, sharing chord factors
        else:
            run = self._run_batched
        failed = run(g, v, mask, vlo, vhi)
        if failed.size:
            failed = self._gmin_stepping(run, g, v, mask, vlo, vhi, failed)
        if failed.size:
            self._fail(g, v, mask, failed, tags)
        return v

    def _use_kernel(self, g: np.ndarray) -> bool:
        return (
            self.compiled
            and bool(self.dense)
            and model_params(self.model) is not None
            and g.ndim == 1
        )

    def _gmin_stepping(
        self,
        run: Runner,
        g: np.ndarray,
        v: np.ndarray,
        mask: np.ndarray,
        vlo: np.ndarray,
        vhi: np.ndarray,
        members: np.ndarray,
    ) -> np.ndarray:
        """SPICE's remedy for near-floating clusters (groups of nodes tied together but joined
        to the rest only through cut-off or saturated edges): solve with a large gmin, then
        lower it a decade at a time, warm-starting each stage. Returns members still failing.
        """
        final = self.gmin
        sub_g = g if g.ndim == 1 else g[members]
        sub_v, sub_mask = v[members], mask[members]
        try:
            for gm in GMIN_LADDER:
                if gm > final:
                    self.gmin = gm
                    run(sub_g, sub_v, sub_mask, vlo[members], vhi[members])
            self.gmin = final
            still = run(sub_g, sub_v, sub_mask, vlo[members], vhi[members])
        finally:
            self.gmin = final
        v[members] = sub_v
        return members[still]

    def _run_compiled(
        self, g: np.ndarray, v: np.ndarray, mask: np.ndarray, vlo: np.ndarray, vhi: np.ndarray
    ) -> np.ndarray:
        """Compiled single-system Newton per member, in place; returns failed members."""
        params = model_params(self.model)
        g = np.ascontiguousarray(g, dtype=float)
        failed = []
        for k in range(v.shape[0]):
            row = np.ascontiguousarray(v[k])
            code = newton_dense(
                self._a,
                self._b,
                g,
                row,
                mask[k],
                params,
                self.gmin,
                self.vtol,
                self.itol,
                self.max_step,
                self.max_iter,
            )
            v[k] = row
            if code < 0:
                failed.append(k)
            else:
                self.stats.iterations += code
        return np.array(failed, dtype=np.int64)

    def _run_members(
        self, g: np.ndarray, v: np.ndarray, mask: np.ndarray, vlo: np.ndarray, vhi: np.ndarray
    ) -> np.ndarray:
        """Large networks: members one by one, so each reuses the LU factors of the last
        (the datapoints of one evaluation differ only in their boundary voltages)."""
        failed = []
        for k in range(v.shape[0]):
            sl = slice(k, k + 1)
            gk = g if g.ndim == 1 else g[sl]
            row = v[sl].copy()
            if self._run_batched(gk, row, mask[sl], vlo[sl], vhi[sl]).size:
                failed.append(k)
            v[k] = row[0]
        return np.array(failed, dtype=np.int64)

    def _run_batched(
        self, g: np.ndarray, v: np.ndarray, mask: np.ndarray, vlo: np.ndarray, vhi: np.ndarray
    ) -> np.ndarray:
        """Damped, projected Newton for all members at once, in place; returns failed members.

        A step longer than the voltage box, or one that leaves it, or one that will not cut
        the squared residual by ``SUFFICIENT_DECREASE * alpha`` after 12 halvings, is not
        taken; those members get nonlinear Jacobi sweeps instead (see kernels.py).

        A single sparse system (the training loop on a large array) is solved by the chord
        method: the LU factors of an earlier Jacobian with the same held nodes are reused
        while they keep the iteration contracting, since G, and so the Jacobian, moves only
        a little from one learning step to the next. A stale factorisation is refreshed
        before any step is rejected, so the fallbacks see the true Newton direction.
        """
        resid = self._free_residual(g, v, mask)
        active = np.ones(v.shape[0], bool)
        for _ in range(self.max_iter):
            active &= ~(np.max(np.abs(resid), axis=1, initial=0.0) <= self.itol)  # NaN: active
            if not active.any():
                return np.zeros(0, np.int64)
            idx = np.flatnonzero(active)
            sub_g = g if g.ndim == 1 else g[idx]
            sub_v, sub_mask, sub_r = v[idx], mask[idx], resid[idx]
            lo, hi = vlo[idx, None], vhi[idx, None]
            chord = self.chord and not self.dense and len(idx) == 1
            key = sub_mask[0].tobytes()
            cur = self.model.current(sub_g, sub_v[:, self._a], sub_v[:, self._b])
            # with reusable factors: try them, then (if rejected) fresh ones
            attempts = (True, False) if chord and key in self._lu_cache else (False,)
            for reuse in attempts:
                with np.errstate(all="ignore"):
                    step = self._newton_step(cur.di_dva, cur.di_dvb, sub_r, sub_mask, reuse)
                step[sub_mask] = 0.0
                big = np.max(np.abs(step), axis=1, initial=0.0)
                accepted, trial_v, trial_r = self._line_search(
                    sub_g, sub_v, sub_r, sub_mask, step, big, lo, hi
                )
                if accepted.all():
                    break
            slow = np.sum(trial_r**2) > CHORD_MIN_CONTRACTION**2 * np.sum(sub_r**2)
            if chord and accepted[0] and slow:
                self._lu_cache.pop(key, None)  # refactor at the next iteration
            rejected = np.flatnonzero(~accepted)
            if rejected.size:
                gj = sub_g if sub_g.ndim == 1 else sub_g[rejected]
                trial_v[rejected] = self._jacobi(
                    gj, sub_v[rejected], sub_mask[rejected], lo[rejected], hi[rejected]
                )
                trial_r[rejected] = self._free_residual(gj, trial_v[rejected], sub_mask[rejected])
            v[idx], resid[idx] = trial_v, trial_r
            self.stats.iterations += 1
            active[idx[accepted & (big <= self.vtol)]] = False
        active &= ~(np.max(np.abs(resid), axis=1, initial=0.0) <= self.itol)
        return np.flatnonzero(active)

    def _line_search(
        self,
        g: np.ndarray,
        v: np.ndarray,
        resid: np.ndarray,
        mask: np.ndarray,
        step: np.ndarray,
        big: np.ndarray,
        lo: np.ndarray,
        hi: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Backtracking on the squared KCL residual; returns (accepted, new v, new residual)."""
        sane = np.isfinite(big) & (big <= (hi - lo)[:, 0])
        step = np.where(sane[:, None], step, 0.0)
        alpha = np.where(sane, np.minimum(1.0, self.max_step / np.maximum(big, 1e-300)), 0)
        norm0 = np.sum(resid**2, axis=1)
        pending = sane.copy()
        accepted = np.zeros(len(v), bool)
        trial_v, trial_r = v.copy(), resid.copy()
        for _ in range(12):
            p = np.flatnonzero(pending)
            if p.size == 0:
                break
            cand = v[p] + alpha[p, None] * step[p]
            inside = np.all((cand >= lo[p]) & (cand <= hi[p]), axis=1)
            r = self._free_residual(g if g.ndim == 1 else g[p], cand, mask[p])
            ok = inside & (
                np.sum(r**2, axis=1) <= (1.0 - SUFFICIENT_DECREASE * alpha[p]) * norm0[p]
            )
            trial_v[p[ok]], trial_r[p[ok]] = cand[ok], r[ok]
            accepted[p[ok]] = True
            pending[p[ok]] = False
            alpha[pending] *= 0.5
        return accepted, trial_v, trial_r

    def _jacobi(
        self,
        g: np.ndarray,
        v: np.ndarray,
        mask: np.ndarray,
        lo: np.ndarray,
        hi: np.ndarray,
        sweeps: int = 3,
        inner: int = 60,
    ) -> np.ndarray:
        """Nonlinear Jacobi: every free node solves its own KCL with its neighbours fixed.

        A node's outflow rises monotonically with its own voltage, so a bracketed
        Newton/bisection in the voltage box always finds it; for these monotone networks the
        sweeps move toward the equilibrium from any start.
        """
        v = v.copy()
        a, b = self._a, self._b
        for _ in range(sweeps):
            x = v.copy()
            blo = np.broadcast_to(lo, v.shape).copy()
            bhi = np.broadcast_to(hi, v.shape).copy()
            for _ in range(inner):
                ca = self.model.current(g, x[:, a], v[:, b])  # node a moves
                cb = self.model.current(g, v[:, a], x[:, b])  # node b moves
                f = self._node_sum(ca.i, -cb.i) + self.gmin * x
                d = self._node_sum(ca.di_dva, -cb.di_dvb) + self.gmin
                pos = f > 0
                bhi = np.where(pos, x, bhi)
                blo = np.where(pos, blo, x)
                with np.errstate(all="ignore"):
                    nx = x - f / d
                bad = ~np.isfinite(nx) | (nx <= blo) | (nx >= bhi)
                nx = np.where(bad, 0.5 * (blo + bhi), nx)
                nx = np.where(mask, v, nx)
                if np.max(np.abs(nx - x)) <= 1e-15:
                    x = nx
                    break
                x = nx
            v = x
        return v

    def _node_sum(self, at_a: np.ndarray, at_b: np.ndarray) -> np.ndarray:
        """Per-node sum of an edge quantity attributed to terminal a and to terminal b."""
        bsz = at_a.shape[0]
        n = self.network.n_nodes
        kcl, _ = self._offsets(bsz)
        out = np.bincount(kcl, np.concatenate([at_a, at_b], axis=1).ravel(), minlength=bsz * n)
        return out.reshape(bsz, n)

    def _fail(
        self,
        g: np.ndarray,
        v: np.ndarray,
        mask: np.ndarray,
        members: Sequence[int],
        tags: Sequence[str] | None,
    ) -> None:
        resid = np.abs(self._free_residual(g, v, mask))
        worst = np.nan_to_num(resid.max(axis=1), nan=np.inf)
        k = max(members, key=lambda m: worst[m])
        tag = tags[k] if tags is not None else f"batch member {k}"
        raise ConvergenceError(tag, float(worst[k]), self.max_iter)

    def _free_residual(self, g: np.ndarray, v: np.ndarray, mask: np.ndarray) -> np.ndarray:
        cur = self.model.current(g, v[:, self._a], v[:, self._b])
        resid = self._kcl(cur.i, v)
        resid[mask] = 0.0
        return resid

    def residual(self, g: np.ndarray, v: np.ndarray, fixed_mask: np.ndarray) -> np.ndarray:
        """KCL residual (A) at free nodes, zero at held nodes; for checks and tests."""
        v = np.atleast_2d(np.asarray(v, float))
        return self._free_residual(g, v, np.broadcast_to(np.asarray(fixed_mask, bool), v.shape))

    # ------------------------------------------------------------------ internals
    def _kcl(self, i: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Current out of every node: +I leaves terminal a, enters terminal b; plus gmin."""
        return self._node_sum(i, -i) + self.gmin * v

    def _newton_step(
        self,
        dva: np.ndarray,
        dvb: np.ndarray,
        resid: np.ndarray,
        mask: np.ndarray,
        reuse: bool = False,
    ) -> np.ndarray:
        """Newton direction; with ``reuse`` (one sparse system) from cached LU factors."""
        bsz, n = resid.shape
        if reuse and not self.dense and bsz == 1:
            lu = self._lu_cache.get(mask[0].tobytes())
            if lu is not None:
                return lu.solve(-resid[0])[None, :]
        _, jac_idx = self._offsets(bsz)
        contrib = np.concatenate([dva, dvb, -dva, -dvb, np.full((bsz, n), self.gmin)], axis=1)
        data = np.bincount(jac_idx, contrib.ravel(), minlength=bsz * self._slot_size)
        if self.dense:
            jac = data.reshape(bsz, n, n)
            jac[mask] = 0.0  # held nodes: identity rows
            bi, ni = np.nonzero(mask)
            jac[bi, ni, ni] = 1.0
            if bsz == 1:
                _, _, x, info = dgesv(jac[0], -resid[0])
                if info != 0:
                    return np.full_like(resid, np.nan)
                return x[None, :]
            return np.linalg.solve(jac, -resid[..., None])[..., 0]
        data = data.reshape(bsz, self._slot_size)
        data[mask[:, self._pat_rows]] = 0.0
        diag = data[:, self._pat_diag]
        data[:, self._pat_diag] = np.where(mask, 1.0, diag)
        off = (np.arange(bsz) * n)[:, None]
        rows = (self._pat_rows[None, :] + off).ravel()
        cols = (self._pat_cols[None, :] + off).ravel()
        mat = sp.csc_matrix((data.ravel(), (rows, cols)), shape=(bsz * n, bsz * n))
        if bsz > 1:
            return spla.spsolve(mat, -resid.ravel(), permc_spec=ORDERING).reshape(bsz, n)
        lu = spla.splu(mat, permc_spec=ORDERING)
        self._lu_cache[mask[0].tobytes()] = lu
        return lu.solve(-resid[0])[None, :]
