"""Parasitic extraction stage: GDS -> LVS database -> klayout-pex (2.5D, RC) -> SPICE.

kpex (``klayout-pex``, a separate program we call, GPL-3.0) extracts the R of every wire
and the C of every wire to substrate and to its neighbours (coupling) into an ngspice
netlist that keeps the PDK transistors with their drawn W, L, AD/AS/PD/PS. This module runs
it on the LVS database of :mod:`twinedge.verify.pex_lvsdb`, checks the result, maps
each twin-edge's transistors back to the spec's network edges, and summarises total C per
lattice net and the wiring resistance of each net ("route").

Substrate: the 2.5D engine does not model the substrate's resistance, so the p+ taps of the
cells, joined only through the substrate, are reported as islands of the ground net; they
are the substrate (0 V) and simulation ties them to ground. Any other consistency problem
kpex reports fails the stage.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from twinedge import processes, versions
from twinedge.artifacts import staged_outputs
from twinedge.circuits.nets import node_net_name, pin_placements
from twinedge.sim.network import Network
from twinedge.spec.schema import Design
from twinedge.spice.combine import combine_parallel
from twinedge.verify.pex_lvsdb import build_pex_lvsdb

if TYPE_CHECKING:
    from twinedge.pdk.base import Pdk

SUBSTRATE_NODE = "VSUBS"  # kpex's node for the substrate plate of every capacitance


def _pdk(pdk: Pdk | None) -> Pdk:
    if pdk is None:
        from twinedge.pdk import active

        return active()
    return pdk


def substrate_net_of(substrate_net: str | None = None) -> str:
    """kpex's substrate net: ``substrate_net``, or the active PDK's
    (:attr:`twinedge.pdk.base.Pdk.kpex_substrate_net`)."""
    return substrate_net or _pdk(None).kpex_substrate_net


def ground_nets(substrate_net: str | None = None) -> tuple[str, str]:
    """The nets that are ground in a kpex netlist: the substrate net and kpex's substrate
    node."""
    return (substrate_net_of(substrate_net), SUBSTRATE_NODE)


def _ground_aliases(substrate_net: str | None = None) -> re.Pattern[str]:
    net = re.escape(substrate_net_of(substrate_net))
    return re.compile(rf"(?<!\S)({net}(\.\S+)?|{SUBSTRATE_NODE})(?!\S)")


class ExtractionError(RuntimeError):
    pass


@dataclass
class ExtractedDevice:
    name: str
    d: str
    g: str
    s: str
    w_um: float
    l_um: float
    role: str  # "F" / "C" (a twin's transistor) or "cap" (gate MOS capacitor)
    edge: int | None


@dataclass
class Extraction:
    design: str
    netlist: Path  # kpex's RC netlist (.SUBCKT <top> ports ... .ENDS)
    ports: list[str]
    gate_port: list[str]  # per network edge: the port driving its G
    devices: list[ExtractedDevice]
    node_c_f: dict[str, float]  # total C per net (to ground and coupling), farads
    route_r_ohm: dict[str, float]  # per net: largest port-to-terminal wiring resistance
    n_resistors: int
    n_capacitors: int
    substrate_islands: int
    seconds: float
    tool: str
    warnings: list[str] = field(default_factory=list)
    substrate_net: str = ""  # kpex's substrate net (ground) in ``netlist``

    def flat_body(self, with_caps: bool = True) -> str:
        """The netlist's elements at top level, substrate on ground (see :func:`flat_body`)."""
        return flat_body(self.netlist.read_text(), with_caps, self.substrate_net or None)

    def twin_devices(self, twin: str) -> list[ExtractedDevice]:
        """The twin's transistors in network-edge order."""
        return sorted((d for d in self.devices if d.role == twin), key=lambda d: d.edge or 0)

    def to_json(self) -> dict:
        d = asdict(self)
        d["netlist"] = self.netlist.name
        return d

    def as_dict(self) -> dict:
        """What ``pex.json`` holds."""
        return self.to_json()

    @classmethod
    def from_json(cls, data: dict, folder: Path) -> Extraction:
        data = dict(data)
        data["netlist"] = folder / data["netlist"]
        data["devices"] = [ExtractedDevice(**x) for x in data["devices"]]
        return cls(**data)


def kpex_executable() -> str:
    exe = Path(sys.executable).parent / "kpex"
    found = str(exe) if exe.exists() else shutil.which("kpex")
    if not found:
        raise ExtractionError("kpex not found (pip install klayout-pex, Python >= 3.12)")
    return found


def kpex_version() -> str:
    return versions.package("klayout-pex")


