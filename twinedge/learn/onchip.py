"""Update rules other than the simulator's ideal Eq. 4: the on-chip circuit's characterised
transfer, and the patent's hybrid digital update.

A rule maps (G, dV_F, dV_C) of one learning step to the new G. Training with a rule is
:class:`RuleLearning`: the same twin equilibria and datapoint order as
:class:`twinedge.sim.learning.CoupledLearning`, only the update differs.

On-chip (``twin_edge_cl``), per step: the LEARN pulse of ``t_h`` sources
I = [(T(dV_F, dV_C) - T(0, 0)) (1 + g_e) + o_e] c(G) eff + I_frozen(G) into the G node's
capacitance
(T: the nominal current table net of its zero-input value, g_e / o_e: the edge's gain and
offset deviation drawn from the Monte Carlo spread, c(G): output compliance, eff: the pulse
efficiency from the transient), plus the whole zero-input pulse's dG (charge injection and
the nominal offset, from the transient), then ``t_frozen`` of leakage (floor device and
switches) - all measured in :mod:`twinedge.characterise.mirror`.
"""

from __future__ import annotations

import numpy as np
from scipy.interpolate import RegularGridInterpolator

from twinedge.characterise.mirror import G_REF, Characterisation
from twinedge.sim.learning import CoupledLearning
from twinedge.spec.schema import HybridUpdate

LEAK_SUBSTEPS = 8  # the floor's leakage is steep near G_min: a few explicit substeps


class OnChipRule:
    """The characterised circuit, one instance per edge (mismatch drawn with ``seed``); G
    stays within 0 .. ``g_max`` (the PDK's supply)."""

    def __init__(
        self,
        ch: Characterisation,
        n_edges: int,
        t_h: float,
        t_frozen: float,
        mismatch: bool,
        seed: int,
        *,
        g_max: float,
    ) -> None:
        self.ch, self.t_h, self.t_frozen, self.g_max = ch, t_h, t_frozen, g_max
        dv = np.asarray(ch.dv_grid)
        self._table = RegularGridInterpolator(
            (dv, dv), np.asarray(ch.table_a), bounds_error=False, fill_value=None
        )
        self._g = np.asarray(ch.g_grid)
        self._c_pos = np.asarray(ch.compliance_pos)
        self._c_neg = np.asarray(ch.compliance_neg)
        self._leak = np.asarray(ch.leak_a)
        rng = np.random.default_rng([seed, 0xC1])  # its own stream: same G init and order
        if mismatch:
            self.gain = 1.0 + rng.normal(0.0, ch.gain_sigma_rel, n_edges)
            self.offset = rng.normal(0.0, ch.offset_sigma_a, n_edges)
        else:
            self.gain = np.ones(n_edges)
            self.offset = np.zeros(n_edges)
        self._i_zero = float(self._table([[0.0, 0.0]])[0])
        cm = np.asarray(ch.cm_grid)
        cm_table = np.asarray(ch.cm_table_a)
        self._cm = RegularGridInterpolator(
            (cm, cm), cm_table - self._i_zero, bounds_error=False, fill_value=None
        )
        self._leak_ref = float(np.interp(G_REF, self._g, self._leak))

    def current(
        self,
        g: np.ndarray,
        dvf: np.ndarray,
        dvc: np.ndarray,
        cmf: np.ndarray | None = None,
        cmc: np.ndarray | None = None,
    ) -> np.ndarray:
        """Signal current into G (A) while LEARN is high: the table net of its zero-input
        value, plus the zero-input current's change with the twins' common modes (when
        given), this edge's gain and offset, the output compliance and the pulse efficiency."""
        i = self._table(np.c_[dvf, dvc]) - self._i_zero
        if cmf is not None and cmc is not None:
            i = i + self._cm(np.c_[cmf, cmc])
        i = i * self.gain + self.offset
        c_pos = np.interp(g, self._g, self._c_pos)
        comp = np.where(i >= 0, c_pos, np.interp(g, self._g, self._c_neg))
        return i * comp * self.ch.pulse_efficiency

    def leakage(self, g: np.ndarray) -> np.ndarray:
        return np.interp(g, self._g, self._leak)

    def __call__(
        self,
        g: np.ndarray,
        dvf: np.ndarray,
        dvc: np.ndarray,
        cmf: np.ndarray | None = None,
        cmc: np.ndarray | None = None,
    ) -> np.ndarray:
        c = self.ch.c_gate_f
        i_learn = self.current(g, dvf, dvc, cmf, cmc)
        # the zero-input pulse (injection, nominal offset) was measured at G_REF, where the
        # frozen current is ~0; near the floor the floor device adds its G-dependent current
        g = g + self.ch.dg_zero_pulse
        dt = self.t_h / LEAK_SUBSTEPS
        for _ in range(LEAK_SUBSTEPS):
            g = g + (i_learn + self.leakage(g) - self._leak_ref) * dt / c
        dt = self.t_frozen / LEAK_SUBSTEPS
        for _ in range(LEAK_SUBSTEPS if self.t_frozen else 0):
            g = g + self.leakage(g) * dt / c
        return np.clip(g, 0.0, self.g_max)


