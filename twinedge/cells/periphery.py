"""Layout of the chip's periphery blocks (phase sequencer, bias generator, input and label
drivers, read-out and its digital converter, rail buffers, their reference ladder and bias
reference, the supply regulator): each block's netlist placed and routed by the two-row
block placer of the learning cell's update circuit, its ports labelled on their via stacks,
so a block's layout is generated from its circuit exactly as the cells are (and LVS compares
it with that circuit).
"""

from __future__ import annotations

import gdsfactory as gf

from twinedge.cells.twin_edge_cl import draw_block
from twinedge.circuits import bias as bias_circuit
from twinedge.circuits import (
    constant_gm,
    input_driver,
    rail_buffer,
    rail_reference,
    readout,
    regulator,
    sequencer,
    slope_readout,
)
from twinedge.circuits.chip import LABEL_DRIVER, driver_devices
from twinedge.circuits.cl import ClCircuit
from twinedge.circuits.error_element import drawn_block
from twinedge.circuits.mirror import Device
from twinedge.pdk import active
from twinedge.pdk import tech as pdk


def labelled(cc: ClCircuit) -> gf.Component:
    """``cc`` placed and routed, a met1 label on each port's via stack."""
    c = gf.Component()
    ref = c.add_ref(draw_block(cc))
    info = ref.cell.info
    label_layer = pdk.label_of[pdk.MET1]
    for port in cc.globals:
        x, y = info["stacks"][port]
        c.add_label("VSS" if port == "0" else port.upper(), position=(x, y), layer=label_layer)
    c.info["length"], c.info["height"] = info["length"], info["height"]
    c.info["stacks"] = info["stacks"]
    return c


def block_circuit(name: str, ports: tuple[str, ...], devs: list[Device]) -> ClCircuit:
    """A periphery circuit as the placer takes it: wide devices in fingers, every port a
    global net (a via stack each), the supplies' tracks first."""
    channel = ("0", "vdd", *(n for n in ports if n != "vdd"))
    return drawn_block(active(), name, ports, devs, channel)


def sequencer_circuit() -> ClCircuit:
    return block_circuit(sequencer.SUBCKT, sequencer.PORTS, sequencer.devices())


def driver_circuit(label: bool = False) -> ClCircuit:
    name = LABEL_DRIVER if label else input_driver.SUBCKT
    return block_circuit(name, input_driver.PORTS, driver_devices(label))


def bias_strings(strings: tuple[tuple, ...]) -> tuple[bias_circuit.BiasString, ...]:
    return tuple(bias_circuit.BiasString(*s) for s in strings)


def bias_circuit_block(strings: tuple[tuple, ...]) -> ClCircuit:
    devs = bias_circuit.devices(bias_strings(strings))
    return block_circuit(bias_circuit.SUBCKT, bias_circuit.PORTS, devs)


@gf.cell
def sequencer_block() -> gf.Component:
    return labelled(sequencer_circuit())


@gf.cell
def driver_block(label: bool = False) -> gf.Component:
    return labelled(driver_circuit(label))


@gf.cell
def bias_block(strings: tuple[tuple, ...]) -> gf.Component:
    """``strings``: each bias's :class:`twinedge.circuits.bias.BiasString` fields, in
    :data:`twinedge.circuits.bias.BIASES` order (a sized generator)."""
    return labelled(bias_circuit_block(strings))


@gf.cell
def readout_block(rows: int, cols: int) -> gf.Component:
    """The read-out's decoder, output follower and READ's bias, for ``rows`` x ``cols``
    sites (:class:`twinedge.spec.pinplan.ReadMap`)."""
    m = readout.ReadMap(rows, cols)
    return labelled(block_circuit(readout.SUBCKT, m.ports(), readout.devices(m)))


@gf.cell
def rail_buffer_block(drive: str, drive_w: float, bias_w: float) -> gf.Component:
    """A rail buffer (:mod:`twinedge.circuits.rail_buffer`) with its output stage sized
    (:func:`twinedge.characterise.rail_buffer.size_output`)."""
    s = rail_buffer.RailBufferSizing(drive=drive, drive_w=drive_w, bias_w=bias_w)
    return labelled(rail_buffer.block_circuit(active(), s))


def rail_reference_circuit(
    stretches: tuple[tuple, ...],
    w_um: float,
    tap_cap: tuple[float, float] = rail_reference.TAP_CAP,
) -> ClCircuit:
    """``stretches``: each :class:`twinedge.circuits.rail_reference.Stretch`'s fields, ground
    up (a sized ladder: :func:`twinedge.characterise.rail_reference.size_ladder`)."""
    s = [rail_reference.Stretch(*f) for f in stretches]
    devs = rail_reference.devices(s, w_um, tap_cap)
    return block_circuit(rail_reference.SUBCKT, rail_reference.ports(s), devs)


@gf.cell
def rail_reference_block(
    stretches: tuple[tuple, ...],
    w_um: float,
    tap_cap: tuple[float, float] = rail_reference.TAP_CAP,
) -> gf.Component:
    """The rails' reference ladder: its poly strips, each tap a global net, its capacitors."""
    return labelled(rail_reference_circuit(stretches, w_um, tap_cap))


def constant_gm_circuit(sizing: tuple) -> ClCircuit:
    """``sizing``: :class:`twinedge.circuits.constant_gm.ConstantGmSizing`'s fields (sized:
    :func:`twinedge.characterise.constant_gm.size_reference`)."""
    devs = constant_gm.devices(constant_gm.ConstantGmSizing(*sizing))
    return block_circuit(constant_gm.SUBCKT, constant_gm.PORTS, devs)


@gf.cell
def constant_gm_block(sizing: tuple) -> gf.Component:
    """The rail buffers' constant-gm bias reference (its resistor in row 0)."""
    return labelled(constant_gm_circuit(sizing))


@gf.cell
def regulator_block(sizing: tuple) -> gf.Component:
    """The circuits' supply regulator (:mod:`twinedge.circuits.regulator`; ``sizing``: its
    :class:`RegulatorSizing` fields, the pass device sized by
    :func:`twinedge.characterise.regulator.size_pass`)."""
    s = regulator.RegulatorSizing(*sizing)
    return labelled(regulator.block_circuit(active(), s))


@gf.cell
def slope_readout_block(sizing: tuple = ()) -> gf.Component:
    """The digital read-out (:mod:`twinedge.circuits.slope_readout`; ``sizing``: its
    :class:`SlopeReadoutSizing` fields, default sizes if empty)."""
    s = slope_readout.SlopeReadoutSizing(*sizing)
    return labelled(slope_readout.block_circuit(active(), s))
