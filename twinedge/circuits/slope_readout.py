"""A digital read-out: the read-out's analog level (``READ``: a G or a free output, chosen by
the address bits) turned into the time of one digital edge on an output pin, for a shuttle
whose tiles have no analog pin (TinyTapeout's GF180MCU tiles; docs/periphery.md, "A
learning chip on GF180MCU"). The board times the edge: a single-slope converter whose
counter is off chip.

* a ramp: a PMOS current source (``ramp_units`` tail units of the error element's pair, on
  the constant-gm bias ``vbe``) charges a PMOS capacitor (gate on the ramp, its channel at
  VDD: inverted over the whole 0-1.8 V range, so the capacitance, and the ramp's slope,
  hardly change with the level); an NMOS switch holds it at ground while ``rst`` is high;
* an input selector: ``cal`` low passes READ, high a reference (``hi`` low ``vlo``, high
  ``vhi``: two taps of the rails' reference ladder), through NMOS switches (at the 3.3 V
  gate drive they pass 0-1.8 V). The board times both references as well and draws a
  straight line through their (time, level) points: the ramp's slope and the comparator's
  delay, which the process moves, drop out;
* a comparator: the element's PMOS pair (ramp on its x1 side, the selected input ``cin`` on
  x2) on an NMOS mirror, an NMOS gain stage against a PMOS source, an inverter: ``dout``
  rises when the ramp passes ``cin``.

It runs from the tile's 3.3 V (the PMOS pair takes inputs from 0 V up to ~2 V there, and its
output is the pin's logic level). Sizes in micrometres (``.option scale=1u``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from twinedge.circuits.cl import ClCircuit
from twinedge.circuits.error_element import ErrorElementSizing, as_drawn, drawn_block, input_pair
from twinedge.circuits.logic import inv
from twinedge.circuits.mirror import Device, subckt_text
from twinedge.pdk import Pdk

SUBCKT = "twinedge_slope_readout"
PORTS = ("dout", "read", "vlo", "vhi", "rst", "cal", "hi", "vdd", "vbe")
# (input, the gates of its NMOS switches in series): cal low passes READ; cal high a
# reference, hi low vlo, hi high vhi
SELECT = (("read", ("calb",)), ("vlo", ("cal", "hib")), ("vhi", ("cal", "hi")))


@dataclass(frozen=True)
class SlopeReadoutSizing:
    ramp_units: int = 1  # the ramp's current in tail units
    cap_w: float = 20.0  # each finger of the ramp capacitor (PMOS)
    cap_l: float = 20.0
    cap_n: int = 2
    units: int = 4  # the comparator's pair
    gain_w: float = 2.0  # the comparator's NMOS gain stage
    gain_l: float = 1.0
    load_units: int = 2  # its PMOS source, in tail units
    switch_w: float = 2.0
    switch_l: float = 0.15  # the shortest channel (drawn at the PDK's)
    inv_wn: float = 1.0
    inv_wp: float = 2.0

    def as_dict(self) -> dict:
        return asdict(self)


def _switches(k: int, src: str, gates: tuple[str, ...], sw: tuple[float, float]) -> list[Device]:
    """NMOS switches in series from ``src`` to the comparator's input, one per gate."""
    nets = [src, *(f"s{k}_{j}" for j in range(1, len(gates))), "cin"]
    return [Device(f"S{k}{j}", "n", nets[j + 1], g, nets[j], *sw) for j, g in enumerate(gates)]


def devices(s: SlopeReadoutSizing = SlopeReadoutSizing()) -> list[Device]:
    unit = ErrorElementSizing()
    sw, gl = (s.switch_w, s.switch_l), s.switch_l
    caps = [Device(f"CR_{k}", "p", "vdd", "ramp", "vdd", s.cap_w, s.cap_l) for k in range(s.cap_n)]
    return [
        Device("IR", "p", "ramp", "vbe", "vdd", unit.tail_w * s.ramp_units, unit.tail_l),
        Device("SR", "n", "ramp", "rst", "0", *sw),
        *caps,
        # the selector: cal picks READ or the reference that hi picks
        *inv("IC", "cal", "calb", s.inv_wn, s.inv_wp, gl),
        *inv("IH", "hi", "hib", s.inv_wn, s.inv_wp, gl),
        *[dev for k, (src, gates) in enumerate(SELECT) for dev in _switches(k, src, gates, sw)],
        # the comparator
        *input_pair("a", s.units, "cin", "ramp", unit),
        Device("ND", "n", "x1", "x1", "0", unit.load_w, unit.load_l),
        Device("NM", "n", "x2", "x1", "0", unit.load_w, unit.load_l),
        Device("NG", "n", "c2", "x2", "0", s.gain_w, s.gain_l),
        Device("PG", "p", "c2", "vbe", "vdd", unit.tail_w * s.load_units, unit.tail_l),
        *inv("IO", "c2", "dout", s.inv_wn, s.inv_wp, gl),
    ]


def drawn_devices(pdk: Pdk, s: SlopeReadoutSizing = SlopeReadoutSizing()) -> list[Device]:
    return as_drawn(devices(s), pdk)


def subckt(pdk: Pdk, s: SlopeReadoutSizing = SlopeReadoutSizing()) -> str:
    """``.subckt twinedge_slope_readout dout read vlo vhi rst cal hi vdd vbe``."""
    return subckt_text(SUBCKT, PORTS, drawn_devices(pdk, s), pdk)


def block_circuit(pdk: Pdk, s: SlopeReadoutSizing = SlopeReadoutSizing()) -> ClCircuit:
    """The read-out as the two-row block placer takes it: its ports as global nets."""
    return drawn_block(
        pdk,
        SUBCKT,
        PORTS,
        devices(s),
        ("0", "vdd", "vbe", "rst", "cal", "hi", "vlo", "vhi", "read", "dout"),
    )
