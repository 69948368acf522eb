"""The learning chip as laid out: the whole TinyTapeout tile extracted (kpex) and driven
through its pins for the first steps of the chip transient (:mod:`twinedge.characterise.chip`).

Extraction: kpex's 2.5D engine in CC mode, every net one node with its capacitance to ground
and to its neighbours, the devices as drawn (W, L, junction areas). Not the wires'
resistance: the chip's slowest wire RC (a 1 kOhm line into ~1 pF, a few ns) is far below
its phases (microseconds), while RC mode's ~100k nodes would not simulate in minutes.

The tile's nets carry the template's pin names (``ua[5]``, ``clk``, ``VDPWR`` ...) and each
edge's gate its chip net name ``g<e>`` (:func:`gate_names`: the gate label's edge cell
instance tells its site); :func:`chip_body` renames the pins to the chip's nets so that the
schematic transient's deck (:func:`twinedge.characterise.chip.deck`) drives the layout
unchanged: from the G the schematic chip's reset reached, with the same datapoints. The
supply is one net in the layout: the energy is VDPWR's, not split by block.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from twinedge.cells.array import geometry_for, site_origin
from twinedge.circuits import twin_edge as twin_edge_circuit
from twinedge.circuits.chip import ChipWiring
from twinedge.pdk import Pdk
from twinedge.spec.schema import Design
from twinedge.verify.pex import (
    ExtractionError,
    _substrate_only,
    flat_body,
    kpex_version,
    run_kpex,
    summarize,
)
from twinedge.verify.pex_lvsdb import GateKey, build_pex_lvsdb

GROUND = "0"  # the decks' ground; the layout's VSS and the tile's VGND
NETLIST = "tile.pex.spice"


def gate_names(design: Design, w: ChipWiring) -> dict[GateKey, str]:
    """Each edge cell instance (its cell, where the array put it) -> its gate's chip net
    ``g<e>``: horizontal cells sit right of their site's node tile, vertical ones (turned
    by -90 degrees) at the site's origin (:func:`twinedge.cells.array.compile_array`)."""
    g = geometry_for(design)
    horizontal, vertical = (c.name for c in twin_edge_circuit.edge_cells(design))
    out = {}
    for e, (a, b) in enumerate(w.edges):
        r, c, direction = w.read_map.site(w.node_rc[a], w.node_rc[b])
        x0, y0 = site_origin(g, r, c)
        key = (
            (horizontal, round(x0 + g.tile_w, 3), round(y0, 3))
            if direction == "h"
            else (vertical, round(x0, 3), round(y0, 3))
        )
        out[key] = f"g{e}"
    return out


@dataclass(frozen=True)
class TileExtraction:
    netlist: Path
    nodes: int
    capacitors: int
    devices: int
    seconds: float
    tool: str

    def as_dict(self) -> dict:
        return {**asdict(self), "netlist": str(self.netlist)}


def extract_tile(gds: Path, out_dir: Path, pdk: Pdk, names: dict[GateKey, str]) -> TileExtraction:
    """kpex (2.5D, CC) on the tile's GDS, gates named by ``names``; the netlist in
    ``out_dir``. Consistency problems other than the substrate's islands fail."""
    start = time.perf_counter()
    db = build_pex_lvsdb(gds, out_dir / "tile.lvsdb", with_pfet=True, pdk=pdk, gate_names=names)
    spice, problems, _log = run_kpex(db.path, out_dir / "kpex", pdk, mode="CC")
    serious = [p for p in problems if not _substrate_only(p, pdk.kpex_substrate_net)]
    if serious:
        raise ExtractionError(f"kpex netlist of the tile inconsistent: {serious[0]}")
    netlist = out_dir / NETLIST
    shutil.copyfile(spice, netlist)
    shutil.rmtree(out_dir / "kpex")
    (out_dir / "tile.lvsdb").unlink()
    text = netlist.read_text()
    s = summarize(text, pdk.kpex_substrate_net)
    nodes = {n for line in flat_body(text).splitlines() for n in line.split()[1:3]}
    return TileExtraction(netlist, len(nodes), s.n_capacitors, len(s.devices),
                          round(time.perf_counter() - start, 1),
                          f"klayout-pex {kpex_version()} (2.5D, CC)")  # fmt: skip


def chip_body(netlist_text: str, pins: dict[str, str], pdk: Pdk, combine: bool = True) -> str:
    """The extracted tile's element lines on the chip's net names: each template pin (a key
    of ``pins``) renamed to its chip net, ground (the chip's VSS) to ``0``. A net with several pins
    (KLayout joins their names with ``|``: the outputs tied to VGND) takes their common
    net; pins of different nets on one net are an error (a short). ``combine``: parallel
    fingers as one instance (:func:`twinedge.verify.pex.flat_body`)."""
    body = flat_body(netlist_text, substrate_net=pdk.kpex_substrate_net, combine=combine)
    names = {k: GROUND if v == "VSS" else v for k, v in {**pins, "VSS": "VSS"}.items()}

    def rename(token: str) -> str:
        if token in names:
            return names[token]
        if "|" not in token:
            return token
        parts = token.split("|")
        nets = {names[p] for p in parts if p in names}
        if len(nets) > 1:
            raise ValueError(f"one net of the tile carries the pins of different nets: {token}")
        return nets.pop() if nets else token

    return "\n".join(" ".join(rename(t) for t in line.split()) for line in body.splitlines())


def compare(schematic: dict, g0: list[float], g: list[list[float]]) -> dict:
    """The layout's G after each step against the schematic transient's (V); the step
    sizes' agreement."""
    n = len(g)
    gs = np.asarray(schematic["g_transistor"][:n])
    gl = np.asarray(g)
    dg_s = gs - np.vstack([schematic["g0"], gs[:-1]])
    dg_l = gl - np.vstack([g0, gl[:-1]])
    return {
        "g0_max_abs_diff_v": float(np.max(np.abs(np.asarray(g0) - schematic["g0"]))),
        "g_max_abs_diff_v": float(np.max(np.abs(gl - gs))),
        "step_rms_dg_schematic_v": np.sqrt(np.mean(dg_s**2, axis=1)).tolist(),
        "step_rms_dg_layout_v": np.sqrt(np.mean(dg_l**2, axis=1)).tolist(),
        "step_rms_diff_v": np.sqrt(np.mean((dg_l - dg_s) ** 2, axis=1)).tolist(),
        "step_correlation": [
            float(np.corrcoef(a, b)[0, 1]) for a, b in zip(dg_l, dg_s, strict=True)
        ],
    }
