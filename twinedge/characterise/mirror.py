"""Transistor-level characterisation of the on-chip learning circuit with the PDK's models.

Every measurement is an ngspice run on :mod:`twinedge.circuits.mirror` with the PDK's nfet
and pfet models; many operating points are taken in one run by placing
one circuit instance per point (each with its own gate and supply sources), so the run is
one ``op``:

* transfer: I_G against x = dV_F^2 - dV_C^2 on a signed (dV_F, dV_C) grid at mid common mode
  (the simulator's table) and at random common modes (linearity R^2, gain, offset); I_G at
  zero input against both twins' common modes (the simulator's common-mode correction);
* compliance: I_G against G while learning (G range where the current holds), and while
  frozen (leakage, including the floor device) - the droop per second;
* floor: VFLOOR is set so that at G = G_min the floor device sources the full-scale
  learning current;
* mismatch: N instances drawing the PDK's local-mismatch parameters (``MC_MM_SWITCH=1``),
  a line fit of I_G(x) per instance: the spread of gain and offset;
* transient: G on its capacitor, a learn pulse at zero and at full-scale input: charge
  injected per freeze/unfreeze, and dG/dt against the DC prediction;
* power: supply current per cell while learning, frozen (bias on), and with the bias gated.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from twinedge import processes
from twinedge.artifacts import cache_lock, private_tmp
from twinedge.circuits.mirror import PORTS, SUBCKT, UpdateSizing, resistor_of, subckt
from twinedge.pdk import Pdk
from twinedge.pdk import get as get_pdk
from twinedge.spice.deck import NgspiceError, run_deck

_VALUE = re.compile(r"^\s*([iv]\([\w.]+\))\s*=\s*([-+0-9.eE]+)\s*$", re.MULTILINE)


class CharacterisationError(NgspiceError):
    pass


@dataclass(frozen=True)
class Point:
    """One instance's operating point: terminal voltages, G, and the control levels."""

    af: float
    bf: float
    ac: float
    bc: float
    g: float
    learn: bool = True
    vbp: float = 0.7  # VDD gates the bias off
    vfloor: float = 0.0

    @property
    def x(self) -> float:
        return (self.af - self.bf) ** 2 - (self.ac - self.bc) ** 2


