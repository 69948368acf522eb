"""Post-layout equilibria without ngspice: the extracted wiring reduced to the transistors'
terminals (Kron reduction), the transistors from the PDK device table, one compiled Newton.

At DC the extracted netlist is resistors and transistors (capacitors carry no current, and
the gate MOS capacitors have source and drain on ground). The resistors form a linear
network; every node that is neither a transistor's drain or source nor a driven or read
port is eliminated exactly (the Schur complement of the conductance matrix), leaving a dense
conductance matrix over those terminals. No DC current flows into a gate, so a twin's gate
sits at its edge's G. Each operating point is then a few Newton iterations on a system of
~4 unknowns per edge, with the same spline of the PDK model the schematic solver uses.

:class:`ReducedTwins` answers what :class:`twinedge.learn.post_layout.ExtractedTwins`
answers (set the sources, run an operating point, read outputs, device voltages, source
power), so :class:`~twinedge.learn.post_layout.PostLayoutLearning` runs on either; the
stage checks the two against each other at a sample of steps.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from numba import njit
from scipy.sparse.csgraph import connected_components

from twinedge.circuits.nets import pin_placements
from twinedge.sim.kernels import model_params, stamp_devices
from twinedge.sim.network import Network
from twinedge.sim.solver import ConvergenceError
from twinedge.sim.tabulated import TabulatedNMOS
from twinedge.spec.loader import LoadedSpec
from twinedge.verify.pex import Extraction, spice_lines

GROUND = "0"
VTOL, ITOL, MAX_STEP, MAX_ITER = 1e-10, 1e-14, 0.25, 200
STALL_ITOL = 1e-12  # A: where no step lowers the residual any more (rounding), this is done
GMIN = 1e-15  # S from every node to ground, as the post-layout deck's ngspice gmin: a
# net whose transistors are all off stays defined


class ReductionError(RuntimeError):
    """The extracted netlist has something the reduction does not model."""


def _key(node: str) -> str:
    return node.lower()


@njit(cache=True)
def _residual(gred, v, free, idx, da, db, g, model, res, jac, with_jac) -> float:
    """KCL residual at the free nodes (and its Jacobian); returns its squared norm."""
    n, nf = v.shape[0], free.shape[0]
    for q in range(nf):
        row = free[q]
        r = GMIN * v[row]
        for j in range(n):
            r += gred[row, j] * v[j]
        res[q] = r
        if with_jac:
            for p in range(nf):
                jac[q, p] = gred[row, free[p]]
            jac[q, q] += GMIN
    stamp_devices(da, db, g, v, idx, model, res, jac, with_jac, 1.0)
    norm = 0.0
    for q in range(nf):
        norm += res[q] * res[q]
    return norm


@njit(cache=True)
def newton_reduced(
    gred: np.ndarray,
    v: np.ndarray,
    fixed: np.ndarray,
    da: np.ndarray,
    db: np.ndarray,
    g: np.ndarray,
    model,
) -> int:
    """Solve KCL at the nodes not ``fixed`` (in place in ``v``): the reduced wiring
    ``gred @ v`` plus each transistor's current from node ``da`` to ``db`` at gate ``g``, and
    ``GMIN`` to ground. Newton with the step capped and halved until the residual falls,
    kept inside the box of the fixed voltages (0 V included). Returns the iterations used,
    -1 without convergence."""
    n = v.shape[0]
    idx = -np.ones(n, np.int64)
    nf = 0
    lo, hi = 0.0, 0.0
    for i in range(n):
        if fixed[i]:
            lo, hi = min(lo, v[i]), max(hi, v[i])
        else:
            idx[i] = nf
            nf += 1
    free = np.empty(nf, np.int64)
    for i in range(n):
        if idx[i] >= 0:
            free[idx[i]] = i
            v[i] = min(max(v[i], lo), hi)
    jac = np.empty((nf, nf))
    res = np.empty(nf)
    trial = np.empty(nf)
    old = np.empty(nf)
    for it in range(1, MAX_ITER + 1):
        norm0 = _residual(gred, v, free, idx, da, db, g, model, res, jac, True)
        worst = 0.0
        for q in range(nf):
            worst = max(worst, abs(res[q]))
        if worst <= ITOL:
            return it
        step = np.linalg.solve(jac, -res)
        big = 0.0
        for q in range(nf):
            if not np.isfinite(step[q]):
                return -1
            big = max(big, abs(step[q]))
        alpha = 1.0 if big <= MAX_STEP else MAX_STEP / big
        for q in range(nf):
            old[q] = v[free[q]]
        accepted = False
        for _ in range(30):
            for q in range(nf):
                v[free[q]] = min(max(old[q] + alpha * step[q], lo), hi)
            norm1 = _residual(gred, v, free, idx, da, db, g, model, trial, jac, False)
            if norm1 < norm0:
                accepted = True
                break
            alpha *= 0.5
        if not accepted:  # no step lowers the residual: converged only if it is already tiny
            for q in range(nf):
                v[free[q]] = old[q]
            return it if worst <= STALL_ITOL else -1
        if big <= VTOL:  # the full Newton step itself is negligible
            return it
    return -1


class ReducedTwins:
    """The extracted twins as a reduced conductance matrix and their transistors (module
    docstring); the interface of :class:`twinedge.learn.post_layout.ExtractedTwins`. The
    free and the clamped twin share only their driven ports, so each is solved on its own
    nodes."""

    def __init__(self, spec: LoadedSpec, extraction: Extraction, model: TabulatedNMOS):
        self.net = net = Network.from_design(spec.design)
        outs = [p for p in pin_placements(net) if p.twin != "FC"]
        self.free_out = [p.name for p in outs if p.twin == "F"]
        self.clamp_out = [p.name for p in outs if p.twin == "C"]
        shared = [_key(n) for n in [*net.input_names, *net.const_names]]
        self.sources = [*net.input_names, *net.const_names, *self.clamp_out]
        devices = {t: extraction.twin_devices(t) for t in "FC"}
        own = {
            t: list(dict.fromkeys(
                [_key(n) for d in devices[t] for n in (d.d, d.s)]
                + [_key(n) for n in (self.free_out if t == "F" else self.clamp_out)]))
            for t in "FC"
        }  # fmt: skip
        if set(own["F"]) & set(own["C"]):
            raise ReductionError("the free and clamped twins share a terminal")
        kept = list(dict.fromkeys([*shared, *own["F"], *own["C"]]))
        self.nodes = kept
        glob = {n: i for i, n in enumerate(kept)}
        gred = reduce_wiring(extraction, kept, devices)
        across = gred[np.ix_([glob[n] for n in own["F"]], [glob[n] for n in own["C"]])]
        if np.abs(across).max(initial=0.0) > 1e-9 * np.abs(gred).max():
            raise ReductionError("the free and clamped twins' wiring is coupled")
        self.gred = gred
        self.pos, self.gsub, self.v, self.fixed, self.twin_terms = {}, {}, {}, {}, {}
        self.sub = {}
        for t in "FC":
            names = [*shared, *own[t]]
            sub = np.array([glob[n] for n in names])
            self.sub[t] = sub
            self.pos[t] = {n: k for k, n in enumerate(names)}
            self.gsub[t] = np.ascontiguousarray(gred[np.ix_(sub, sub)])
            self.v[t] = np.zeros(len(names))  # warm starts
            fixed = np.zeros(len(names), bool)
            fixed[: len(shared)] = True
            if t == "C":
                fixed[[self.pos[t][_key(n)] for n in self.clamp_out]] = True
            self.fixed[t] = fixed
            self.twin_terms[t] = (
                np.array([self.pos[t][_key(d.d)] for d in devices[t]], np.int64),
                np.array([self.pos[t][_key(d.s)] for d in devices[t]], np.int64),
            )
        self.model = model_params(model)
        if self.model is None:
            raise ReductionError("the reduced solver needs a PDK device table")
        self._g = np.zeros(len(extraction.gate_port))
        for name, volts in zip(net.const_names, net.const_volts, strict=True):
            self._set(name, float(volts))
        self._stale = {"F": True, "C": True}
        self.solves = 0
        self.iterations = 0

    # ------------------------------------------------------------------ sources
    def _set(self, name: str, value: float) -> None:
        for t in "FC":
            self.v[t][self.pos[t][_key(name)]] = value

    def set_gates(self, g: np.ndarray) -> None:
        self._g = np.asarray(g, float).copy()
        self._stale = {"F": True, "C": True}

    def set_inputs(self, x: np.ndarray) -> None:
        for name, value in zip(self.net.input_names, x, strict=True):
            self._set(name, float(value))
        self._stale = {"F": True, "C": True}

    def set_clamp(self, volts: np.ndarray) -> None:
        for name, value in zip(self.clamp_out, volts, strict=True):
            self.v["C"][self.pos["C"][_key(name)]] = float(value)
        self._stale["C"] = True

    def op(self, tag: str) -> None:
        """Operating points are solved when read (only the twin that is read)."""
        self._tag = tag

    # ------------------------------------------------------------------ reading
    def _solved(self, twin: str) -> np.ndarray:
        if self._stale[twin]:
            da, db = self.twin_terms[twin]
            it = newton_reduced(self.gsub[twin], self.v[twin], self.fixed[twin], da, db,
                                self._g, self.model)  # fmt: skip
            if it < 0:
                raise ConvergenceError(f"{getattr(self, '_tag', twin)} (reduced)", float("nan"),
                                       MAX_ITER)  # fmt: skip
            self.solves += 1
            self.iterations += it
            self._stale[twin] = False
        return self.v[twin]

    def free_outputs(self) -> np.ndarray:
        v = self._solved("F")
        return np.array([v[self.pos["F"][_key(n)]] for n in self.free_out])

    def device_dv(self, twin: str) -> np.ndarray:
        v = self._solved(twin)
        da, db = self.twin_terms[twin]
        return v[da] - v[db]

    def source_power(self) -> float:
        """Power the input, constant and clamp sources deliver at the present state (W):
        both twins' voltages in one vector over every kept node, each driven port's current
        into the whole wiring (a shared port feeds both twins)."""
        v = np.zeros(len(self.nodes))
        driven = np.zeros(len(self.nodes), bool)
        for t in "FC":
            v[self.sub[t]] = self._solved(t)
            driven[self.sub[t][self.fixed[t]]] = True
        return float(np.sum(v[driven] * (self.gred @ v)[driven]))


def reduce_wiring(extraction: Extraction, kept: list[str], devices: dict) -> np.ndarray:
    """The conductance matrix of the extracted resistors reduced to the ``kept`` nodes
    (Schur complement); every transistor must be a twin (``devices``) or have its source
    and drain on ground, every twin's gate must sit on a wire carrying no other current."""
    body = extraction.flat_body(with_caps=False)
    resistors: list[tuple[str, str, float]] = []
    twins = {(_key(d.d), _key(d.s)) for t in "FC" for d in devices[t]}
    gates = {_key(d.g) for t in "FC" for d in devices[t]}
    for tok in spice_lines(body):
        head = tok[0][0].upper()
        if head == "R":
            resistors.append((_key(tok[1]), _key(tok[2]), float(tok[3])))
        elif head in "XM":
            d, s = _key(tok[1]), _key(tok[3])
            if (d, s) not in twins and not (d == s == GROUND):
                raise ReductionError(f"{tok[0]}: a transistor that is neither a twin nor a "
                                     "grounded capacitor")  # fmt: skip
        else:
            raise ReductionError(f"{tok[0]}: element kind {head} is not modelled at DC here")
    pos = {n: i for i, n in enumerate(kept)}
    names = sorted({n for a, b, _ in resistors for n in (a, b)} - {GROUND} | set(kept))
    at = {n: i for i, n in enumerate(names)}
    pairs = [(at[a], at[b]) for a, b, _ in resistors if GROUND not in (a, b)]
    adj = sp.coo_matrix((np.ones(len(pairs)), tuple(np.array(pairs).T)), shape=(len(names),) * 2)
    _, comp = connected_components(adj, directed=False)
    live = {comp[at[n]] for n in kept}  # components with a kept node: the rest is elsewhere
    if any(comp[at[n]] in live for n in gates if n in at):
        raise ReductionError("a twin's gate is wired to a drain, a source or a port")
    others = [n for n in names if n not in pos and comp[at[n]] in live]
    index = {**pos, **{n: len(kept) + k for k, n in enumerate(others)}}
    size = len(kept) + len(others)
    rows, cols, vals = [], [], []
    for a, b, r in resistors:
        if (a != GROUND and a not in index) or (b != GROUND and b not in index):
            continue  # a wire of a gate net, or of nothing the twins touch
        g = 1.0 / max(r, 1e-6)
        for x, y, w in ((a, a, g), (b, b, g), (a, b, -g), (b, a, -g)):
            if x != GROUND and y != GROUND:
                rows.append(index[x])
                cols.append(index[y])
                vals.append(w)
    full = sp.csc_matrix((vals, (rows, cols)), shape=(size, size))
    k = len(kept)
    gkk = full[:k, :k].toarray()
    inner = list(range(k, size))
    if not inner:
        return gkk
    gii = full[inner][:, inner].tocsc()
    gik = full[inner][:, :k].toarray()
    return gkk - full[:k][:, inner] @ spla.splu(gii).solve(gik)


