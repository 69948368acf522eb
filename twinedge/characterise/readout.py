"""Characterisation of the read-out (:mod:`twinedge.circuits.readout`) with the PDK's models:
what a tester reads on READ for a G or a free output, and what reading costs the chip.

Test bench: the read-out block for the design's lattice, two edge readers (the addressed one
and one on another row and column, its G at the top of the range, so that a leak of an
unselected reader would show), READ loaded by the pad and board (``c_read``). Measured:

* READ against G (the addressed edge), every corner, and its Monte Carlo spread at tt
  (local mismatch of the reader and the bias devices): the transfer a tester inverts, and
  the lowest G it resolves (where the slope falls under half);
* READ against a free output (O+ and O-, through the one output follower): the same;
* the unselected reader's effect on READ (its G swept over the whole range);
* reading an edge's G, floating on ``c_gate``, by a transient: how far selecting and
  deselecting the reader moves G (its gate's channel charge), and how long READ takes
  to settle to 1 mV after the address changes;
* the supply current in either mode.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from twinedge import processes
from twinedge.characterise.mirror import (
    CharacterisationError,
    model_header,
    numeric_rows,
    run_ngspice,
    run_transient,
)
from twinedge.circuits.mirror import at_shortest_channel
from twinedge.circuits.readout import SUBCKT, ReadoutSizing, reader_devices, subckt
from twinedge.pdk import Pdk
from twinedge.spec.pinplan import ReadMap
from twinedge.spice.deck import pwl

CORNERS = ("tt", "ff", "ss", "sf", "fs")
G_SWEEP = (0.0, 1.8, 0.02)  # V: start, stop, step
O_SWEEP = (0.0, 0.45, 0.01)
T_SELECT, T_DESELECT, T_END = 1e-6, 11e-6, 14e-6  # the kick transient's address changes
SETTLE_V = 1e-3
G_KICK = 1.2  # the floating G's level in the kick transient
SLOPE_MIN = 0.5  # READ resolves G where dREAD/dG is at least this


@dataclass(frozen=True)
class ReadoutConditions:
    rows: int
    cols: int
    vbp: float = 0.6
    vcn: float = 0.8
    c_read: float = 10e-12  # the pad, the board's trace and meter
    c_gate: float = 4e-12  # an edge's G storage
    mc_n: int = 8
    sizing: ReadoutSizing = field(default_factory=ReadoutSizing)


@dataclass
class ReadoutCharacterisation:
    g_v: list[float]  # the G sweep
    read_of_g: dict[str, list[float]]  # corner -> READ over g_v
    read_of_g_mc: list[list[float]]  # tt, one row per Monte Carlo instance
    g_min_readable_v: dict[str, float]  # corner -> lowest G with slope >= SLOPE_MIN
    o_v: list[float]
    read_of_o_plus: list[float]  # tt
    read_of_o_minus: list[float]
    unselected_effect_v: float  # READ's largest move as the unselected reader's G sweeps
    kick_selected_v: float  # G's move while its reader is selected
    kick_after_v: float  # G's move once deselected again
    settle_s: float  # READ to SETTLE_V after the address selects the edge
    supply_g_mode_a: float
    supply_o_mode_a: float

    def as_dict(self) -> dict:
        return asdict(self)

    def summary(self) -> dict:
        g, tt = np.asarray(self.g_v), np.asarray(self.read_of_g["tt"])
        mc = np.asarray(self.read_of_g_mc)
        at = {f"{v:g}": float(np.interp(v, g, tt)) for v in (0.8, 1.0, 1.4, 1.8)}
        k = int(np.argmin(np.abs(g - 1.0)))
        o, rp, rm = map(np.asarray, (self.o_v, self.read_of_o_plus, self.read_of_o_minus))
        return {
            "read_at_g_v": at,
            "gain_g_1v": float(np.gradient(tt, g)[k]),
            "g_min_readable_v": self.g_min_readable_v,
            "corner_spread_at_g_1v": float(
                np.ptp([np.interp(1.0, g, r) for r in self.read_of_g.values()])
            ),
            "mc_sigma_at_g_1v": float(np.std(mc[:, k])) if len(mc) else None,
            "output_gain": float(np.polyfit(o, rp, 1)[0]),
            "output_offset_v": float(np.polyfit(o, rp, 1)[1]),
            "output_plus_minus_max_diff_v": float(np.max(np.abs(rp - rm))),
            "unselected_effect_v": self.unselected_effect_v,
            "kick_selected_v": self.kick_selected_v,
            "kick_after_v": self.kick_after_v,
            "settle_s": self.settle_s,
            "supply_g_mode_a": self.supply_g_mode_a,
            "supply_o_mode_a": self.supply_o_mode_a,
        }


def _bench(pdk: Pdk, cond: ReadoutConditions, corner: str, seed: int | None) -> list[str]:
    """Models, the block and two readers (edges at (0, 0, h) and (1, 1, v)); nets ``ga``,
    ``gb`` their G's, ``op`` / ``om`` the free outputs, ``a<k>`` the address pins."""
    m = ReadMap(cond.rows, cond.cols)
    lines = [
        model_header(pdk, corner, seed, "twinedge read-out").rstrip("\n"),
        subckt(pdk, m, cond.sizing).rstrip("\n"),
        f"Vvdd vdd 0 {pdk.vdd!r}",
        f"Vvbp vbp 0 {cond.vbp!r}",
        f"Vvcn vcn 0 {cond.vcn!r}",
        f"X1 {' '.join(m.ports())} {SUBCKT}",
        f"Cread read 0 {cond.c_read!r}",
    ]
    sites = {"a": (0, 0, "h"), "b": (1 % cond.rows, 1 % cond.cols, "v")}
    readers = at_shortest_channel(reader_devices(cond.sizing), pdk)
    for tag, (r, c, d) in sites.items():
        nets = {"g": f"g{tag}", "read": "read", "vdd": "vdd", "rselb": m.row_line(r),
                "cselb": m.col_line(c, d), "rd0": f"rd0{tag}", "rd1": f"rd1{tag}"}  # fmt: skip
        lines += [dev.renamed(tag, nets).spice(pdk) for dev in readers]
    return lines


