"""The update circuits a ``twin_edge_cl`` cell can carry, as the layout and LVS see them.

Two circuits (``cell.update.circuit`` in the spec):

* ``memory`` (default): the time-differenced circuit (:mod:`twinedge.circuits.memory`):
  one squarer, mirror and current memory carry both twins' terms one after the other, so
  their mismatch cancels; it reads the clamped twin only and needs the CAL/CALB phase lines
  and two cascode biases;
* ``mirror``: the first circuit (:mod:`twinedge.circuits.mirror`): both twins' squarers
  subtracted through two mirror paths (offset ~4 % of full scale per edge: it does not
  learn XOR on chip, kept for comparison).

The layout needs more than the device list: which global nets the block brings out, and in
which order the channel's tracks run. The memory circuit's order keeps its charge-sensitive
nodes apart: X (which is shared into G at LEARN) on the track next to the NMOS row, the
memory's hold node ``m`` between two DC tracks (VDD, VBP) far from X, G between VFLOOR and
VSS; devices on X stand first in their rows so X's track is short. The hold capacitors
(``bed``) lie under the channel (:mod:`twinedge.cells.cap_bed`), their plate (the hold node)
kept as far from X's track as the rows kept it (``bed_avoid``).

Every column that rises through X's track inside its span couples to X, and X's capacitance
is what LEARN shares into G (a pull of G towards X's CAL voltage); a column of the hold node
``m`` there couples X's jump at LEARN onto the memory (0.25 fF of such crossings made a
quarter of the extracted cell's pull). So the NMOS row runs SD, SW (m left, X right), NC,
LN, FL: the hold node's columns lie left of X's span, and X's span holds only NC, LN, FL
and the n-tap before the PMOS on X (LP, MC).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cache
from typing import TYPE_CHECKING

from twinedge.circuits import memory as memory_circuit
from twinedge.circuits import mirror as update_circuit
from twinedge.circuits import readout
from twinedge.circuits.mirror import Device, at_shortest_channel
from twinedge.pdk import get as get_pdk

if TYPE_CHECKING:
    from twinedge.spec.schema import Design, UpdateCircuit

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
    "read": "READ",
    "rselb": "RSELB",  # per lattice row in the array (the read-out's select lines)
    "cselb": "CSELB",  # per site column and direction
}
# the read-out's select lines: array wiring per row / column, not one global net
SELECT_LINES = ("rselb", "cselb")
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
    nmos_order: tuple[str, ...] = ()  # NMOS left to right in row 0 (default: device order)
    # capacitors laid under the channel (twinedge.cells.cap_bed), and the nets whose tracks
    # they must not lie under
    bed: tuple[str, ...] = ()
    bed_avoid: tuple[str, ...] = ()

    @property
    def edge_nets(self) -> tuple[str, ...]:
        """The edge's nets the circuit reads, in landing order."""
        used = {n for d in self.devices for n in (d.d, d.g, d.s)}
        return tuple(n for n in EDGE_NETS if n in used)


def _globals(devs: tuple[Device, ...]) -> tuple[str, ...]:
    used = {n for d in devs for n in (d.d, d.g, d.s)} | {"vdd", "0"}
    return tuple(n for n in PORT_NAMES if n in used)


Sizes = tuple[tuple[str, float], ...]  # (MemorySizing field, um): a spec's overrides


def memory_sizing(hold_cap_n: int = 1, sizes: Sizes = ()) -> memory_circuit.MemorySizing:
    """The memory circuit's sizing: its defaults, with the spec's hold capacitor count and
    transistor sizes (``cell.update.sizing``)."""
    return memory_circuit.MemorySizing(hold_cap_n=hold_cap_n, **dict(sizes))


@cache
def circuit(
    name: str, hold_cap_n: int = 1, reader: bool = False, sizes: Sizes = (), pdk: str | None = None
) -> ClCircuit:
    """The named circuit (``hold_cap_n``: the memory circuit's parallel hold capacitors,
    ``cell.update.hold_cap_n``; ``sizes``: its transistor sizes, ``cell.update.sizing``);
    ``reader``: with the edge's G reader (:func:`twinedge.circuits.readout.reader_devices`,
    a chip's cells; its switches at ``pdk``'s shortest channel, so a reader needs the PDK)."""
    if reader:
        if pdk is None:
            raise ValueError("the G reader's devices depend on the PDK: name it")
        base = circuit(name, hold_cap_n, False, sizes, pdk)
        readers = at_shortest_channel(readout.reader_devices(), get_pdk(pdk))
        devs = (*base.devices, *readers)
        # READ and the select lines sit among the DC tracks, away from X, m and G
        k = base.channel.index("vfloor")
        channel = (*base.channel[:k], *readout.READER_PORTS, *base.channel[k:])
        # the follower first in the NMOS row, left of X's span (a column through X's track
        # there couples to what LEARN shares into G)
        order = ("RF", *base.nmos_order) if base.nmos_order else ()
        return replace(base, devices=devs, globals=_globals(devs), channel=channel,
                       nmos_order=order)  # fmt: skip
    if name == "mirror":
        devs = tuple(update_circuit.devices())
        return ClCircuit(
            "mirror",
            devs,
            _globals(devs),
            ("vdd", "vbp", "learn", "learnb", "vfloor", "g", "0"),
        )
    if name == "memory":
        devs = tuple(memory_circuit.devices(memory_sizing(hold_cap_n, sizes)))
        used = {n for d in devs for n in (d.d, d.g, d.s)}
        channel = ("x", "vcn", "cal", "calb", "learn", "learnb", "vdd", "m", "vbp", "vcp",
                   "vbj", "vfloor", "g", "0")  # fmt: skip
        return ClCircuit(
            "memory",
            devs,
            _globals(devs),
            tuple(n for n in channel if n in used | {"vdd", "0"}),
            frozenset({"NC", "LN", "MC", "M"}),
            ("LP", "MC", "M"),
            ("ND", "NO", "SD", "SW", "NC", "LN", "FL"),
            tuple(d.name for d in devs if d.name.startswith("CM")),  # the hold capacitors
            ("x",),
        )
    raise ValueError(f"unknown update circuit {name!r}; allowed: {', '.join(CIRCUITS)}")


def of_update(update: UpdateCircuit) -> ClCircuit:
    """The circuit a spec's ``cell.update`` names, at its hold capacitor count and sizes."""
    return circuit(update.circuit, update.hold_cap_n, False, update.sizing.items())


def of_design(design: Design) -> ClCircuit:
    """The circuit of a design's cells: a chip's carry the G reader too."""
    update = design.cell.update
    reader = design.chip is not None
    return circuit(update.circuit, update.hold_cap_n, reader, update.sizing.items(), design.pdk)
