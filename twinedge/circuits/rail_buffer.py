"""A rail buffer: one of the network's boundary levels (an input's high level, a constant)
made on chip, for a shuttle whose tiles have no analog pin to bring it in (TinyTapeout's
GF180MCU tiles; docs/periphery.md, "A learning chip on GF180MCU").

A rail feeds every node at its level in both twins, so it carries the network's current,
which steps with every datapoint (up to ~0.2 mA at XOR's largest G, and mostly one way: the
high rails source, the low one sinks; ``benchmarks/rail_currents.py``), and must hold its
level through it at any G (a network at its floor is almost no load). Two stages:

* an amplifier: the error element's reference pair (:mod:`twinedge.circuits.error_element`;
  PMOS, since the rails sit at 0.1 .. 0.45 V, below an NMOS pair's range) of ``units`` unit
  devices on an NMOS mirror, the output on the x2 side and the reference on x1, a PMOS
  capacitor on x2 (the loop's dominant pole);
* an output stage that x2 drives as a follower (the level rises with x2), whose own output
  resistance is low at any load, so that the loop stays stable when the network is light
  (a common-source output, tried first, is a high-impedance node then and rang):

  - ``drive: source`` (a rail that sources): an NMOS source follower ``MF`` from VDD, and an
    NMOS sink ``SNK`` for the little the rail sinks, its gate on a diode ``BN`` that one
    tail unit ``BP`` feeds;
  - ``drive: sink`` (a rail that sinks): a flipped voltage follower. ``MS`` (gate x2, source
    on the rail) carries the current of ``IB`` (a PMOS at the tails' bias) into the rail;
    its drain ``xf`` drives the sink ``MP``, so a rising rail turns ``MS`` down, ``xf`` up
    and ``MP`` on: the rail sinks what the network brings, and sources at most IB's current.

The output stage's devices are sized by :func:`twinedge.characterise.rail_buffer.size_output`.
Sizes in micrometres (``.option scale=1u``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from twinedge.circuits.cl import ClCircuit
from twinedge.circuits.error_element import ErrorElementSizing, as_drawn, drawn_block, input_pair
from twinedge.circuits.mirror import Device, subckt_text
from twinedge.pdk import Pdk

SUBCKT = "twinedge_rail_buffer"
PORTS = ("out", "ref", "vdd", "vbe")


DRIVES = ("sink", "source")


@dataclass(frozen=True)
class RailBufferSizing:
    """``units``: the input pair's size in the element's unit devices (its tail current and
    so the amplifier's speed). ``drive_*``: the device that carries the rail's main current
    (the follower ``MF`` or the flipped follower's sink ``MP``); ``bias_*``: the one that
    carries the other way's (``SNK``, or ``IB``); ``sense_*``: the flipped follower's ``MS``."""

    drive: str = "source"
    units: int = 6
    drive_w: float = 20.0
    drive_l: float = 1.0
    bias_w: float = 4.0
    bias_l: float = 2.0
    sense_w: float = 4.0
    sense_l: float = 1.0
    comp_w: float = 20.0
    comp_l: float = 10.0

    def __post_init__(self) -> None:
        if self.drive not in DRIVES:
            raise ValueError(f"rail buffer drive {self.drive!r}; allowed: {', '.join(DRIVES)}")

    def as_dict(self) -> dict:
        return asdict(self)


def amplifier(
    units: int, fed_back: str, comp_w: float, comp_l: float, ref: str = "ref"
) -> list[Device]:
    """The buffers' (and the regulator's) amplifier: the element's PMOS pair of ``units``
    units, ``fed_back`` on its x2 side and ``ref`` on its x1 side, on an NMOS mirror, a PMOS
    capacitor on x2 (the loop's dominant pole); x2 falls as ``fed_back`` rises."""
    unit = ErrorElementSizing()
    return [
        *input_pair("a", units, fed_back, ref, unit),
        Device("ND", "n", "x1", "x1", "0", unit.load_w, unit.load_l),
        Device("NM", "n", "x2", "x1", "0", unit.load_w, unit.load_l),
        Device("CC", "p", "vdd", "x2", "vdd", comp_w, comp_l),
    ]


def nmos_bias() -> list[Device]:
    """``nb``: an NMOS gate bias, one tail unit (``vbe``) into an NMOS diode of the mirror's
    size; NMOS at ``nb`` of that size sink one tail unit's current."""
    unit = ErrorElementSizing()
    return [
        Device("BP", "p", "nb", "vbe", "vdd", unit.tail_w, unit.tail_l),
        Device("BN", "n", "nb", "nb", "0", unit.load_w, unit.load_l),
    ]


def devices(s: RailBufferSizing = RailBufferSizing()) -> list[Device]:
    """Every transistor of one buffer (the output stage follows x2, so the output's gate
    sits on the x2 side of the pair)."""
    if s.drive == "source":
        stage = [
            Device("MF", "n", "vdd", "x2", "out", s.drive_w, s.drive_l),
            *nmos_bias(),
            Device("SNK", "n", "out", "nb", "0", s.bias_w, s.bias_l),
        ]
    else:
        stage = [
            Device("MS", "n", "xf", "x2", "out", s.sense_w, s.sense_l),
            Device("IB", "p", "xf", "vbe", "vdd", s.bias_w, s.bias_l),
            Device("MP", "n", "out", "xf", "0", s.drive_w, s.drive_l),
        ]
    amp = amplifier(s.units, "out", s.comp_w, s.comp_l)
    return [*amp[:-1], *stage, amp[-1]]  # the capacitor last: the order the placer keeps


def drawn_devices(pdk: Pdk, s: RailBufferSizing = RailBufferSizing()) -> list[Device]:
    """:func:`devices` as drawn on ``pdk``."""
    return as_drawn(devices(s), pdk)


def subckt(pdk: Pdk, s: RailBufferSizing = RailBufferSizing()) -> str:
    """``.subckt twinedge_rail_buffer out ref vdd vbe``."""
    return subckt_text(SUBCKT, PORTS, drawn_devices(pdk, s), pdk)


def block_circuit(pdk: Pdk, s: RailBufferSizing = RailBufferSizing()) -> ClCircuit:
    """One buffer as the two-row block placer takes it: its ports as global nets."""
    return drawn_block(pdk, SUBCKT, PORTS, devices(s), ("0", "vdd", "vbe", "ref", "out"))
