"""The learning chip's netlist: the ``twin_edge_cl`` array and its periphery, joined at the
pins of the pin plan (:mod:`twinedge.spec.pinplan`).

Blocks (each a circuit module of its own; here only wired):

* the array: per edge both twins, the gate capacitor's MOS fingers and the update circuit
  (:mod:`twinedge.circuits.memory`);
* the error element (:mod:`twinedge.circuits.error_element`): one amplifier per clamped
  output, reading both free outputs and the label rails, driving the clamped twin's output;
* input drivers (:mod:`twinedge.circuits.input_driver`): each two-level input's bit switches
  its node (both twins) between its rails; label drivers (the same circuit, small) switch
  the element's label nets VL+ / VL- between the rails of the two labels (L = VL+ - VL-);
* the phase sequencer (:mod:`twinedge.circuits.sequencer`) and the bias generator
  (:mod:`twinedge.circuits.bias`);
* the read-out (:mod:`twinedge.circuits.readout`): each edge's G reader (in the array, on
  its row and column select lines) and the block that decodes the address pins, picks a
  free output, and biases READ.

Each block takes VDD through its own zero-volt source (``VDD_<block>``): the supply current
split by block, which the chip's energy report needs. The netlist is flat (top-level nets are
the pins) so a test bench can reach internal nodes for its initial state.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from twinedge.circuits import bias as bias_circuit
from twinedge.circuits import (
    constant_gm,
    error_element,
    input_driver,
    rail_buffer,
    rail_reference,
    readout,
    regulator,
    sequencer,
    slope_readout,
)
from twinedge.circuits import memory as memory_circuit
from twinedge.circuits.mirror import Device, at_shortest_channel, in_parallel, subckt_text

if TYPE_CHECKING:
    from twinedge.pdk import Pdk

BLOCKS = ("array", "error_element", "drivers", "sequencer", "bias", "readout")
# a chip on a tile without analog pins (PinPlan.rails_on_chip) adds these, from VDD33
ON_CHIP_BLOCKS = ("ladder", "reference", "rails", "regulator", "slope_readout")
SUPPLY_33 = "VDD33"  # that chip's supply pin; its VDD is the regulator's output
VBE_RAILS = "vbe_rails"  # the constant-gm reference's bias for the 3.3 V blocks
LABEL_DRIVER = "twinedge_label_driver"
# the label nets only meet gates: one small switch each way
LABEL_SIZING = input_driver.InputDriverSizing(switch_w=1.0, switch_n=1)


def driver_devices(label: bool) -> list[Device]:
    """An input driver's transistors, or (``label``) a label driver's: the one place that
    picks their sizing (the netlist, the layout and LVS all take it from here)."""
    return input_driver.devices(LABEL_SIZING if label else input_driver.InputDriverSizing())


@dataclass(frozen=True)
class OnChipBlocks:
    """A chip's own rails, supply and read-out on a tile without analog pins, sized
    (:func:`twinedge.characterise.on_chip.size_on_chip`; plain data, each block's sizing as
    its dataclass's fields)."""

    taps: tuple[tuple[str, float], ...]  # the ladder's tap nets (chip nets) and volts, low first
    ladder: tuple[tuple, ...]  # rail_reference.Stretch fields, ground up, taps t1 .. tn
    ladder_w: float
    reference: tuple  # constant_gm.ConstantGmSizing
    buffers: tuple[tuple[str, tuple], ...]  # (rail net, rail_buffer.RailBufferSizing)
    regulator: tuple  # regulator.RegulatorSizing
    slope: tuple  # slope_readout.SlopeReadoutSizing
    refs: dict[str, str]  # what each block reads from the ladder: use -> tap net
    # each tap's capacitor (W, L um; (0, 0): none): rail_reference.devices
    ladder_cap: tuple[float, float] = rail_reference.TAP_CAP

    def tap_nets(self) -> dict[str, str]:
        """The ladder's ports t1 .. tn -> the chip nets they drive."""
        return {f"t{k + 1}": net for k, (net, _) in enumerate(self.taps)}

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> OnChipBlocks:
        """From :meth:`as_dict` after a JSON round trip (its lists back to tuples)."""

        def tuples(x):
            return tuple(tuples(i) for i in x) if isinstance(x, list | tuple) else x

        return cls(**{k: dict(v) if k == "refs" else tuples(v) for k, v in d.items()})


@dataclass(frozen=True)
class ChipWiring:
    """What the chip's netlist needs to know of the design (plain data)."""

    edges: tuple[tuple[int, int], ...]
    node_nets: dict[tuple[int, str], str]  # (node, twin) -> lattice net
    inputs: dict[str, tuple[int, str, str]]  # name -> (node, low rail, high rail)
    constants: dict[str, tuple[int, str]]  # name -> (node, rail)
    outputs: tuple[int, int]  # (plus, minus) nodes
    # VL+ and VL-: (rail at LABEL 0, rail at LABEL 1); L = VL+ - VL-
    label_rails: dict[str, tuple[str, str]]
    edge_devices: tuple[Device, ...]  # one edge: twins and gate capacitor fingers
    k: float  # the error element's designed weight at NUDGE high
    element_sizing: error_element.ErrorElementSizing
    memory_sizing: memory_circuit.MemorySizing
    bias_strings: tuple[bias_circuit.BiasString, ...]
    bias_sizing: bias_circuit.BiasSizing
    read_map: readout.ReadMap
    node_rc: dict[int, tuple[int, int]]  # lattice node -> (row, column)
    on_chip: OnChipBlocks | None = None  # a tile without analog pins: its rails, supply, read-out


def chip_net(net: str) -> str:
    """A chip net as the layout labels it and LVS names it: the array's names (upper-case
    globals), VSS for ground, one VDD for every block's supply."""
    if net == "0":
        return "VSS"
    if net.startswith("vdd33"):
        return SUPPLY_33
    if net.startswith("vdd"):
        return "VDD"
    return net.upper() if net.islower() else net


def bit_pin(name: str) -> str:
    """The digital pin that selects input ``name``'s level (the input's node net keeps the
    array's pin name)."""
    return f"{name}_BIT"


def _node(w: ChipWiring, node: int, twin: str) -> str:
    """A lattice node's net in the chip: the array's net names (its pins' names at inputs
    and outputs), a constant's node its rail pin."""
    for n, rail in w.constants.values():
        if n == node:
            return rail
    return w.node_nets[(node, twin)]


def subckts(pdk: Pdk, w: ChipWiring) -> str:
    """Every block's ``.subckt``."""
    label_driver = at_shortest_channel(driver_devices(True), pdk)
    return "".join([
        memory_circuit.subckt(pdk, w.memory_sizing),
        error_element.subckt(pdk, w.k, True, w.element_sizing),
        input_driver.subckt(pdk),
        subckt_text(LABEL_DRIVER, input_driver.PORTS, label_driver, pdk),
        sequencer.subckt(pdk),
        bias_circuit.subckt(pdk, w.bias_strings, w.bias_sizing),
        readout.subckt(pdk, w.read_map),
        *_on_chip_subckts(pdk, w.on_chip),
    ])  # fmt: skip


def _on_chip_subckts(pdk: Pdk, oc: OnChipBlocks | None) -> list[str]:
    if oc is None:
        return []
    stretches = [rail_reference.Stretch(*f) for f in oc.ladder]
    buffers = [rail_buffer.subckt(pdk, rail_buffer.RailBufferSizing(*f)).replace(
        rail_buffer.SUBCKT, buffer_subckt(k)) for k, (_, f) in enumerate(oc.buffers)]  # fmt: skip
    return [
        rail_reference.subckt(pdk, stretches, oc.ladder_w, oc.ladder_cap),
        constant_gm.subckt(pdk, constant_gm.ConstantGmSizing(*oc.reference)),
        *buffers,
        regulator.subckt(pdk, regulator.RegulatorSizing(*oc.regulator)),
        slope_readout.subckt(pdk, slope_readout.SlopeReadoutSizing(*oc.slope)),
    ]


def buffer_subckt(k: int) -> str:
    """Rail buffer ``k``'s subcircuit name (each rail's is sized for its own load)."""
    return f"{rail_buffer.SUBCKT}_{k}"


def address_pin(bit: int) -> str:
    """The digital pin of the read-out address's bit ``bit``."""
    return f"RADDR{bit}"


@dataclass(frozen=True)
class BlockInstance:
    """One periphery block in the chip: its instance name, circuit and nets (port -> chip
    net; a port not named is the chip net of its own name)."""

    name: str
    block: str  # which of BLOCKS supplies it
    subckt: str
    ports: tuple[str, ...]
    nets: dict[str, str]

    def net(self, port: str) -> str:
        return self.nets.get(port, port)

    def spice(self) -> str:
        return f"X{self.name} {' '.join(self.net(p) for p in self.ports)} {self.subckt}"


def periphery(w: ChipWiring) -> list[BlockInstance]:
    """Every periphery block instance and its nets (the layout places these, LVS checks
    them, the transient simulates them)."""
    out = []
    ve = "vdd_error_element"
    plus, minus = w.outputs
    for side, (own, other), (lp, lm) in (("P", (plus, minus), ("LP", "LM")),
                                          ("M", (minus, plus), ("LM", "LP"))):  # fmt: skip
        nets = {"out": _node(w, own, "C"), "o": _node(w, own, "F"), "oo": _node(w, other, "F"),
                "lp": lp, "lm": lm, "vdd": ve, "vbe": "vbe_ee"}  # fmt: skip
        out.append(BlockInstance(f"E{side}", "error_element", error_element.SUBCKT_DIFF,
                                 error_element.PORTS_DIFF, nets))  # fmt: skip
    vd = "vdd_drivers"
    for name, (node, lo, hi) in w.inputs.items():
        nets = {"node": _node(w, node, "F"), "bit": bit_pin(name), "vlo": lo, "vhi": hi,
                "vdd": vd}  # fmt: skip
        out.append(BlockInstance(f"D{name}", "drivers", input_driver.SUBCKT,
                                 input_driver.PORTS, nets))  # fmt: skip
    for net, (lo, hi) in w.label_rails.items():
        nets = {"node": net, "bit": "LABEL", "vlo": lo, "vhi": hi, "vdd": vd}
        out.append(BlockInstance(f"D{net}", "drivers", LABEL_DRIVER, input_driver.PORTS, nets))
    seq = {"clk": "PHASE", "train": "TRAIN", "ena": "ENA", "rst_n": "RST_N",
           "vdd": "vdd_sequencer", "vfloor_in": "vfloor_bias", "vreset": "VRESET"}  # fmt: skip
    out.append(BlockInstance("SEQ", "sequencer", sequencer.SUBCKT, sequencer.PORTS, seq))
    out.append(BlockInstance("BIAS", "bias", bias_circuit.SUBCKT, bias_circuit.PORTS,
                             {"vdd": "vdd_bias", "vfloor": "vfloor_bias"}))  # fmt: skip
    m = w.read_map
    nets = {f"a{k}": address_pin(k) for k in range(m.bits)}
    nets |= {"op": _node(w, plus, "F"), "om": _node(w, minus, "F"), "read": "READ",
             "vdd": "vdd_readout"}  # fmt: skip
    out.append(BlockInstance("READ", "readout", readout.SUBCKT, m.ports(), nets))
    return out + _on_chip_instances(w.on_chip)


def _on_chip_instances(oc: OnChipBlocks | None) -> list[BlockInstance]:
    """The ladder (its taps: the rails' references, the label and reset levels), the
    constant-gm reference, a buffer per rail that carries the network's current, the
    regulator (VDD from VDD33) and the digital read-out (READ timed on DOUT)."""
    if oc is None:
        return []
    stretches = [rail_reference.Stretch(*f) for f in oc.ladder]
    ladder = {"vdd": "vdd33_ladder", **oc.tap_nets()}
    out = [
        BlockInstance("LADDER", "ladder", rail_reference.SUBCKT,
                      rail_reference.ports(stretches), ladder),
        BlockInstance("CGM", "reference", constant_gm.SUBCKT, constant_gm.PORTS,
                      {"vbe": VBE_RAILS, "vdd": "vdd33_reference"}),
    ]  # fmt: skip
    for k, (rail, _) in enumerate(oc.buffers):
        nets = {"out": rail, "ref": oc.refs[rail], "vdd": "vdd33_rails", "vbe": VBE_RAILS}
        out.append(BlockInstance(f"RB{k}", "rails", buffer_subckt(k), rail_buffer.PORTS, nets))
    out.append(BlockInstance("REG", "regulator", regulator.SUBCKT, regulator.PORTS,
                             {"out": "VDD", "ref": oc.refs["regulator"], "vdd": "vdd33_regulator",
                              "vbe": VBE_RAILS}))  # fmt: skip
    slope = {"dout": "DOUT", "read": "READ", "vlo": oc.refs["slope_lo"],
             "vhi": oc.refs["slope_hi"], "rst": "RRST", "cal": "RCAL", "hi": "RHI",
             "vdd": "vdd33_slope_readout", "vbe": VBE_RAILS}  # fmt: skip
    out.append(BlockInstance("SLOPE", "slope_readout", slope_readout.SUBCKT,
                             slope_readout.PORTS, slope))  # fmt: skip
    return out


def block_devices(b: BlockInstance, w: ChipWiring, pdk: Pdk) -> list[Device]:
    """The block's transistors as drawn (wide ones in fingers): what its layout holds and
    the chip's LVS reference lists."""
    if b.block == "error_element":
        return error_element.drawn_devices(pdk, w.k, True, w.element_sizing)
    if b.block == "drivers":
        devs = driver_devices(b.subckt == LABEL_DRIVER)
    elif b.block == "sequencer":
        devs = sequencer.devices()
    elif b.block == "readout":
        devs = readout.devices(w.read_map)
    elif b.block == "bias":
        devs = bias_circuit.devices(w.bias_strings, w.bias_sizing)
    else:
        devs = _on_chip_devices(b, w.on_chip)
    return error_element.as_drawn(devs, pdk)


def _on_chip_devices(b: BlockInstance, oc: OnChipBlocks | None) -> list[Device]:
    if oc is None:
        raise ValueError(f"block {b.name}: the chip has no on-chip rails")
    if b.block == "ladder":
        stretches = [rail_reference.Stretch(*f) for f in oc.ladder]
        return rail_reference.devices(stretches, oc.ladder_w, oc.ladder_cap)
    if b.block == "reference":
        return constant_gm.devices(constant_gm.ConstantGmSizing(*oc.reference))
    if b.block == "rails":
        return rail_buffer.devices(rail_buffer.RailBufferSizing(*oc.buffers[int(b.name[2:])][1]))
    if b.block == "regulator":
        return regulator.devices(regulator.RegulatorSizing(*oc.regulator))
    if b.block == "slope_readout":
        return slope_readout.devices(slope_readout.SlopeReadoutSizing(*oc.slope))
    raise ValueError(f"block {b.name}: no block {b.block!r}")


def edge_terminals(w: ChipWiring, e: int) -> dict[str, str]:
    """Edge ``e``'s circuit nets (af, bf, ac, bc, g, 0) as chip nets."""
    a, b = w.edges[e]
    return {"af": _node(w, a, "F"), "bf": _node(w, b, "F"), "ac": _node(w, a, "C"),
            "bc": _node(w, b, "C"), "g": f"g{e}", "0": "0"}  # fmt: skip


def reader_terminals(w: ChipWiring, e: int) -> dict[str, str]:
    """Edge ``e``'s reader nets as chip nets: its G, READ, its row and column select lines,
    its own inner nets; its supply is the read-out's (the energy report books it there)."""
    a, b = w.edges[e]
    lines = w.read_map.select_lines(w.node_rc[a], w.node_rc[b])
    return {"g": f"g{e}", "read": "READ", "vdd": "vdd_readout", "rd0": f"rd0_{e}",
            "rd1": f"rd1_{e}", **lines}  # fmt: skip


def instances(pdk: Pdk, w: ChipWiring) -> list[str]:
    """The chip's element lines: pins are the nets VDD, 0 (VGND), PHASE, TRAIN, ENA, RST_N,
    each input's bit (:func:`bit_pin`), LABEL, the read-out's address bits
    (:func:`address_pin`), READ and the analog rails; with ``w.on_chip``, VDD33 instead of
    VDD (the regulator makes VDD), DOUT, RRST, RCAL and RHI instead of READ and the rails
    (the chip makes them)."""
    lines = [f"VDD_{b} VDD vdd_{b} 0" for b in BLOCKS]
    if w.on_chip:
        lines += [f"VDD33_{b} {SUPPLY_33} vdd33_{b} 0" for b in ON_CHIP_BLOCKS]
    va = "vdd_array"
    mem = {"vdd": va, "vbj": va}
    for e in range(len(w.edges)):
        term = edge_terminals(w, e)
        lines += [d.renamed(f"_{e}", term).spice(pdk, m=m) for d, m in in_parallel(w.edge_devices)]
        nets = {**mem, **term}
        lines.append(f"XU{e} {' '.join(nets.get(p, p) for p in memory_circuit.PORTS)} "
                     f"{memory_circuit.SUBCKT}")  # fmt: skip
        rt = reader_terminals(w, e)
        readers = at_shortest_channel(readout.reader_devices(), pdk)
        lines += [d.renamed(f"_{e}", rt).spice(pdk) for d in readers]
    lines += [b.spice() for b in periphery(w)]
    return lines
