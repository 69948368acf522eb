"""The digital read-out (:mod:`twinedge.circuits.slope_readout`) as the board would use it:
at each corner, one transient in which identical read-outs see READ at levels across the
range and the two references; each one's edge time (``dout`` through half the supply
after the ramp is let go) is what the board's timer reads. From the references' times, the
board's calibration (a straight line through the two) turns every other time back into a
level: its worst error over
the range is the read-out's accuracy at that corner, and the ramp's slope with the board's
timer tick (:data:`TICK_S`) its resolution.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

import numpy as np

from twinedge import processes
from twinedge.characterise.mirror import model_header, run_transient
from twinedge.characterise.rail_buffer import bias_lines
from twinedge.circuits.slope_readout import SUBCKT, SlopeReadoutSizing, subckt
from twinedge.pdk import Pdk

CORNERS = ("tt", "ff", "ss", "sf", "fs")
TICK_S = 8e-9  # the board's timer: a 125 MHz counter (the TinyTapeout demo board's RP2040)
T_RESET = 0.5e-6  # the ramp held at ground before it is let go
T_END = 6e-6


@dataclass(frozen=True)
class SlopeConditions:
    vdd: float = 3.3
    vlo: float = 0.11  # the references (ladder taps)
    vhi: float = 1.6
    levels: tuple[float, ...] = tuple(round(0.1 * k, 2) for k in range(1, 18))
    vbe: float = 2.2
    bias_string: tuple | None = None
    bias_reference: tuple | None = None
    corner: str = "tt"
    sizing: SlopeReadoutSizing = field(default_factory=SlopeReadoutSizing)


@dataclass
class SlopeCharacterisation:
    sizing: dict
    levels: list[float]
    corner_times_s: dict[str, list[float]]  # each level's edge, from the ramp's release
    corner_ref_times_s: dict[str, tuple[float, float]]  # vlo's, vhi's
    corner_slope_v_per_s: dict[str, float]  # what the references' times give
    corner_max_error_v: dict[str, float]  # after the two-point calibration, over the levels
    corner_lsb_v: dict[str, float]  # one timer tick of ramp
    full_scale_s: float  # the slowest corner's time to its latest level

    def as_dict(self) -> dict:
        return asdict(self)


def _own_biases(lines: list[str], n: int) -> list[str]:
    """``n`` copies of the bias that ``lines`` make on ``vbe`` (from ``vdd``), on ``vbe0`` ..
    ``vbe<n-1>``: each read-out on its own bias, as on chip. Sharing one bias node, the
    instances' switching comparators kicked it and moved each other's ramps by ~1 %
    (measured). The lines go in one wrapper subcircuit so that every inner node of the bias
    (a string's taps, a reference's branches) is the instance's own."""
    defs, body, inside = [], [], False
    for ln in lines:  # subcircuit definitions stay at the top level, once
        low = ln.lstrip().lower()
        if low.startswith(".subckt"):
            inside = True
        (defs if inside else body).append(ln)
        if low.startswith(".ends") or (inside and "\n.ends" in low):
            inside = False
    wrap = [*defs, ".subckt twinedge_own_bias vbe vdd", *body, ".ends twinedge_own_bias"]
    return wrap + [f"Xownbias{i} vbe{i} vdd twinedge_own_bias" for i in range(n)]


def edge_times(
    pdk: Pdk, cond: SlopeConditions, corner: str
) -> tuple[list[float], tuple[float, float]]:
    """(each level's edge time, (vlo's, vhi's)), seconds from the ramp's release."""
    header = model_header(pdk, corner, title="twinedge slope read-out", resistor=True)
    rst = f"pwl(0 {cond.vdd!r} {T_RESET!r} {cond.vdd!r} {T_RESET + 1e-9!r} 0)"
    lines = [header.rstrip("\n"), subckt(pdk, cond.sizing).rstrip("\n"),
             f"Vvdd vdd 0 {cond.vdd!r}", f"Vrst rst 0 {rst}",
             f"Vlo vlo 0 {cond.vlo!r}", f"Vhi vhi 0 {cond.vhi!r}", f"Von on 0 {cond.vdd!r}",
             "Voff off 0 0"]  # fmt: skip
    # (read, cal, hi) per instance: each level with cal low, then each reference
    inst = [(f"r{k}", "off", "off") for k in range(len(cond.levels))]
    inst += [("vlo", "on", "off"), ("vhi", "on", "on")]
    for k, v in enumerate(cond.levels):
        lines.append(f"Vr{k} r{k} 0 {v!r}")
    lines += _own_biases(bias_lines(pdk, cond, corner), len(inst))
    for i, (read, cal, hi) in enumerate(inst):
        lines.append(f"X{i} d{i} {read} vlo vhi rst {cal} {hi} vdd vbe{i} {SUBCKT}")
    half = cond.vdd / 2
    # the first rise after the ramp's release: an edge during the reset is not a reading
    meas = [f"meas tran t{i} when v(d{i})={half!r} rise=1 td={T_RESET!r}"
            for i in range(len(inst))]  # fmt: skip
    lines += [".control", "set numdgt=10", f"tran 2n {T_END!r} 0 2n", *meas, "quit 0",
              ".endc", ".end"]  # fmt: skip
    out = run_transient("\n".join(lines) + "\n")
    times = []
    for i in range(len(inst)):
        m = re.search(rf"^t{i}\s*=\s*(\S+)", out, re.M)
        if m is None:
            raise ValueError(f"slope read-out ({corner}): input {inst[i][0]} never flipped")
        times.append(float(m.group(1)) - T_RESET)
    return times[:-2], (times[-2], times[-1])


def characterise_slope_readout(
    pdk: Pdk, cond: SlopeConditions, corners: tuple[str, ...] = CORNERS
) -> SlopeCharacterisation:
    res = processes.parallel(
        lambda c: edge_times(pdk, cond, c), list(corners), min(len(corners), processes.jobs())
    )
    times, refs, slope, err, lsb = {}, {}, {}, {}, {}
    want = np.array(cond.levels)
    for c, (t, ref_t) in zip(corners, res, strict=True):
        t_lo, t_hi = ref_t
        k = (cond.vhi - cond.vlo) / (t_hi - t_lo)  # the board's calibration
        err[c] = float(np.max(np.abs(cond.vlo + (np.array(t) - t_lo) * k - want)))
        times[c], refs[c], slope[c], lsb[c] = t, ref_t, k, k * TICK_S
    return SlopeCharacterisation(
        sizing=cond.sizing.as_dict(),
        levels=list(cond.levels),
        corner_times_s=times,
        corner_ref_times_s=refs,
        corner_slope_v_per_s=slope,
        corner_max_error_v=err,
        corner_lsb_v=lsb,
        full_scale_s=max(max(t) for t in times.values()),
    )
