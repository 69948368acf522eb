"""What the board does to a whole-chip transient and what it reads back, for both kinds of
chip: one whose rails, supply and READ are pins (SKY130's tiles), and one that makes its own
from the tile's VDPWR and reports READ as the time of a digital edge (TinyTapeout's
GF180MCU tiles, :class:`twinedge.circuits.chip.OnChipBlocks`).

* :func:`supply_lines`: the supply pin (VDD, or VDD33), the rails and VRESET where they are
  pins, and the loads of the read-out's pin (READ's pad, or DOUT's wire);
* :class:`Conversions`: when the board runs the digital read-out (RRST low in a window,
  RCAL / RHI picking a reference for the two calibration conversions), and how it turns
  DOUT's edge times into levels (a straight line through the references' times, as
  :mod:`twinedge.characterise.slope_readout` characterises it);
* :func:`probes` and :func:`block_power`: the supply currents the deck writes and each
  block's power from them, so that the blocks' energies add up to what the supply pin
  delivered.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from twinedge.circuits.chip import BLOCKS, ON_CHIP_BLOCKS, SUPPLY_33, ChipWiring
from twinedge.pdk import Pdk
from twinedge.pdk.tinytapeout import SHUTTLE
from twinedge.spec.pinplan import PinPlan
from twinedge.spice.deck import pwl

EDGE = 1e-9
C_READ = 10e-12  # READ's load: the pad, the board's trace and meter
# DOUT's load: its wire across the tile to the shuttle's output multiplexer (no pad: the
# tile's outputs meet the multiplexer's gates)
C_DOUT = 0.1e-12
# a conversion's window: the slowest corner's full scale (2.45 us to 1.7 V at ss,
# docs/periphery.md) and margin; a read inside a shorter CAL phase gets what is left of it.
# A reference's window is its share of that (the board knows its level) plus a margin
T_CONVERT = 3e-6
FULL_SCALE_V = 1.7
REFERENCE_MARGIN = 0.3e-6
SETTLE_SELECT = 100e-9  # RCAL / RHI change this long before a calibration conversion starts


def pin_high(pdk: Pdk, w: ChipWiring) -> float:
    """A digital pin's high level: the tile's VDPWR for a chip on its own supply (its pins
    are the shuttle's), else the circuits' VDD."""
    return SHUTTLE[pdk.install_name].vdpwr if w.on_chip else pdk.vdd


def supply_lines(pdk: Pdk, w: ChipWiring, pp: PinPlan, vreset: float) -> list[str]:
    """The supply pin, the rails and VRESET where the board drives them, the read-out pin's
    load."""
    if w.on_chip:
        return [f"Vsupply {SUPPLY_33} 0 {pin_high(pdk, w)!r}", f"Cdout DOUT 0 {C_DOUT!r}"]
    return [
        f"Vsupply VDD 0 {pdk.vdd!r}",
        f"Vpin_VRESET VRESET 0 {vreset!r}",
        *(f"Vrail_{r} {r} 0 {v!r}" for r, v in pp.rails.items()),
        f"Cread READ 0 {C_READ!r}",
    ]


def probes(w: ChipWiring, pp: PinPlan, whole_supply: bool) -> list[str]:
    """The supply currents a deck writes: each block's (``whole_supply``: the supply pin's
    alone, an extracted layout has one supply net), the board's rails; with the chip's own
    supply, VDD's level (the regulator's) and the supply pin's current too."""
    rails = [] if w.on_chip else [f"i(vrail_{r})" for r in pp.rails]
    if whole_supply:
        return ["i(vsupply)", *rails]
    out = [f"i(vdd_{b})" for b in BLOCKS]
    if w.on_chip:
        return [*out, *(f"i(vdd33_{b})" for b in ON_CHIP_BLOCKS), "v(vdd)", "i(vsupply)"]
    return [*out, *rails]


def supply_power(pdk: Pdk, w: ChipWiring, col: dict[str, np.ndarray]) -> np.ndarray:
    """The supply pin's power over time (what the board's supply delivers)."""
    return -pin_high(pdk, w) * col["i(vsupply)"]


