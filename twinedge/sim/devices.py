"""Edge device models: the current through one edge and its derivatives.

Every model answers ``current(G, Va, Vb)`` for arrays broadcasting together and returns the
current from terminal a to terminal b with its partial derivatives. The solver needs dI/dVa
and dI/dVb for Newton; dI/dG serves sensitivity analysis. A PDK-calibrated, tabulated model
(a later issue) implements the same protocol.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Protocol

import numpy as np


class EdgeCurrent(NamedTuple):
    i: np.ndarray  # current a -> b (A)
    di_dva: np.ndarray
    di_dvb: np.ndarray
    di_dg: np.ndarray


class EdgeModel(Protocol):
    def current(self, g: np.ndarray, va: np.ndarray, vb: np.ndarray) -> EdgeCurrent: ...


@dataclass(frozen=True)
class Level1NMOS:
    """Exact SPICE level-1 NMOS (LAMBDA = GAMMA = 0), body at ground, used symmetrically.

    The lower terminal is the source (the paper's Appendix A). With vov = G - Vth - Vs and
    vds = Vd - Vs >= 0:
        cutoff     vov <= 0:          I = 0
        triode     vds <  vov:        I = k (vov - vds/2) vds  = k (G - Vth - V̄) ΔV
        saturation vds >= vov > 0:    I = k/2 vov^2
    ``k`` = KP * W / L (A/V^2).
    """

    k: float
    vth: float

    def current(self, g: np.ndarray, va: np.ndarray, vb: np.ndarray) -> EdgeCurrent:
        # Clipping folds the three regions into one expression: vov_c = max(vov, 0) and
        # vds_c = min(vds, vov_c) give triode, saturation (vds_c = vov) and cutoff (both 0).
        forward = va >= vb
        vov = np.maximum(g - self.vth - np.minimum(va, vb), 0.0)
        vds = np.minimum(np.abs(va - vb), vov)
        kv = self.k * vds
        f = (vov - 0.5 * vds) * kv
        f_vov = kv
        f_vds = self.k * (vov - vds)
        # I = +f forward, -f backward; d f/d hi = f_vds, d f/d lo = -(f_vov + f_vds)
        i = np.where(forward, f, -f)
        di_dva = np.where(forward, f_vds, f_vds + f_vov)
        di_dvb = np.where(forward, -(f_vds + f_vov), -f_vds)
        di_dg = np.where(forward, f_vov, -f_vov)
        return EdgeCurrent(i, di_dva, di_dvb, di_dg)


@dataclass(frozen=True)
class ScaledEdges:
    """``model`` with every edge's current times its own factor ``scale`` (E,): one twin's
    transistors, each with its current-factor mismatch (``Network.twin_scale``)."""

    model: EdgeModel
    scale: np.ndarray

    def current(self, g: np.ndarray, va: np.ndarray, vb: np.ndarray) -> EdgeCurrent:
        c = self.model.current(g, va, vb)
        s = self.scale
        return EdgeCurrent(c.i * s, c.di_dva * s, c.di_dvb * s, c.di_dg * s)