def _address(m: ReadMap, value: int, vdd: float) -> list[str]:
    return [f"Va{k} a{k} 0 {vdd if value >> k & 1 else 0.0!r}" for k in range(m.bits)]


def _sweep(lines: list[str], source: str, sweep: tuple, probes: str, name: str) -> np.ndarray:
    deck = "\n".join([
        *lines, ".control", "set numdgt=10", f"dc {source} {sweep[0]!r} {sweep[1]!r} {sweep[2]!r}",
        f"wrdata {name}.dat {probes}", "quit 0", ".endc", ".end",
    ])  # fmt: skip
    return numeric_rows(run_ngspice(deck + "\n"))


def g_transfer(
    pdk: Pdk, cond: ReadoutConditions, corner: str, seed: int | None = None,
    unselected: bool = True,
):  # fmt: skip
    """(G, READ) with edge a addressed; with ``unselected``, READ's move as the other
    reader's G sweeps (else None)."""
    m = ReadMap(cond.rows, cond.cols)
    base = _bench(pdk, cond, corner, seed) + _address(m, m.edge_address(0, 0, "h"), pdk.vdd)
    outs = ["Vop op 0 0.2", "Vom om 0 0.2"]
    rows = _sweep([*base, *outs, "Vga ga 0 1.0", f"Vgb gb 0 {pdk.vdd!r}"], "Vga", G_SWEEP,
                  "v(read)", "g")  # fmt: skip
    if not unselected:
        return rows[:, 0], rows[:, 1], None
    other = _sweep([*base, *outs, "Vga ga 0 1.0", "Vgb gb 0 0"], "Vgb", G_SWEEP, "v(read)", "u")
    return rows[:, 0], rows[:, 1], float(np.ptp(other[:, 1]))


def _min_readable(g: np.ndarray, read: np.ndarray) -> float:
    slope = np.gradient(read, g)
    ok = np.nonzero(slope >= SLOPE_MIN)[0]
    return float(g[ok[0]]) if len(ok) else float("nan")


