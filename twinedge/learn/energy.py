"""Energy and timing from transient simulation of the extracted RC netlist.

Inference: with the trained G, the inputs step from one datapoint to the next (a cycle
through all of them, or through a random sample of ``MAX_TRANSITIONS`` of a larger
dataset: each transition is one more period of a transient on the whole extracted
netlist, and a dataset of a hundred points took over half an hour); ngspice integrates
the full RC netlist with the PDK models, and the power delivered by every source, sum of
V * (-I), is integrated from each switch until every port net has settled to within
``settle_frac`` of the input swing. Both twins hang on the shared input pins, so both are
counted: that is what the chip spends. The clamp sources are absent (clamped outputs
float) during inference.

Learning step: both twins at equilibrium with the clamp on for t_h (static power from an
operating point) plus the charge the update puts on the gate capacitors, drawn from the
PDK's supply rail (behavioural update current; the on-chip update circuit is a later cell).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from twinedge.learn.post_layout import drive_sources, extracted_deck
from twinedge.pdk import get as get_pdk
from twinedge.sim.network import Network
from twinedge.spec.loader import LoadedSpec
from twinedge.spice.deck import pwl
from twinedge.spice.shared import NgspiceSharedError, shared
from twinedge.verify.pex import Extraction

TRAN_OPTIONS = ".options gmin=1e-15 abstol=1e-14 reltol=1e-5 vntol=1e-7 method=gear"
MAX_TRANSITIONS = 16  # a larger dataset's energy is the mean over a sample of its points


def cycle(n_points: int, max_transitions: int, seed: int) -> list[int]:
    """The datapoints the inputs step through, back to the first: all of them in order, or
    ``max_transitions`` drawn at random (seeded) from a larger dataset. A sample's
    transitions join random pairs of datapoints (a class-sorted dataset in order steps
    mostly within a class): its mean estimates the energy of a random next input, and its
    worst settling time is the sample's."""
    if n_points <= max_transitions:
        return [*range(n_points), 0]
    pick = np.random.default_rng(seed).choice(n_points, max_transitions, replace=False)
    return [*map(int, pick), int(pick[0])]


@dataclass
class InferenceEnergy:
    inference_j: float  # mean energy per inference (all sources, switch -> settled)
    dynamic_j: float  # part of inference_j above the static power of the settled state
    settling_s: float  # worst settling time over the transitions
    settling_each_s: list[float]
    static_w: float  # mean static power at equilibrium (both twins, inputs applied)
    period_s: float
    settle_frac: float
    transitions: int  # how many the mean is over
    datapoints: int  # of how many datapoints (more than transitions: a random sample)
    inference_sem_j: float  # standard error of a sample's mean (0: every datapoint's)


@dataclass
class EnergyReport:
    inference_j: float  # mean energy per inference (all sources, switch -> settled)
    per_edge_j: float  # inference_j / number of twin edges
    dynamic_j: float  # part of inference_j above the static power of the settled state
    settling_s: float  # worst settling time over the transitions
    settling_each_s: list[float]
    static_w: float  # mean static power at equilibrium (both twins, inputs applied)
    learning_step_j: float
    learning_twins_j: float  # both twins, clamped, for t_h
    learning_update_j: float  # charge into the gate capacitors from the rail
    period_s: float
    settle_frac: float
    transitions: int  # how many the mean is over
    datapoints: int  # of how many datapoints (more than transitions: a random sample)
    inference_sem_j: float  # standard error of a sample's mean (0: every datapoint's)

    def as_dict(self) -> dict:
        return asdict(self)


class TransientError(RuntimeError):
    pass


def integrate_energy(t: np.ndarray, p: np.ndarray, t0: float, t1: float) -> float:
    """Trapezoid integral of power ``p(t)`` over [t0, t1] (interpolated at the ends)."""
    grid = np.concatenate([[t0], t[(t > t0) & (t < t1)], [t1]])
    return float(np.trapezoid(np.interp(grid, t, p), grid))


def settling_time(t: np.ndarray, v: np.ndarray, t0: float, t1: float, tol: float) -> float:
    """Time from ``t0`` until every trace (rows of ``v``) stays within ``tol`` of its value
    at ``t1``."""
    sel = (t >= t0) & (t <= t1)
    tt, vv = t[sel], v[:, sel]
    off = np.abs(vv - vv[:, -1:]).max(axis=0) > tol
    if not off.any():
        return 0.0
    last = np.flatnonzero(off)[-1]
    return float(tt[min(last + 1, len(tt) - 1)] - t0)


