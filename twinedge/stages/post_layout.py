"""Post-layout stages of the flow: extraction, post-layout training, energy, report.

Each is a function from artifacts in ``build/<design>/`` to new ones, re-run only when its
inputs changed (see :mod:`twinedge.stages.keys`).
"""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

from twinedge.artifacts import staged_outputs
from twinedge.learn.energy import EnergyReport, inference_energy, learning_step_energy
from twinedge.learn.post_layout import ExtractedTwins, PostLayoutLearning
from twinedge.learn.train import Progress, write_training
from twinedge.pdk import device_name
from twinedge.spec.loader import LoadedSpec
from twinedge.spec.schema import Level1Model, PdkModel
from twinedge.stages.keys import digest, is_current, mark
from twinedge.stages.layout import spec_digest
from twinedge.verify.pex import Extraction, kpex_version, load_extraction, run_extraction

POST_LAYOUT_LOG_POINTS = 100


class PostLayoutError(RuntimeError):
    pass


def corner_of(spec: LoadedSpec) -> str:
    model = spec.design.cell.model
    return model.corner if isinstance(model, PdkModel) else "tt"


def model_library(spec: LoadedSpec) -> str:
    from twinedge.pdk import sky130

    if spec.design.pdk != "sky130":
        raise PostLayoutError(f"no post-layout models for pdk {spec.design.pdk!r} (have sky130)")
    return str(sky130.reduced_model_lib(device_name("sky130"), corner_of(spec)))


def check_post_layout_model(spec: LoadedSpec) -> None:
    """Post-layout runs use the PDK transistor (a level-1 spec has no meaning there) and a
    layout generator for the spec's PDK."""
    if isinstance(spec.design.cell.model, Level1Model):
        raise PostLayoutError(
            f"{spec.path}: cell.model.kind: post-layout simulation needs the PDK device "
            "(got level1; allowed: pdk)"
        )
    if spec.design.pdk != "sky130":
        raise PostLayoutError(
            f"{spec.path}: pdk: post-layout needs a layout generator "
            f"(got {spec.design.pdk}; allowed: sky130)"
        )


# ------------------------------------------------------------------ extraction
def extraction_stage(spec: LoadedSpec, gds: Path, build: Path) -> tuple[Extraction, bool]:
    out = build / "pex"
    key = digest(gds, kpex_version(), "pex-2")
    if is_current(out, key, ["pex.json"]):
        return load_extraction(out), False
    ext = run_extraction(spec.design, gds, out)
    mark(out, key)
    return ext, True


# ------------------------------------------------------------------ post-layout training
def post_layout_training(
    spec: LoadedSpec, ext: Extraction, build: Path, progress: Progress | None = None
) -> tuple[dict, bool]:
    check_post_layout_model(spec)
    out = build / "post_layout"
    key = digest(ext.netlist, spec_digest(spec.design), "post-layout-1")
    if is_current(out, key, ["train.json"]):
        return json.loads((out / "train.json").read_text()), False
    tr = spec.design.training
    log_every = tr.log_every or max(1, tr.n_steps // POST_LAYOUT_LOG_POINTS)
    design = spec.design.model_copy(
        update={"training": tr.model_copy(update={"log_every": log_every})}
    )
    run_spec = replace(spec, design=design)
    twins = ExtractedTwins(run_spec, ext, model_library(spec), corner_of(spec))
    learner = PostLayoutLearning(run_spec, twins)
    result = learner.run(progress)
    extra = {
        "post_layout": {
            "netlist": str(ext.netlist),
            "extractor": ext.tool,
            "clamped_power_w": learner.clamped_power(),
            "mean_charge_up_v_per_step": learner.charge_up_v / max(1, learner.n_updates),
            "ngspice_ops": 2 * learner.n_updates + len(result.steps) * len(spec.dataset.labels),
        }
    }
    path = write_training(run_spec, result, out, extra)
    record = json.loads(path.read_text())
    mark(out, key)
    return record, True


# ------------------------------------------------------------------ energy
def energy_stage(
    spec: LoadedSpec, ext: Extraction, post: dict, build: Path
) -> tuple[EnergyReport, bool]:
    out = build / "energy"
    g = np.asarray(post["G"], float)
    key = digest(ext.netlist, spec_digest(spec.design), post["G"], "energy-1")
    if is_current(out, key, ["energy.json"]):
        return EnergyReport(**json.loads((out / "energy.json").read_text())), False
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
        transitions=len(inference.settling_each_s),
    )
    with staged_outputs(out) as tmp:
        (tmp / "energy.json").write_text(json.dumps(report.as_dict(), indent=1))
    mark(out, key)
    return report, True