def o_transfer(pdk: Pdk, cond: ReadoutConditions) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(O, READ addressed to O+, READ addressed to O-), the other output at 0.2 V."""
    m = ReadMap(cond.rows, cond.cols)
    out = []
    for j, (swept, held) in enumerate((("op", "om"), ("om", "op"))):
        lines = [*_bench(pdk, cond, "tt", None), *_address(m, m.output_address(j), pdk.vdd),
                 f"V{swept} {swept} 0 0", f"V{held} {held} 0 0.2", "Vga ga 0 1.0",
                 "Vgb gb 0 1.0"]  # fmt: skip
        rows = _sweep(lines, f"V{swept}", O_SWEEP, "v(read)", f"o{j}")
        out.append(rows)
    return out[0][:, 0], out[0][:, 1], out[1][:, 1]


def kick(pdk: Pdk, cond: ReadoutConditions) -> tuple[float, float, float]:
    """G's move while selected and after, and READ's settling (a floating G on c_gate)."""
    m = ReadMap(cond.rows, cond.cols)
    vdd = pdk.vdd
    idle = m.output_address(0)
    sel = m.edge_address(0, 0, "h")
    # edge b's G floats on the same capacitor and is never selected: the drift that is not
    # the reader's (leakage), subtracted
    lines = [*_bench(pdk, cond, "tt", None), "Vop op 0 0.2", "Vom om 0 0.2",
             f"Cga ga 0 {cond.c_gate!r}", f"Cgb gb 0 {cond.c_gate!r}",
             f".ic v(ga)={G_KICK!r} v(gb)={G_KICK!r}"]  # fmt: skip
    for k in range(m.bits):
        levels = [vdd if v >> k & 1 else 0.0 for v in (idle, sel, idle)]
        pts = [(0.0, levels[0]), (T_SELECT, levels[0]), (T_SELECT + 1e-9, levels[1]),
               (T_DESELECT, levels[1]), (T_DESELECT + 1e-9, levels[2])]  # fmt: skip
        lines.append(f"Va{k} a{k} 0 {pwl(pts)}")
    deck = "\n".join([
        *lines, ".control", "set numdgt=10", f"tran 2n {T_END!r} uic",
        "wrdata kick.dat v(ga) v(gb) v(read)", "quit 0", ".endc", ".end",
    ])  # fmt: skip
    rows = numeric_rows(run_transient(deck + "\n"), columns=6)
    t, g, read = rows[:, 0], rows[:, 1] - rows[:, 3], rows[:, 5]
    g0 = float(np.interp(T_SELECT - 10e-9, t, g))
    during = float(np.interp(T_DESELECT - 10e-9, t, g)) - g0
    after = float(np.interp(T_END - 10e-9, t, g)) - g0
    final = float(np.interp(T_DESELECT - 10e-9, t, read))
    win = (t > T_SELECT) & (t < T_DESELECT)
    off = np.nonzero(np.abs(read[win] - final) > SETTLE_V)[0]
    settle = float(t[win][off[-1]] - T_SELECT) if len(off) else 0.0
    return during, after, settle


def supply(pdk: Pdk, cond: ReadoutConditions) -> tuple[float, float]:
    """The block's and readers' supply current (A) reading edge a (G 1 V) and reading O+."""
    m = ReadMap(cond.rows, cond.cols)
    out = []
    for address in (m.edge_address(0, 0, "h"), m.output_address(0)):
        lines = [*_bench(pdk, cond, "tt", None), *_address(m, address, pdk.vdd),
                 "Vop op 0 0.2", "Vom om 0 0.2", "Vga ga 0 1.0", "Vgb gb 0 1.0"]  # fmt: skip
        deck = "\n".join([*lines, ".control", "set numdgt=10", "op",
                          "print -i(vvdd)", "quit 0", ".endc", ".end"])  # fmt: skip
        text = run_ngspice(deck + "\n")
        values = [line.split("=")[-1] for line in text.splitlines() if "i(vvdd)" in line]
        if not values:
            raise CharacterisationError("read-out supply: ngspice printed no i(vvdd)")
        out.append(float(values[0]))
    return out[0], out[1]


def characterise_readout(pdk: Pdk, cond: ReadoutConditions) -> ReadoutCharacterisation:
    """Every measurement above (the corners and Monte Carlo instances side by side)."""
    workers = min(4, processes.jobs())
    corners = processes.parallel(lambda c: g_transfer(pdk, cond, c), CORNERS, workers)
    mc = processes.parallel(
        lambda s: g_transfer(pdk, cond, "tt", s, unselected=False)[1], range(cond.mc_n), workers
    )
    g = corners[0][0]
    o, rp, rm = o_transfer(pdk, cond)
    during, after, settle = kick(pdk, cond)
    i_g, i_o = supply(pdk, cond)
    return ReadoutCharacterisation(
        g_v=g.tolist(),
        read_of_g={c: r[1].tolist() for c, r in zip(CORNERS, corners, strict=True)},
        read_of_g_mc=[r.tolist() for r in mc],
        g_min_readable_v={c: _min_readable(g, r[1]) for c, r in zip(CORNERS, corners, strict=True)},
        o_v=o.tolist(),
        read_of_o_plus=rp.tolist(),
        read_of_o_minus=rm.tolist(),
        unselected_effect_v=max(r[2] for r in corners),
        kick_selected_v=during,
        kick_after_v=after,
        settle_s=settle,
        supply_g_mode_a=i_g,
        supply_o_mode_a=i_o,
    )