def block_power(
    pdk: Pdk, w: ChipWiring, pp: PinPlan, col: dict[str, np.ndarray], whole_supply: bool
) -> dict[str, np.ndarray]:
    """Each block's power over time from :func:`probes`' columns (``col``: probe -> values).
    On a chip's own supply the 1.8 V blocks take VDD from the regulator: each is booked at
    VDD's level, and the regulator at what it takes from VDD33 less what it delivers (its own
    loss); every entry then adds up to the supply pin's power."""
    rails = {} if w.on_chip else {f"rail {r}": -v * col[f"i(vrail_{r})"]
                                   for r, v in pp.rails.items()}  # fmt: skip
    if whole_supply:
        return {SUPPLY_33 if w.on_chip else "VDD": supply_power(pdk, w, col)} | rails
    if not w.on_chip:
        return {b: pdk.vdd * col[f"i(vdd_{b})"] for b in BLOCKS} | rails
    v33 = pin_high(pdk, w)
    core = {b: col["v(vdd)"] * col[f"i(vdd_{b})"] for b in BLOCKS}
    own = {b: v33 * col[f"i(vdd33_{b})"] for b in ON_CHIP_BLOCKS}
    own["regulator"] = own["regulator"] - sum(core.values())
    return core | own


@dataclass(frozen=True)
class Conversions:
    """The board's conversions with the digital read-out: one window (RRST low) per read of
    READ, then one for each calibration reference (RCAL high; RHI low: ``vlo``, high:
    ``vhi``, the ladder's nominal taps). DOUT rises in a window when the ramp passes the
    selected level; a window it does not rise in is a reading out of range."""

    reads: tuple[tuple[float, float], ...]
    references: tuple[tuple[float, float], tuple[float, float]]
    vlo: float
    vhi: float

    @classmethod
    def after(cls, reads: list[float], t_free: float, w: ChipWiring) -> Conversions:
        """A conversion at each of ``reads`` lasting what ``t_free`` (the CAL phase left
        after the read) allows, up to :data:`T_CONVERT`; the references after the last."""
        oc = w.on_chip
        if oc is None:
            raise ValueError("a chip with READ on a pin has no digital read-out")
        span = min(T_CONVERT, t_free)
        if span <= 0:
            raise ValueError("no time left in the CAL phase to convert READ")
        windows = tuple((t, t + span) for t in reads)
        level = dict(oc.taps)
        vlo, vhi = level[oc.refs["slope_lo"]], level[oc.refs["slope_hi"]]

        def span_for(v: float) -> float:
            return min(T_CONVERT, REFERENCE_MARGIN + T_CONVERT * v / FULL_SCALE_V)

        start = windows[-1][1] + 2 * SETTLE_SELECT
        lo = (start, start + span_for(vlo))
        start = lo[1] + 2 * SETTLE_SELECT
        return cls(windows, (lo, (start, start + span_for(vhi))), vlo, vhi)

    @property
    def end(self) -> float:
        return self.references[1][1]

    def sources(self, high: float) -> list[str]:
        """RRST (high but in the windows), RCAL (high from before the first reference), RHI
        (high from before the second)."""
        rrst = [(0.0, high)]
        for a, b in (*self.reads, *self.references):
            rrst += [(a, high), (a + EDGE, 0.0), (b, 0.0), (b + EDGE, high)]

        def rise(t: float) -> str:
            return pwl([(0.0, 0.0), (t - SETTLE_SELECT, 0.0), (t - SETTLE_SELECT + EDGE, high)])

        return [f"Vpin_RRST RRST 0 {pwl(rrst)}",
                f"Vpin_RCAL RCAL 0 {rise(self.references[0][0])}",
                f"Vpin_RHI RHI 0 {rise(self.references[1][0])}"]  # fmt: skip

    def levels(self, t: np.ndarray, dout: np.ndarray, high: float) -> list[float | None]:
        """READ at each read as the board computes it from DOUT's edges: the time from the
        ramp's release to DOUT's rise through half the pin level, on the line through the
        references' (time, level) points; None where DOUT did not rise in its window."""
        times = [_rise(t, dout, a, b, high / 2) for a, b in (*self.reads, *self.references)]
        t_lo, t_hi = times[-2], times[-1]
        if t_lo is None or t_hi is None:
            raise ValueError("the read-out's calibration conversions did not complete")
        k = (self.vhi - self.vlo) / (t_hi - t_lo)
        return [None if x is None else self.vlo + (x - t_lo) * k for x in times[:-2]]