# ------------------------------------------------------------------ SPICE reading
def spice_lines(text: str) -> list[list[str]]:
    """Tokenised statements: continuation lines joined, comments dropped."""
    out: list[str] = []
    for raw in text.splitlines():
        if raw.startswith("+") and out:
            out[-1] += " " + raw[1:]
        elif raw.strip() and not raw.lstrip().startswith("*"):
            out.append(raw)
    return [ln.split() for ln in out]


def base_net(node: str) -> str:
    """kpex names wire nodes ``<net>.<piece>.<layer>``; the net is the part before the dot."""
    return node.split(".", 1)[0]


def _params(tokens: list[str]) -> dict[str, float]:
    out = {}
    for tok in tokens:
        if "=" in tok:
            k, v = tok.split("=", 1)
            out[k.lower()] = float(v)
    return out


def _effective_resistance(
    edges: list[tuple[str, str, float]], port: str, targets: set[str]
) -> dict[str, float]:
    """DC resistance from ``port`` to each of ``targets`` (to every node of the net's
    resistor network when no target lies on it)."""
    nodes = sorted({n for a, b, _ in edges for n in (a, b)})
    if port not in nodes:
        return {}
    idx = {n: i for i, n in enumerate(nodes)}
    rows, cols, vals = [], [], []
    for a, b, r in edges:
        i, j, g = idx[a], idx[b], 1.0 / max(r, 1e-6)
        rows += [i, j, i, j]
        cols += [i, j, j, i]
        vals += [g, g, -g, -g]
    lap = sp.csc_matrix((vals, (rows, cols)), shape=(len(nodes), len(nodes)))
    keep = [i for i in range(len(nodes)) if i != idx[port]]
    ends = [idx[n] for n in sorted(targets) if n in idx and n != port] or keep
    if not ends:
        return {}
    # port grounded: 1 A into node k raises it by R(port, k) = (L_sub^-1)_kk
    pos = {k: n for n, k in enumerate(keep)}
    rhs = np.zeros((len(keep), len(ends)))
    for col, k in enumerate(ends):
        rhs[pos[k], col] = 1.0
    sol = spla.splu(sp.csc_matrix(lap[keep][:, keep])).solve(rhs)
    return {nodes[k]: float(sol[pos[k], col]) for col, k in enumerate(ends)}


class NetlistSummary(NamedTuple):
    ports: list[str]
    c_total: dict[str, float]  # per net: C to ground and coupling, both ends counted (F)
    route_r: dict[str, float]  # per net: largest port-to-device-terminal resistance (ohm)
    devices: list[tuple[str, str, str, str, float, float]]  # name, d, g, s, w, l
    n_resistors: int
    n_capacitors: int


def summarize(netlist_text: str, substrate_net: str | None = None) -> NetlistSummary:
    """Ports, per-net total C and route R, devices and element counts of a kpex netlist
    (``substrate_net``: kpex's; default the active PDK's)."""
    ground = ground_nets(substrate_net)
    ports: list[str] = []
    c_total: dict[str, float] = defaultdict(float)
    r_edges: dict[str, list[tuple[str, str, float]]] = defaultdict(list)
    devices = []
    n_r = n_c = 0
    for tok in spice_lines(netlist_text):
        head = tok[0].upper()
        if head == ".SUBCKT":
            ports = tok[2:]
        elif head.startswith("C"):
            n_c += 1
            a, b, value = base_net(tok[1]), base_net(tok[2]), _value(tok[3])
            if a != b:
                for n in (a, b):
                    if n not in ground:  # the substrate is no signal net
                        c_total[n] += value
        elif head.startswith("R"):
            n_r += 1
            net = base_net(tok[1])
            r_edges[net].append((tok[1], tok[2], _value(tok[3])))
        elif head.startswith("X"):
            d, g, s = tok[1], tok[2], tok[3]
            p = _params(tok[6:])
            devices.append((tok[0], d, g, s, p.get("w", 0.0), p.get("l", 0.0)))
    terminals = defaultdict(set)
    for _, d, g, s, _, _ in devices:
        for n in (d, g, s):
            terminals[base_net(n)].add(n)
    route_r: dict[str, float] = {}
    for net, edges in r_edges.items():
        if net not in ground:
            res = _effective_resistance(edges, net, terminals.get(net, set()))
            route_r[net] = max(res.values(), default=0.0)
    return NetlistSummary(ports, dict(c_total), route_r, devices, n_r, n_c)


_SCALE = {"f": 1e-15, "p": 1e-12, "n": 1e-9, "u": 1e-6, "m": 1e-3, "k": 1e3, "meg": 1e6}


def _value(tok: str) -> float:
    m = re.fullmatch(r"([-+0-9.eE]+)(meg|[fpnumk])?", tok.strip(), re.IGNORECASE)
    if not m:
        raise ExtractionError(f"cannot read SPICE value {tok!r}")
    return float(m.group(1)) * _SCALE.get((m.group(2) or "").lower(), 1.0)