class IdealRule:
    """Eq. 4: dG = rate t_h (dV_F^2 - dV_C^2 + offset), clipped to [g_min, g_max].

    ``offset_v2`` (per edge, V^2, input-referred) models an update circuit that is exact but
    for a constant error: the tolerance study of benchmarks/bench_cl_offset_tolerance.py.
    """

    def __init__(
        self,
        rate: float,
        t_h: float,
        g_min: float,
        g_max: float,
        offset_v2: np.ndarray | None = None,
    ) -> None:
        self.rate, self.t_h, self.g_min, self.g_max = rate, t_h, g_min, g_max
        self.offset_v2 = 0.0 if offset_v2 is None else offset_v2

    def __call__(self, g: np.ndarray, dvf: np.ndarray, dvc: np.ndarray) -> np.ndarray:
        x = dvf**2 - dvc**2 + self.offset_v2
        return np.clip(g + self.rate * self.t_h * x, self.g_min, self.g_max)


class HybridRule:
    """Patent claim 1: measure (ADC), compute the update digitally, write G (DAC) from memory.

    The memory holds each edge's DAC code; an update smaller than half a DAC step is lost,
    as it would be in the hardware.
    """

    def __init__(
        self, cfg: HybridUpdate, rate: float, t_h: float, g_min: float, g_max: float
    ) -> None:
        self.cfg, self.rate, self.t_h = cfg, rate, t_h
        self.g_min, self.g_max = g_min, g_max
        # mid-tread ADC, symmetric codes -(2^(b-1) - 1) .. 2^(b-1) - 1: zero and +-full
        # scale are exact
        self.adc_lsb = cfg.full_scale_v2 / (2 ** (cfg.adc_bits - 1) - 1)
        self.dac_lsb = (g_max - g_min) / (2**cfg.dac_bits - 1)

    def measure(self, dvf: np.ndarray, dvc: np.ndarray) -> np.ndarray:
        x = np.clip(dvf**2 - dvc**2, -self.cfg.full_scale_v2, self.cfg.full_scale_v2)
        return np.round(x / self.adc_lsb) * self.adc_lsb

    def write(self, g: np.ndarray) -> np.ndarray:
        code = np.round((np.clip(g, self.g_min, self.g_max) - self.g_min) / self.dac_lsb)
        return self.g_min + code * self.dac_lsb

    def __call__(self, g: np.ndarray, dvf: np.ndarray, dvc: np.ndarray) -> np.ndarray:
        return self.write(self.write(g) + self.rate * self.t_h * self.measure(dvf, dvc))