def _rise(t: np.ndarray, v: np.ndarray, a: float, b: float, level: float) -> float | None:
    """Time from ``a`` to ``v``'s first rise through ``level`` in (a, b]: linear between
    the samples around it."""
    sel = np.flatnonzero((t > a + EDGE) & (t <= b))
    if sel.size == 0:
        return None
    above = np.flatnonzero(v[sel] > level)
    if above.size == 0:
        return None
    i = sel[above[0]]
    if i == 0 or v[i - 1] > level:  # high at the window's start: no edge in it
        return None
    frac = (level - v[i - 1]) / (v[i] - v[i - 1])
    return float(t[i - 1] + frac * (t[i] - t[i - 1]) - a)


# a chip's own VDD and rails are held when, after whatever moved them (a datapoint's bits
# switching an input node onto its rail, a conversion switching the read-out's comparator
# onto a ladder tap, a phase edge), they are back within LEVEL_TOLERANCE_V of their targets
# within LEVEL_RECOVERY_S: settled for over 93 % of a datapoint's inference window (3 us)
# and of the shortest phase (CAL, 6 us in the designs)
LEVEL_TOLERANCE_V = 0.02
LEVEL_RECOVERY_S = 0.2e-6
# levels the chip uses only while RST_N is low: the reset's own verdict (G at g_init,
# spread) judges them; between resets they are reported, not held to the above
RESET_ONLY_LEVELS = ("VRESET",)


def own_levels(pdk: Pdk, w: ChipWiring, pp: PinPlan) -> dict[str, float]:
    """The levels a chip with its own supply makes and must hold (net -> volts): VDD from
    its regulator, every rail, VRESET's tap; empty for a chip whose board drives them."""
    if not w.on_chip:
        return {}
    return {"VDD": pdk.vdd, **pp.rails, "VRESET": dict(w.on_chip.taps)["VRESET"]}


def level_probes(levels: dict[str, float]) -> list[str]:
    return [f"v({n})" for n in levels]


def longest_excursions(
    t: np.ndarray, col: dict[str, np.ndarray], levels: dict[str, float], t0: float, t1: float,
    tol: float, join: float = LEVEL_RECOVERY_S,
) -> dict[str, float]:  # fmt: skip
    """Each own level's longest disturbance (s) over [t0, t1]: from leaving ``tol`` of its
    target until back within it for good, where "for good" is ``join`` (a ring that crosses
    the band between its swings is one disturbance, not many short ones). A load step's or
    a kick's disturbance is short; a ring, a sag or an offset is long (an offset lasts the
    whole window)."""
    sel = (t >= t0) & (t <= t1)
    ts = t[sel]
    out = {}
    for n, v in levels.items():
        off = np.abs(col[f"v({n})"][sel] - v) > tol
        # each run of samples beyond tol: from its first sample to the first one back
        edges = np.diff(np.concatenate([[0], off.astype(np.int8), [0]]))
        starts, ends = np.nonzero(edges == 1)[0], np.nonzero(edges == -1)[0]
        runs = [(ts[a], ts[min(b, len(ts) - 1)]) for a, b in zip(starts, ends, strict=True)]
        longest, span = 0.0, None
        for a, b in runs:
            span = (span[0], b) if span and a - span[1] < join else (a, b)
            longest = max(longest, span[1] - span[0])
        out[n] = float(longest)
    return out


def worst_excursions(
    t: np.ndarray, col: dict[str, np.ndarray], levels: dict[str, float], t0: float, t1: float
) -> dict[str, float]:
    """Each own level's largest distance (V) from where it should be over [t0, t1]: what a
    load step, a kick through a shared node or ringing does to the supply and rails."""
    sel = (t >= t0) & (t <= t1)
    return {n: float(np.max(np.abs(col[f"v({n})"][sel] - v))) for n, v in levels.items()}


def level_excursions(
    t: np.ndarray, col: dict[str, np.ndarray], levels: dict[str, float], t0: float, t1: float
) -> tuple[dict[str, float], dict[str, float]]:
    """(each level's peak distance from its target, its longest disturbance beyond
    :data:`LEVEL_TOLERANCE_V`) over [t0, t1]: what the own-level verdict reads."""
    return (worst_excursions(t, col, levels, t0, t1),
            longest_excursions(t, col, levels, t0, t1, LEVEL_TOLERANCE_V))  # fmt: skip
