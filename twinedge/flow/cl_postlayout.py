"""Post-layout check of the on-chip learning cell.

One ``twin_edge_cl`` cell (its twins, gate capacitor and update circuit, as the array
tiles it) is extracted by klayout-pex (2.5D RC: wire resistance, wire capacitance to
substrate and between wires, e.g. the LEARN / LEARNB tracks to the G stub), then the
characterisation's switching transient runs on the extracted cell: charge injected at
unfreeze and freeze, the whole zero-input pulse's dG (the offset that learning is most
sensitive to), dG/dt at half-range input and G's total capacitance. The result sits next to
the schematic's numbers, so layout-induced offsets show up before training trusts the
characterised rule.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import gdsfactory as gf

from twinedge.flow.array import cl_geometry_for
from twinedge.flow.artifacts import staged_outputs
from twinedge.flow.characterise import Characterisation, transient
from twinedge.flow.cl_cells import GLOBALS, twin_edge_cl
from twinedge.flow.extraction import (
    ExtractionError,
    _substrate_only,
    flat_body,
    kpex_version,
    run_kpex,
    summarize,
)
from twinedge.flow.gds import write_gds
from twinedge.flow.update_circuit import UpdateSizing
from twinedge.pdk import sky130 as pdk
from twinedge.spec.schema import Design
from twinedge.verification.pex_lvsdb import build_pex_lvsdb

GATE_NET = "G0"  # the pex database names the cell's G label G<k>


@dataclass
class PostLayoutCell:
    netlist: str
    tool: str
    resistors: int
    capacitors: int
    q_on_c: float
    q_off_c: float
    dgdt_half_range_v_per_s: float
    c_gate_f: float
    dg_zero_pulse_v: float

    def as_dict(self) -> dict:
        return asdict(self)


def cell_gds(design: Design, path: Path) -> Path:
    """One horizontal ``twin_edge_cl`` cell with top-level labels on its ports (the port
    names of the update subcircuit: af, bf, ac, bc, vdd, vbp, learn, learnb, vfloor)."""
    pdk.activate()
    gf.clear_cache()
    cell = design.cell
    cg = cl_geometry_for(design)
    top = gf.Component(name=f"{design.name}_cl_cell")
    top.add_ref(twin_edge_cl(cell.w_um, cell.l_um, cell.c_gate_f, "below"))
    g = cg.edge
    cols = dict(cg.edge_cols)
    y_run = {"af": g.y_free, "bf": g.y_free, "ac": g.y_clamp, "bc": g.y_clamp}
    for net, y in y_run.items():
        top.add_label(net, position=(cg.x_block + cols[net], y), layer=pdk.LABELS[pdk.MET1])
    y_glob = cg.band_offsets()[0]  # the horizontal cell's block: its own y
    for net in GLOBALS:
        if net != "0":  # the substrate net: ground
            x = cg.x_block + cg.x_stack
            top.add_label(net, position=(x, y_glob[net]), layer=pdk.LABELS[pdk.MET1])
    return write_gds(top, path)


def extract_cell(design: Design, out_dir: Path) -> tuple[Path, str]:
    """kpex on one cell: (netlist, kpex log)."""
    gds = cell_gds(design, out_dir / "cl_cell.gds")
    db = build_pex_lvsdb(gds, out_dir / "cl_cell.lvsdb", with_pfet=True)
    spice, problems, log = run_kpex(db.path, out_dir / "kpex")
    serious = [p for p in problems if not _substrate_only(p)]
    if serious:
        raise ExtractionError(f"kpex netlist of the cell inconsistent: {serious[0]}")
    netlist = out_dir / "cl_cell.pex.spice"
    shutil.copyfile(spice, netlist)
    shutil.rmtree(out_dir / "kpex")
    return netlist, log


def post_layout_cell(design: Design, ch: Characterisation, out_dir: Path) -> PostLayoutCell:
    """Extract one cell and run the switching transient on it (build/<d>/characterise/)."""
    with staged_outputs(out_dir) as tmp:
        netlist, log = extract_cell(design, tmp)
        text = netlist.read_text()
        counts = summarize(text)
        body = re.sub(rf"(?<![\w$.]){GATE_NET}(?=[\s.]|$)", "g", flat_body(text), flags=re.M)
        q_on, q_off, dgdt, c_eff, dg_zero = transient(
            ch.corner,
            UpdateSizing(**ch.sizing),
            ch.vbp,
            ch.vfloor,
            0.0,
            ch.range_v,
            ch.t_on,
            cell=body,
        )
        result = PostLayoutCell(
            netlist=str(out_dir / netlist.name),
            tool=f"klayout-pex {kpex_version()} (2.5D, RC)",
            resistors=counts.n_resistors,
            capacitors=counts.n_capacitors,
            q_on_c=q_on,
            q_off_c=q_off,
            dgdt_half_range_v_per_s=dgdt,
            c_gate_f=c_eff,
            dg_zero_pulse_v=dg_zero,
        )
        (tmp / "kpex.log").write_text(log)
        (tmp / "post_layout.json").write_text(json.dumps(result.as_dict(), indent=1))
    return result


def with_post_layout(ch: Characterisation, cell: dict) -> Characterisation:
    """The schematic characterisation with the extracted cell's switching numbers: its G
    capacitance, charge injection, zero-input pulse and pulse dG/dt (the DC transfer, its
    mismatch spread, compliance and leakage stay the schematic's: the wiring's resistance
    carries nA and does not move them)."""
    return replace(
        ch,
        c_gate_f=cell["c_gate_f"],
        inj_on_c=cell["q_on_c"],
        inj_off_c=cell["q_off_c"],
        dg_zero_pulse=cell["dg_zero_pulse_v"],
        dgdt_transient=cell["dgdt_half_range_v_per_s"],
        # the DC current's dG/dt, on the extracted G capacitance
        dgdt_predicted=ch.dgdt_predicted * ch.c_gate_f / cell["c_gate_f"],
    )
