"""LVS: extract devices and nets from the GDS with KLayout's netlist extractor and compare
them with the netlist the spec implies, using KLayout's ``NetlistComparer``.

Runs on the ``klayout`` Python package alone (no KLayout program needed). Device
extraction and connectivity are the PDK's (:attr:`twinedge.pdk.base.Pdk.connect`). The
reference netlist comes from circuit data only (:mod:`twinedge.circuits.twin_edge`, the
update circuits, :mod:`twinedge.circuits.nets`), never from the layout generator, so a
drawing that departs from the circuit is a mismatch. The verdict is the comparer's; a
mismatch lists what differs, naming the nets involved (a label on the wrong net shows as
the two names swapped); both netlists are written as SPICE next to the report.
"""

from __future__ import annotations

from dataclasses import replace
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING

import klayout.db as kdb

from twinedge.circuits import nets
from twinedge.circuits import twin_edge as twin_edge_circuit
from twinedge.circuits.cl import PORT_NAMES
from twinedge.circuits.cl import of_design as cl_of_design
from twinedge.circuits.mirror import Device
from twinedge.pdk import get as get_pdk
from twinedge.sim.network import Network
from twinedge.spec.pinplan import ReadMap
from twinedge.verify.base import LvsResult

if TYPE_CHECKING:
    from twinedge.pdk.base import Pdk
    from twinedge.spec.schema import Design

__all__ = ["KlayoutLvs", "LvsResult", "extract", "reference_spice", "run_lvs"]

COMPARE_MAX_DEPTH = 8
MAX_MISMATCHES = 50
_OK = {"Match", "MatchWithWarning"}


def _device_count(circuit: kdb.Circuit) -> int:
    return sum(1 for _ in circuit.each_device())


def extract(gds: Path, keep: set[str], pdk: Pdk) -> kdb.Netlist:
    """Netlist of the layout: the top circuit calling one subcircuit per twin-edge cell.

    Every cell but the top and the twin-edge cells named in ``keep`` (node tiles, via
    stacks, the update circuit's transistors and block) is flattened into its parent; the
    twin-edge cells stay subcircuits, so the comparison checks each once and then the array
    as a graph of cell instances (much faster than a flat comparison on large arrays).
    """
    layout = kdb.Layout()
    layout.read(str(gds))
    top = layout.top_cell()
    l2n = kdb.LayoutToNetlist(kdb.RecursiveShapeIterator(layout, top, []))
    l2n.threads = 2
    pdk.connect(l2n, layout, substrate_net=nets.SUBSTRATE, with_pfet=True)
    l2n.extract_netlist()
    netlist = l2n.netlist()
    for circuit in list(netlist.each_circuit()):
        if circuit.name != top.name and circuit.name not in keep:
            netlist.flatten_circuit(circuit)
    netlist.make_top_level_pins()
    netlist.purge()
    netlist.combine_devices()
    netlist.simplify()
    return netlist.dup()  # the extractor owns its netlist; keep a copy that outlives it


def edge_cell_names(design: Design) -> tuple[str, str]:
    """The layout's (horizontal, vertical) edge cell names; reference subcircuits carry them."""
    h, v = twin_edge_circuit.edge_cells(design)
    return h.name, v.name


def _is_cl(design: Design) -> bool:
    return design.cell.type == "twin_edge_cl"


def _global_pins(design: Design) -> list[str]:
    if not _is_cl(design):
        return [nets.SUBSTRATE]
    return [PORT_NAMES[n] for n in cl_of_design(design).globals]


def _edge_globals(design: Design, net: Network, a: int, b: int) -> list[str]:
    """The array nets an edge cell's global ports meet: the shared globals, and for a
    chip's reader its row and column select lines."""
    pins = _global_pins(design)
    if design.chip is None or not _is_cl(design):
        return pins
    lines = ReadMap(net.rows, net.cols).select_lines(net.node_rc(a), net.node_rc(b))
    named = {PORT_NAMES[k]: v.upper() for k, v in lines.items()}
    return [named.get(p, p) for p in pins]


