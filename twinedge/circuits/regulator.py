"""A linear regulator: the chip's circuits' supply (1.8 V on GF180MCU, the update circuit's
operating point) made from the tile's 3.3 V, for a shuttle that supplies only that
(TinyTapeout's GF180MCU tiles; docs/periphery.md, "A learning chip on GF180MCU").

Why this shape: an NMOS follower (the rail buffers' output stage) cannot make 1.8 V from
3.3 V (its gate would have to sit a threshold and its body effect above 1.8 V, beyond what
the PMOS pair's output reaches), so the pass device is a PMOS. Two loops:

* a flipped voltage follower, the fast one: ``MS`` (PMOS, gate ``vset``, source on the output)
  carries a fixed current ``IB`` (an NMOS mirrored from one tail unit), and its drain ``xa``
  drives the pass device ``MP``'s gate through a PMOS follower ``ML`` (biased by ``IL``, one
  tail unit) that shifts it a Vsg up. When the load draws more, the output falls, MS
  carries less, ``xa`` falls and MP turns on harder: the load step is answered within the
  local loop, with no amplifier in it. Why the shift: ``xa`` stays below the output (MS's
  drain), so without it MP's gate could not rise above 1.8 V and MP would carry at least
  its current at a 1.5 V Vsg, far more than a light load takes (measured: the output rose
  to 2.26 V at zero load, MS in triode);
* the error amplifier, the slow one: the rail buffers' PMOS pair (its units, NMOS mirror and
  capacitor; :mod:`twinedge.circuits.rail_buffer`) compares a divided output ``fb`` with the
  reference ``ref`` and sets ``vset`` through an NMOS follower ``MV`` from its x2 side, so
  the output's level does not carry MS's process-dependent Vsg. The follower lets x2 sit
  near the mirror's diode (x1) while vset sits a threshold lower: with x2 driving MS
  directly, x2 had to sit 0.86 V below x1, which the pair's finite gain turned into 14 mV
  of input offset (55 mV on the output, measured). The divider is ``top`` + ``bottom``
  equal poly strips (output = ref x (top + bottom) / bottom: a ratio of equal strips, so
  the process does not move it); from the ladder's 0.45 V tap, 3 + 1 strips make 1.8 V.
* ``RX``, a poly strip from ``xa`` to ground, damps the fast loop: ``xa`` alone is a
  high-impedance node, whose pole fell inside the loop's bandwidth (measured: a 30 uA load
  step set the output ringing +-20 mV for good, ``xa`` swinging 0.45-1.66 V); RX lowers
  that node's impedance (and the loop's gain, which the slow loop makes up for). MS, wide,
  carries RX's extra current with little more Vsg.
* ``CO``, the output's own capacitor (``cap_n`` PMOS plates, gate on the output, channel
  on the 3.3 V input: inverted at 1.5 V; drawn whole, not in fingers): the loop was
  designed on 100 pF of output capacitance, which the chip did not have, and with only
  its circuits' few pF on VDD it rang (a load step on 1-3 pF never settled at tt and ff;
  in the 4 x 4 chip's learning run VDD was 99 mV off and 330 ns beyond 20 mV:
  ``benchmarks/gf180_chip_levels.py --undecoupled``). Four 40 x 30 um
  plates (~21 pF) keep it settled from 0.3 pF to 100 pF beside them at every corner; two
  would too, one does not (sf rings). A bigger damping strip instead (12 um) settled it
  but spoiled the regulation (40-78 mV of offset, 0.29 V/V from the input).
* ``RF`` + ``CF``, a low-pass on the reference (``filter_strips`` divider strips, ~90 kOhm,
  into two plates, ~10 pF: ~1 us; four strips into one plate made a block 80 um longer):
  the ladder tap it reads is shared, and the read-out's reference conversions kick the
  ladder; the divider multiplies whatever reaches the pair by four (measured in the 3 x 3
  chip's transient: the 0.45 V tap 8 mV down for ~1 us, VDD 43 mV down, 0.47 us beyond
  20 mV; with the filter VDD stayed within 11 mV).

Sizes in micrometres (``.option scale=1u``); the pass device is sized by
:func:`twinedge.characterise.regulator.size_pass`.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass

from twinedge.circuits.cl import ClCircuit
from twinedge.circuits.error_element import ErrorElementSizing, as_drawn, drawn_block
from twinedge.circuits.mirror import Device, subckt_text
from twinedge.circuits.rail_buffer import amplifier, nmos_bias
from twinedge.pdk import Pdk

SUBCKT = "twinedge_regulator"
PORTS = ("out", "ref", "vdd", "vbe")


@dataclass(frozen=True)
class RegulatorSizing:
    units: int = 6  # the error amplifier's pair, in the element's unit devices
    pass_w: float = 40.0
    pass_l: float = 0.5
    sense_w: float = 16.0
    sense_l: float = 1.0
    sink_w: float = 4.0  # IB: the follower's fixed current, mirrored from one tail unit
    sink_l: float = 8.0
    shift_w: float = 4.0  # ML: xa a Vsg up onto the pass gate pg; MV: x2 a Vgs down to vset
    shift_l: float = 1.0
    comp_w: float = 20.0
    comp_l: float = 10.0
    damp_l: float = 50.0  # RX: a poly strip from xa to ground (0: none), see devices()
    cap_n: int = 4  # CO: the output's capacitor, PMOS plates drawn whole (0: none)
    cap_w: float = 40.0
    cap_l: float = 30.0
    filter_strips: int = 2  # RF: ref -> the pair's gate, strips as the divider's (0: none)
    filter_cap_n: int = 2  # CF: on the pair's gate, plates as the output's
    top: int = 3  # divider strips from the output to fb
    bottom: int = 1  # from fb to ground
    strip_w: float = 1.0
    strip_l: float = 45.0

    @property
    def gain(self) -> float:
        """The output over the reference the divider sets."""
        return (self.top + self.bottom) / self.bottom

    def as_dict(self) -> dict:
        return asdict(self)


def devices(s: RegulatorSizing = RegulatorSizing()) -> list[Device]:
    unit = ErrorElementSizing()
    divider = [f"d{k}" for k in range(1, s.top)]
    chain = ["out", *divider, "fb", *[f"e{k}" for k in range(1, s.bottom)], "0"]
    strips = [
        Device(f"RD{k}", "r", hi, hi, lo, s.strip_w, s.strip_l)
        for k, (hi, lo) in enumerate(itertools.pairwise(chain))
    ]
    # the reference's low-pass (see module): strips from ref to the pair's gate, plates on it
    gate = "rf" if s.filter_strips else "ref"
    inner = [f"f{k}" for k in range(1, s.filter_strips)]
    filter_chain = ["ref", *inner, gate] if s.filter_strips else []
    strips += [Device(f"RF{k}", "r", a, a, b, s.strip_w, s.strip_l)
               for k, (a, b) in enumerate(itertools.pairwise(filter_chain))]  # fmt: skip
    filt = [Device(f"CF{k}", "p", "vdd", gate, "vdd", s.cap_w, s.cap_l, whole=True)
            for k in range(s.filter_cap_n if s.filter_strips else 0)]  # fmt: skip
    return [
        *amplifier(s.units, "fb", s.comp_w, s.comp_l, gate),
        Device("MV", "n", "vdd", "x2", "vset", s.shift_w, s.shift_l),
        Device("IV", "n", "vset", "nb", "0", s.sink_w, s.sink_l),
        Device("MS", "p", "xa", "vset", "out", s.sense_w, s.sense_l),
        *nmos_bias(),
        Device("IB", "n", "xa", "nb", "0", s.sink_w, s.sink_l),
        Device("ML", "p", "0", "xa", "pg", s.shift_w, s.shift_l),
        Device("IL", "p", "pg", "vbe", "vdd", unit.tail_w, unit.tail_l),
        Device("MP", "p", "out", "pg", "vdd", s.pass_w, s.pass_l),
        *strips,
        *([Device("RX", "r", "xa", "xa", "0", s.strip_w, s.damp_l)] if s.damp_l else []),
        *(
            Device(f"CO{k}", "p", "vdd", "out", "vdd", s.cap_w, s.cap_l, whole=True)
            for k in range(s.cap_n)
        ),
        *filt,
    ]


def drawn_devices(pdk: Pdk, s: RegulatorSizing = RegulatorSizing()) -> list[Device]:
    return as_drawn(devices(s), pdk)


def subckt(pdk: Pdk, s: RegulatorSizing = RegulatorSizing()) -> str:
    """``.subckt twinedge_regulator out ref vdd vbe``."""
    return subckt_text(SUBCKT, PORTS, drawn_devices(pdk, s), pdk)


def block_circuit(pdk: Pdk, s: RegulatorSizing = RegulatorSizing()) -> ClCircuit:
    """The regulator as the two-row block placer takes it: its ports as global nets."""
    return drawn_block(pdk, SUBCKT, PORTS, devices(s), ("0", "vdd", "vbe", "ref", "out"))
