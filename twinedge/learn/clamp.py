"""The clamp as the characterised error element makes it (behavioural model).

The ideal clamp sets the clamped outputs to O+- +- k (L - O). The chip's error element
(:mod:`twinedge.circuits.error_element`) makes a measured nudge instead: its transfer table
over the free outputs (O+, O-), the label and the nudge sign, interpolated here, plus each
amplifier's own mismatch offsets drawn from the Monte Carlo spread: a common part (both
clamped states move alike) and a part that flips with the nudge sign (a label error).
"""

from __future__ import annotations

import numpy as np
from scipy.interpolate import RegularGridInterpolator

from twinedge.characterise.error_element import O_GRID, ErrorElementCharacterisation


class ErrorElementClamp:
    """Clamped output targets of a differential output from the characterised element;
    ``rng``: draw each of the two amplifiers' mismatch offsets (None: nominal)."""

    def __init__(
        self, ch: ErrorElementCharacterisation, rng: np.random.Generator | None = None
    ) -> None:
        grid = np.asarray(ch.grid)
        self.labels = np.array(sorted(set(ch.labels)))
        o = np.array(O_GRID)
        self.lo, self.hi = float(o[0]), float(o[-1])
        self.tables = {}
        for sign in (1, -1):
            t = np.full((len(self.labels), len(o), len(o)), np.nan)
            for op, om, lab, s, measured, _ in grid:
                if s == sign:
                    t[np.searchsorted(self.labels, lab), o.searchsorted(op), o.searchsorted(om)] = (
                        measured
                    )
            assert not np.isnan(t).any(), "the characterisation's grid has holes"
            self.tables[sign] = RegularGridInterpolator((self.labels, o, o), t)
        if rng is None:
            self.common = self.flip = np.zeros(2)
        else:
            self.common = rng.normal(0.0, ch.mc_offset_common_sigma_v, 2)
            self.flip = rng.normal(0.0, ch.mc_offset_flip_sigma_v, 2)
        self.calls = self.clipped = 0

    def _nudge(self, amp: int, o_self: float, o_other: float, label: float, sign: int) -> float:
        lab_lo, lab_hi = self.labels[0], self.labels[-1]
        if not lab_lo - 1e-12 <= label <= lab_hi + 1e-12:
            raise ValueError(
                f"label {label:+.4f} V outside the characterised {lab_lo:+.4f} .. {lab_hi:+.4f} V"
            )
        x = np.clip([o_self, o_other], self.lo, self.hi)
        self.clipped += int(np.any(x != [o_self, o_other]))
        value = float(self.tables[sign]((label, *x)))
        return value + self.common[amp] + sign * self.flip[amp]

    def __call__(self, out_nodes_v: np.ndarray, label: float, sign: float) -> np.ndarray:
        """(O+_C, O-_C): the minus output's amplifier sees the outputs and label swapped."""
        s = 1 if sign > 0 else -1
        op, om = float(out_nodes_v[0]), float(out_nodes_v[1])
        self.calls += 1
        return np.array(
            [op + self._nudge(0, op, om, label, s), om + self._nudge(1, om, op, -label, s)]
        )