def _edge_devices(design: Design, vertical: bool = False) -> list[Device]:
    """One edge: two twins on shared G, the gate cap fingers, and (twin_edge_cl) the
    update circuit."""
    devices = list(twin_edge_circuit.for_design(design, vertical).devices)
    if _is_cl(design):
        devices += cl_of_design(design).devices
    return devices


def _edge_subckt(name: str, design: Design, pdk: Pdk, vertical: bool = False) -> list[str]:
    edge_nets = ("af", "bf", "ac", "bc")
    rename = {
        **PORT_NAMES,
        **dict(zip(edge_nets, nets.EDGE_TERMINALS, strict=True)),
        "g": nets.GATE,
        "0": nets.SUBSTRATE,
    }
    lines = [f".SUBCKT {name} " + " ".join([*nets.EDGE_TERMINALS, *_global_pins(design)])]
    for d in _edge_devices(design, vertical):
        lines.append(d.lvs_line(lambda n: rename.get(n, n), pdk))
    lines.append(".ENDS")
    return lines


def _edge_subckts(design: Design, pdk: Pdk) -> list[str]:
    """The edge cells' subcircuits: one for ``twin_edge`` (the vertical edges are the same
    cell turned), two for ``twin_edge_cl`` (the vertical one's capacitor folded its way)."""
    horizontal, vertical = edge_cell_names(design)
    lines = _edge_subckt(horizontal, design, pdk)
    if vertical != horizontal:
        lines += _edge_subckt(vertical, design, pdk, vertical=True)
    return lines


def reference_spice(design: Design) -> str:
    """The netlist the spec implies: one edge subcircuit per lattice edge (horizontal and
    vertical edges are different layout cells with the same circuit)."""
    pdk = get_pdk(design.pdk)
    net = Network.from_design(design)
    node = nets.node_nets(net)
    pins = {p.name for p in nets.pin_placements(net)}
    horizontal, vertical = edge_cell_names(design)
    lines = [f"* reference netlist of {design.name} (from the spec)"]
    lines += _edge_subckts(design, pdk)
    calls = [_edge_globals(design, net, a, b) for a, b in net.edges.tolist()]
    pins_ = dict.fromkeys(p for call in calls for p in call)
    lines.append(f".SUBCKT {design.name} " + " ".join([*sorted(pins), *pins_]))
    for e, (a, b) in enumerate(net.edges.tolist()):
        cell = horizontal if net.node_rc(a)[0] == net.node_rc(b)[0] else vertical
        terms = [node[(a, "F")], node[(b, "F")], node[(a, "C")], node[(b, "C")]]
        lines.append(f"X{e} {' '.join([*terms, *calls[e]])} {cell}")
    lines.append(".ENDS")
    return "\n".join(lines) + "\n"


def _read_spice(path: Path) -> kdb.Netlist:
    netlist = kdb.Netlist()
    netlist.read(str(path), kdb.NetlistSpiceReader())
    return netlist


# ------------------------------------------------------------------ comparison
def _name(obj: object) -> str:
    if obj is None:
        return "(none)"
    if isinstance(obj, kdb.Circuit):
        return obj.name
    return obj.expanded_name()  # type: ignore[attr-defined]


def _compare(a: kdb.Netlist, b: kdb.Netlist) -> tuple[bool, kdb.NetlistCrossReference]:
    comparer = kdb.NetlistComparer()
    # KLayout's LVS scripts use depth 8 for ambiguity resolution; the Python object's default
    # (500) can search for hours on a mismatch in a symmetric lattice.
    comparer.max_depth = COMPARE_MAX_DEPTH
    xref = kdb.NetlistCrossReference()
    return bool(comparer.compare(a, b, xref)), xref


def _pin_nets(sc: kdb.SubCircuit) -> str:
    ref = sc.circuit_ref()
    return ", ".join(f"{pin.name()}={_name(sc.net_for_pin(pin.id()))}" for pin in ref.each_pin())


def _device(device: kdb.Device | None) -> str:
    """A device with its primary parameters (W, L of a MOS): ``$3 (W=0.92 L=1)``."""
    if device is None:
        return "(none)"
    params = " ".join(
        f"{pd.name}={device.parameter(pd.id()):.6g}"
        for pd in device.device_class().parameter_definitions()
        if pd.is_primary
    )
    return f"{device.expanded_name()} ({params})"


