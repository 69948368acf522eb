"""Training stage: spec -> Coupled Learning run -> ``train.json`` and PNG plots."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from twinedge import versions
from twinedge.artifacts import staged_outputs
from twinedge.characterise.memory import (
    MemoryCharacterisation,
    MemoryConditions,
    cached_memory_characterisation,
)
from twinedge.characterise.mirror import (
    FLOOR_MARGIN,
    Characterisation,
    Conditions,
    cached_characterisation,
)
from twinedge.circuits.cl import memory_sizing
from twinedge.circuits.memory import MemoryBias
from twinedge.circuits.mirror import UpdateSizing
from twinedge.learn.onchip import HybridRule, MemoryRule, OnChipRule, Rule, RuleLearning
from twinedge.pdk import get as get_pdk
from twinedge.reports.metrics import task_metrics
from twinedge.reports.plots import plot_lattice, plot_outputs, plot_training
from twinedge.sim.learning import CoupledLearning, TrainResult
from twinedge.sim.models import edge_model
from twinedge.sim.network import Network
from twinedge.sim.solver import EquilibriumSolver
from twinedge.spec.loader import LoadedSpec
from twinedge.spec.schema import Design, HybridUpdate, TwinEdgeClCell, XorTask

Progress = Callable[[int, int], None]
AnyCharacterisation = Characterisation | MemoryCharacterisation
AnyConditions = Conditions | MemoryConditions


def characterisation_conditions(design: Design) -> Conditions:
    """The on-chip circuit's characterisation a ``twin_edge_cl`` design needs."""
    cell = design.cell
    assert isinstance(cell, TwinEdgeClCell)
    tr = design.training
    return Conditions(
        pdk=design.pdk,
        corner=cell.model.corner,
        sizing=UpdateSizing(),
        vbp=cell.update.vbp,
        c_gate_f=cell.c_gate_f,
        g_min=tr.g_min,
        t_on=tr.t_h / tr.substeps,
        twin_wl=(cell.w_um, cell.l_um),
        mismatch_n=cell.update.mismatch_instances,
    )


def circuit_conditions(design: Design) -> AnyConditions:
    """The characterisation a ``twin_edge_cl`` design's circuit (``cell.update.circuit``)
    needs; its digest keys every stage that uses it."""
    cell = design.cell
    assert isinstance(cell, TwinEdgeClCell)
    if cell.update.circuit == "mirror":
        return characterisation_conditions(design)
    tr = design.training
    # auto: the layout's trim (twinedge.characterise.trim) applies to the extracted cell; the
    # schematic circuit is characterised with CALB swinging rail to rail
    calb = get_pdk(design.pdk).vdd if cell.update.calb_high == "auto" else cell.update.calb_high
    u = cell.update
    cascodes = {k: v for k, v in (("vcn", u.vcn), ("vcp", u.vcp)) if v is not None}
    return MemoryConditions(
        pdk=design.pdk,
        corner=cell.model.corner,
        sizing=memory_sizing(cell.update.hold_cap_n, cell.update.sizing.items()),
        bias=MemoryBias(vbp=cell.update.vbp, calb_high=calb, **cascodes),
        c_gate_f=cell.c_gate_f,
        g_min=tr.g_min,
        t_h=tr.t_h / tr.substeps,
        twin_wl=(cell.w_um, cell.l_um),
        t_cal=tr.t_frozen / tr.substeps,  # the step's rest: the CAL phase
        mc_n=cell.update.mismatch_instances,
    )


def cached_circuit(cond: AnyConditions, progress=None) -> AnyCharacterisation:
    """The (cached) characterisation for ``cond``, of whichever circuit it is."""
    if isinstance(cond, MemoryConditions):
        return cached_memory_characterisation(cond)
    return cached_characterisation(cond, progress)


def circuit_characterisation(design: Design) -> AnyCharacterisation:
    return cached_circuit(circuit_conditions(design))


