"""The on-chip learning circuit of a ``twin_edge_cl`` cell, as a SPICE subcircuit.

It sources into the shared gate G a current proportional to dV_F^2 - dV_C^2 (design note:
``docs/on_chip_learning.md``):

* four PMOS source followers (F_AF, F_BF, F_AC, F_BC) buffer the edge's four terminals one
  |Vgs| up, so the network nodes drive only gates (no current is drawn from the lattice);
* two cross-coupled PMOS squarers per twin: S1 has its gate on terminal B and its source on
  A's buffer (Vsg = dV + |Vtp| + Vov), S2 the mirror image, so
  I_S1 + I_S2 = k/2 [(Vov + dV)^2 + (Vov - dV)^2] = k (Vov^2 + dV^2),
  independent of the common mode; follower and squarer share their source node and n-well
  (at VDD), so their body effects cancel;
* NMOS mirrors subtract the twins: the free sum is mirrored twice (NMOS, then PMOS) and
  sourced into G, the clamped sum is mirrored once and sunk from G; the constants k Vov^2
  cancel, leaving I_G = k (dV_F^2 - dV_C^2);
* the learn/freeze switches (PMOS at VDD gated by LEARN_B, NMOS at ground gated by LEARN)
  sit at the *sources* of the two output transistors, not on G, so switching them couples
  into G only through the output transistors' small gate-drain overlap;
* the floor: an NMOS from VDD to G with its gate on the global VFLOOR, a source follower that
  holds G above VFLOOR - Vth (= G_min) and is off (subthreshold) above it.

Sizes are in micrometres (``.option scale=1u`` in every deck that uses it).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from twinedge.pdk import Pdk
    from twinedge.pdk.base import PolyResistor

SUBCKT = "twinedge_cl_update"
PORTS = ("af", "bf", "ac", "bc", "g", "vdd", "vbp", "learn", "learnb", "vfloor")


@dataclass(frozen=True)
class Device:
    """A transistor (``kind`` "n" or "p"), or a poly resistor (``kind`` "r": ``d`` and ``s``
    its two ends, ``g`` repeats ``d``, so every net a device touches is still among
    d, g, s)."""

    name: str
    kind: str  # "n", "p" or "r"
    d: str
    g: str
    s: str
    w: float
    l: float  # noqa: E741 - the SPICE parameter's name
    # drawn as one device however wide (not in fingers): a decoupling capacitor, whose
    # diffusion carries no DC current, is denser as one wide plate than as a row of fingers
    whole: bool = False

    @property
    def body(self) -> str:
        return "vdd" if self.kind == "p" else "0"

    def model(self, pdk: Pdk) -> str:
        """The PDK's device model of this transistor (or resistor)."""
        if self.kind == "r":
            return resistor_of(pdk).model
        return pdk.pfet if self.kind == "p" else pdk.nfet

    def lvs_line(self, pin: Callable[[str], str], pdk: Pdk) -> str:
        """The reference netlist's line (``pin``: a net's name there): a MOS with its W and
        L, a resistor with the resistance LVS extracts from its body's squares."""
        if self.kind == "r":
            ohms = resistor_of(pdk).ohms(self.w, self.l)
            ends = f"{pin(self.d)} {pin(self.s)}"
            return f"R{self.name} {ends} {ohms!r} {self.model(pdk)} W={self.w}u L={self.l}u"
        t = " ".join(pin(n) for n in (self.d, self.g, self.s, self.body))
        return f"M{self.name} {t} {self.model(pdk)} W={self.w}u L={self.l}u"

    def renamed(self, suffix: str, nets: dict[str, str]) -> Device:
        """This device placed in a larger netlist: its name suffixed, its terminals on
        ``nets`` (its own net -> the netlist's)."""
        return replace(
            self, name=f"{self.name}{suffix}", d=nets[self.d], g=nets[self.g], s=nets[self.s]
        )

    def spice(self, pdk: Pdk, prefix: str = "X", m: int = 1) -> str:
        """The instance line; ``m``: that many in parallel (one model evaluation)."""
        if self.kind == "r":
            params = resistor_of(pdk).spice_params.format(w=self.w, l=self.l)
            return f"{prefix}{self.name} {self.d} {self.s} 0 {self.model(pdk)} {params}" + (
                f" m={m}" if m > 1 else ""
            )
        return (
            f"{prefix}{self.name} {self.d} {self.g} {self.s} {self.body} {self.model(pdk)} "
            f"w={self.w!r} l={self.l!r}" + (f" m={m}" if m > 1 else "")
        )


