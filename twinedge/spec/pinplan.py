"""The learning chip's pin plan: which TinyTapeout pin carries which signal.

A chip that learns once fabricated gets from outside only its supplies, a clock, digital
bits and at most six analog pins (``schema.ANALOG_PINS``). The plan follows from the spec and
its dataset:

* an input that takes two levels in the dataset is a digital bit (``ui_in``) switching its
  node between two rails; other inputs are analog pins the board drives;
* a rail at 0 V is the ground; every other level (input high/low levels, constants, label
  levels) is one analog rail pin, shared by all signals at the same voltage (the on-chip
  references that could replace them are not built yet);
* labels: with at most two values, a LABEL bit selects the error element's label rails
  (differential outputs: L = VL+ - VL-, the rails at 0 V or at |L|); otherwise the board
  drives the label on an analog pin;
* the clock sequences the phases (low: CAL with the clamp at -eta, high: LEARN at +eta),
  TRAIN (``ui_in``) lets the phases run, ``rst_n`` resets every G (with the clock high:
  discharged below the reset level; then low: charged up to VRESET - Vth); the read-out pin READ
  carries a free output or a G, chosen by an address on ``uio_in``.

``chip.analog_pins`` may pin a signal to a given ``ua[k]``; the rest fill the free ones in
order. A plan that needs more pins than a tile offers is a one-line spec error.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from twinedge.pdk import get as get_pdk
from twinedge.pdk import names as pdk_names
from twinedge.pdk.tinytapeout import SHUTTLE
from twinedge.spec.errors import SpecError
from twinedge.spec.schema import (
    ANALOG_PINS,
    Design,
    DifferentialOutput,
    SquareLattice,
    TwinEdgeClCell,
)

DIRECTIONS = ("h", "v")  # a site's edges: to its right, below it
DIGITAL_INPUTS = tuple(f"ui_in[{i}]" for i in range(8))
ADDRESS_PINS = tuple(f"uio_in[{i}]" for i in range(8))
GROUND = "VGND"
DECIMALS = 9  # volts compared to a nanovolt


@dataclass(frozen=True)
class Pin:
    pin: str  # the template's pin: ua[0], ui_in[3], clk, ...
    signal: str  # the chip's net
    kind: str  # analog in / analog out / digital in / clock / supply
    what: str


@dataclass(frozen=True)
class PinPlan:
    design: str
    pins: tuple[Pin, ...]
    rails: dict[str, float]  # rail signal -> volts (the board applies them, or the chip makes them)
    # True on a tile without analog pins: the rails (and VRESET) come from the chip's own
    # reference ladder and buffers, READ is timed on a digital output
    rails_on_chip: bool = False

    def as_dict(self) -> dict:
        out = {"design": self.design, "pins": [asdict(p) for p in self.pins], "rails": self.rails}
        return out | ({"rails_on_chip": True} if self.rails_on_chip else {})

    def markdown(self) -> str:
        rows = [f"| {p.pin} | {p.signal} | {p.kind} | {p.what} |" for p in self.pins]
        text = "\n".join(["| pin | signal | kind | what |", "|---|---|---|---|", *rows]) + "\n"
        if self.rails_on_chip:
            levels = ", ".join(f"{r} {v:g} V" for r, v in self.rails.items())
            text += f"\nRails made on chip (reference ladder and buffers): {levels}; VRESET too.\n"
        return text


@dataclass(frozen=True)
class ReadMap:
    """Which read-out address (``RADDR``, :attr:`bits` wide) reads what, for a lattice of
    ``rows`` x ``cols`` sites: bit 0 the edge's direction (0: the site's horizontal edge,
    1: its vertical one), then the site column, then the lattice row; the top bit set
    selects a free output instead (bit 0: 0 = O+, 1 = O-). The cells' select lines follow
    it: a row line per lattice row, a column line per site column and direction."""

    rows: int
    cols: int

    @property
    def col_bits(self) -> int:
        return max(1, math.ceil(math.log2(self.cols)))

    @property
    def row_bits(self) -> int:
        return max(1, math.ceil(math.log2(self.rows)))

    @property
    def g_bits(self) -> int:
        return 1 + self.col_bits + self.row_bits

    @property
    def bits(self) -> int:
        return self.g_bits + 1

    def edge_address(self, r: int, c: int, direction: str) -> int:
        return DIRECTIONS.index(direction) | c << 1 | r << (1 + self.col_bits)

    def output_address(self, j: int) -> int:
        """``j`` = 0: O+ (or the single output), 1: O-."""
        return 1 << self.g_bits | j

    def row_line(self, r: int) -> str:
        return f"rselb{r}"

    def col_line(self, c: int, direction: str) -> str:
        return f"cselb{c}{direction}"

    def site(self, a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int, str]:
        """(row, column, direction) of the site holding the edge between nodes ``a`` and
        ``b`` (row, column each): a site holds the edges to its right and below it."""
        if a[0] == b[0]:
            first = a if (a[1] + 1) % self.cols == b[1] else b
            return first[0], first[1], "h"
        first = a if (a[0] + 1) % self.rows == b[0] else b
        return first[0], first[1], "v"

    def select_lines(self, a: tuple[int, int], b: tuple[int, int]) -> dict[str, str]:
        """The edge's reader nets ``rselb`` / ``cselb`` as the lines that reach it."""
        r, c, d = self.site(a, b)
        return {"rselb": self.row_line(r), "cselb": self.col_line(c, d)}

    def lines(self) -> tuple[str, ...]:
        rows = [self.row_line(r) for r in range(self.rows)]
        return (*rows, *(self.col_line(c, d) for c in range(self.cols) for d in DIRECTIONS))

    def ports(self) -> tuple[str, ...]:
        """The read-out block's ports."""
        address = tuple(f"a{i}" for i in range(self.bits))
        return (*address, "op", "om", "read", "vbp", "vcn", "vdd", *self.lines())