@dataclass
class Characterisation:
    """What the simulator and the report need (SI units; currents into G positive)."""

    corner: str
    sizing: dict
    vbp: float
    vfloor: float
    c_gate_f: float
    range_v: float  # claimed |dV| range
    gain_a_per_v2: float  # fit over the claimed range, random common modes
    offset_a: float
    r2: float
    full_scale_a: float  # gain * range^2
    dv_grid: list[float] = field(default_factory=list)
    table_a: list[list[float]] = field(default_factory=list)  # I_G[dV_F index][dV_C index]
    g_grid: list[float] = field(default_factory=list)
    compliance_pos: list[float] = field(default_factory=list)  # I_G(G) / I_G(G_ref), x > 0
    compliance_neg: list[float] = field(default_factory=list)
    leak_a: list[float] = field(default_factory=list)  # frozen I_G(G), x = 0
    g_window: tuple[float, float] = (0.0, 0.0)  # compliance within 10 %
    mismatch_n: int = 0
    gain_sigma_rel: float = 0.0
    offset_sigma_a: float = 0.0
    mc_gain: list[float] = field(default_factory=list)
    mc_offset: list[float] = field(default_factory=list)
    inj_on_c: float = 0.0  # charge into G at unfreeze (C)
    inj_off_c: float = 0.0  # at freeze
    dg_zero_pulse: float = 0.0  # G change over a whole learn pulse at zero input (V, G_REF)
    cm_grid: list[float] = field(default_factory=list)  # node common modes of the CM table
    cm_table_a: list[list[float]] = field(default_factory=list)  # I_G[cm_F][cm_C] at dV = 0
    dgdt_transient: float = 0.0  # V/s at full-scale x, from the transient
    dgdt_predicted: float = 0.0  # from the DC gain, offset and C
    power_learning_w: float = 0.0
    power_frozen_w: float = 0.0
    power_gated_w: float = 0.0
    r2_points: list[list[float]] = field(default_factory=list)  # (x, I_G) of the fit
    t_on: float = 0.0  # the learn pulse the transient used

    @property
    def pulse_rate(self) -> float:
        """dG per second of learn pulse per V^2 of x, the pulse efficiency included."""
        return self.rate * self.pulse_efficiency

    @property
    def pulse_efficiency(self) -> float:
        """Charge a pulse delivers over what the DC current would in t_on (output settling)."""
        return self.dgdt_transient / self.dgdt_predicted if self.dgdt_predicted else 1.0

    @property
    def offset_fraction(self) -> float:
        return abs(self.offset_a) / self.full_scale_a

    @property
    def rate(self) -> float:
        """Nominal dG/dt per V^2 of x (1/(V s)) on the gate capacitor."""
        return self.gain_a_per_v2 / self.c_gate_f

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=1))

    @classmethod
    def load(cls, path: Path) -> Characterisation:
        d = json.loads(path.read_text())
        d["g_window"] = tuple(d["g_window"])
        return cls(**d)

    def summary(self) -> dict:
        return {
            "circuit": "mirror",
            "corner": self.corner,
            "vbp_v": self.vbp,
            "vfloor_v": round(self.vfloor, 4),
            "range_dv_v": self.range_v,
            "gain_a_per_v2": self.gain_a_per_v2,
            "rate_per_v2_s": self.rate,
            "offset_a": self.offset_a,
            "offset_fraction_of_full_scale": self.offset_fraction,
            "r2": self.r2,
            "g_window_v": list(self.g_window),
            "mismatch_instances": self.mismatch_n,
            "gain_sigma_rel": self.gain_sigma_rel,
            "offset_sigma_a": self.offset_sigma_a,
            "offset_sigma_fraction": self.offset_sigma_a / self.full_scale_a,
            "charge_injection_on_c": self.inj_on_c,
            "charge_injection_off_c": self.inj_off_c,
            "dg_per_pulse_zero_input_v": self.dg_zero_pulse,
            "droop_v_per_s_at_g": {
                f"{g:.2f}": lk / self.c_gate_f
                for g, lk in zip(self.g_grid, self.leak_a, strict=True)
                if round(g * 20) % 4 == 0 and 0.4 <= g <= 1.7
            },
            "dgdt_transient_v_per_s": self.dgdt_transient,
            "dgdt_predicted_v_per_s": self.dgdt_predicted,
            "pulse_efficiency": self.pulse_efficiency,
            "t_on_s": self.t_on,
            "c_gate_node_f": self.c_gate_f,
            "power_learning_w": self.power_learning_w,
            "power_frozen_w": self.power_frozen_w,
            "power_bias_gated_w": self.power_gated_w,
            "breadboard_power_w": 0.1,
        }


# --------------------------------------------------------------------------- ngspice
def run_ngspice(deck: str, timeout: float = 600) -> str:
    """Batch ngspice (:func:`twinedge.spice.deck.run_deck`, strict), failures raised as
    :class:`CharacterisationError`."""
    try:
        return run_deck(deck, timeout=timeout)
    except NgspiceError as exc:
        raise CharacterisationError(str(exc)) from None


MC_PER_DECK = 4


