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
import numpy as np

from twinedge import processes
from twinedge.artifacts import staged_outputs
from twinedge.cells.array import cl_geometry_for, edge_cells
from twinedge.cells.gds import write_gds
from twinedge.characterise.memory import (
    G_REF,
    SIGNAL,
    MemoryCharacterisation,
    StepRun,
    step_dg,
)
from twinedge.characterise.mirror import Characterisation, transient
from twinedge.circuits.memory import MemoryBias, MemorySizing
from twinedge.circuits.mirror import UpdateSizing
from twinedge.pdk import Pdk
from twinedge.pdk import activate as activate_pdk
from twinedge.pdk import get as get_pdk
from twinedge.spec.schema import Design
from twinedge.verify.pex import (
    ExtractionError,
    _substrate_only,
    flat_body,
    kpex_version,
    run_kpex,
    summarize,
)
from twinedge.verify.pex_lvsdb import build_pex_lvsdb

EXTRACTED_NETLIST = "cl_cell.pex.spice"
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
    """One horizontal ``twin_edge_cl`` cell with top-level labels on its ports (the edge's
    af, bf, ac, bc and the update subcircuit's global nets)."""
    pdk = activate_pdk(design.pdk)
    label_layer = pdk.label_of[pdk.layers.MET1]
    gf.clear_cache()
    cg = cl_geometry_for(design)
    top = gf.Component(name=f"{design.name}_cl_cell")
    top.add_ref(edge_cells(design)[0])
    g = cg.edge
    cols = dict(cg.edge_cols)
    # the free twin's runs pass the clamped twin's landing columns (A left, B right)
    x_run = {"af": cols["ac"], "bf": cols["bc"], "ac": cols["ac"], "bc": cols["bc"]}
    y_run = {"af": g.y_free, "bf": g.y_free, "ac": g.y_clamp, "bc": g.y_clamp}
    for net, y in y_run.items():
        top.add_label(net, position=(cg.x_block + x_run[net], y), layer=label_layer)
    y_glob = cg.band_offsets()[0]  # the horizontal cell's block: its own y
    for net in cg.globals:
        if net != "0":  # the substrate net: ground
            x = cg.x_block + cg.x_stack
            top.add_label(net, position=(x, y_glob[net]), layer=label_layer)
    return write_gds(top, path)


def extract_cell(design: Design, out_dir: Path) -> tuple[Path, str]:
    """kpex on one cell: (netlist, kpex log)."""
    gds = cell_gds(design, out_dir / "cl_cell.gds")
    db = build_pex_lvsdb(gds, out_dir / "cl_cell.lvsdb", with_pfet=True)
    spice, problems, log = run_kpex(db.path, out_dir / "kpex")
    serious = [p for p in problems if not _substrate_only(p)]
    if serious:
        raise ExtractionError(f"kpex netlist of the cell inconsistent: {serious[0]}")
    netlist = out_dir / EXTRACTED_NETLIST
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
            get_pdk(design.pdk),
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


# ------------------------------------------------------------ the time-differenced circuit
POST_LAYOUT_G = (0.6, 0.8, 1.0, 1.2, 1.4)  # G of the zero-input steps on the extracted cell


@dataclass
class PostLayoutMemoryCell:
    """Whole learning steps of the time-differenced circuit on one extracted cell: the
    zero-input residual against G (the layout's offset and its pull: X's wiring charge
    shared into G at LEARN, coupling onto the hold node) and the gain at G_REF."""

    netlist: str
    tool: str
    resistors: int
    capacitors: int
    calb_high_v: float
    g_points: list[float]
    zero_v: list[float]  # dG per step at zero input, at g_points
    schematic_zero_v: list[float]
    gain_v_per_v2: float
    schematic_gain_v_per_v2: float
    residual_v2: float  # input-referred zero-input residual at G_REF
    schematic_residual_v2: float
    pull_v2_per_v: float  # -d(residual)/dG, input-referred
    schematic_pull_v2_per_v: float
    power_w: float

    def as_dict(self) -> dict:
        return asdict(self)


def _pull(g: list[float], zero: list[float], gain: float) -> float:
    return float(-np.polyfit(g, zero, 1)[0] / gain)


def cell_step(
    body: str,
    pdk: Pdk,
    corner: str,
    sizing: MemorySizing,
    bias: MemoryBias,
    t_h: float,
    vfloor: float,
    run: StepRun,
) -> tuple[float, float]:
    """(dG, supply power) of one learning step on the extracted cell ``body``, a deck of
    its own."""
    th = round(t_h * 1e9, 3)
    dg, power = step_dg([run], pdk, corner, sizing, bias, 0.0, th, vfloor=vfloor, cell=body)
    return float(dg[0]), power


def memory_cell_steps(
    body: str,
    pdk: Pdk,
    corner: str,
    sizing: MemorySizing,
    bias: MemoryBias,
    t_h: float,
    vfloor: float,
    g_points=POST_LAYOUT_G,
) -> tuple[np.ndarray, float, float]:
    """(zero-input dG at ``g_points``, gain at G_REF, power) of the extracted cell ``body``
    (its own G capacitance: the deck's c_gate is unused).

    Each step is a deck of its own, side by side on the machine's cores: ngspice's time
    grows faster than the instances of a deck (an extracted cell has ~7,000 elements; six
    in one deck took 90 s, one per deck 27 s on two cores), and the decks' numerical
    difference (~1e-6 V of dG) is far below what the trim resolves."""
    runs = [StepRun(0.0, 0.0, g) for g in g_points] + [StepRun(*SIGNAL, G_REF)]

    def one(run: StepRun) -> tuple[float, float]:
        return cell_step(body, pdk, corner, sizing, bias, t_h, vfloor, run)

    done = processes.parallel(one, runs, processes.jobs())
    dg = np.array([d for d, _ in done])
    power = float(np.mean([p for _, p in done]))
    zero = dg[:-1]
    x_sig = SIGNAL[0] ** 2 - SIGNAL[1] ** 2
    gain = float((dg[-1] - np.interp(G_REF, g_points, zero)) / x_sig)
    return zero, gain, power


