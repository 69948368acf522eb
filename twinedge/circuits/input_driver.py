"""Input drivers: a datapoint bit sets an input node to one of two rails.

An input that takes two levels in the dataset (``twinedge.spec.pinplan``) is a digital bit
on the chip: NMOS switches connect the input's net (both twins' input nodes) to the low or
the high rail. NMOS alone passes the 0 .. 0.45 V levels with at least 1.35 V of gate drive
(VDD 1.8 V), so no PMOS half is needed. An inverter makes the bit's complement. The network
draws its input current through the switch: its on-resistance moves the input node by
I x R_on, which :mod:`twinedge.characterise.input_driver` measures and carries into the
network's equilibria.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from twinedge.circuits.mirror import Device, at_shortest_channel, subckt_text

if TYPE_CHECKING:
    from twinedge.pdk import Pdk

SUBCKT = "twinedge_input_driver"
PORTS = ("node", "bit", "vlo", "vhi", "vdd")


@dataclass(frozen=True)
class InputDriverSizing:
    """Sizes (um): the switches are wide (the network's input current flows through them),
    the inverter minimal."""

    switch_w: float = 5.0
    switch_l: float = 0.15
    switch_n: int = 4  # parallel fingers of switch_w
    inv_n_w: float = 0.42
    inv_p_w: float = 0.84
    inv_l: float = 0.15

    def as_dict(self) -> dict:
        return asdict(self)


def devices(s: InputDriverSizing = InputDriverSizing()) -> list[Device]:
    """The inverter (bitb) and the two switches, each in ``switch_n`` fingers."""
    out = [
        Device("IN", "n", "bitb", "bit", "0", s.inv_n_w, s.inv_l),
        Device("IP", "p", "bitb", "bit", "vdd", s.inv_p_w, s.inv_l),
    ]
    for k in range(s.switch_n):
        out += [
            Device(f"SH_{k}", "n", "node", "bit", "vhi", s.switch_w, s.switch_l),
            Device(f"SL_{k}", "n", "node", "bitb", "vlo", s.switch_w, s.switch_l),
        ]
    return out


def subckt(pdk: Pdk, s: InputDriverSizing = InputDriverSizing()) -> str:
    return subckt_text(SUBCKT, PORTS, at_shortest_channel(devices(s), pdk), pdk)
