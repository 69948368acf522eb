"""The constant-gm bias reference (:mod:`twinedge.circuits.constant_gm`): its resistor sized
for a tail unit's current at tt, then measured at every corner (vbe, the current a tail unit
draws from it, the supply current) and from its zero-current state (it must start by
itself).

A tail unit's current is read where the buffers' tails sit: its drain at :data:`TAIL_DRAIN_V`
(an input pair's source: a level plus a Vsg)."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, replace

import numpy as np

from twinedge import processes
from twinedge.characterise.mirror import model_header, numeric_rows, run_ngspice, run_transient
from twinedge.characterise.rail_buffer import current_per_um
from twinedge.circuits.constant_gm import SUBCKT, ConstantGmSizing, subckt
from twinedge.circuits.error_element import ErrorElementSizing
from twinedge.circuits.mirror import resistor_of
from twinedge.pdk import Pdk

CORNERS = ("tt", "ff", "ss", "sf", "fs")
TAIL_DRAIN_V = 1.5  # a tail unit's drain (V from ground) where its current is read
START_S = 20e-6  # the start-up run's length
R_MAX_UM = 400.0  # the longest resistor the sizing tries (one strip; ~0.4 Mohm on GF180MCU)
START_TOL = 0.02  # started: the tail current within this fraction of its operating point


@dataclass
class ConstantGmCharacterisation:
    sizing: dict
    vdd: float
    i_unit_target_a: float
    corner_vbe: dict[str, float]
    corner_i_unit_a: dict[str, float]  # a tail unit's current from vbe
    corner_supply_a: dict[str, float]  # the reference's own draw
    corner_started: dict[str, bool]  # from zero current, its tail current reached the op's

    def as_dict(self) -> dict:
        return asdict(self)


def _deck(pdk: Pdk, s: ConstantGmSizing, corner: str, vdd_source: str) -> list[str]:
    unit = ErrorElementSizing()
    return [model_header(pdk, corner, title="twinedge constant-gm reference", resistor=True)
            .rstrip("\n"), subckt(pdk, s).rstrip("\n"), vdd_source, f"X1 vbe vdd {SUBCKT}",
            f"Xt d vbe vdd vdd {pdk.pfet} w={unit.tail_w!r} l={unit.tail_l!r}",
            f"Vd d 0 {TAIL_DRAIN_V!r}"]  # fmt: skip


def reference_op(pdk: Pdk, s: ConstantGmSizing, vdd: float, corner: str) -> dict[str, float]:
    """vbe (V), a tail unit's current (A) and the reference's supply current (A)."""
    lines = [*_deck(pdk, s, corner, f"Vvdd vdd 0 {vdd!r}"), ".control", "set numdgt=10", "op",
             "print v(vbe) i(vd) i(vvdd)", "quit 0", ".endc", ".end"]  # fmt: skip
    out = run_ngspice("\n".join(lines) + "\n")
    got = {k: float(v) for k, v in re.findall(r"^(\S+) = (\S+)", out, re.M)}
    i_unit = got["i(vd)"]  # from the tail's drain through Vd to ground
    return {"vbe": got["v(vbe)"], "i_unit": i_unit, "supply": -got["i(vvdd)"] - i_unit}


def starts(pdk: Pdk, s: ConstantGmSizing, vdd: float, corner: str, i_op: float) -> bool:
    """Whether, from the loop's zero-current state (vbe at the supply, vbn at ground: a
    supply ramp alone started even a reference without start-up devices, through its
    devices' capacitances), a tail unit's current reaches ``i_op`` (within START_TOL) by the
    end of the run."""
    lines = [*_deck(pdk, s, corner, f"Vvdd vdd 0 {vdd!r}"),
             f".ic v(vbe)={vdd!r} v(x1.vbn)=0", ".control", "set numdgt=10",
             f"tran {START_S / 200!r} {START_S!r} uic", "wrdata start.dat i(vd)", "quit 0",
             ".endc", ".end"]  # fmt: skip
    rows = numeric_rows(run_transient("\n".join(lines) + "\n"), columns=2)
    return bool(abs(rows[-1, 1] / i_op - 1) < START_TOL)


def size_reference(
    pdk: Pdk, i_unit: float, vdd: float, s: ConstantGmSizing | None = None
) -> ConstantGmSizing:
    """``s`` (default: the default sizing) with the resistor's length that makes a tail unit
    carry ``i_unit`` at tt (bisection on a log scale: the current falls as 1/R^2)."""
    s = s or ConstantGmSizing()
    lo, hi = resistor_of(pdk).min_l, R_MAX_UM
    if reference_op(pdk, replace(s, r_l=lo), vdd, "tt")["i_unit"] < i_unit:
        raise ValueError(f"constant-gm reference: {i_unit * 1e6:.2f} uA per tail unit needs "
                         f"a resistor under {lo:g} um; widen MN1 (n_w) or raise k")  # fmt: skip
    if reference_op(pdk, replace(s, r_l=hi), vdd, "tt")["i_unit"] > i_unit:
        raise ValueError(f"constant-gm reference: {i_unit * 1e6:.2f} uA per tail unit needs "
                         f"a resistor over {hi:g} um; narrow MN1 (n_w) or lower k")  # fmt: skip
    for _ in range(30):
        mid = float(np.sqrt(lo * hi))
        if reference_op(pdk, replace(s, r_l=mid), vdd, "tt")["i_unit"] > i_unit:
            lo = mid
        else:
            hi = mid
        if hi / lo < 1.001:
            break
    return replace(s, r_l=round(round(np.sqrt(lo * hi) / pdk.grid_um) * pdk.grid_um, 6))


def characterise_reference(
    pdk: Pdk, s: ConstantGmSizing, vdd: float, i_unit_target: float
) -> ConstantGmCharacterisation:
    workers = processes.jobs()
    ops = processes.parallel(lambda c: reference_op(pdk, s, vdd, c), list(CORNERS), workers)
    op = dict(zip(CORNERS, ops, strict=True))
    started = processes.parallel(
        lambda c: starts(pdk, s, vdd, c, op[c]["i_unit"]), list(CORNERS), workers
    )
    return ConstantGmCharacterisation(
        sizing=s.as_dict(),
        vdd=vdd,
        i_unit_target_a=i_unit_target,
        corner_vbe={c: op[c]["vbe"] for c in CORNERS},
        corner_i_unit_a={c: op[c]["i_unit"] for c in CORNERS},
        corner_supply_a={c: op[c]["supply"] for c in CORNERS},
        corner_started=dict(zip(CORNERS, started, strict=True)),
    )


def tail_unit_current(pdk: Pdk, vdd: float, vbe: float) -> float:
    """What one tail unit carries at tt with its gate (and drain) at ``vbe``: the current
    an ideal ``vbe`` gave the buffers, which a reference is sized to."""
    unit = ErrorElementSizing()
    return unit.tail_w * current_per_um(pdk, vdd, "p", vbe, vbe, unit.tail_l)


def reference_for(pdk: Pdk, vdd: float, vbe: float) -> ConstantGmSizing:
    """The reference sized to :func:`tail_unit_current` (``vbe`` at tt, from ``vdd``)."""
    return size_reference(pdk, tail_unit_current(pdk, vdd, vbe), vdd)
