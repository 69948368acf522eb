"""SPICE netlists of a twin network and batch ngspice runs.

Used to cross-check the simulator against a real circuit simulator, and the starting point
of the post-layout stage: the same network written as transistors and sources.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from twinedge import processes
from twinedge.pdk.model_bins import specialise
from twinedge.sim.devices import Level1NMOS
from twinedge.sim.network import Network

_VALUE = re.compile(r"^\s*v\((\w+)\)\s*=\s*([-+0-9.eE]+)\s*$", re.MULTILINE)


class NgspiceError(RuntimeError):
    pass


def node_name(net: Network, node: int) -> str:
    r, c = net.node_rc(node)
    return f"n{r}_{c}"


def _network_deck(
    net: Network,
    g: np.ndarray,
    held: Mapping[int, float],
    header: list[str],
    prefix: str,
    edge_device: str,
) -> str:
    """Edges as transistors ``<prefix><e> a ng<e> b 0 <edge_device>`` (M: a model, X: a
    subcircuit) with gate sources ``VG<e>``, held nodes on sources ``VH<node>`` (names a
    loop can ``alter``)."""
    lines = list(header)
    for e, (a, b) in enumerate(net.edges.tolist()):
        lines.append(f"{prefix}{e} {node_name(net, a)} ng{e} {node_name(net, b)} 0 {edge_device}")
        lines.append(f"VG{e} ng{e} 0 dc {float(g[e])!r}")
    for node, volts in sorted(held.items()):
        lines.append(f"VH{node} {node_name(net, node)} 0 dc {float(volts)!r}")
    return "\n".join(lines) + "\n"


def schematic_netlist(
    net: Network,
    g: np.ndarray,
    held: Mapping[int, float],
    model: Level1NMOS,
    w_um: float = 1.0,
    l_um: float = 1.0,
    title: str = "twinedge network",
) -> str:
    """One network (free or clamped twin) with level-1 NMOS edges and DC sources.

    Every edge is a transistor with its gate on its own source at G and its body at ground;
    ``held`` maps node ids to the voltages of the sources holding them. KP is chosen so that
    KP * W / L equals the model's k.
    """
    kp = model.k * l_um / w_um
    header = [
        f"* {title}",
        f".model nmos_l1 nmos level=1 vto={model.vth!r} kp={kp!r} lambda=0 gamma=0",
    ]
    return _network_deck(net, g, held, header, "M", f"nmos_l1 w={w_um!r}u l={l_um!r}u")


def pdk_schematic_netlist(
    net: Network,
    g: np.ndarray,
    held: Mapping[int, float],
    model_lib: Path,
    corner: str,
    device: str,
    w_um: float,
    l_um: float,
    title: str = "twinedge network (PDK devices)",
) -> str:
    """The same network with the PDK's transistor (a subcircuit) on every edge (W and L in
    um, as the PDK's subcircuits take them)."""
    header = [f"* {title}", f".lib {model_lib} {corner}"]
    return _network_deck(net, g, held, header, "X", f"{device} w={w_um!r} l={l_um!r}")


def run_deck(
    deck: str,
    timeout: float = 600,
    batch: bool = True,
    strict: bool = True,
    sized_bins: bool = True,
) -> str:
    """Run ngspice on ``deck`` in a scratch folder: what it printed plus any ``wrdata`` files.

    ``batch`` runs with ``-b`` (analyses in the deck); without it the deck's ``.control``
    script must end in ``quit``. ``strict`` also fails on Fatal/Error lines and aborted
    analyses, which ngspice can report and still exit 0 (a model's parameter check).
    ``sized_bins``: each device size loads only its model bins (:mod:`twinedge.pdk.model_bins`:
    the same numbers, a fraction of the set-up); off only to show that they are the same.
    """
    exe = shutil.which("ngspice")
    if exe is None:
        raise NgspiceError("ngspice not found on PATH (install: apt-get install ngspice)")
    with tempfile.TemporaryDirectory(prefix="twinedge-ngspice-") as tmp:
        path = Path(tmp) / "deck.cir"
        path.write_text(specialise(deck) if sized_bins else deck)
        # one thread per ngspice: its OpenMP device loop spins on every core it is given, so
        # two decks side by side on two cores each ran ~30x slower than alone (measured: an
        # 8-instance step deck 2.5 s alone, 75 s with a second one beside it); decks are run
        # side by side instead (processes.parallel)
        (Path(tmp) / ".spiceinit").write_text("set num_threads=1\n")
        try:
            proc = processes.run(
                [exe, *(["-b"] if batch else []), str(path)], timeout=timeout, cwd=tmp
            )
        except subprocess.TimeoutExpired:
            raise NgspiceError(f"ngspice ran longer than {timeout:g} s (killed)") from None
        data = {p.name: p.read_text() for p in sorted(Path(tmp).glob("*.dat"))}
    log = proc.stdout + proc.stderr
    if proc.returncode != 0:
        tail = log.strip().splitlines()[-5:]
        raise NgspiceError(f"ngspice failed (exit {proc.returncode}): {' | '.join(tail)}")
    fatal = [
        ln.strip()
        for ln in log.splitlines()
        if ln.startswith(("Fatal", "Error")) or "simulation(s) aborted" in ln
    ]
    if strict and fatal:
        raise NgspiceError("ngspice: " + " | ".join(fatal[:3]))
    return proc.stdout + "\n".join(data.values())


def ngspice_op(netlist: str, nodes: list[str], options: str | None = None) -> dict[str, float]:
    """Run ngspice on ``netlist`` with an ``op`` control script; return node voltages.

    The control script ends in ``quit 0`` so ngspice exits by itself with a meaningful status
    (batch mode ``-b`` reports 'no simulations run' when the analysis lives in ``.control``).
    Tight tolerances by default: the comparison with our solver is at the microvolt level.
    """
    opts = options or ".options reltol=1e-9 vntol=1e-12 abstol=1e-18 gmin=1e-12"
    body = (
        netlist
        + opts
        + "\n.control\nset numdgt=15\nop\nprint "
        + " ".join(f"v({n})" for n in nodes)
        + "\nquit 0\n.endc\n.end\n"
    )
    printed = run_deck(body, timeout=120, batch=False, strict=False)
    found = {m.group(1): float(m.group(2)) for m in _VALUE.finditer(printed)}
    missing = [n for n in nodes if n not in found]
    if missing:
        tail = printed.strip().splitlines()[-5:]
        raise NgspiceError(f"ngspice printed no v({missing[0]}): " + " | ".join(tail))
    return {n: found[n] for n in nodes}


def pwl(points, time_unit: str = "") -> str:
    """A piecewise-linear source from (time, value) pairs; ``time_unit`` a SPICE suffix
    for the times (``"n"``: nanoseconds)."""
    return "pwl(" + " ".join(f"{t!r}{time_unit} {v!r}" for t, v in points) + ")"