# A chip's cell carries its G reader; on the bench it is not addressed, as in the chip while
# another edge is read: both selects off (at VDD), the read line held low by its sink.
READER_IDLE = {"rselb": "vdd", "cselb": "vdd", "read": "0"}


def _body(text: str) -> tuple[str, dict]:
    """(element lines with G named ``g``, R and C counts) of an extracted cell's netlist; a
    reader's ports tied to their idle levels (:data:`READER_IDLE`), not left floating."""
    body = re.sub(rf"(?<![\w$.]){GATE_NET}(?=[\s.]|$)", "g", flat_body(text), flags=re.M)
    ports = re.search(r"^\.SUBCKT\s+\S+\s+(.*(?:\n\+.*)*)", text, re.M | re.I)
    names = set(ports.group(1).replace("\n+", " ").split()) if ports else set()
    ties = [f"Vidle_{n} {n} {level} 0" for n, level in READER_IDLE.items() if n in names]
    counts = summarize(text)
    body = "\n".join([body, *ties]) if ties else body
    return body, {"resistors": counts.n_resistors, "capacitors": counts.n_capacitors}


def extracted_body(design: Design, out_dir: Path) -> tuple[str, dict, str, Path]:
    """Extract one cell (kpex): (element lines with G named ``g``, counts, log, netlist)."""
    netlist, log = extract_cell(design, out_dir)
    return *_body(netlist.read_text()), log, netlist


def post_layout_memory_cell(
    design: Design,
    m: MemoryCharacterisation,
    out_dir: Path,
    calb: float,
    extracted: Path | None = None,
) -> PostLayoutMemoryCell:
    """Extract one cell and run zero-input and signal steps on it with CALB high ``calb``
    (the layout's trim), into build/<d>/post_layout_cell/. ``extracted``: the trim's
    extraction of the same cell (its folder's netlist and kpex log), reused, not redone."""
    with staged_outputs(out_dir) as tmp:
        if extracted is None:
            body, counts, log, netlist = extracted_body(design, tmp)
        else:
            netlist = tmp / EXTRACTED_NETLIST
            shutil.copyfile(extracted / EXTRACTED_NETLIST, netlist)
            log = (extracted / "kpex.log").read_text()
            body, counts = _body(netlist.read_text())
        bias = replace(MemoryBias(**m.bias), calb_high=calb)
        zero, gain, power = memory_cell_steps(
            body, get_pdk(design.pdk), m.corner, MemorySizing(**m.sizing), bias, m.t_h, m.vfloor
        )
        g = list(POST_LAYOUT_G)
        sch = np.interp(g, m.g_grid, m.zero_v)
        result = PostLayoutMemoryCell(
            netlist=str(out_dir / netlist.name),
            tool=f"klayout-pex {kpex_version()} (2.5D, RC)",
            calb_high_v=calb,
            g_points=g,
            zero_v=zero.tolist(),
            schematic_zero_v=sch.tolist(),
            gain_v_per_v2=gain,
            schematic_gain_v_per_v2=m.gain_v_per_v2,
            residual_v2=float(np.interp(G_REF, g, zero) / gain),
            schematic_residual_v2=float(np.interp(G_REF, m.g_grid, m.zero_v) / m.gain_v_per_v2),
            pull_v2_per_v=_pull(g, zero.tolist(), gain),
            schematic_pull_v2_per_v=_pull(g, sch.tolist(), m.gain_v_per_v2),
            power_w=power,
            **counts,
        )
        (tmp / "kpex.log").write_text(log)
        (tmp / "post_layout.json").write_text(json.dumps(result.as_dict(), indent=1))
    return result


def with_post_layout_memory(m: MemoryCharacterisation, cell: dict) -> MemoryCharacterisation:
    """The schematic characterisation with the extracted cell's zero-input residual (the
    difference to the schematic's, a line in G, added along the whole G grid) and gain (T1
    and the no-nudge error scaled by it); the mismatch spread stays the schematic's."""
    scale = cell["gain_v_per_v2"] / m.gain_v_per_v2
    diff = np.asarray(cell["zero_v"]) - np.asarray(cell["schematic_zero_v"])
    line = np.polyfit(cell["g_points"], diff, 1)
    zero = np.asarray(m.zero_v) + np.polyval(line, m.g_grid)
    gain = cell["gain_v_per_v2"]
    slope, icpt = np.polyfit(cell["g_points"], cell["zero_v"], 1)
    return replace(
        m,
        gain_v_per_v2=gain,
        t1_v=(np.asarray(m.t1_v) * scale).tolist(),
        common_v=(np.asarray(m.common_v) * scale).tolist(),
        zero_v=zero.tolist(),
        pull_v2_per_v=float(-slope / gain),
        g_cal=float(-icpt / slope) if slope else G_REF,
        power_w=cell["power_w"],
    )