def update_rule(design: Design, ch: AnyCharacterisation | None = None) -> Rule | None:
    """The rule a design trains with; None: the simulator's ideal Eq. 4 (compiled path).
    ``ch``: the on-chip circuit's characterisation to use (default: the schematic's)."""
    tr, cell = design.training, design.cell
    t_h = tr.t_h / tr.substeps
    if isinstance(cell, TwinEdgeClCell):
        ch = ch or circuit_characterisation(design)
        n_edges = Network.for_learning(design).n_edges
        vdd = get_pdk(design.pdk).vdd
        if isinstance(ch, MemoryCharacterisation):
            if isinstance(tr.update, HybridUpdate):
                rate = ch.gain_v_per_v2 / ch.t_h
                return HybridRule(tr.update, rate, t_h, tr.g_min, tr.g_max)
            floor = tr.g_min - FLOOR_MARGIN
            return MemoryRule(ch, n_edges, floor, cell.update.mismatch, tr.seed, g_max=vdd)
        if isinstance(tr.update, HybridUpdate):
            return HybridRule(tr.update, ch.pulse_rate, t_h, tr.g_min, tr.g_max)
        return OnChipRule(
            ch, n_edges, t_h, tr.t_frozen / tr.substeps, cell.update.mismatch, tr.seed, g_max=vdd
        )
    if isinstance(tr.update, HybridUpdate):
        return HybridRule(tr.update, tr.rate, t_h, tr.g_min, tr.g_max)
    return None


def twin_power(spec: LoadedSpec, g: np.ndarray) -> float:
    """Mean power both twins dissipate over the datapoints at ``g`` (W): sum of I dV over
    every edge at the free and the clamped equilibrium (what the sources deliver)."""
    args = _learner_args(spec)
    learner = CoupledLearning(*args, solver=_cl_solver(args), compiled=False)
    learner.g = g.copy()
    n = len(spec.dataset.labels)
    return sum(learner.twin_power(p) for p in range(n)) / n


def step_energy(spec: LoadedSpec, g: np.ndarray, ch: AnyCharacterisation | None = None) -> dict:
    """Energy of one on-chip learning step: both twins held for the step, every update
    circuit learning for t_h and frozen (bias on) for t_frozen (the time-differenced
    circuit: its supply power averaged over a whole measured step, CAL phase included)."""
    design = spec.design
    tr = design.training
    ch = ch or circuit_characterisation(design)
    n = Network.for_learning(design).n_edges
    p_twins = twin_power(spec, g)
    step = tr.step_s
    e_twins = p_twins * step
    if isinstance(ch, MemoryCharacterisation):
        p_learning = ch.power_w
        e_circuits = n * ch.power_w * step
    else:
        p_learning = ch.power_learning_w
        e_circuits = n * (ch.power_learning_w * tr.t_h + ch.power_frozen_w * tr.t_frozen)
    return {
        "step_s": step,
        "twins_power_w": p_twins,
        "update_circuits_power_learning_w": n * p_learning,
        "energy_per_step_j": e_twins + e_circuits,
        "energy_per_step_twins_j": e_twins,
        "energy_per_step_update_circuits_j": e_circuits,
    }


def update_record(design: Design, ch: AnyCharacterisation | None = None) -> dict:
    """How G was updated, for train.json: the rule, and the circuit's characterisation."""
    tr, cell = design.training, design.cell
    rec: dict = {"mode": tr.update.mode}
    if isinstance(tr.update, HybridUpdate):
        rec["hybrid"] = tr.update.model_dump()
    if isinstance(cell, TwinEdgeClCell):
        ch = ch or circuit_characterisation(design)
        rec["rule"] = "hybrid digital" if isinstance(tr.update, HybridUpdate) else "on-chip"
        rec["update_circuit"] = cell.update.circuit
        rec["circuit"] = ch.summary()
        rec["mismatch"] = cell.update.mismatch
        rec["step_s"] = tr.step_s
    else:
        rec["rule"] = "hybrid digital" if isinstance(tr.update, HybridUpdate) else "ideal Eq. 4"
    return rec


CL_ITOL = 1e-13
TRAINING_PACKAGES = ("python", "twinedge", "numpy", "scipy", "numba", "pydantic")


def _learner_args(spec: LoadedSpec) -> tuple:
    design = spec.design
    return (Network.for_learning(design), edge_model(design), spec.dataset, design.training)


def _cl_solver(args: tuple) -> EquilibriumSolver:
    # the on-chip floor is soft: edges can sit in deep subthreshold (pA), where a KCL
    # residual of 1e-15 A is below what the table lookup resolves; 1e-13 A is still 1e-7 of
    # the uA edge currents
    net, model = args[0], args[1]
    return EquilibriumSolver(net, model, itol=CL_ITOL)


