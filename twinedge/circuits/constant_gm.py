"""A constant-gm bias reference (beta multiplier): the PMOS gate bias ``vbe`` whose tail
current does not starve at the slow corner, for the rail buffers on a shuttle that supplies
3.3 V (TinyTapeout's GF180MCU tiles; docs/periphery.md, "A learning chip on GF180MCU").

Why not the bias string the SKY130 chip uses: a diode string's current is set by the supply
less its diodes' thresholds, so at ss (every threshold up) it falls several-fold and the
buffers' tails starve (measured: every GF180 rail let go at ss). Here the current is set by
a resistor and the NMOS pair's beta ratio, not by a threshold:

* ``MN1`` (diode) and ``MN2`` (``k`` times as wide, its source on the resistor ``R1``)
  share their gate ``vbn``; the PMOS mirror ``MP3`` (diode, the output ``vbe``) / ``MP4``
  forces equal currents, so MN2's larger width is matched by the resistor's drop:
  I = 2 / (mu_n Cox (W/L)_1 R^2) (1 - 1/sqrt(k))^2, set by R and the mobility; its corners
  move it by their sheet resistance and mobility, not by their thresholds;
* ``MP3`` is one tail unit of the error element's pair (or ``p_units`` of them), so every
  tail unit the buffers draw from ``vbe`` carries that current (per unit);
* start-up: the loop also rests with no current at all (vbe at VDD, vbn at ground). A weak
  always-on PMOS ``MSP`` holds ``st`` high while ``MSN`` (gate vbn) is off, and ``MS``
  (gate st) then lets current from the vbe node into vbn: both move off their rails and
  the loop takes over; running, vbn turns MSN on, st falls, MS turns off.

Sizes in micrometres (``.option scale=1u``); the resistor's length comes from
:func:`twinedge.characterise.constant_gm.size_reference`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from twinedge.circuits.error_element import ErrorElementSizing
from twinedge.circuits.mirror import Device, subckt_text

SUBCKT = "twinedge_constant_gm"
PORTS = ("vbe", "vdd")


@dataclass(frozen=True)
class ConstantGmSizing:
    n_w: float = 2.0
    n_l: float = 4.0
    k: int = 4  # MN2's width over MN1's
    p_units: int = 1  # MP3 / MP4 in tail units (ErrorElementSizing's tail device)
    r_w: float = 1.0
    r_l: float = 20.0
    start_p_w: float = 0.5  # the weak start-up PMOS (always on)
    start_p_l: float = 20.0
    start_n_w: float = 2.0
    start_n_l: float = 0.5
    inject_w: float = 1.0
    inject_l: float = 1.0
    startup: bool = True  # False: without MSP, MSN, MS (to show the loop needs them)

    def as_dict(self) -> dict:
        return asdict(self)


def devices(s: ConstantGmSizing = ConstantGmSizing()) -> list[Device]:
    unit = ErrorElementSizing()
    pw, pl = unit.tail_w * s.p_units, unit.tail_l
    core = [
        Device("MN1", "n", "vbn", "vbn", "0", s.n_w, s.n_l),
        Device("MN2", "n", "vbe", "vbn", "rs", s.n_w * s.k, s.n_l),
        Device("R1", "r", "rs", "rs", "0", s.r_w, s.r_l),
        Device("MP3", "p", "vbe", "vbe", "vdd", pw, pl),
        Device("MP4", "p", "vbn", "vbe", "vdd", pw, pl),
    ]
    start = [
        Device("MSP", "p", "st", "0", "vdd", s.start_p_w, s.start_p_l),
        Device("MSN", "n", "st", "vbn", "0", s.start_n_w, s.start_n_l),
        Device("MS", "n", "vbe", "st", "vbn", s.inject_w, s.inject_l),
    ]
    return core + start if s.startup else core


def subckt(pdk, s: ConstantGmSizing = ConstantGmSizing()) -> str:
    """``.subckt twinedge_constant_gm vbe vdd`` with the PDK's devices."""
    from twinedge.circuits.error_element import as_drawn

    return subckt_text(SUBCKT, PORTS, as_drawn(devices(s), pdk), pdk)
