"""The update circuits a ``twin_edge_cl`` cell can carry, as the layout and LVS see them.

Two circuits (``cell.update.circuit`` in the spec):

* ``memory`` (default): the time-differenced circuit (:mod:`twinedge.flow.memory_circuit`):
  one squarer, mirror and current memory carry both twins' terms one after the other, so
  their mismatch cancels; it reads the clamped twin only and needs the CAL/CALB phase lines
  and two cascode biases;
* ``mirror``: the first circuit (:mod:`twinedge.flow.update_circuit`): both twins' squarers
  subtracted through two mirror paths (offset ~4 % of full scale per edge: it does not
  learn XOR on chip, kept for comparison).

The layout needs more than the device list: which global nets the block brings out, and in
which order the channel's tracks run. The memory circuit's order keeps its charge-sensitive
nodes apart: X (which is shared into G at LEARN) on the track next to the NMOS row, the
memory's hold node ``m`` between two DC tracks (VDD, VBP) far from X, G between VFLOOR and
VSS; devices on X stand first in their rows so X's track is short.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from twinedge.flow import memory_circuit, update_circuit
from twinedge.flow.update_circuit import Device

CIRCUITS = ("memory", "mirror")
PORT_NAMES = {  # global nets and their array pin names
    "vdd": "VDD",
    "0": "VSS",
    "vbp": "VBP",
    "vcn": "VCN",
    "vcp": "VCP",
    "vbj": "VBJ",
    "cal": "CAL",
    "calb": "CALB",
    "learn": "LEARN",
    "learnb": "LEARNB",
    "vfloor": "VFLOOR",
}
EDGE_NETS = ("ac", "af", "g", "bf", "bc")


@dataclass(frozen=True)
class ClCircuit:
    name: str
    devices: tuple[Device, ...]
    globals: tuple[str, ...]  # global nets the block brings out
    # channel tracks bottom up (global pitch); the remaining nets follow at signal pitch
    channel: tuple[str, ...]
    flipped: frozenset[str] = frozenset()  # devices drawn drain-left
    row_first: tuple[str, ...] = ()  # PMOS placed first in row 0 (beside the NMOS)

    @property
    def edge_nets(self) -> tuple[str, ...]:
        """The edge's nets the circuit reads, in landing order."""
        used = {n for d in self.devices for n in (d.d, d.g, d.s)}
        return tuple(n for n in EDGE_NETS if n in used)


def _globals(devs: tuple[Device, ...]) -> tuple[str, ...]:
    used = {n for d in devs for n in (d.d, d.g, d.s)} | {"vdd", "0"}
    return tuple(n for n in PORT_NAMES if n in used)


@cache
def circuit(name: str) -> ClCircuit:
    """The named circuit at its default sizing."""
    if name == "mirror":
        devs = tuple(update_circuit.devices())
        return ClCircuit(
            "mirror",
            devs,
            _globals(devs),
            ("vdd", "vbp", "learn", "learnb", "vfloor", "g", "0"),
        )
    if name == "memory":
        devs = tuple(memory_circuit.devices())
        used = {n for d in devs for n in (d.d, d.g, d.s)}
        channel = ("x", "vcn", "cal", "calb", "learn", "learnb", "vdd", "m", "vbp", "vcp",
                   "vbj", "vfloor", "g", "0")  # fmt: skip
        return ClCircuit(
            "memory",
            devs,
            _globals(devs),
            tuple(n for n in channel if n in used | {"vdd", "0"}),
            frozenset({"SW", "FL", "MC", "M"}),
            ("LP", "MC", "M"),
        )
    raise ValueError(f"unknown update circuit {name!r}; allowed: {', '.join(CIRCUITS)}")