def _unpaired(xref: kdb.NetlistCrossReference) -> tuple[list[str], set[str]]:
    """What the comparer could not pair (or paired with different parameters), and the
    layout's top-level nets on subcircuits it could not pair (where a wrong connection or
    name sits)."""
    bad: list[str] = []
    suspect: set[str] = set()
    for cp in xref.each_circuit_pair():
        where = _name(cp.first() or cp.second())
        found = len(bad)
        for what, pairs in (("pin", xref.each_pin_pair(cp)), ("net", xref.each_net_pair(cp))):
            for pair in pairs:
                if pair.status().to_s() not in _OK:
                    bad.append(
                        f"{where}: {what} layout {_name(pair.first())} vs reference "
                        f"{_name(pair.second())} ({pair.status().to_s()})"
                    )
        for pair in xref.each_device_pair(cp):
            status = pair.status().to_s()
            if status != "Match":  # MatchWithWarning: paired, parameters differ
                what = "parameters differ" if status == "MatchWithWarning" else status
                bad.append(
                    f"{where}: device layout {_device(pair.first())} vs reference "
                    f"{_device(pair.second())} ({what})"
                )
        for pair in xref.each_subcircuit_pair(cp):
            if pair.status().to_s() in _OK:
                continue
            a, b = pair.first(), pair.second()
            if a is not None:
                suspect |= {
                    _name(a.net_for_pin(p.id()))
                    for p in a.circuit_ref().each_pin()
                    if a.net_for_pin(p.id()) is not None
                }
            bad.append(
                f"{where}: instance layout {_name(a)}"
                + (f" ({_pin_nets(a)})" if a is not None else "")
                + f" vs reference {_name(b)}"
                + (f" ({_pin_nets(b)})" if b is not None else "")
                + f" ({pair.status().to_s()})"
            )
        if cp.status().to_s() not in _OK and len(bad) == found:
            bad.append(f"{where}: circuit does not match ({cp.status().to_s()})")
    return bad, suspect


def _name_clashes(xref: kdb.NetlistCrossReference, spelling: dict[str, str]) -> list[str]:
    """Nets the comparer paired whose names differ. Names only guide its pairing, so a
    label on the wrong one of two symmetric nets (a node's free and clamped twins: the twin
    networks are alike) still matches; a named net must pair with its namesake."""
    out = []
    for cp in xref.each_circuit_pair():
        where = _name(cp.first() or cp.second())
        for pair in xref.each_net_pair(cp):
            a, b = pair.first(), pair.second()
            if (
                a is not None
                and b is not None
                and a.name
                and b.name
                and a.name.upper() != b.name.upper()
            ):
                out.append(
                    f"{where}: label: the layout's net labelled {a.name} is the "
                    f"reference's net {spelling.get(b.name, b.name)} (by its connections)"
                )
    return sorted(out)


def _renamed_nets(
    extracted: kdb.Netlist, reference: kdb.Netlist, suspect: set[str], spelling: dict[str, str]
) -> list[str]:
    """Labels on the wrong nets: compare again with the names of the layout's ``suspect``
    top-level nets (and their pins) dropped, so the comparer pairs those nets by
    connectivity; each whose label differs from its partner's name is reported. The other
    names stay, so the lattice's symmetries stay broken."""
    layout = extracted.dup()
    top = next(layout.each_circuit_top_down())
    renamed = [n for n in top.each_net() if n.name in suspect and n.name != nets.SUBSTRATE]
    if not renamed:
        return []
    labels = {n.name for n in renamed}
    for pin in list(top.each_pin()):
        if pin.name() in labels:
            top.rename_pin(pin.id(), "")
    was: dict[str, str] = {}  # anonymous name -> label
    for net in renamed:
        label = net.name
        net.name = ""
        was[net.expanded_name()] = label
    match, xref = _compare(layout, reference)
    if not match:
        return []
    out = []
    for cp in xref.each_circuit_pair():
        if cp.first() is None or cp.first().name != top.name:
            continue
        for pair in xref.each_net_pair(cp):
            a, b = pair.first(), pair.second()
            if a is None or b is None:
                continue
            label = was.get(a.expanded_name())
            if label is None:
                continue
            if label.upper() != b.expanded_name().upper():
                name = spelling.get(b.expanded_name(), b.expanded_name())
                out.append(
                    f"{top.name}: label: the layout's net labelled {label} is the "
                    f"reference's net {name} (by its connections)"
                )
    return sorted(out)


