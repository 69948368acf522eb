"""The phase sequencer: a step's CAL and LEARN phases and the nudge sign from the clock.

The board clocks the chip; each clock period is one learning step on the datapoint the
board presents on the input bits (the datapoint order comes from outside: the board's
microcontroller picks it, as the seed's breadboard did):

* clock low: CAL. The update circuits' memories sample the clamped twin, which the error
  element holds at -eta (NUDGE low);
* clock high: LEARN. CAL opens first, then LEARN closes, then NUDGE goes high (+eta): the
  order of the characterised step (:mod:`twinedge.characterise.memory`);
* clock low again: LEARN opens first, then CAL closes and NUDGE falls (-eta) a few ns
  later; the CAL phase (microseconds) lets the memory settle to the -eta state.

CAL and LEARN come from a non-overlapping clock generator (two cross-coupled NOR gates, each
waiting for the other's delayed output), so the two switches are never closed together.
TRAIN, ENA and RST_N gate the clock: any of them low holds the chip in CAL with LEARN open,
every G frozen, and turns the error element off (its bias VBE_EE pulled to VDD): in
inference it has nothing to do, and near the top of its input range it rang into the free
outputs. RST_N low also resets G, in two phases the clock chooses, so that every G lands on
one level from wherever it was (a trained chip, or power-up):

* RST_N low, clock high: discharge. CAL *and* LEARN close together (the only time they do)
  and the floor line is pulled to ground: each cell's current memory is diode-connected to
  its G, which the squarer's current sinks down to the memory's diode level (~0.7 V, below
  any G the floor sets); G below that level rises to it;
* RST_N low, clock low: charge. LEARN opens, the floor line carries the board's VRESET, and
  each cell's floor device charges its G up to about VRESET - Vth.

CALB's high level is a bias (its driver's supply, VCALB): it trims the CAL
switch's charge in every cell, so its driver is a transmission gate from VCALB (the NMOS
passes a trimmed level under the PMOS's threshold, the PMOS one near VDD) and an NMOS
pull-down. LEARNB and NUDGEB are the complements,
taken one gate before the true outputs. Sizes in micrometres.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from twinedge.circuits.logic import inv, nand, nor
from twinedge.circuits.mirror import Device, at_shortest_channel, subckt_text

if TYPE_CHECKING:
    from twinedge.pdk import Pdk

SUBCKT = "twinedge_sequencer"
PORTS = (
    "clk", "train", "ena", "rst_n", "cal", "calb", "learn", "learnb", "nudge", "nudgeb",
    "vdd", "vcalb", "vbe", "vbe_ee", "vfloor_in", "vreset", "vfloor",
)  # fmt: skip


@dataclass(frozen=True)
class SequencerSizing:
    """Logic minimal, the delay inverters long (the non-overlap gap), the line drivers wide
    (each line reaches every cell of the array)."""

    n_w: float = 0.42
    p_w: float = 0.84
    l: float = 0.15  # noqa: E741 - the SPICE parameter's name
    delay_l: float = 1.0
    driver_n: float = 1.0
    driver_p: float = 2.0
    calb_w: float = 1.0

    def as_dict(self) -> dict:
        return asdict(self)


def devices(s: SequencerSizing = SequencerSizing()) -> list[Device]:
    """Every transistor, in a fixed order."""
    n, p, gl, dl = s.n_w, s.p_w, s.l, s.delay_l
    dn, dp = s.driver_n, s.driver_p
    return [
        *nand("EN", ("train", "ena", "rst_n"), "enb", n, p, gl),
        *inv("IEN", "enb", "en", n, p, gl),
        *nand("GO", ("clk", "en"), "gob", n, p, gl),
        *inv("IGO", "gob", "go", n, p, gl),
        # learn_i = go AND NOT cal_d; cal_i = NOT go AND NOT learn_d
        *nor("NL", ("gob", "cal"), "learn_i", n, p, gl),
        *nor("NC", ("go", "learn"), "cal_i", n, p, gl),
        # the reset's discharge phase (RST_N low, clock high) closes LEARN and CAL together
        *nand("DS", ("rst", "clk"), "disb", n, p, gl),
        *inv("IDS", "disb", "dis", n, p, gl),
        *nor("DL1", ("learn_i", "dis"), "learnb", dn, 2 * dp, dl),  # delay; LEARNB's driver
        *inv("DL2", "learnb", "learn", dn, dp, gl),
        *nor("DC1", ("cal_i", "dis"), "cal_n", n, 2 * p, dl),
        *inv("DC2", "cal_n", "cal", dn, dp, gl),
        *inv("ICB", "cal", "calb_l", n, p, gl),  # CALB rises once CAL has fallen
        Device("CBH", "n", "vcalb", "calb_l", "calb", s.calb_w, gl),
        Device("CBP", "p", "calb", "cal", "vcalb", 2 * s.calb_w, gl),
        Device("CBL", "n", "calb", "cal", "0", s.calb_w, gl),
        *inv("DN1", "learn", "nudgeb", dn, dp, dl),  # the sign follows LEARN
        *inv("DN2", "nudgeb", "nudge", dn, dp, gl),
        # the error element's bias only while training: its tails off otherwise (in
        # inference, with outputs near its input range's top, it rang into the free outputs)
        Device("EEN", "n", "vbe", "en", "vbe_ee", s.calb_w, gl),
        Device("EEP", "p", "vbe_ee", "en", "vdd", s.calb_w, gl),
        # G's reset: while RST_N is low the cells' floor line carries VRESET instead of the
        # floor bias (charge phase: every floor device charges its G up to about
        # VRESET - Vth), or ground (discharge phase: the floor devices off)
        *inv("IRS", "rst_n", "rst", n, p, gl),
        *nand("CH", ("rst", "disb"), "chgb", n, p, gl),
        *inv("ICH", "chgb", "chg", n, p, gl),
        Device("FPN", "n", "vfloor_in", "rst_n", "vfloor", s.calb_w, gl),
        Device("FPP", "p", "vfloor", "rst", "vfloor_in", 2 * s.calb_w, gl),
        Device("FRN", "n", "vreset", "chg", "vfloor", s.calb_w, gl),
        Device("FRP", "p", "vfloor", "chgb", "vreset", 2 * s.calb_w, gl),
        Device("FDN", "n", "vfloor", "dis", "0", s.calb_w, gl),
    ]


def subckt(pdk: Pdk, s: SequencerSizing = SequencerSizing()) -> str:
    return subckt_text(SUBCKT, PORTS, at_shortest_channel(devices(s), pdk), pdk)