class WithFallback:
    """``reduced`` for every operating point, ``ngspice`` (an
    :class:`~twinedge.learn.post_layout.ExtractedTwins` on the same netlist) for the few the
    reduced Newton does not converge on: the sources' state is kept here and given to
    ngspice only then (``fallbacks`` counts them)."""

    def __init__(self, reduced: ReducedTwins, ngspice) -> None:
        self.reduced, self.ngspice = reduced, ngspice
        self.fallbacks = 0
        self._g = self._x = self._clamp = None
        self._tag = ""

    def set_gates(self, g: np.ndarray) -> None:
        self._g = np.asarray(g, float).copy()
        self.reduced.set_gates(g)

    def set_inputs(self, x: np.ndarray) -> None:
        self._x = np.asarray(x, float).copy()
        self.reduced.set_inputs(x)

    def set_clamp(self, volts: np.ndarray) -> None:
        self._clamp = np.asarray(volts, float).copy()
        self.reduced.set_clamp(volts)

    def op(self, tag: str) -> None:
        self._tag = tag
        self.reduced.op(tag)

    def _read(self, what: str, *args):
        try:
            return getattr(self.reduced, what)(*args)
        except ConvergenceError:
            ng = self.ngspice
            ng.set_gates(self._g)
            ng.set_inputs(self._x)
            if self._clamp is not None:
                ng.set_clamp(self._clamp)
            ng.op(self._tag)
            self.fallbacks += 1
            return getattr(ng, what)(*args)

    def free_outputs(self) -> np.ndarray:
        return self._read("free_outputs")

    def device_dv(self, twin: str) -> np.ndarray:
        return self._read("device_dv", twin)

    def source_power(self) -> float:
        return self._read("source_power")