def inference_energy(
    spec: LoadedSpec,
    ext: Extraction,
    g: np.ndarray,
    model_lib: str,
    corner: str,
    period: float = 1e-6,
    rise: float = 50e-12,
    settle_frac: float = 1e-3,
    max_period: float = 20e-6,
    max_transitions: int = MAX_TRANSITIONS,
) -> InferenceEnergy:
    """Switch the inputs through every datapoint (or a sample, :func:`cycle`) and back to
    the first; the period grows x4 until each transition settles within half of it (or
    reaches ``max_period``)."""
    net = Network.for_learning(spec.design)
    data = spec.dataset
    order = cycle(len(data.labels), max_transitions, spec.design.training.seed)
    swing = float(np.ptp(np.r_[data.inputs.ravel(), net.const_volts])) or 1.0
    substrate = get_pdk(spec.design.pdk).kpex_substrate_net
    ports = [p.lower() for p in ext.ports if not p.startswith("G") and p != substrate]
    ng = shared()
    while True:
        times = [0.0]
        for k in range(1, len(order)):
            times += [k * period, k * period + rise]
        waves = []
        for j in range(len(net.input_names)):
            vals = [float(data.inputs[order[0], j])]
            for k in range(1, len(order)):
                vals += [float(data.inputs[order[k - 1], j]), float(data.inputs[order[k], j])]
            waves.append(pwl(zip(times, vals, strict=True)))
        sources = drive_sources(net, ext, g, waves, clamp_ports=[])
        deck = extracted_deck(
            f"{spec.design.name}: inference transient",
            ext,
            model_lib,
            corner,
            sources,
            TRAN_OPTIONS,
            with_caps=True,
        )
        ng.reset()
        try:
            ng.load(deck)
            ng.command(
                f"tran {period / 2000!r} {len(order) * period!r} 0 {period / 200!r}",
                background=True,  # tens of seconds: Ctrl-C halts it
            )
        except NgspiceSharedError as exc:
            raise TransientError(f"inference transient failed: {exc}") from None
        t = ng.vector("time")
        power = sum(
            -ng.vector(f"v({node.lower()})") * ng.vector(f"i({name})") for name, node, _ in sources
        )
        traces = np.array([ng.vector(f"v({p})") for p in ports])
        ng.reset()
        energies, dyn, settle = [], [], []
        for k in range(1, len(order)):
            t0, t1 = k * period, (k + 1) * period
            ts = settling_time(t, traces, t0, t1, settle_frac * swing)
            p_static = float(np.interp(t1, t, power))
            e = integrate_energy(t, power, t0, t0 + ts) if ts > 0 else 0.0
            energies.append(e)
            dyn.append(e - p_static * ts)
            settle.append(ts)
        if max(settle) < 0.5 * period or period >= max_period:
            # each datapoint once: the cycle's return to the first is not a new one
            ends = [(k + 1) * period for k in range(len(order) - 1)]
            sampled = len(order) - 1 < len(data.labels)
            # of a sample's mean (neighbouring transitions share a datapoint: a lower bound)
            sem = np.std(energies, ddof=1) / np.sqrt(len(energies)) if sampled else 0.0
            return InferenceEnergy(
                inference_j=float(np.mean(energies)),
                transitions=len(energies),
                datapoints=len(data.labels),
                inference_sem_j=float(sem),
                dynamic_j=float(np.mean(dyn)),
                settling_s=max(settle),
                settling_each_s=settle,
                static_w=float(np.mean(np.interp(ends, t, power))),
                period_s=period,
                settle_frac=settle_frac,
            )
        period *= 4


def learning_step_energy(
    spec: LoadedSpec, twins_power_w: float, mean_charge_up_v: float, c_gate_f: float
) -> tuple[float, float, float]:
    """(total, twins part, update part) energy of one learning step of length t_h."""
    tr = spec.design.training
    twins = twins_power_w * tr.t_h
    update = c_gate_f * mean_charge_up_v * get_pdk(spec.design.pdk).vdd
    return twins + update, twins, update