def _edges(net: SquareLattice) -> int:
    if net.periodic:
        return net.rows * net.cols * 2
    return net.rows * (net.cols - 1) + net.cols * (net.rows - 1)


class _Rails:
    """Analog rail pins by voltage (one pin per distinct level; 0 V is the ground)."""

    def __init__(self) -> None:
        self.by_volts: dict[float, str] = {}
        self.what: dict[str, list[str]] = {}

    def at(self, volts: float, name: str, use: str) -> str:
        v = round(float(volts), DECIMALS)
        if v == 0.0:
            return GROUND
        rail = self.by_volts.setdefault(v, name)
        self.what.setdefault(rail, []).append(use)
        return rail


# the digital read-out (circuits/slope_readout.py) on a tile without analog pins
READOUT_BITS = (
    ("RRST", "read-out: high holds its ramp at ground; from its fall DOUT rises when the ramp "
     "passes the level read (the board times it)"),
    ("RCAL", "read-out: 1 compares a reference instead of READ (the board's calibration)"),
    ("RHI", "read-out: with RCAL, 0 the low reference, 1 the high one"),
)  # fmt: skip
READOUT_PIN = "uo_out[0]"


def _shuttle_takes(pdk_name: str, analog: int) -> bool:
    """Whether ``pdk_name``'s TinyTapeout tiles have ``analog`` analog pins and a VDPWR at
    the voltage the PDK's circuits run from."""
    pdk = get_pdk(pdk_name)
    rules = SHUTTLE[pdk.install_name]
    return analog <= rules.max_analog_pins and math.isclose(rules.vdpwr, pdk.vdd)


def _check_shuttle(design: Design, analog: int, file: str) -> None:
    """Refuse a chip its PDK's TinyTapeout shuttle cannot take (a shuttle without analog
    pins gets the on-chip plan instead: :func:`_plan_on_chip`)."""
    if _shuttle_takes(design.pdk, analog):
        return
    pdk = get_pdk(design.pdk)
    rules = SHUTTLE[pdk.install_name]
    raise SpecError(
        file, "pdk", f"TinyTapeout's {pdk.install_name} tiles have {rules.max_analog_pins} "
        f"analog pins and a {rules.vdpwr:g} V supply; this chip needs {analog} and {pdk.vdd:g} V",
        design.pdk, ", ".join(n for n in pdk_names() if _shuttle_takes(n, analog)) or "none",
    )  # fmt: skip


