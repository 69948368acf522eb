"""Graph of a twin network: nodes, edges and boundary pins, derived from a spec.

Both twins (free and clamped) share this graph and every edge's G; they differ only in
which nodes are held at fixed voltages.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from twinedge.spec.schema import Design, DifferentialOutput, SquareLattice


def square_lattice_edges(rows: int, cols: int, periodic: bool) -> np.ndarray:
    """Edges ``(E, 2)`` of a rows x cols lattice, node id = r * cols + c.

    Order: all horizontal edges row by row, then all vertical edges; wrap-around edges (when
    ``periodic``) close each row and column. A 4x4 periodic lattice has the paper's 32 edges.
    """
    ids = np.arange(rows * cols).reshape(rows, cols)
    hc = cols if periodic else cols - 1
    vr = rows if periodic else rows - 1
    h = np.stack([ids[:, :hc].ravel(), np.roll(ids, -1, axis=1)[:, :hc].ravel()], axis=1)
    v = np.stack([ids[:vr, :].ravel(), np.roll(ids, -1, axis=0)[:vr, :].ravel()], axis=1)
    return np.concatenate([h, v]).astype(np.int64)


MIN_K_FACTOR = 0.05  # a drawn current factor is kept above this (a device never vanishes)


@dataclass(frozen=True)
class Network:
    """Nodes ``0..n_nodes-1``; edge e joins ``edges[e, 0]`` (terminal a) and ``edges[e, 1]`` (b)."""

    rows: int
    cols: int
    periodic: bool
    edges: np.ndarray
    input_nodes: np.ndarray  # (n_inputs,) in pins.inputs order
    input_names: tuple[str, ...]
    const_nodes: np.ndarray
    const_volts: np.ndarray
    const_names: tuple[str, ...]
    output_nodes: np.ndarray  # (1,) single, or (2,) = (plus, minus)
    stuck: np.ndarray | None = None  # (E,) bool: edges whose G never moves (damage)
    # each twin's own transistors (cell.twin_mismatch): rows free, clamped; None: nominal
    twin_dg: np.ndarray | None = None  # (2, E) V added to G: minus the threshold's shift
    twin_scale: np.ndarray | None = None  # (2, E) current factor
    # the gate capacitors' leak (cell.g_leak): G relaxes to leak_to_v with this time constant
    leak_tau_s: float | None = None
    leak_to_v: float = 0.0

    @property
    def n_nodes(self) -> int:
        return self.rows * self.cols

    @property
    def n_edges(self) -> int:
        return len(self.edges)

    @property
    def differential(self) -> bool:
        return len(self.output_nodes) == 2

    def node_id(self, rc: tuple[int, int]) -> int:
        return rc[0] * self.cols + rc[1]

    def node_rc(self, node: int) -> tuple[int, int]:
        return divmod(int(node), self.cols)

    def output_of(self, v: np.ndarray) -> np.ndarray:
        """Network output from node voltages ``(..., N)``: O, or O+ - O- if differential."""
        out = v[..., self.output_nodes]
        return out[..., 0] - out[..., 1] if self.differential else out[..., 0]

    @classmethod
    def from_design(cls, design: Design) -> Network:
        net = design.network
        assert isinstance(net, SquareLattice)
        pins = design.pins

        def nid(rc: tuple[int, int]) -> int:
            return rc[0] * net.cols + rc[1]

        out = pins.output
        outs = [out.plus, out.minus] if isinstance(out, DifferentialOutput) else [out.node]
        return cls(
            rows=net.rows,
            cols=net.cols,
            periodic=net.periodic,
            edges=square_lattice_edges(net.rows, net.cols, net.periodic),
            input_nodes=np.array([nid(n) for n in pins.inputs.values()], dtype=np.int64),
            input_names=tuple(pins.inputs),
            const_nodes=np.array([nid(c.node) for c in pins.constants.values()], dtype=np.int64),
            const_volts=np.array([c.volts for c in pins.constants.values()], dtype=float),
            const_names=tuple(pins.constants),
            output_nodes=np.array([nid(n) for n in outs], dtype=np.int64),
        )

    @classmethod
    def for_learning(cls, design: Design) -> Network:
        """The network the trainer simulates: the lattice with the spec's faults drawn in
        (``network.damage``, ``cell.twin_mismatch``, ``cell.g_leak``; none: the lattice
        itself)."""
        net = cls.from_design(design)
        d = design.network.damage
        if d is not None:
            rng = np.random.default_rng(d.seed)
            order = rng.permutation(net.n_edges)
            keep = np.sort(order[round(d.removed * net.n_edges) :])
            stuck = np.zeros(len(keep), bool)
            stuck[rng.permutation(len(keep))[: round(d.stuck * len(keep))]] = True
            net = replace(net, edges=net.edges[keep], stuck=stuck if stuck.any() else None)
        m = design.cell.twin_mismatch
        if m is not None and (m.vth_sigma_v > 0 or m.k_sigma > 0):
            rng = np.random.default_rng(m.seed)
            shape = (2, net.n_edges)
            dvth = rng.normal(0.0, m.vth_sigma_v, shape)
            scale = np.maximum(1.0 + rng.normal(0.0, m.k_sigma, shape), MIN_K_FACTOR)
            net = replace(net, twin_dg=-dvth, twin_scale=scale)
        leak = getattr(design.cell, "g_leak", None)
        if leak is not None:
            net = replace(net, leak_tau_s=leak.tau_s, leak_to_v=leak.to_v)
        return net
