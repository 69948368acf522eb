"""The rails' reference ladder (:mod:`twinedge.circuits.rail_reference`) sized from the PDK's
resistor model, then measured at every corner.

Sizing (:func:`size_ladder`): a strip's resistance is linear in its length, R = a l + b (b:
its two heads and the width bias), fitted from two strips of the model at tt; each stretch
between taps gets the share of the ladder's resistance (VDD / current) that its voltage is
of VDD, in as few equal strips as :data:`MAX_STRIP_UM` allows. Characterisation: the taps'
levels at each corner (one operating point each): the worst error from the targets, the
common scale the corner moves them by, and what is left of each tap's error once that
scale is taken out (the ladder's ratio error; XOR tolerates a common scale of 0.8-1.2).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

from twinedge.characterise.mirror import model_header, run_ngspice
from twinedge.circuits.mirror import Device, resistor_of
from twinedge.circuits.rail_reference import (
    SUBCKT,
    Stretch,
    ports,
    stretches_of,
    strips_for,
    subckt,
)
from twinedge.pdk import Pdk

CORNERS = ("tt", "ff", "ss", "sf", "fs")
MAX_STRIP_UM = 40.0
FIT_LENGTHS_UM = (5.0, 40.0)


@dataclass(frozen=True)
class LadderConditions:
    levels: tuple[tuple[str, float], ...]  # (tap net, volts)
    vdd: float = 3.3
    current: float = 20e-6  # through the ladder at the nominal levels (A)
    w_um: float = 1.0
    max_strip_um: float = MAX_STRIP_UM


@dataclass
class LadderCharacterisation:
    levels: dict[str, float]
    vdd: float
    w_um: float
    stretches: list[dict]
    strip_ohm_per_um: float
    strip_head_ohm: float
    current_a: float  # at the first corner characterised (tt by default)
    power_w: float
    corner_levels: dict[str, dict[str, float]]
    corner_max_error_v: dict[str, float]  # the worst |tap - target|
    corner_scale: dict[str, float]  # the common factor the corner moves every tap by
    corner_ratio_error: dict[str, float]  # the worst |tap / (scale x target) - 1|
    corner_current_a: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


def _header(pdk: Pdk, corner: str) -> str:
    return model_header(pdk, corner, title="twinedge rail reference", resistor=True)


def strip_fit(pdk: Pdk, w_um: float, corner: str = "tt") -> tuple[float, float]:
    """(ohm per um, ohm at zero length) of one strip ``w_um`` wide: two strips of the model,
    1 V across each."""
    lines = [_header(pdk, corner).rstrip("\n"), "Va a 0 1"]
    for k, l_um in enumerate(FIT_LENGTHS_UM):
        lines += [f"Vm{k} a m{k} 0", Device(f"R{k}", "r", f"m{k}", f"m{k}", "0", w_um, l_um)
                  .spice(pdk)]  # fmt: skip
    prints = [f"print 1/i(vm{k})" for k in range(len(FIT_LENGTHS_UM))]
    out = run_ngspice("\n".join([*lines, ".control", "set numdgt=10", "op", *prints,
                                 "quit 0", ".endc", ".end"]) + "\n")  # fmt: skip
    r = [float(re.search(rf"^1/i\(vm{k}\)\s*=\s*(\S+)", out, re.M).group(1)) for k in range(2)]
    (l0, l1), (r0, r1) = FIT_LENGTHS_UM, r
    a = (r1 - r0) / (l1 - l0)
    return a, r0 - a * l0


def size_ladder(pdk: Pdk, cond: LadderConditions) -> list[Stretch]:
    """Each stretch's strips, from the model's strip resistance at tt (module docstring)."""
    res = resistor_of(pdk)
    a, b = strip_fit(pdk, cond.w_um)
    r_total = cond.vdd / cond.current
    out = []
    for lo, hi, dv in stretches_of(dict(cond.levels), cond.vdd):
        r = r_total * dv / cond.vdd
        n = strips_for((r - b) / a, cond.max_strip_um)
        l_um = round(round((r / n - b) / a / pdk.grid_um) * pdk.grid_um, 6)
        if l_um < res.min_l:
            raise ValueError(
                f"ladder stretch {lo} -> {hi} ({dv * 1e3:.1f} mV) needs {r:.0f} ohm: a strip "
                f"of {l_um:g} um, under the resistor's {res.min_l:g} um; draw the ladder "
                f"with more current or wider strips"
            )
        out.append(Stretch(lo, hi, n, l_um))
    return out


def tap_levels(
    pdk: Pdk, stretches: list[Stretch], w_um: float, vdd: float, corner: str
) -> tuple[dict[str, float], float]:
    """Every tap's level (V) and the ladder's current (A) at ``corner``."""
    taps = ports(stretches)[1:]
    lines = [_header(pdk, corner).rstrip("\n"), subckt(pdk, stretches, w_um).rstrip("\n"),
             f"Vvdd vdd 0 {vdd!r}", f"X1 vdd {' '.join(taps)} {SUBCKT}"]  # fmt: skip
    prints = [f"print v({t})" for t in taps] + ["print i(vvdd)"]
    out = run_ngspice("\n".join([*lines, ".control", "set numdgt=10", "op", *prints,
                                 "quit 0", ".endc", ".end"]) + "\n")  # fmt: skip

    def printed(name: str) -> float:
        return float(re.search(rf"^{re.escape(name)}\s*=\s*(\S+)", out, re.M).group(1))

    return {t: printed(f"v({t})") for t in taps}, -printed("i(vvdd)")


def characterise_ladder(
    pdk: Pdk, cond: LadderConditions, corners: tuple[str, ...] = CORNERS
) -> LadderCharacterisation:
    stretches = size_ladder(pdk, cond)
    a, b = strip_fit(pdk, cond.w_um)
    target = dict(cond.levels)
    levels, scale, ratio, worst, current = {}, {}, {}, {}, {}
    for corner in corners:
        got, i = tap_levels(pdk, stretches, cond.w_um, cond.vdd, corner)
        s = sum(got[t] / v for t, v in target.items()) / len(target)
        levels[corner], current[corner], scale[corner] = got, i, s
        worst[corner] = max(abs(got[t] - v) for t, v in target.items())
        ratio[corner] = max(abs(got[t] / (s * v) - 1) for t, v in target.items())
    return LadderCharacterisation(
        levels=target,
        vdd=cond.vdd,
        w_um=cond.w_um,
        stretches=[asdict(s) for s in stretches],
        strip_ohm_per_um=a,
        strip_head_ohm=b,
        current_a=current[corners[0]],
        power_w=current[corners[0]] * cond.vdd,
        corner_levels=levels,
        corner_max_error_v=worst,
        corner_scale=scale,
        corner_ratio_error=ratio,
        corner_current_a=current,
    )