def _signals(
    design: Design, inputs: np.ndarray, labels: np.ndarray
) -> tuple[_Rails, list[tuple[str, str]], list[tuple[str, str]]]:
    """The chip's boundary levels (one rail per distinct voltage), the signals the board
    drives as analog voltages, and its digital inputs, each with what it carries."""
    rails = _Rails()
    analog: list[tuple[str, str]] = []  # board-driven signals that are not rails
    digital: list[tuple[str, str]] = []
    for j, name in enumerate(design.pins.inputs):
        levels = sorted({round(float(v), DECIMALS) for v in inputs[:, j]})
        if len(levels) <= 2:
            lo, hi = levels[0], levels[-1]
            r_lo = rails.at(lo, f"V{name}_LO", f"input {name} low")
            r_hi = rails.at(hi, "VIN_HI" if lo == 0.0 else f"V{name}_HI", f"input {name} high")
            digital.append((name, f"input {name}: 0 -> {r_lo} ({lo:g} V), 1 -> {r_hi} ({hi:g} V)"))
        else:
            analog.append((name, f"input {name}: its voltage, from the board"))
    for name, const in design.pins.constants.items():
        rails.at(const.volts, name, f"constant {name}")
    differential = isinstance(design.pins.output, DifferentialOutput)
    levels = sorted({round(float(v), DECIMALS) for v in labels})
    if len(levels) <= 2:
        parts = []
        for bit, level in enumerate(levels):
            if differential:
                rail = rails.at(abs(level), "VLABEL", "label level abs(L)")
                plus, minus = (rail, GROUND) if level > 0 else (GROUND, rail)
                parts.append(f"{bit} -> L {level:+g} V (VL+ {plus}, VL- {minus})")
            else:
                rail = rails.at(level, f"VLABEL{bit}", f"label {level:g} V")
                parts.append(f"{bit} -> L = {rail} ({level:g} V)")
        digital.append(("LABEL", "label: " + "; ".join(parts)))
    else:
        analog.append(("LABEL", "label L, from the board (VL+; VL- is the ground)"))
    digital.append(("TRAIN", "1: the clock runs CAL/LEARN; 0: every G frozen (inference)"))
    analog.append(("VRESET", "G's reset level: with rst_n and clk low every G charges up to "
                   "about VRESET - Vth through its floor device"))  # fmt: skip
    analog.append(("READ", "read-out: a free output or a G (buffered), chosen on uio_in"))
    return rails, analog, digital


