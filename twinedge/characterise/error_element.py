"""Characterisation of the error element (:mod:`twinedge.circuits.error_element`) with the
PDK's models: what the behavioural model of the clamp needs, and what a designer checks.

Every measurement drives the amplifier as the chip does: its output node loaded by the
clamped twin, seen from the output as a resistance ``r_load`` to the free output's voltage
(the clamped twin sits at the free equilibrium until the element pulls it away) and the
node's capacitance ``c_load``.

* transfer: the nudge it makes, out - O+, against the ideal k (L - O) over a grid of free
  outputs (O+, O-) for both label signs and both nudge signs: a gain (slope), the residual
  and a table the behavioural model interpolates;
* offset at zero error (L = O): the nudge it makes when it should make none, nominal and over
  Monte Carlo instances (PDK local mismatch); the part that flips with the nudge sign acts as
  a label error, the common part moves both clamped states alike;
* settling: the output after the nudge sign flips, to within :data:`SETTLE_TOL_V`;
* power: the supply current per amplifier.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, replace

import numpy as np

from twinedge import processes
from twinedge.artifacts import cache_lock, private_tmp
from twinedge.characterise.mirror import (
    model_header,
    monte_carlo_decks,
    numeric_rows,
    run_ngspice,
    run_transient,
)
from twinedge.circuits.error_element import (
    SUBCKT_DIFF,
    ErrorElementSizing,
    realised_k,
    subckt,
)
from twinedge.pdk import Pdk
from twinedge.pdk import get as get_pdk
from twinedge.spec.schema import Design, ErrorElementKnobs

SETTLE_TOL_V = 1e-3
O_GRID = tuple(round(0.05 * i, 2) for i in range(10))  # free outputs (V): 0 .. 0.45


@dataclass(frozen=True)
class ErrorElementConditions:
    corner: str = "tt"
    k: float = 0.25  # eta / 2 for the symmetric nudge
    # the labels L = VL+ - VL- it is driven with: the task's labels and their negatives (the
    # minus output's amplifier sees -L)
    labels: tuple[float, ...] = (-0.087, 0.0, 0.087)

    def __post_init__(self) -> None:
        object.__setattr__(self, "labels", tuple(float(v) for v in self.labels))

    vbe: float = 0.6  # the tails' and output load's gate bias
    r_load: float = 5e3  # the clamped twin's resistance at the output node (ohm)
    c_load: float = 200e-15
    mc_n: int = 8
    sizing: ErrorElementSizing = field(default_factory=ErrorElementSizing)


@dataclass
class ErrorElementCharacterisation:
    k_designed: float
    k_realised: float
    gain: float  # fitted d(nudge)/d(ideal nudge) over the grid
    residual_max_v: float  # |measured - gain * ideal - offset| over the grid
    offset_common_v: float  # at L = O: (nudge(+k) + nudge(-k)) / 2, nominal
    offset_flip_v: float  # at L = O: (nudge(+k) - nudge(-k)) / 2: a label error
    mc_offset_flip_sigma_v: float
    mc_offset_common_sigma_v: float
    settle_s: float  # after the nudge sign flips, to within SETTLE_TOL_V
    power_w: float  # per amplifier
    grid: list[list[float]]  # (O+, O-, L, sign, measured nudge, ideal nudge)
    labels: list[float]

    def as_dict(self) -> dict:
        return asdict(self)


def _bench(pdk: Pdk, cond: ErrorElementConditions, mismatch_seed: int | None = None) -> str:
    return model_header(pdk, cond.corner, mismatch_seed, "twinedge error element") + subckt(
        pdk, cond.k, True, cond.sizing
    )


def _instances(
    points: list[tuple[float, float, float, int]],
    cond: ErrorElementConditions,
    shared_op: bool = False,
    nudge_nets: tuple[str, str] | None = None,
) -> list[str]:
    """One amplifier per point (O+, O-, L, sign), each with its own sources and load.
    ``shared_op``: every O+ is the deck's net ``op`` (one source, swept); ``nudge_nets``:
    the sign switches' control nets (NUDGE, NUDGEB) instead of the points' fixed signs."""
    lines = []
    for i, (op, om, lab, sign) in enumerate(points):
        lp, lm = (lab, 0.0) if lab >= 0 else (0.0, -lab)
        n, nb = nudge_nets or (("vdd", "0") if sign > 0 else ("0", "vdd"))
        o = "op" if shared_op else f"op{i}"
        lines += [] if shared_op else [f"Vop{i} {o} 0 {op!r}"]
        lines += [
            f"Vom{i} om{i} 0 {om!r}",
            f"Vlp{i} lp{i} 0 {lp!r}",
            f"Vlm{i} lm{i} 0 {lm!r}",
            f"Rl{i} out{i} {o} {cond.r_load!r}",
            f"Cl{i} out{i} 0 {cond.c_load!r}",
            f"X{i} out{i} {o} om{i} lp{i} lm{i} {n} {nb} vdd vbe {SUBCKT_DIFF}",
        ]
    return lines


def _nudges(
    pdk: Pdk, cond: ErrorElementConditions, om: tuple[float, ...], lab: float, sign: int
) -> tuple[np.ndarray, float]:
    """(out - O+ at every (O+, O-) of O_GRID x ``om``, supply power per amplifier): one
    amplifier per O-, O+ swept (one deck: a DC sweep converges from point to point, where a
    single operating point of many amplifiers can wander for minutes)."""
    points = [(O_GRID[0], o, lab, sign) for o in om]
    inst = _instances(points, cond, shared_op=True)  # one swept O+ for all
    lines = [_bench(pdk, cond).rstrip("\n"), f"Vvdd vdd 0 {pdk.vdd!r}",
             f"Vvbe vbe 0 {cond.vbe!r}", f"Vop op 0 {O_GRID[0]!r}", *inst]  # fmt: skip
    step = round(O_GRID[1] - O_GRID[0], 6)
    probes = " ".join(f"v(out{i})" for i in range(len(om)))
    lines += [".control", "set numdgt=12", f"dc vop {O_GRID[0]!r} {O_GRID[-1]!r} {step!r}",
              f"wrdata dc.dat {probes} i(vvdd)", "quit 0", ".endc", ".end"]  # fmt: skip
    rows = numeric_rows(run_ngspice("\n".join(lines) + "\n"), columns=2 * (len(om) + 1))
    x = rows[:, 0]
    assert np.allclose(x, O_GRID), x
    v = rows[:, 1 : 2 * len(om) : 2]  # (O+ points, O- amplifiers)
    power = pdk.vdd * -float(np.mean(rows[:, -1])) / len(om)
    return (v - x[:, None]).ravel(), power


def _zero_error(
    pdk: Pdk, cond: ErrorElementConditions, n: int, mismatch_seed: int | None
) -> np.ndarray:
    """(n, 2): the nudge at zero error (L = O) at +k and at -k of ``n`` amplifiers, the
    sign flipped between two operating points of one run (a mismatch draw holds for both);
    alternate instances take the two label signs."""
    labels = [cond.labels[i % len(cond.labels)] for i in range(n)]
    points = [(0.25, 0.25 - lab, lab, 1) for lab in labels]
    inst = _instances(points, cond, nudge_nets=("n", "nb"))
    vdd = pdk.vdd
    lines = [_bench(pdk, cond, mismatch_seed).rstrip("\n"), f"Vvdd vdd 0 {vdd!r}",
             f"Vvbe vbe 0 {cond.vbe!r}", f"Vn n 0 {vdd!r}", "Vnb nb 0 0", *inst]  # fmt: skip
    probes = [f"print v(out{i})" for i in range(n)]
    lines += [".control", "set numdgt=12", "op", *probes, "alter vn 0", f"alter vnb {vdd!r}",
              "op", *probes, "quit 0", ".endc", ".end"]  # fmt: skip
    out = run_ngspice("\n".join(lines) + "\n")
    found = re.findall(r"^v\(out(\d+)\)\s*=\s*(\S+)", out, flags=re.M)
    v = np.array([float(x) for _, x in found]).reshape(2, n).T
    return v - 0.25


def _settle(pdk: Pdk, cond: ErrorElementConditions) -> float:
    """Seconds from the sign flip (-k to +k) until out stays within SETTLE_TOL_V of its end."""
    t_flip, t_end = 50e-9, 1.05e-6
    lines = [_bench(pdk, cond).rstrip("\n"), f"Vvdd vdd 0 {pdk.vdd!r}",
             f"Vvbe vbe 0 {cond.vbe!r}"]  # fmt: skip
    lines += _instances([(0.25, 0.2, max(cond.labels, key=abs), 1)], cond, nudge_nets=("n", "nb"))
    vdd = pdk.vdd
    lines += [
        f"Vn n 0 pwl(0 0 {t_flip!r} 0 {t_flip + 1e-9!r} {vdd!r})",
        f"Vnb nb 0 pwl(0 {vdd!r} {t_flip!r} {vdd!r} {t_flip + 1e-9!r} 0)",
        ".control", "set numdgt=12", f"tran 0.2n {t_end!r} 0 1n", "wrdata settle.dat v(out0)",
        "quit 0", ".endc", ".end",
    ]  # fmt: skip
    rows = numeric_rows(run_transient("\n".join(lines) + "\n"), columns=2)
    t, v = rows[:, 0], rows[:, 1]
    outside = np.nonzero(np.abs(v - v[-1]) > SETTLE_TOL_V)[0]
    return float(t[outside[-1]] - t_flip) if len(outside) else 0.0


def characterise_error_element(
    pdk: Pdk, cond: ErrorElementConditions
) -> ErrorElementCharacterisation:
    """Every measurement of the module docstring (seconds on one core)."""
    k = realised_k(cond.k)
    decks = [(lab, sign) for lab in cond.labels for sign in (1, -1)]
    # a few Monte Carlo instances to a deck (16 amplifiers in one deck took 12 s, 4 decks of
    # 4 ~1 s)
    mc_decks = monte_carlo_decks(cond.mc_n)

    def one(job: tuple) -> tuple:
        if job[0] == "dc":
            return _nudges(pdk, cond, O_GRID, *job[1:])
        return _zero_error(pdk, cond, job[2], job[1]), 0.0

    jobs = [("dc", *d) for d in decks] + [("mc", seed, n) for seed, n in mc_decks]
    # independent ngspice runs, side by side on the machine's cores
    results = processes.parallel(one, jobs, min(len(jobs), processes.jobs()))
    done = results[: len(decks)]
    mc = np.concatenate([r for r, _ in results[len(decks) :]] or [np.zeros((0, 2))])
    grid = [(op, om, lab, sign) for lab, sign in decks for op in O_GRID for om in O_GRID]
    measured = np.concatenate([nudge for nudge, _ in done])
    power = float(np.mean([p for _, p in done]))
    ideal = np.array([s * k * (lab - (op - om)) for op, om, lab, s in grid])
    slope, icpt = np.polyfit(ideal, measured, 1)
    resid = measured - (slope * ideal + icpt)
    # zero error (L = O+ - O-): both signs on the same instances (their mismatch drawn once)
    z = _zero_error(pdk, cond, 2, None)
    return ErrorElementCharacterisation(
        k_designed=cond.k,
        k_realised=k,
        gain=float(slope),
        residual_max_v=float(np.max(np.abs(resid))),
        offset_common_v=float(np.mean(z)),
        offset_flip_v=float(np.mean(z[:, 0] - z[:, 1]) / 2),
        mc_offset_flip_sigma_v=float(np.std((mc[:, 0] - mc[:, 1]) / 2)) if len(mc) else 0.0,
        mc_offset_common_sigma_v=float(np.std(mc.mean(axis=1))) if len(mc) else 0.0,
        settle_s=_settle(pdk, cond),
        power_w=power,
        labels=[float(v) for v in cond.labels],
        grid=[
            [*map(float, p), float(m), float(i)]
            for p, m, i in zip(grid, measured, ideal, strict=True)
        ],
    )


def conditions_for(design: Design, labels: np.ndarray, mc_n: int = 16) -> ErrorElementConditions:
    """The characterisation a design's chip needs: k = eta / 2 (symmetric nudge) or eta, the
    task's labels and their negatives (the minus amplifier sees -L), the spec's knobs
    (``chip.error_element``, defaults without a chip section)."""
    tr = design.training
    k = tr.eta / 2 if tr.nudge == "symmetric" else tr.eta
    knobs = design.chip.error_element if design.chip else ErrorElementKnobs()
    levels = np.round(np.r_[labels, -labels], 9)
    sizing = replace(ErrorElementSizing(), in_w=knobs.in_w_um, in_l=knobs.in_l_um)
    corner = getattr(design.cell.model, "corner", None) or "tt"
    return ErrorElementConditions(
        corner=corner, k=k, labels=tuple(sorted({float(v) for v in levels})), vbe=knobs.vbe,
        mc_n=mc_n, sizing=sizing,
    )  # fmt: skip


def cached_error_element(
    pdk_name: str, cond: ErrorElementConditions
) -> ErrorElementCharacterisation:
    """:func:`characterise_error_element`, cached by its conditions and the circuit's netlist
    (``$TWINEDGE_CACHE`` or ~/.cache): designs and runs that share an element share it."""
    import hashlib
    import json

    from twinedge.sim.tabulated import cache_dir

    pdk = get_pdk(pdk_name)
    text = json.dumps(
        {"pdk": pdk_name, "cond": asdict(cond), "netlist": _bench(pdk, cond), "version": 2},
        sort_keys=True, default=str,
    )  # fmt: skip
    path = cache_dir() / f"error_element_{hashlib.sha256(text.encode()).hexdigest()[:16]}.json"
    with cache_lock(path):
        if path.exists():
            return ErrorElementCharacterisation(**json.loads(path.read_text()))
        ch = characterise_error_element(pdk, cond)
        tmp = private_tmp(path)
        tmp.write_text(json.dumps(ch.as_dict()))
        tmp.replace(path)
    return ch