def run_lvs(design: Design, gds: Path, out_dir: Path) -> LvsResult:
    """Compare ``gds`` with the netlist ``design`` implies; netlists go to ``out_dir``."""
    pdk = get_pdk(design.pdk)
    out_dir.mkdir(parents=True, exist_ok=True)
    cells = set(edge_cell_names(design))
    extracted = extract(gds, cells, pdk)
    missing = [
        f"layout: no cell {name} (the edge cell the reference names)"
        for name in sorted(cells)
        if extracted.circuit_by_name(name) is None
    ]
    ext_path = out_dir / f"{design.name}.extracted.cir"
    extracted.write(str(ext_path), kdb.NetlistSpiceWriter())
    ref_path = out_dir / f"{design.name}.reference.cir"
    ref_text = reference_spice(design)
    ref_path.write_text(ref_text)
    spelling = {t.upper(): t for t in ref_text.split()}  # the SPICE reader upper-cases
    reference = _read_spice(ref_path)
    reference.combine_devices()
    reference.simplify()

    match, xref = _compare(extracted, reference)
    mismatches: list[str] = []
    if match:  # paired by connectivity: a label on a symmetric twin's net may still be wrong
        mismatches = _name_clashes(xref, spelling)
        match = not mismatches
    else:
        unpaired, suspect = _unpaired(xref)
        mismatches = _renamed_nets(extracted, reference, suspect, spelling) + unpaired
        if not mismatches:
            mismatches = ["netlists differ (the comparer paired every object)"]
    mismatches = missing + mismatches

    def count(netlist: kdb.Netlist, what: str) -> int:
        """Devices (all levels, per instance) or nets (top level)."""
        top = next(netlist.each_circuit_top_down())
        if what == "each_net":
            return sum(1 for _ in top.each_net())
        per_cell = {c.name.upper(): _device_count(c) for c in netlist.each_circuit()}
        return _device_count(top) + sum(
            per_cell[sc.circuit_ref().name.upper()] for sc in top.each_subcircuit()
        )

    return LvsResult(
        match=match,
        layout_devices=count(extracted, "each_device"),
        reference_devices=count(reference, "each_device"),
        layout_nets=count(extracted, "each_net"),
        reference_nets=count(reference, "each_net"),
        extracted=ext_path,
        reference=ref_path,
        mismatches=mismatches[:MAX_MISMATCHES],
        tool=f"klayout {version('klayout')} (NetlistComparer)",
    )


def block_reference(name: str, ports: list[str], devices: list[Device], pdk: Pdk) -> str:
    """A circuit block's reference netlist straight from its device list (ports upper-case,
    the substrate ``0`` as VSS), as a ``.SUBCKT`` named like the layout's top cell."""

    def pin(net: str) -> str:
        return nets.SUBSTRATE if net == "0" else net.upper()

    lines = [f"* reference netlist of {name} (from its circuit)"]
    lines.append(f".SUBCKT {name} " + " ".join(pin(p) for p in ports))
    lines += [d.lvs_line(pin, pdk) for d in devices]
    lines.append(".ENDS")
    return "\n".join(lines) + "\n"


