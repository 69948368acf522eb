"""Net and pin names of a twin-edge array, in one place.

The layout labels its nets with these names, the LVS reference netlist and the extracted
netlists use them, and the learning flows find nodes by them:

* lattice node nets: ``n<r>_<c>_F`` (free twin) and ``n<r>_<c>_C`` (clamped twin);
* array pins: each input and constant joins both twins under its spec name; each output
  keeps one pin per twin, ``<name>_F`` and ``<name>_C`` (``Oplus_F``, ``O_C``, ...);
* an edge cell's terminals: ``A_F``, ``B_F``, ``A_C``, ``B_C`` (A and B ends, per twin),
  its shared gate ``G`` and the substrate ``VSS``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from twinedge.sim.network import Network

TWINS = ("F", "C")  # free, clamped
GATE = "G"
SUBSTRATE = "VSS"  # the substrate / ground net of the array and of every cell
BOTH = "FC"  # a pin joining both twins (inputs, constants)


def twin_net(name: str, twin: str) -> str:
    """A net of one twin: ``<name>_F`` or ``<name>_C``."""
    return f"{name}_{twin}"


def node_net(r: int, c: int, twin: str) -> str:
    """The net of lattice node (r, c) in one twin."""
    return twin_net(f"n{r}_{c}", twin)


def node_net_name(net: Network, node: int, twin: str) -> str:
    """The net of node index ``node`` of ``net`` in one twin."""
    r, c = net.node_rc(node)
    return node_net(r, c, twin)


def terminal(side: str, twin: str) -> str:
    """An edge cell's terminal: ``side`` A or B, of one twin (``A_F`` ...)."""
    return twin_net(side, twin)


# an edge's terminals in its subcircuit's port order (A and B of the free, then the clamped)
EDGE_TERMINALS = tuple(terminal(side, twin) for twin in TWINS for side in ("A", "B"))


@dataclass(frozen=True)
class PinPlacement:
    name: str
    node: int
    twin: str  # "F", "C" or "FC" (both twins joined)

    @property
    def twins(self) -> tuple[str, ...]:
        return TWINS if self.twin == BOTH else (self.twin,)


def pin_placements(net: Network) -> list[PinPlacement]:
    """The array's pins: inputs and constants (both twins), outputs (one pin per twin)."""
    pins = [
        PinPlacement(n, int(node), BOTH)
        for n, node in zip(net.input_names, net.input_nodes, strict=True)
    ]
    pins += [
        PinPlacement(n, int(node), BOTH)
        for n, node in zip(net.const_names, net.const_nodes, strict=True)
    ]
    outs = ["Oplus", "Ominus"] if net.differential else ["O"]
    for name, node in zip(outs, net.output_nodes, strict=True):
        pins += [PinPlacement(twin_net(name, t), int(node), t) for t in TWINS]
    return pins


def node_nets(net: Network) -> dict[tuple[int, str], str]:
    """The net of every (node, twin): its pin's name where a pin sits, else its node net."""
    names = {(node, t): node_net_name(net, node, t) for node in range(net.n_nodes) for t in TWINS}
    for pin in pin_placements(net):
        for t in pin.twins:
            names[(pin.node, t)] = pin.name
    return names