def nominal_circuit(design: Design) -> Design:
    """The same ``twin_edge_cl`` design with every edge's circuit nominal (no mismatch)."""
    cell = design.cell
    assert isinstance(cell, TwinEdgeClCell)
    update = cell.update.model_copy(update={"mismatch": False})
    return design.model_copy(update={"cell": cell.model_copy(update={"update": update})})


def trainer(
    spec: LoadedSpec,
    ch: AnyCharacterisation | None = None,
    clamp: Callable | None = None,
    within: int = 1,
) -> CoupledLearning:
    """The design's learner; ``clamp``: the clamped outputs as a circuit makes them
    (:class:`twinedge.learn.clamp.ErrorElementClamp`; None: the ideal nudge); ``within``:
    LEARN slices per step (:meth:`twinedge.learn.onchip.RuleLearning.learn_within`)."""
    args = _learner_args(spec)
    rule = update_rule(spec.design, ch)
    if rule is None:
        return CoupledLearning(*args, clamp=clamp)
    return RuleLearning(*args, rule=rule, solver=_cl_solver(args), clamp=clamp, within=within)


def run_training(
    spec: LoadedSpec,
    progress: Progress | None = None,
    ch: AnyCharacterisation | None = None,
    clamp: Callable | None = None,
) -> TrainResult:
    return trainer(spec, ch, clamp).run(progress)


def train_record(spec: LoadedSpec, result: TrainResult) -> dict:
    """Everything a user needs to judge and reproduce the run, JSON-ready."""
    design, net = spec.design, Network.for_learning(spec.design)
    history = []
    for k, t in enumerate(result.times):
        history.append(
            {
                "t": float(t),
                "step": int(result.steps[k]),
                "mse": float(result.mse[k]),
                "modes": {n: float(result.modes[k, m]) for m, n in enumerate(result.mode_names)},
            }
        )
    return {
        "design": design.name,
        "spec": str(spec.path),
        "spec_sha256": hashlib.sha256(spec.path.read_bytes()).hexdigest()
        if spec.path.is_file()
        else None,
        "final_mse": result.final_mse,
        "metrics": task_metrics(design, result),
        "history": history,
        "mode_names": result.mode_names,
        "input_names": list(spec.dataset.names),
        "inputs": spec.dataset.inputs.tolist(),
        "labels": result.labels.tolist(),
        "outputs": result.outputs.tolist(),
        "G": result.g.tolist(),
        "G_init": result.g_init.tolist(),
        "edges": [[net.node_rc(a), net.node_rc(b)] for a, b in net.edges.tolist()],
        "run": {
            "steps": int(result.steps[-1]),
            "learning_time_s": float(result.times[-1]),
            "wall_s": result.wall_s,
            "steps_per_s": float(result.steps[-1] / result.wall_s) if result.wall_s else None,
            "newton_iterations": result.newton_iterations,
            "seed": design.training.seed,
        },
        "versions": versions.tools(TRAINING_PACKAGES),
    }


def write_training(
    spec: LoadedSpec,
    result: TrainResult,
    out_dir: Path,
    extra: dict | None = None,
    ch: AnyCharacterisation | None = None,
) -> Path:
    """Write ``train.json`` (with ``extra`` keys added) and the three plots into ``out_dir``
    (all or nothing); ``ch``: the characterisation the run used, if not the schematic's."""
    design = spec.design
    update = update_record(design, ch)
    if isinstance(design.cell, TwinEdgeClCell):
        energy = step_energy(spec, result.g, ch)
        if isinstance(design.training.update, HybridUpdate):
            # the analog update circuits are idle; the converters are not modelled
            energy = {k: v for k, v in energy.items() if "update_circuits" not in k}
            energy["energy_per_step_j"] = energy["energy_per_step_twins_j"]
            energy["note"] = "twins only: ADC, digital update and DAC energy not modelled"
        update["energy"] = energy
    record = {**train_record(spec, result), "update": update, **(extra or {})}
    net = Network.for_learning(design)
    threshold = design.task.l0 / 2 if isinstance(design.task, XorTask) else None
    with staged_outputs(out_dir) as tmp:
        (tmp / "train.json").write_text(json.dumps(record, indent=1, default=_json_default))
        plot_training(result, tmp / "training.png", f"{design.name}: Coupled Learning")
        plot_outputs(result, spec.dataset, tmp / "outputs.png", threshold)
        plot_lattice(
            net, result.g, tmp / "lattice.png", (design.training.g_min, design.training.g_max)
        )
    return out_dir / "train.json"


def _json_default(obj: object) -> object:
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")