class MemoryRule:
    """The time-differenced circuit (:mod:`twinedge.circuits.memory`), per edge, from its
    measured per-step numbers (:func:`twinedge.characterise.memory.characterise_memory`):

    dG = T1(dV_F) - T1(dV_C) scaled by the edge's gain and the compliance at G, plus the
    zero-input residual at G (nominal curve: the pull towards G_cal and the output's
    compliance limit), the error at no nudge for the step's mean dV (the stored current's:
    it grows with it), the edge's residual deviation drawn from the Monte Carlo spread, and
    what the CAL phase leaves unsettled of the previous step's state (the rule remembers
    each edge's last clamped dV). The step's timing (t_h, t_cal) is the characterisation's.
    G stays within ``g_floor`` .. ``g_max`` (the PDK's supply).
    """

    def __init__(
        self, m, n_edges: int, g_floor: float, mismatch: bool, seed: int, *, g_max: float
    ) -> None:
        self.m, self.g_floor, self.g_max = m, g_floor, g_max
        rng = np.random.default_rng([seed, 0xC2])
        if mismatch:
            self.gain = 1.0 + rng.normal(0.0, m.gain_sigma_rel, n_edges)
            dev = rng.normal(0.0, m.offset_sigma_v2, n_edges)
        else:
            self.gain, dev = np.ones(n_edges), np.zeros(n_edges)
        # the Monte Carlo mean is the nominal curve's value at G_REF: only the spread is added
        self.residual_dev_v = dev * m.gain_v_per_v2
        self._dv, self._t1 = np.asarray(m.dv_grid), np.asarray(m.t1_v)
        self._cm = np.asarray(m.common_v) if m.common_v else np.zeros_like(self._dv)
        self._g, self._zero = np.asarray(m.g_grid), np.asarray(m.zero_v)
        self._comp = np.asarray(m.gain_vs_g)
        # an empty measurement (not taken) is a zero term
        self._settle_dv = np.asarray(m.settle_dv or [0.0])
        self._settle = np.asarray(m.settle_v or [0.0])
        self._prev: np.ndarray | None = None  # each edge's clamped dV at the last step's end
        # G floats during the CAL phase: the frozen current's droop (the step's transients
        # hold G until CAL ends, so it is not in zero_v)
        self._frozen_g = np.asarray(m.frozen_g or [0.0])
        self._droop = np.asarray(m.frozen_i_a or [0.0]) * m.t_cal / m.c_gate_f

    def settled(self) -> None:
        """Forget the last step's state: the next step's CAL phase starts settled."""
        self._prev = None

    def last_state(self) -> np.ndarray | None:
        """Each edge's clamped dV at the last step's end (what the next CAL settles from)."""
        return None if self._prev is None else self._prev.copy()

    def restore_state(self, prev: np.ndarray | None) -> None:
        self._prev = None if prev is None else prev.copy()

    def __call__(self, g: np.ndarray, dvf: np.ndarray, dvc: np.ndarray) -> np.ndarray:
        signal = np.interp(dvf, self._dv, self._t1) - np.interp(dvc, self._dv, self._t1)
        signal = signal * self.gain * np.interp(g, self._g, self._comp)
        signal += np.interp((dvf + dvc) / 2, self._dv, self._cm)  # the stored current's error
        if self._prev is not None:  # CAL settles from the last step's state towards dvf
            settle = np.interp(self._prev, self._settle_dv, self._settle)
            signal += settle - np.interp(dvf, self._settle_dv, self._settle)
        self._prev = np.array(dvc, copy=True)
        droop = np.interp(g, self._frozen_g, self._droop)
        g = g + signal + np.interp(g, self._g, self._zero) + droop + self.residual_dev_v
        return np.clip(g, self.g_floor, self.g_max)


Rule = OnChipRule | IdealRule | HybridRule | MemoryRule


class RuleLearning(CoupledLearning):
    """Coupled Learning with a pluggable update ``rule``."""

    def __init__(self, *args, rule: Rule, within: int = 1, **kwargs) -> None:
        super().__init__(*args, compiled=False, **kwargs)
        self.rule = rule
        self.within = within  # LEARN slices per step (:meth:`learn_within`); 1: one piece
        if isinstance(rule, HybridRule):
            self.g = rule.write(self.g)
            self.keep_stuck()

    def _substep(self, p: int, gain: float) -> None:
        vf, vc = self.update_states(p)
        self.g = apply_rule(self.rule, self.g, vf, vc, self._a, self._b)

    def learn(self, p: int) -> None:
        if self.within > 1:
            self.learn_within(p, self.within)
        else:
            super().learn(p)

    def learn_within(self, p: int, n: int) -> None:
        """One step of the time-differenced circuit with G moving during LEARN: the CAL
        state (the first compared one) is taken once at the step's start, as the memory
        holds it; LEARN is ``n`` slices, each comparing it with the second state at the G
        the slice starts from. At the chip's step sizes (G moving up to 0.2 V in one LEARN)
        one slice is a coarse model of what a transistor-level chip does: compared from the
        chip's own G, 16 slices cut the per-step error ~2x (``twinedge.characterise.chip``)."""
        assert isinstance(self.rule, MemoryRule), "only the memory circuit holds its CAL state"
        v1, _ = self.update_states(p)
        g, prev = self.g.copy(), self.rule.last_state()
        for _ in range(n):
            self.g = g
            _, v2 = self.update_states(p)
            self.rule.restore_state(prev)
            g = g + (apply_rule(self.rule, g, v1, v2, self._a, self._b) - g) / n
        self.g = g
        self._hold_stuck()


def apply_rule(
    rule: Rule, g: np.ndarray, vf: np.ndarray, vc: np.ndarray, a: np.ndarray, b: np.ndarray
) -> np.ndarray:
    """One update from both twins' node voltages (the on-chip circuit also reads their
    common modes)."""
    dvf, dvc = vf[a] - vf[b], vc[a] - vc[b]
    if isinstance(rule, OnChipRule):
        return rule(g, dvf, dvc, (vf[a] + vf[b]) / 2, (vc[a] + vc[b]) / 2)
    return rule(g, dvf, dvc)