def monte_carlo_decks(n: int, per_deck: int = MC_PER_DECK) -> list[tuple[int, int]]:
    """(mismatch seed, instances) of each deck that together hold ``n`` Monte Carlo
    instances, ``per_deck`` to a deck, each deck its own draw: one operating point of many
    amplifiers in one deck converges slowly, a few small decks quickly."""
    return [(k + 1, min(per_deck, n - k * per_deck)) for k in range(-(-n // per_deck))]


def model_header(
    pdk: Pdk,
    corner: str,
    mismatch_seed: int | None = None,
    title: str = "twinedge on-chip learning circuit characterisation",
    abstol: float = 1e-15,
    resistor: bool = False,
) -> str:
    """Deck header: the PDK's models (with local mismatch drawn from ``mismatch_seed`` when
    given; ``resistor``: its poly resistor too), um scale and the tolerances every
    characterisation deck uses (``abstol``: the absolute current tolerance, A)."""
    mismatch, seed = mismatch_seed is not None, mismatch_seed or 0
    devices = (pdk.nfet, pdk.pfet, *([resistor_of(pdk).model] if resistor else []))
    lib = pdk.reduced_model_lib(devices, corner, mismatch=mismatch)
    lines = [
        f"* {title}",
        f".lib {lib} {corner}",
        ".option scale=1u",
        f".options gmin=1e-15 abstol={abstol!r} reltol=1e-6",
    ]
    if mismatch:
        lines.append(f".option seed={seed + 1}")
    return "\n".join(lines) + "\n"


def _header(pdk: Pdk, corner: str, sizing: UpdateSizing, mismatch_seed: int | None = None) -> str:
    """Deck header: models and the update subcircuit."""
    return model_header(pdk, corner, mismatch_seed) + subckt(pdk, sizing)


def _levels(p: Point, vdd: float) -> dict[str, float]:
    learn, learnb = (vdd, 0.0) if p.learn else (0.0, vdd)
    return {k: float(v) for k, v in {
        "af": p.af, "bf": p.bf, "ac": p.ac, "bc": p.bc, "g": p.g, "vdd": vdd,
        "vbp": p.vbp, "learn": learn, "learnb": learnb, "vfloor": p.vfloor,
    }.items()}  # fmt: skip


def operating_points(
    points: list[Point],
    pdk: Pdk,
    corner: str,
    sizing: UpdateSizing,
    mismatch_seed: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(I into G, supply power) of every point: one circuit, its sources ``alter``ed and an
    ``op`` per point (each op starts from the previous solution), in one ngspice run."""
    first = _levels(points[0], pdk.vdd)
    lines = [f"V{n} {n} 0 {first[n]!r}" for n in PORTS]
    lines.append(f"X1 {' '.join(PORTS)} {SUBCKT}")
    ctrl = ["set numdgt=12"]
    prev: dict[str, float] = {}
    for k, p in enumerate(points):
        lv = _levels(p, pdk.vdd)
        ctrl += [f"alter v{n} dc={v!r}" for n, v in lv.items() if prev.get(n) != v]
        prev = lv
        ctrl += ["op", f"echo POINT {k}", "print i(vg) i(vvdd)"]
    deck = (
        _header(pdk, corner, sizing, mismatch_seed)
        + "\n".join(lines)
        + "\n.control\n"
        + "\n".join(ctrl)
        + "\nquit 0\n.endc\n.end\n"
    )
    out = run_ngspice(deck)
    i_g = np.full(len(points), np.nan)
    p_dd = np.full(len(points), np.nan)
    for chunk in out.split("POINT ")[1:]:
        k = int(chunk.split()[0])
        vals = _values(chunk)
        if "i(vg)" in vals and "i(vvdd)" in vals:
            # ngspice's i(V) is the current into the source's + terminal from the circuit
            i_g[k], p_dd[k] = vals["i(vg)"], -vals["i(vvdd)"] * pdk.vdd
    if np.isnan(i_g).any():
        bad = int(np.flatnonzero(np.isnan(i_g))[0])
        raise CharacterisationError(f"ngspice gave no operating point for {points[bad]}")
    return i_g, p_dd


def _values(out: str) -> dict[str, float]:
    return {m.group(1): float(m.group(2)) for m in _VALUE.finditer(out)}


def _points_at(dvf: float, dvc: float, cm_f: float, cm_c: float, g: float, **kw) -> Point:
    dvf, dvc, cm_f, cm_c = (float(v) for v in (dvf, dvc, cm_f, cm_c))
    return Point(cm_f + dvf / 2, cm_f - dvf / 2, cm_c + dvc / 2, cm_c - dvc / 2, float(g), **kw)


def _fit(x: np.ndarray, i: np.ndarray) -> tuple[float, float, float]:
    a = np.vstack([x, np.ones_like(x)]).T
    (k, b), *_ = np.linalg.lstsq(a, i, rcond=None)
    res = i - a @ [k, b]
    return float(k), float(b), float(1 - res.var() / i.var())


# --------------------------------------------------------------------------- stages
def floor_crossing(vfl: np.ndarray, i_floor: np.ndarray, current: float, g_floor: float) -> float:
    """The VFLOOR of a sweep at which the floor current first reaches ``current``
    (interpolated on log current between the bracketing sweep points)."""
    above = np.nonzero(i_floor >= current)[0]
    if not len(above):
        raise CharacterisationError(
            f"the floor device cannot source {current:.3g} A at G = {g_floor} V"
        )
    k = int(above[0])
    if k == 0:
        return float(vfl[0])
    lo, hi = np.log(max(i_floor[k - 1], 1e-18)), np.log(i_floor[k])
    return float(vfl[k - 1] + (np.log(current) - lo) / (hi - lo) * (vfl[k] - vfl[k - 1]))


def calibrate_floor(
    pdk: Pdk, corner: str, sizing: UpdateSizing, vbp: float, g_floor: float, full_scale: float
) -> float:
    """VFLOOR at which the floor device sources ``full_scale`` into G at G = ``g_floor``
    (frozen)."""
    vfl = np.round(np.arange(0.5, pdk.vdd + 1e-9, 0.01), 3)
    pts = [Point(0.2, 0.2, 0.2, 0.2, g_floor, learn=False, vbp=vbp, vfloor=float(v)) for v in vfl]
    i_floor, _ = operating_points(pts, pdk, corner, sizing)
    return floor_crossing(vfl, i_floor, full_scale, g_floor)


def _grid_points(
    dv: np.ndarray, g: float, vbp: float, vfloor: float, rng: np.random.Generator | None
) -> list[Point]:
    """(dV_F, dV_C) grid; common modes at mid range, or random where the pair fits 0-0.45 V."""
    pts = []
    for dvf in dv:
        for dvc in dv:
            if rng is None:
                cf = cc = CM_MID
            else:
                cf = rng.uniform(abs(dvf) / 2, NODE_MAX - abs(dvf) / 2)
                cc = rng.uniform(abs(dvc) / 2, NODE_MAX - abs(dvc) / 2)
            pts.append(_points_at(dvf, dvc, cf, cc, g, vbp=vbp, vfloor=vfloor))
    return pts


NODE_MAX = 0.45  # the node range the circuit is characterised over (the XOR's 0-0.45 V)
CM_MID = NODE_MAX / 2  # the common mode of single-point measurements
G_REF = 1.0


def transfer(
    pdk: Pdk, corner: str, sizing: UpdateSizing, vbp: float, vfloor: float, range_v: float
) -> tuple[np.ndarray, np.ndarray, tuple[float, float, float], np.ndarray]:
    """Signed table at mid common mode, and the fit over the range at random common modes."""
    dv_table = np.round(np.linspace(-NODE_MAX, NODE_MAX, 19), 4)
    pts = _grid_points(dv_table, G_REF, vbp, vfloor, None)
    table, _ = operating_points(pts, pdk, corner, sizing)
    dv_fit = np.linspace(-range_v, range_v, 9)
    fit_pts = _grid_points(dv_fit, G_REF, vbp, vfloor, np.random.default_rng(0))
    i_fit, _ = operating_points(fit_pts, pdk, corner, sizing)
    x = np.array([p.x for p in fit_pts])
    return dv_table, table.reshape(len(dv_table), len(dv_table)), _fit(x, i_fit), np.c_[x, i_fit]


def common_mode(
    pdk: Pdk, corner: str, sizing: UpdateSizing, vbp: float, vfloor: float
) -> tuple[np.ndarray, np.ndarray]:
    """I_G at zero input against the two twins' node common modes (the circuit's residual
    common-mode dependence: bias CLM through the F/C path imbalance)."""
    cm = np.round(np.linspace(0.0, NODE_MAX, 10), 4)
    pts = [Point(cf, cf, cc, cc, G_REF, vbp=vbp, vfloor=vfloor) for cf in cm for cc in cm]
    i_g, _ = operating_points(pts, pdk, corner, sizing)
    return cm, i_g.reshape(len(cm), len(cm))


def compliance(
    pdk: Pdk, corner: str, sizing: UpdateSizing, vbp: float, vfloor: float, range_v: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """I_G(G) learning at x = +fs and -fs net of the frozen current (normalised to G_REF),
    and the frozen current at x = 0."""
    g = np.round(np.arange(0.0, pdk.vdd + 1e-9, 0.05), 3)
    c = CM_MID
    pos = [_points_at(range_v, 0.0, c, c, float(v), vbp=vbp, vfloor=vfloor) for v in g]
    neg = [_points_at(0.0, range_v, c, c, float(v), vbp=vbp, vfloor=vfloor) for v in g]
    frozen = [_points_at(0.0, 0.0, c, c, float(v), learn=False, vbp=vbp, vfloor=vfloor) for v in g]
    i_pos, _ = operating_points(pos, pdk, corner, sizing)
    i_neg, _ = operating_points(neg, pdk, corner, sizing)
    i_leak, _ = operating_points(frozen, pdk, corner, sizing)
    ref = int(np.argmin(abs(g - G_REF)))
    # the learning current alone: the frozen current (floor, switch leakage) taken out
    sig_pos, sig_neg = i_pos - i_leak, i_neg - i_leak
    return g, sig_pos / sig_pos[ref], sig_neg / sig_neg[ref], i_leak


def mismatch(
    pdk: Pdk,
    corner: str,
    sizing: UpdateSizing,
    vbp: float,
    vfloor: float,
    range_v: float,
    n: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Gain and offset of ``n`` instances with the PDK's local mismatch (one seed each)."""
    dv = np.linspace(-range_v, range_v, 5)
    pts = _grid_points(dv, G_REF, vbp, vfloor, None)
    x = np.array([p.x for p in pts])
    gains, offsets = [], []
    for seed in range(n):
        i_g, _ = operating_points(pts, pdk, corner, sizing, mismatch_seed=seed)
        k, b, _ = _fit(x, i_g)
        gains.append(k)
        offsets.append(b)
    return np.array(gains), np.array(offsets)


T_ON, EDGE = 200, 1  # ns: start and edge time of the transient's learn pulse
C_PROBE_A = 20e-9  # probe current for the G node's capacitance
FLOOR_MARGIN = 0.15  # V below G_min where the floor device balances full-scale learning


def transient(
    pdk: Pdk,
    corner: str,
    sizing: UpdateSizing,
    vbp: float,
    vfloor: float,
    c_gate: float,
    range_v: float,
    t_on: float,
    twin_wl: tuple[float, float] = (1.0, 1.0),
    cell: str | None = None,
) -> tuple[float, float, float, float, float]:
    """G on its capacitor through a learn pulse of ``t_on``: charge at unfreeze/freeze (zero
    input), the pulse's mean dG/dt at half-range input net of the zero-input run, the G
    node's capacitance (a current probe while frozen), and the whole zero-input pulse's dG.
    The edge's two twin transistors (``twin_wl``, S/D at a node voltage) load G as in the
    array. ``cell``: instead of the schematic, a whole extracted cell (twins, capacitor,
    update circuit and wiring RC) whose nodes carry the port names; charges are then
    counted on the cell's measured G capacitance. Returns (q_on, q_off, dG/dt, C_eff,
    dG_zero)."""
    c, vdd = CM_MID, pdk.vdd
    T_OFF = T_ON + round(t_on * 1e9, 3)
    T_END = T_OFF + 150
    decks = []
    for dvf, inject in ((0.0, 0.0), (range_v / 2, 0.0), (0.0, C_PROBE_A)):
        p = _points_at(dvf, 0.0, c, c, G_REF)
        lines = [
            f"Vaf af 0 {p.af!r}", f"Vbf bf 0 {p.bf!r}", f"Vac ac 0 {p.ac!r}",
            f"Vbc bc 0 {p.bc!r}", f"Vvdd vdd 0 {vdd!r}", f"Vvbp vbp 0 {vbp!r}",
            f"Vvfloor vfloor 0 {vfloor!r}",
            f"Vlearn learn 0 pwl(0 0 {T_ON}n 0 {T_ON + EDGE}n {vdd!r} {T_OFF}n {vdd!r} "
            f"{T_OFF + EDGE}n 0)",
            f"Vlearnb learnb 0 pwl(0 {vdd!r} {T_ON}n {vdd!r} {T_ON + EDGE}n 0 {T_OFF}n 0 "
            f"{T_OFF + EDGE}n {vdd!r})",
            f"Iprobe 0 g pwl(0 0 {T_OFF + 50}n 0 {T_OFF + 51}n {inject!r})",
            # G held at G_REF by a switch that opens before the pulse: an .ic alone can be
            # lost when the initial operating point needs gmin/source stepping, and the run
            # would then start at G's floating DC value
            f"Vhold gh 0 {G_REF!r}",
            f"Vhctl hctl 0 pwl(0 1 {T_ON - 60}n 1 {T_ON - 59}n 0)",
            "Shold g gh hctl 0 holdsw",
            ".model holdsw sw vt=0.5 vh=0.1 ron=10 roff=1e16",
            f".ic v(g)={G_REF!r}",
        ]  # fmt: skip
        if cell is None:
            lines += [
                f"Cg g 0 {c_gate!r}",
                f"Vtwin tw 0 {c!r}",
                f"XTF tw g tw 0 {pdk.nfet} w={twin_wl[0]!r} l={twin_wl[1]!r}",
                f"XTC tw g tw 0 {pdk.nfet} w={twin_wl[0]!r} l={twin_wl[1]!r}",
                f"X1 {' '.join(PORTS)} {SUBCKT}",
            ]
        else:
            lines.append(cell)
        deck = (
            _header(pdk, corner, sizing)
            + "\n".join(lines)
            + f"\n.control\nset numdgt=12\ntran 0.05n {T_END}n 0 0.5n\n"
            + "wrdata tran.dat v(g)\nquit 0\n.endc\n.end\n"
        )
        decks.append(deck)
    # three independent ngspice runs: side by side on the machine's cores
    runs = processes.parallel(_transient_run, decks, min(len(decks), processes.jobs()))
    t, g0 = runs[0][:, 0], runs[0][:, 1]
    g_fs = np.interp(t, runs[1][:, 0], runs[1][:, 1])
    g_probe = np.interp(t, runs[2][:, 0], runs[2][:, 1])

    def at(ts: float, g: np.ndarray) -> float:
        return float(np.interp(ts, t, g))

    n = 1e-9
    # frozen, a known current into G: the node's whole capacitance (C_G + the circuit's)
    t0, t1 = (T_OFF + 60) * n, (T_END - 1) * n
    rise = (at(t1, g_probe) - at(t0, g_probe)) - (at(t1, g0) - at(t0, g0))
    c_eff = C_PROBE_A * (t1 - t0) / rise
    if cell is not None:
        c_gate = c_eff
    # zero input: the steps at the switching edges, net of the drift while learning
    slope = (at((T_OFF - 5) * n, g0) - at((T_ON + 20) * n, g0)) / ((T_OFF - T_ON - 25) * n)
    q_on = c_gate * ((at((T_ON + 20) * n, g0) - at((T_ON - 1) * n, g0)) - slope * 21 * n)
    q_off = c_gate * ((at((T_OFF + 20) * n, g0) - at((T_OFF - 5) * n, g0)) - slope * 5 * n)
    # the pulse's whole effect at half-range input, net of the zero-input run
    dg_zero = at((T_OFF + 40) * n, g0) - at((T_ON - 1) * n, g0)
    dgdt = ((at((T_OFF + 40) * n, g_fs) - at((T_ON - 1) * n, g_fs)) - dg_zero) / t_on
    return q_on, q_off, dgdt, c_eff, dg_zero


TRANSIENT_TIMEOUT_S = 1800  # a many-instance deck on a busy two-core machine


def run_transient(deck: str, timeout: float = TRANSIENT_TIMEOUT_S) -> str:
    """:func:`run_ngspice` on a transient deck; trapezoidal integration can stall on a
    switching edge at some corners or sizings, so an aborted run is repeated with Gear."""
    try:
        return run_ngspice(deck, timeout=timeout)
    except CharacterisationError as exc:
        if "aborted" not in str(exc):
            raise
        gear = deck.replace(".options gmin", ".options method=gear gmin", 1)
        return run_ngspice(gear, timeout=timeout)


def _transient_run(deck: str) -> np.ndarray:
    """(t, v(g)) rows of one transient deck."""
    return numeric_rows(run_transient(deck), columns=2)


def numeric_rows(text: str, columns: int | None = None) -> np.ndarray:
    """The all-numeric lines of ngspice output (``wrdata`` tables) as an array; ``columns``
    keeps only lines of that width."""
    rows = []
    for line in text.splitlines():
        parts = line.split()
        if not parts or (columns is not None and len(parts) != columns):
            continue
        try:
            rows.append([float(v) for v in parts])
        except ValueError:
            continue
    return np.array(rows)


@dataclass(frozen=True)
class Conditions:
    """What a characterisation depends on (its cache key)."""

    pdk: str  # the spec's pdk: name
    corner: str
    sizing: UpdateSizing
    vbp: float
    c_gate_f: float
    g_min: float
    t_on: float
    range_v: float = 0.3
    mismatch_n: int = 32
    twin_wl: tuple[float, float] = (1.0, 1.0)  # the twins' gates load G

    def digest(self) -> str:
        import hashlib

        text = json.dumps({**asdict(self), "version": 7}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def characterise(cond: Conditions, progress=None) -> Characterisation:
    """Run every measurement for ``cond`` (about 20 s on two cores)."""
    steps = iter(range(1, 7))

    def tick(what: str) -> None:
        if progress:
            progress(next(steps), 6, what)

    pdk, s, corner, rv = get_pdk(cond.pdk), cond.sizing, cond.corner, cond.range_v
    # the floor needs the full-scale current: a first fit with the floor off
    tick("transfer (floor off)")
    _, _, (k0, _, _), _ = transfer(pdk, corner, s, cond.vbp, 0.0, rv)
    # the floor sources the full-scale current FLOOR_MARGIN below G_min: at G_min itself it
    # is already ~100x weaker (subthreshold), so it does not pull on edges that sit above
    vfloor = calibrate_floor(pdk, corner, s, cond.vbp, cond.g_min - FLOOR_MARGIN, k0 * rv**2)
    tick("transfer")
    dv, table, (gain, offset, r2), fit_pts = transfer(pdk, corner, s, cond.vbp, vfloor, rv)
    cm, cm_table = common_mode(pdk, corner, s, cond.vbp, vfloor)
    tick("compliance and leakage")
    g, c_pos, c_neg, leak = compliance(pdk, corner, s, cond.vbp, vfloor, rv)
    ok = (np.abs(c_pos - 1) <= 0.1) & (np.abs(c_neg - 1) <= 0.1)
    ref = int(np.argmin(abs(g - G_REF)))
    lo, hi = ref, ref
    while lo > 0 and ok[lo - 1]:
        lo -= 1
    while hi < len(g) - 1 and ok[hi + 1]:
        hi += 1
    tick("mismatch")
    gains, offsets = mismatch(pdk, corner, s, cond.vbp, vfloor, rv, cond.mismatch_n)
    tick("transient")
    q_on, q_off, dgdt, c_eff, dg_zero = transient(
        pdk, corner, s, cond.vbp, vfloor, cond.c_gate_f, rv, cond.t_on, cond.twin_wl
    )
    tick("power")
    c = CM_MID
    pts = [
        _points_at(rv / 2, 0.0, c, c, G_REF, vbp=cond.vbp, vfloor=vfloor),
        _points_at(0.0, 0.0, c, c, G_REF, vbp=cond.vbp, vfloor=vfloor),
        _points_at(0.0, 0.0, c, c, G_REF, learn=False, vbp=cond.vbp, vfloor=vfloor),
        _points_at(0.0, 0.0, c, c, G_REF, learn=False, vbp=pdk.vdd, vfloor=vfloor),
    ]
    i_pts, p_pts = operating_points(pts, pdk, corner, s)
    return Characterisation(
        corner=corner,
        sizing=s.as_dict(),
        vbp=cond.vbp,
        vfloor=vfloor,
        c_gate_f=c_eff,
        range_v=rv,
        gain_a_per_v2=gain,
        offset_a=offset,
        r2=r2,
        full_scale_a=gain * rv**2,
        dv_grid=dv.tolist(),
        cm_grid=cm.tolist(),
        cm_table_a=cm_table.tolist(),
        table_a=table.tolist(),
        g_grid=g.tolist(),
        compliance_pos=c_pos.tolist(),
        compliance_neg=c_neg.tolist(),
        leak_a=leak.tolist(),
        g_window=(float(g[lo]), float(g[hi])),
        mismatch_n=cond.mismatch_n,
        gain_sigma_rel=float(gains.std() / gains.mean()),
        offset_sigma_a=float(offsets.std()),
        mc_gain=gains.tolist(),
        mc_offset=offsets.tolist(),
        inj_on_c=q_on,
        inj_off_c=q_off,
        dg_zero_pulse=dg_zero,
        dgdt_transient=dgdt,
        # the signal part of the DC current at the transient's input (zero input removed)
        dgdt_predicted=float((i_pts[0] - i_pts[1]) / c_eff),
        power_learning_w=float(p_pts[1]),
        power_frozen_w=float(p_pts[2]),
        power_gated_w=float(p_pts[3]),
        r2_points=fit_pts.tolist(),
        t_on=cond.t_on,
    )


def cached_characterisation(cond: Conditions, progress=None) -> Characterisation:
    """:func:`characterise`, cached by its conditions (``$TWINEDGE_CACHE`` or ~/.cache)."""
    from twinedge.sim.tabulated import cache_dir

    path = cache_dir() / f"cl_update_{cond.digest()}.json"
    with cache_lock(path):
        if path.exists():
            return Characterisation.load(path)
        result = characterise(cond, progress)
        tmp = private_tmp(path)
        result.save(tmp)
        tmp.replace(path)
    return result