def rail_levels(design: Design, inputs: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Every boundary level ``design``'s chip needs, by rail name (0 V, the ground, left
    out): what the board applies on a shuttle with analog pins, and what a chip must make on
    one without (:mod:`twinedge.circuits.rail_reference`)."""
    return {r: v for v, r in _signals(design, inputs, labels)[0].by_volts.items()}


def plan(design: Design, inputs: np.ndarray, labels: np.ndarray, file: str) -> PinPlan:
    """The pin plan of ``design``'s chip (its dataset's ``inputs`` (P, n) and ``labels``)."""
    chip = design.chip
    if chip is None:
        raise SpecError(file, "chip", "no chip section", allowed="a chip: mapping")
    if not isinstance(design.cell, TwinEdgeClCell):
        raise SpecError(
            file, "cell.type", "a chip learns on its own: it needs the on-chip learning cell",
            design.cell.type, "twin_edge_cl",
        )  # fmt: skip
    rails, analog, digital = _signals(design, inputs, labels)
    if SHUTTLE[get_pdk(design.pdk).install_name].max_analog_pins == 0:
        return _plan_on_chip(design, rails, analog, digital, file)
    board = [(r, "rail " + ", ".join(rails.what[r])) for r in rails.by_volts.values()]
    wanted = board + analog
    _check_shuttle(design, len(wanted), file)
    if len(wanted) > len(ANALOG_PINS):
        raise SpecError(
            file, "chip", f"the chip needs {len(wanted)} analog pins "
            f"({', '.join(s for s, _ in wanted)}); a TinyTapeout analog project has "
            f"{len(ANALOG_PINS)}", allowed="two-level inputs and labels (digital bits), "
            "constants sharing a voltage",
        )  # fmt: skip
    _check_digital(design, digital, file)
    names = [s for s, _ in wanted]
    taken: dict[str, str] = {}
    for signal, pin in chip.analog_pins.items():
        if signal not in names:
            raise SpecError(
                file, f"chip.analog_pins.{signal}", "not a signal of this chip's analog pins",
                signal, ", ".join(names),
            )  # fmt: skip
        if pin in taken:
            raise SpecError(
                file, f"chip.analog_pins.{signal}", f"{pin} already carries {taken[pin]}", pin,
                "one signal per pin",
            )  # fmt: skip
        taken[pin] = signal
    free = iter(p for p in ANALOG_PINS if p not in taken)
    where = {s: p for p, s in taken.items()}
    for signal in names:
        if signal not in where:  # (setdefault would draw a free pin for a pinned one too)
            where[signal] = next(free)
    pins = [
        Pin("VDPWR", "VDD", "supply", f"{get_pdk(design.pdk).vdd} V"),
        Pin("VGND", GROUND, "supply", "0 V"),
    ]
    for signal, what in wanted:
        kind = "analog out" if signal == "READ" else "analog in"
        pins.append(Pin(where[signal], signal, kind, what))
    pins += [Pin(p, s, "digital in", w) for p, (s, w) in zip(DIGITAL_INPUTS, digital, strict=False)]
    pins += _control_pins(design, file)
    volts = {r: v for v, r in rails.by_volts.items()}
    return PinPlan(design.name, tuple(sorted(pins, key=_order)), volts)


def _check_digital(design: Design, digital: list[tuple[str, str]], file: str) -> None:
    if len(digital) > len(DIGITAL_INPUTS):
        room = len(DIGITAL_INPUTS) - (len(digital) - len(design.pins.inputs))
        raise SpecError(
            file, "pins.inputs", f"the chip needs {len(digital)} digital inputs ("
            f"{', '.join(s for s, _ in digital)}); a tile has {len(DIGITAL_INPUTS)}",
            len(design.pins.inputs), f"at most {room} two-level inputs",
        )  # fmt: skip


def _plan_on_chip(
    design: Design, rails: _Rails, analog: list[tuple[str, str]],
    digital: list[tuple[str, str]], file: str,
) -> PinPlan:  # fmt: skip
    """The plan on a tile without analog pins (TinyTapeout's GF180MCU, digital at 3.3 V):
    every rail and VRESET from the chip's reference ladder and rail buffers, the circuits'
    supply from its regulator, READ timed on a digital output by the read-out's ramp (three
    control bits on ``ui_in``). Only two-level inputs and labels fit: a signal the board
    would drive as a voltage has no pin."""
    pdk = get_pdk(design.pdk)
    rules = SHUTTLE[pdk.install_name]
    if design.chip and design.chip.analog_pins:
        raise SpecError(
            file, "chip.analog_pins", f"TinyTapeout's {pdk.install_name} tiles have no analog "
            "pins: the chip makes its rails and times READ on a digital output",
            ", ".join(design.chip.analog_pins), "none (leave chip.analog_pins out)",
        )  # fmt: skip
    voltages = [s for s, _ in analog if s not in ("VRESET", "READ")]
    if voltages:
        field = "pins.inputs" if any(s != "LABEL" for s in voltages) else "task"
        raise SpecError(
            file, field, f"{', '.join(voltages)} would need the board's voltages, and "
            f"TinyTapeout's {pdk.install_name} tiles have no analog pins",
            ", ".join(voltages), "inputs and labels of at most two levels (digital bits)",
        )  # fmt: skip
    digital = [*digital, *READOUT_BITS]
    _check_digital(design, digital, file)
    pins = [
        Pin("VDPWR", "VDD33", "supply", f"{rules.vdpwr:g} V: the rails' references and "
            f"buffers, the read-out; the regulator makes VDD ({pdk.vdd:g} V) from it"),
        Pin("VGND", GROUND, "supply", "0 V"),
        Pin(READOUT_PIN, "DOUT", "digital out", "read-out: rises when the ramp passes READ "
            "(a free output or a G, chosen on uio_in) or the reference RCAL selects"),
    ]  # fmt: skip
    pins += [Pin(p, s, "digital in", w) for p, (s, w) in zip(DIGITAL_INPUTS, digital, strict=False)]
    pins += _control_pins(design, file)
    volts = {r: v for v, r in rails.by_volts.items()}
    return PinPlan(design.name, tuple(sorted(pins, key=_order)), volts, rails_on_chip=True)


def _control_pins(design: Design, file: str) -> list[Pin]:
    """The read-out's address, the clock, the reset and TinyTapeout's enable."""
    differential = isinstance(design.pins.output, DifferentialOutput)
    bits = ReadMap(design.network.rows, design.network.cols).bits
    if bits > len(ADDRESS_PINS):
        raise SpecError(
            file, "network", f"reading every G needs {bits} address bits; a tile has "
            f"{len(ADDRESS_PINS)} bidirectional pins", f"{design.network.rows}x"
            f"{design.network.cols}", "rows and columns whose address (2 + log2 rows + log2 "
            "columns, rounded up, bits) fits 8 pins",
        )  # fmt: skip
    pins = [
        Pin(f"uio_in[0..{bits - 1}]", "RADDR", "digital in",
            f"read-out address: bit 0 edge direction (0 right, 1 down), then site column, "
            f"then row: that edge's G ({_edges(design.network)} edges); top bit set: the "
            f"free output{'s O+ (bit 0 low), O- (bit 0 high)' if differential else ''}"),
    ]  # fmt: skip
    return [
        *pins,
        Pin("clk", "PHASE", "clock", "low: CAL (clamp at -eta); high: LEARN (+eta)"),
        Pin(
            "rst_n",
            "RST_N",
            "digital in",
            "low: every G reset: clk high discharges it below "
            "the reset level, then clk low charges it up to VRESET - Vth",
        ),
        Pin("ena", "ENA", "digital in", "TinyTapeout's enable: low freezes every G"),
    ]


def _order(p: Pin) -> tuple:
    groups = ("VDPWR", "VGND", "ua", "ui_in", "uio_in", "uo_out", "clk", "rst_n", "ena")
    head = p.pin.split("[")[0]
    index = int(p.pin.split("[")[1].split("]")[0].split(".")[0]) if "[" in p.pin else 0
    return (groups.index(head) if head in groups else len(groups), index)
