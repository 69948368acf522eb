"""LVS: extract devices and nets from the GDS with KLayout's netlist extractor and compare
them with the netlist the spec implies, using KLayout's ``NetlistComparer``.

Runs on the ``klayout`` Python package alone (no KLayout program needed). The verdict is the
comparer's, and a mismatch lists what differs; both netlists are written as SPICE next to
the report so they can be inspected.

Extraction rules (SKY130): an ``nfet_01v8`` is poly over n+ diffusion (diff inside nsdm,
outside nwell); its body is the p-substrate, one global net ``VSS`` that p+ taps connect to.
Connectivity: diff/tap - licon - li - mcon - met1 - via1 - met2 - via2 - met3 - via3 - met4,
and poly - licon.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import klayout.db as kdb

from twinedge.cells.array import edge_cells, geometry_for, is_cl, node_net_name, pin_placements
from twinedge.circuits.cl import PORT_NAMES
from twinedge.circuits.cl import of_update as cl_of_update
from twinedge.pdk import sky130 as pdk
from twinedge.sim.network import Network
from twinedge.spec.schema import Design
from twinedge.verify.connectivity import connect_sky130

DEVICE = pdk.NFET
COMPARE_MAX_DEPTH = 8


@dataclass
class LvsResult:
    match: bool
    layout_devices: int
    reference_devices: int
    layout_nets: int
    reference_nets: int
    extracted: Path
    reference: Path
    mismatches: list[str] = field(default_factory=list)


def _device_count(circuit: kdb.Circuit) -> int:
    return sum(1 for _ in circuit.each_device())


def extract(gds: Path, keep: set[str]) -> kdb.Netlist:
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
    connect_sky130(l2n, layout, substrate_net="VSS", with_pfet=True)
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
    pdk.activate()
    h, v = edge_cells(design)
    return h.name, v.name


def _global_pins(design: Design) -> list[str]:
    return [PORT_NAMES[n] for n in cl_of_update(design.cell.update).globals]


def _edge_subckt(name: str, design: Design) -> list[str]:
    """One edge: two twins on shared G, the gate cap, and (twin_edge_cl) the update circuit."""
    g = geometry_for(design)
    um = "u"
    ports = ["A_F", "B_F", "A_C", "B_C", "VSS"]
    if is_cl(design):
        ports[-1:] = _global_pins(design)
    lines = [
        f".SUBCKT {name} " + " ".join(ports),
        f"MF A_F G B_F VSS {DEVICE} W={g.gate_w}{um} L={g.gate_l}{um}",
        f"MC A_C G B_C VSS {DEVICE} W={g.gate_w}{um} L={g.gate_l}{um}",
    ]
    if g.cap_w:  # one device per finger (parallel: the comparer merges them)
        lines += [
            f"MCAP{k or ''} VSS G VSS VSS {DEVICE} W={g.cap_w}{um} L={g.cap_l}{um}"
            for k in range(g.cap_fingers)
        ]
    if is_cl(design):
        rename = {"af": "A_F", "bf": "B_F", "ac": "A_C", "bc": "B_C", "g": "G", **PORT_NAMES}
        for d in cl_of_update(design.cell.update).devices:
            t = [rename.get(n, n) for n in (d.d, d.g, d.s, d.body)]
            model = pdk.PFET if d.kind == "p" else DEVICE
            lines.append(f"M{d.name} {' '.join(t)} {model} W={d.w}{um} L={d.l}{um}")
    lines.append(".ENDS")
    return lines


def reference_spice(design: Design) -> str:
    """The netlist the spec implies: one edge subcircuit per lattice edge (horizontal and
    vertical edges are different layout cells with the same circuit)."""
    net = Network.from_design(design)
    names: dict[tuple[int, str], str] = {}
    for pin in pin_placements(net):
        for twin in ("F", "C") if pin.twin == "FC" else (pin.twin,):
            names[(pin.node, twin)] = pin.name

    def node(n: int, twin: str) -> str:
        return names.get((n, twin), node_net_name(net, n, twin))

    horizontal, vertical = edge_cell_names(design)
    lines = [f"* reference netlist of {design.name} (from the spec)"]
    for cell in dict.fromkeys((horizontal, vertical)):
        lines += _edge_subckt(cell, design)
    globals_ = _global_pins(design) if is_cl(design) else ["VSS"]
    ports = [*sorted(set(names.values())), *globals_]
    lines.append(f".SUBCKT {design.name} " + " ".join(ports))
    for e, (a, b) in enumerate(net.edges.tolist()):
        cell = horizontal if net.node_rc(a)[0] == net.node_rc(b)[0] else vertical
        lines.append(
            f"X{e} {node(a, 'F')} {node(b, 'F')} {node(a, 'C')} {node(b, 'C')} "
            f"{' '.join(globals_)} {cell}"
        )
    lines.append(".ENDS")
    return "\n".join(lines) + "\n"


def _read_spice(path: Path) -> kdb.Netlist:
    netlist = kdb.Netlist()
    netlist.read(str(path), kdb.NetlistSpiceReader())
    return netlist


def _mismatches(xref: kdb.NetlistCrossReference, limit: int = 50) -> list[str]:
    """Human-readable list of what the comparer could not pair."""
    bad = []
    ok = {"Match", "MatchWithWarning"}

    def name(obj: object) -> str:
        return obj.expanded_name() if obj is not None else "(none)"  # type: ignore[attr-defined]

    for cp in xref.each_circuit_pair():
        for what, pairs in (("net", xref.each_net_pair(cp)), ("device", xref.each_device_pair(cp))):
            for pair in pairs:
                if pair.status().to_s() not in ok:
                    bad.append(
                        f"{what}: layout {name(pair.first())} vs reference "
                        f"{name(pair.second())} ({pair.status().to_s()})"
                    )
                    if len(bad) >= limit:
                        return bad
    return bad


def run_lvs(design: Design, gds: Path, out_dir: Path) -> LvsResult:
    out_dir.mkdir(parents=True, exist_ok=True)
    extracted = extract(gds, set(edge_cell_names(design)))
    ext_path = out_dir / f"{design.name}.extracted.cir"
    extracted.write(str(ext_path), kdb.NetlistSpiceWriter())
    ref_path = out_dir / f"{design.name}.reference.cir"
    ref_path.write_text(reference_spice(design))
    reference = _read_spice(ref_path)
    reference.combine_devices()
    reference.simplify()

    comparer = kdb.NetlistComparer()
    # KLayout's LVS scripts use depth 8 for ambiguity resolution; the Python object's default
    # (500) can search for hours on a mismatch in a symmetric lattice.
    comparer.max_depth = COMPARE_MAX_DEPTH
    xref = kdb.NetlistCrossReference()
    match = comparer.compare(extracted, reference, xref)
    mismatches = _mismatches(xref)

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
        match=bool(match),
        layout_devices=count(extracted, "each_device"),
        reference_devices=count(reference, "each_device"),
        layout_nets=count(extracted, "each_net"),
        reference_nets=count(reference, "each_net"),
        extracted=ext_path,
        reference=ref_path,
        mismatches=mismatches[:50],
    )