# ------------------------------------------------------------------ edge mapping
def map_devices(
    design: Design, raw_devices: list, gates: tuple[str, ...], substrate_net: str | None = None
) -> tuple[list[str], list[ExtractedDevice]]:
    """Assign each extracted transistor its role (F / C twin, gate cap) and network edge."""
    ground = ground_nets(substrate_net)
    net = Network.from_design(design)
    where: dict[str, tuple[int, str]] = {}
    for node in range(net.n_nodes):
        for twin in ("F", "C"):
            where[node_net_name(net, node, twin)] = (node, twin)
    for pin in pin_placements(net):
        where[pin.name] = (pin.node, pin.twin)
    edge_of: dict[frozenset, list[int]] = defaultdict(list)
    for e, (a, b) in enumerate(net.edges.tolist()):
        edge_of[frozenset((a, b))].append(e)
    gate_port: list[str | None] = [None] * net.n_edges
    devices: list[ExtractedDevice] = []
    by_gate: dict[str, list] = defaultdict(list)
    for dev in raw_devices:
        by_gate[base_net(dev[2])].append(dev)
    for gname in gates:
        twins = []
        for name, d, g, s, w, length in by_gate.get(gname, []):
            if base_net(d) in ground and base_net(s) in ground:
                devices.append(ExtractedDevice(name, d, g, s, w, length, "cap", None))
                continue
            nd, td = where[base_net(d)]
            ns, ts = where[base_net(s)]
            twin = td if td != "FC" else ts
            twins.append([name, d, g, s, w, length, twin, frozenset((nd, ns))])
        if len(twins) != 2:
            raise ExtractionError(f"gate {gname}: expected 2 twin transistors, found {len(twins)}")
        if twins[0][6] == twins[1][6]:  # both terminals are shared pins: either is either
            twins[0][6], twins[1][6] = "F", "C"
        pair = twins[0][7]
        if pair != twins[1][7] or not edge_of.get(pair):
            raise ExtractionError(f"gate {gname}: its transistors join no network edge")
        e = edge_of[pair].pop(0)
        gate_port[e] = gname
        for name, d, g, s, w, length, twin, _ in twins:
            devices.append(ExtractedDevice(name, d, g, s, w, length, twin, e))
    missing = [e for e, g in enumerate(gate_port) if g is None]
    if missing:
        raise ExtractionError(f"no extracted transistors for network edges {missing[:5]}")
    return [str(g) for g in gate_port], devices


# ------------------------------------------------------------------ kpex run
def _problems(log: str) -> list[str]:
    """The consistency problems kpex lists after 'The extracted netlist is inconsistent'
    (one per line: kpex runs with a wide console, see ``run_extraction``)."""
    lines = log.splitlines()
    start = next((i for i, ln in enumerate(lines) if "netlist is inconsistent" in ln), None)
    if start is None:
        return []
    found = []
    for ln in lines[start + 1 :]:
        item = ln.strip()
        if not item.startswith("- "):
            break
        found.append(item[2:].strip())
    return found


def _substrate_only(problem: str, substrate_net: str | None = None) -> bool:
    return substrate_net_of(substrate_net) in problem and not re.search(
        r"\bn\d+_\d+_[FC]\b|\bG\d+\b", problem
    )


def run_kpex(
    lvsdb: Path, run_dir: Path, pdk: Pdk | None = None, mode: str = "RC"
) -> tuple[Path, list[str], str]:
    """kpex's 2.5D extraction of an LVS database: (netlist, consistency problems, log).
    ``pdk``: the layout's (kpex's technology; default the active PDK); ``mode``: RC, or CC
    (capacitances only, each net one node)."""
    cmd = [
        kpex_executable(),
        "extract",
        "--pdk",
        _pdk(pdk).kpex_technology,
        "--lvsdb",
        str(lvsdb),
        "--2.5D",
        "--mode",
        mode,
        "--check",
        "false",
        "--tool-version-checks",
        "off",
        "--threads",
        "2",
        "--out-dir",
        str(run_dir),
    ]
    env = {**os.environ, "COLUMNS": "1000", "NO_COLOR": "1"}  # one line per message
    proc = processes.run(cmd, timeout=3600, env=env)
    log = proc.stdout + proc.stderr
    spice = sorted(run_dir.rglob("*_k25d_pex_netlist.spice"))
    if proc.returncode != 0 or not spice:
        tail = " | ".join(log.strip().splitlines()[-6:])
        raise ExtractionError(f"kpex failed (exit {proc.returncode}): {tail}")
    scale = _pdk(pdk).kpex_length_um
    text = without_open_resistors(spice[0].read_text())
    spice[0].write_text(geometry_in_um(text, scale) if scale != 1.0 else text)
    return spice[0], _problems(log), log


