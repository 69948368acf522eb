"""The bias generator: the update circuits' and the error element's gate biases from the
supply, on chip.

Every bias only meets gates (VBP, VCN, VCP, VFLOOR, VBE) or a switch's supply (VCALB, CALB's
high level), so a string of two diode-connected devices from VDD to ground makes each: a
PMOS diode above, an NMOS diode (or two stacked, for a high bias) below, their ratio sized
(:mod:`twinedge.characterise.bias`) so that the string's node sits at the target. A string
per bias keeps them apart (a line coupled into one bias does not reach the others). Why
diodes rather than a resistor ladder: VBP is a PMOS current source's gate, and a PMOS diode
carrying a current makes the gate voltage that sets that current in every corner (the
current tracks, the voltage moves); the other levels are cascode gates and the threshold of
an NMOS follower (VFLOOR), which an NMOS diode's Vgs tracks the same way. The spread over
corners and Monte Carlo is measured.

A MOS capacitor holds each output against what the lines couple into it: an NMOS one (gate
on the bias, channel to ground) where the bias is high enough to invert it, a PMOS one (to
VDD) below that. A bias at VDD (VBJ; VCALB when the design's CAL dummy is untrimmed) is
the supply itself. Sizes in micrometres.
"""

from __future__ import annotations

from dataclasses import asdict, astuple, dataclass
from typing import TYPE_CHECKING

from twinedge.circuits.mirror import Device, at_shortest_channel, subckt_text

if TYPE_CHECKING:
    from twinedge.pdk import Pdk

SUBCKT = "twinedge_bias"
BIASES = ("vbp", "vcn", "vcp", "vfloor", "vbe", "vcalb")
PORTS = (*BIASES, "vdd")
NMOS_CAP_ABOVE = 0.75  # V: an NMOS capacitor's gate above this is inverted


@dataclass(frozen=True)
class BiasString:
    """One bias: its target (V) and the string's widths (um); ``None`` widths: the supply."""

    net: str
    target: float
    p_w: float | None = None
    n_w: float | None = None
    n_stack: int = 1  # NMOS diodes in series: two for a high bias (the PMOS's Vsg then small)
    n_l: float = 4.0  # the NMOS diodes' length (longer: weaker, a higher bias)
    # the PMOS diode's length; None: the sizing's. Longer (weaker) for a bias below what the
    # sizing's PMOS reaches (GF180MCU's VCP, 0.5 V: a threshold above SKY130's)
    p_l: float | None = None


def fields(b: BiasString) -> tuple:
    """``b``'s fields as the layout's cell arguments take them: without ``p_l`` when it is
    the sizing's (so a string that does not set it names its cell as before)."""
    t = astuple(b)
    return t[:-1] if b.p_l is None else t


@dataclass(frozen=True)
class BiasSizing:
    l: float = 4.0  # noqa: E741 - the PMOS diodes' length
    cap_w: float = 5.0
    cap_l: float = 10.0
    cap_n: int = 1  # capacitor fingers per bias
    calb_cap_n: int = 4  # VCALB feeds CALB's line at every CAL edge: more charge to hold
    # the narrower diode's width: VCALB's string runs more current (it recharges the capacitor
    # faster after each CAL edge: 0.9 Mohm at 10 um, 2 Mohm at 1 um)
    base_w: float = 1.0
    calb_base_w: float = 10.0

    def as_dict(self) -> dict:
        return asdict(self)


def is_supply(s: BiasString) -> bool:
    return s.p_w is None


def devices(strings: tuple[BiasString, ...], s: BiasSizing = BiasSizing()) -> list[Device]:
    """The strings and their capacitors; a bias at the supply is joined to VDD by a wide
    PMOS held on (a net cannot be two ports of one subcircuit)."""
    out: list[Device] = []
    for b in strings:
        tag = b.net.upper()
        if is_supply(b):
            out.append(Device(f"{tag}_ON", "p", b.net, "0", "vdd", 4.0, 0.15))
            continue
        out.append(Device(f"{tag}_P", "p", b.net, b.net, "vdd", b.p_w, b.p_l or s.l))
        top = b.net
        for k in range(b.n_stack):
            below = "0" if k == b.n_stack - 1 else f"{b.net}_{k}"
            out.append(Device(f"{tag}_N{k}", "n", top, top, below, b.n_w, b.n_l))
            top = below
        n_cap = s.calb_cap_n if b.net == "vcalb" else s.cap_n
        for k in range(n_cap):
            if b.target >= NMOS_CAP_ABOVE:
                out.append(Device(f"{tag}_C{k}", "n", "0", b.net, "0", s.cap_w, s.cap_l))
            else:
                out.append(Device(f"{tag}_C{k}", "p", "vdd", b.net, "vdd", s.cap_w, s.cap_l))
    return out


def subckt(pdk: Pdk, strings: tuple[BiasString, ...], s: BiasSizing = BiasSizing()) -> str:
    """``.subckt twinedge_bias`` (ports :data:`PORTS`)."""
    assert tuple(b.net for b in strings) == BIASES, "one string per bias, in BIASES order"
    return subckt_text(SUBCKT, PORTS, at_shortest_channel(devices(strings, s), pdk), pdk)