def _lvs_against(
    gds: Path, keep: set[str], reference_text, pdk: Pdk, out_dir: Path, calls: bool
) -> LvsResult:
    """Extract ``gds`` (cells in ``keep`` as subcircuits, all else flat), write both netlists
    into ``out_dir`` and compare; ``reference_text(top_name)``: the reference's SPICE;
    ``calls``: count subcircuit calls among the devices."""
    out_dir.mkdir(parents=True, exist_ok=True)
    extracted = extract(gds, keep, pdk)
    top = next(extracted.each_circuit_top_down())
    ext_path = out_dir / f"{top.name}.extracted.cir"
    extracted.write(str(ext_path), kdb.NetlistSpiceWriter())
    ref_path = out_dir / f"{top.name}.reference.cir"
    ref_path.write_text(reference_text(top.name))
    reference = _read_spice(ref_path)
    reference.combine_devices()
    reference.simplify()
    match, xref = _compare(extracted, reference)
    mismatches = [] if match else _unpaired(xref)[0] or ["netlists differ"]
    ref_top = reference.circuit_by_name(top.name) or next(reference.each_circuit_top_down())

    def devices(c: kdb.Circuit) -> int:
        return _device_count(c) + (sum(1 for _ in c.each_subcircuit()) if calls else 0)

    return LvsResult(
        match=match,
        layout_devices=devices(top),
        reference_devices=devices(ref_top),
        layout_nets=sum(1 for _ in top.each_net()),
        reference_nets=sum(1 for _ in ref_top.each_net()),
        extracted=ext_path,
        reference=ref_path,
        mismatches=mismatches[:MAX_MISMATCHES],
        tool=f"klayout {version('klayout')} (NetlistComparer)",
    )


def run_block_lvs(
    gds: Path, ports: list[str], devices: list[Device], pdk: Pdk, out_dir: Path
) -> LvsResult:
    """Compare a laid-out circuit block (one top cell, flattened) with its device list."""
    return _lvs_against(
        gds, set(), lambda top: block_reference(top, ports, devices, pdk), pdk, out_dir, False
    )


def chip_reference_spice(design: Design, w, pdk: Pdk) -> str:
    """The whole chip's reference netlist from circuit data: the array's edge subcircuits
    (as :func:`reference_spice`) called with the chip's nets, and every periphery block's
    transistors (as drawn: fingers) flat in the top circuit, their inner nets prefixed by
    the block's instance name. The chip netlist's per-block supplies are one VDD."""
    from twinedge.circuits import chip as chip_circuit

    net_of = chip_circuit.chip_net
    horizontal, vertical = edge_cell_names(design)
    lines = [f"* reference netlist of {design.name}_chip (from the chip's circuits)"]
    lines += _edge_subckts(design, pdk)
    net = Network.from_design(design)
    lines.append(f".SUBCKT {design.name}_chip")
    for e, (a, b) in enumerate(w.edges):
        t = chip_circuit.edge_terminals(w, e)
        cell = horizontal if net.node_rc(a)[0] == net.node_rc(b)[0] else vertical
        terms = [net_of(t[k]) for k in ("af", "bf", "ac", "bc")]
        lines.append(f"X{e} {' '.join([*terms, *_edge_globals(design, net, a, b)])} {cell}")
    for blk in chip_circuit.periphery(w):
        ports = set(blk.ports) | {"0"}

        def pin(n: str, blk=blk, ports=ports) -> str:
            return net_of(blk.net(n)) if n in ports or n == "vdd" else f"{blk.name}_{n}"

        for d in chip_circuit.block_devices(blk, w, pdk):
            lines.append(replace(d, name=f"{blk.name}_{d.name}").lvs_line(pin, pdk))
    lines.append(".ENDS")
    return "\n".join(lines) + "\n"


def run_chip_lvs(design: Design, w, gds: Path, out_dir: Path) -> LvsResult:
    """Compare the chip's top cell (edge cells kept as subcircuits, all else flat) with
    :func:`chip_reference_spice`; the device counts include the edge cells."""
    pdk = get_pdk(design.pdk)
    keep = set(edge_cell_names(design))
    return _lvs_against(
        gds, keep, lambda _top: chip_reference_spice(design, w, pdk), pdk, out_dir, True
    )


class KlayoutLvs:
    """The LVS back-end: KLayout's netlist extractor and comparer."""

    name = "klayout"

    def run(self, design: Design, gds: Path, out_dir: Path) -> LvsResult:
        return run_lvs(design, gds, out_dir)