def without_open_resistors(text: str) -> str:
    """The netlist without kpex's infinite resistors (``R... a b inf``): kpex writes one where
    two regions of a net meet without width (two n-well shapes touching at a corner): no
    current flows there, and neither ngspice nor the summary reads ``inf``. The regions stay
    joined through the net's other paths."""
    return re.sub(r"(?im)^R\S*\s+\S+\s+\S+\s+inf\s*\n", "", text)


_LENGTHS = {"w": 1, "l": 1, "ps": 1, "pd": 1, "as": 2, "ad": 2}  # parameter: power of length


def geometry_in_um(text: str, length_um: float) -> str:
    """A netlist whose device geometry (W, L, PS, PD, AS, AD) is in units of ``length_um``
    um, in um: every deck states geometry in um (``.option scale=1u``)."""

    def one(m: re.Match[str]) -> str:
        name, value = m.group(1), float(m.group(2))
        return f"{name}={value * length_um ** _LENGTHS[name.lower()]:.6g}"

    return re.sub(r"(?<=\s)(w|l|ps|pd|as|ad)=([-+0-9.eE]+)(?=\s|$)", one, text, flags=re.I | re.M)


def run_extraction(design: Design, gds: Path, out_dir: Path) -> Extraction:
    """kpex on ``gds`` (the layout of ``design``, in its PDK); results in ``out_dir``."""
    from twinedge.pdk import get

    pdk = get(design.pdk)
    substrate = pdk.kpex_substrate_net
    start = time.perf_counter()
    with staged_outputs(out_dir) as tmp:
        db = build_pex_lvsdb(gds, tmp / f"{design.name}.lvsdb", pdk=pdk)
        spice, problems, log = run_kpex(db.path, tmp / "kpex", pdk)
        serious = [p for p in problems if not _substrate_only(p, substrate)]
        if serious:
            raise ExtractionError(f"kpex netlist inconsistent: {serious[0]}")
        netlist = tmp / f"{design.name}.pex.spice"
        shutil.copyfile(spice, netlist)
        (tmp / "kpex.log").write_text(log)
        shutil.rmtree(tmp / "kpex")
        summary = summarize(netlist.read_text(), substrate)
        gate_port, devices = map_devices(design, summary.devices, db.gates, substrate)
        islands = sum(1 for p in problems if "touch no net" in p)
        result = Extraction(
            design=design.name,
            netlist=out_dir / netlist.name,
            ports=summary.ports,
            gate_port=gate_port,
            devices=devices,
            node_c_f=dict(sorted(summary.c_total.items())),
            route_r_ohm=dict(sorted(summary.route_r.items())),
            n_resistors=summary.n_resistors,
            n_capacitors=summary.n_capacitors,
            substrate_islands=islands,
            seconds=round(time.perf_counter() - start, 3),
            tool=f"klayout-pex {kpex_version()} (2.5D, RC)",
            warnings=[p for p in problems if _substrate_only(p, substrate)][:3],
            substrate_net=substrate,
        )
        (tmp / "pex.json").write_text(json.dumps(result.to_json(), indent=1))
    return result


def load_extraction(out_dir: Path) -> Extraction:
    return Extraction.from_json(json.loads((out_dir / "pex.json").read_text()), out_dir)


# ------------------------------------------------------------------ simulation decks
def flat_body(
    netlist_text: str,
    with_caps: bool = True,
    substrate_net: str | None = None,
    combine: bool = True,
) -> str:
    """The extracted subcircuit's elements at top level, substrate nodes on ground
    (``substrate_net``: kpex's; default the active PDK's).

    Ports keep their names as top-level nodes, so sources attach by name and ngspice
    vectors read ``v(<port>)``. Without caps (DC analyses) the capacitor-only nodes vanish,
    which makes an operating point ~7x faster and changes nothing at DC. Parallel fingers
    become one instance with ``m=`` (:func:`twinedge.spice.combine.combine_parallel`: exact,
    and a smaller matrix); ``combine`` off only to show that they simulate the same.
    """
    keep = []
    for tok in spice_lines(netlist_text):
        head = tok[0].upper()
        if head in (".SUBCKT", ".ENDS", ".END"):
            continue
        if head.startswith("C") and not with_caps:
            continue
        keep.append(" ".join(tok))
    grounded = _ground_aliases(substrate_net).sub("0", "\n".join(keep))
    statements = [ln.split() for ln in grounded.splitlines()]
    return "\n".join(" ".join(t) for t in (combine_parallel(statements) if combine else statements))


class KpexExtraction:
    """The PEX back-end: klayout-pex's 2.5D RC extraction."""

    name = "kpex"

    def run(self, design: Design, gds: Path, out_dir: Path) -> Extraction:
        return run_extraction(design, gds, out_dir)