def resistor_of(pdk: Pdk) -> PolyResistor:
    """``pdk``'s poly resistor, or why a circuit with one cannot be built on it."""
    if pdk.resistor is None:
        raise ValueError(f"{pdk.name}: no poly resistor device in twinedge for this PDK yet")
    return pdk.resistor


def in_parallel(devices: tuple[Device, ...] | list[Device]) -> list[tuple[Device, int]]:
    """Identical devices on the same nets (a capacitor's fingers) as one device and their
    count: ngspice then evaluates the model once (``m=``), with the same result."""
    groups: dict[tuple, list[Device]] = {}
    for d in devices:
        groups.setdefault((d.kind, d.d, d.g, d.s, d.w, d.l), []).append(d)
    return [(ds[0], len(ds)) for ds in groups.values()]


@dataclass(frozen=True)
class UpdateSizing:
    """Transistor sizes (um) of the update circuit."""

    follower_w: float = 2.0
    follower_l: float = 2.0
    bias_w: float = 4.0
    bias_l: float = 4.0
    # 0.9/15 rather than 1/16: SKY130's pfet model bin of W = 1 um fails BSIM4's parameter
    # check at the ss corner (Pclm < 0)
    squarer_w: float = 0.9
    squarer_l: float = 15.0
    mirror_w: float = 2.0
    mirror_l: float = 8.0
    switch_w: float = 0.42
    switch_l: float = 0.5
    floor_w: float = 0.42
    floor_l: float = 1.0

    def as_dict(self) -> dict:
        return asdict(self)


def devices(s: UpdateSizing = UpdateSizing()) -> list[Device]:
    """Every transistor of the update circuit, in a fixed order (layout and LVS use it)."""
    out: list[Device] = []
    for term in ("af", "bf", "ac", "bc"):
        out.append(Device(f"F{term}", "p", "0", term, f"x{term}", s.follower_w, s.follower_l))
        out.append(Device(f"B{term}", "p", f"x{term}", "vbp", "vdd", s.bias_w, s.bias_l))
    for twin in ("f", "c"):
        out.append(
            Device(f"S1{twin}", "p", f"s{twin}", f"b{twin}", f"xa{twin}", s.squarer_w, s.squarer_l)
        )
        out.append(
            Device(f"S2{twin}", "p", f"s{twin}", f"a{twin}", f"xb{twin}", s.squarer_w, s.squarer_l)
        )
    mw, ml = s.mirror_w, s.mirror_l
    out += [
        Device("NF", "n", "sf", "sf", "0", mw, ml),  # free sum: diode
        Device("NC", "n", "sc", "sc", "0", mw, ml),  # clamped sum: diode
        Device("NF2", "n", "pd", "sf", "0", mw, ml),  # free copy into the PMOS diode
        Device("PD", "p", "pd", "pd", "vdd", mw, ml),
        Device("PO", "p", "g", "pd", "ps", mw, ml),  # sources I_F into G
        Device("PS", "p", "ps", "learnb", "vdd", s.switch_w, s.switch_l),
        Device("NO", "n", "g", "sc", "ns", mw, ml),  # sinks I_C from G
        Device("NS", "n", "ns", "learn", "0", s.switch_w, s.switch_l),
        Device("FL", "n", "vdd", "vfloor", "g", s.floor_w, s.floor_l),  # the G floor
    ]
    return out


def at_shortest_channel(devs: list[Device], pdk: Pdk) -> list[Device]:
    """``devs`` with every channel shorter than ``pdk``'s shortest drawn at its shortest.
    The periphery's logic gates and switches are sized at the shortest channel, written as
    SKY130's (0.15 um); on a PDK whose devices are longer (GF180MCU's 3.3 V ones: 0.28 um)
    they become its shortest, in the netlist, the layout and the LVS reference alike. A
    length a spec sets is checked by the loader instead (it is refused, not changed)."""
    shortest = pdk.rules.nfet_min_l
    return [d if d.l >= shortest else replace(d, l=shortest) for d in devs]


def subckt_text(name: str, ports: tuple[str, ...], devs: list[Device], pdk: Pdk) -> str:
    """A ``.subckt`` of ``devs`` (every circuit module's netlist form)."""
    lines = [f".subckt {name} {' '.join(ports)}", *(d.spice(pdk) for d in devs), f".ends {name}"]
    return "\n".join(lines) + "\n"


def subckt(pdk: Pdk, s: UpdateSizing = UpdateSizing()) -> str:
    """``.subckt twinedge_cl_update af bf ac bc g vdd vbp learn learnb vfloor`` with the
    PDK's devices."""
    return subckt_text(SUBCKT, PORTS, devices(s), pdk)
