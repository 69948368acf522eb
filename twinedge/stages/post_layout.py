"""Post-layout stage bodies: training on the extracted netlist and the energy figures.

Each writes its outputs into the folder it is given; :mod:`twinedge.stages.flow` decides
when they run (see :mod:`twinedge.stages.base`).
"""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

from twinedge.artifacts import staged_outputs
from twinedge.learn.energy import EnergyReport, inference_energy, learning_step_energy
from twinedge.learn.post_layout import ExtractedTwins, PostLayoutLearning
from twinedge.learn.reduced import ReducedTwins, ReductionError, WithFallback
from twinedge.learn.train import Progress, write_training
from twinedge.pdk import REGISTRY, get
from twinedge.sim.models import edge_model
from twinedge.spec.loader import LoadedSpec
from twinedge.spec.schema import Level1Model, PdkModel
from twinedge.verify.pex import Extraction

POST_LAYOUT_LOG_POINTS = 100
# the reduced solver (twinedge.learn.reduced) is checked against ngspice on the same netlist
# at this many evenly spaced steps of every run; the worst terminal voltage is reported
REDUCED_CHECKS = 10
REDUCED_TOLERANCE_V = 100e-6


class PostLayoutError(RuntimeError):
    pass


def corner_of(spec: LoadedSpec) -> str:
    model = spec.design.cell.model
    return model.corner if isinstance(model, PdkModel) else "tt"


def model_library(spec: LoadedSpec) -> str:
    pdk = get(spec.design.pdk)
    return str(pdk.reduced_model_lib(pdk.nfet, corner_of(spec)))


def check_post_layout_model(spec: LoadedSpec) -> None:
    """Post-layout runs use the PDK transistor (a level-1 spec has no meaning there) and a
    layout generator for the spec's PDK."""
    if isinstance(spec.design.cell.model, Level1Model):
        raise PostLayoutError(
            f"{spec.path}: cell.model.kind: post-layout simulation needs the PDK device "
            "(got level1; allowed: pdk)"
        )
    if spec.design.pdk not in REGISTRY:
        raise PostLayoutError(
            f"{spec.path}: pdk: post-layout needs a layout generator "
            f"(got {spec.design.pdk}; allowed: {', '.join(REGISTRY)})"
        )


# ------------------------------------------------------------------ post-layout training
def post_layout_training(
    spec: LoadedSpec, ext: Extraction, out: Path, progress: Progress | None = None
) -> dict:
    """Train on the extracted netlist; writes ``out/train.json``. The equilibria come from
    the extracted wiring reduced to the transistors' terminals with the PDK device table
    (:mod:`twinedge.learn.reduced`), checked against ngspice at ``REDUCED_CHECKS`` steps;
    a netlist the reduction does not model falls back to ngspice at every step."""
    check_post_layout_model(spec)
    tr = spec.design.training
    log_every = tr.log_every or max(1, tr.n_steps // POST_LAYOUT_LOG_POINTS)
    design = spec.design.model_copy(
        update={"training": tr.model_copy(update={"log_every": log_every})}
    )
    run_spec = replace(spec, design=design)
    ngspice = ExtractedTwins(run_spec, ext, model_library(spec), corner_of(spec))
    try:
        reduced = ReducedTwins(run_spec, ext, edge_model(spec.design))
    except ReductionError as exc:
        reduced, why = None, str(exc)
    if reduced is not None:
        every = max(1, tr.n_steps // REDUCED_CHECKS)
        learner = PostLayoutLearning(run_spec, WithFallback(reduced, ngspice), ngspice, every)
    else:
        learner = PostLayoutLearning(run_spec, ngspice)
    result = learner.run(progress)
    solver = (
        {"kind": "reduced wiring + PDK table (Kron)", "kept_nodes": len(reduced.nodes),
         "checked_steps": learner.checks, "worst_check_v": learner.worst_check_v,
         "worst_source_power_rel": learner.worst_power_rel,
         "ngspice_fallbacks": learner.twins.fallbacks,
         "tolerance_v": REDUCED_TOLERANCE_V,
         "within_tolerance": learner.worst_check_v <= REDUCED_TOLERANCE_V}
        if reduced is not None else {"kind": "ngspice per operating point", "why": why}
    )  # fmt: skip
    extra = {
        "post_layout": {
            "netlist": str(ext.netlist),
            "extractor": ext.tool,
            "clamped_power_w": learner.clamped_power(),
            "mean_charge_up_v_per_step": learner.charge_up_v / max(1, learner.n_updates),
            "solver": solver,
        }
    }
    path = write_training(run_spec, result, out, extra)
    return json.loads(path.read_text())


# ------------------------------------------------------------------ energy
def energy_report(spec: LoadedSpec, ext: Extraction, post: dict, out: Path) -> EnergyReport:
    """Energy per inference (transient on the extracted netlist at the trained G) and per
    learning step; writes ``out/energy.json``."""
    g = np.asarray(post["G"], float)
    inference = inference_energy(spec, ext, g, model_library(spec), corner_of(spec))
    c_gate = spec.design.cell.c_gate_f + float(
        np.mean([ext.node_c_f.get(p, 0.0) for p in ext.gate_port])
    )
    pl = post["post_layout"]
    total, twins, update = learning_step_energy(
        spec, pl["clamped_power_w"], pl["mean_charge_up_v_per_step"], c_gate
    )
    report = EnergyReport(
        **asdict(inference),
        per_edge_j=inference.inference_j / len(ext.gate_port),
        learning_step_j=total,
        learning_twins_j=twins,
        learning_update_j=update,
    )
    with staged_outputs(out) as tmp:
        (tmp / "energy.json").write_text(json.dumps(report.as_dict(), indent=1))
    return report
