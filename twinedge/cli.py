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
    from twinedge.flow.layout import LayoutResult

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


def _train(loaded: LoadedSpec, out_dir: Path) -> dict:
    from twinedge.flow.train import run_training, write_training
    from twinedge.sim.solver import ConvergenceError

    n = loaded.design.training.n_steps
    columns = [
        TextColumn("[bold]training"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} steps"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    ]
    try:
        with Progress(*columns, console=err, transient=True, disable=not err.is_terminal) as bar:
            task = bar.add_task("train", total=n)
            result = run_training(loaded, lambda k, _n: bar.update(task, completed=k))
    except ConvergenceError as exc:
        err.print(f"error: {loaded.path}: training failed: {exc}", markup=False)
        raise typer.Exit(1) from None
    path = write_training(loaded, result, out_dir)
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
    out.print(f"  wrote {out_dir}/train.json, training.png, outputs.png, lattice.png", markup=False)


@app.command()
def train(
    spec: Annotated[Path, typer.Argument(help="design spec (YAML)")],
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="output folder (default build/<design>/train)")
    ] = None,
) -> None:
    """Train the twin network (schematic level) and write train.json and plots."""
    loaded = _load(spec)
    target = out_dir or _build_dir(loaded.design.name) / "train"
    _summary(_train(loaded, target), target)


SEED_EDGES_PER_MM2 = 1e7 / 10.0  # the seed's projection: ~1e7 edges in ~10 mm2 at 180 nm


def _layout(loaded: LoadedSpec, reuse: bool = False) -> LayoutResult:
    from twinedge.flow.layout import LayoutError, current_layout, run_layout

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
    from twinedge.verification.drc import DrcError, run_drc

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
    from twinedge.verification.lvs import run_lvs

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


@app.command()
def flow(
    spec: Annotated[
        Path | None, typer.Argument(help="design spec (default: the embedded designs/xor_4x4.yaml)")
    ] = None,
) -> None:
    """Run every stage that exists so far: layout -> DRC -> LVS -> training.

    Exits 1 (not tapeout-ready) if DRC or LVS fails. Extraction, post-layout simulation and
    the energy report join as they land.
    """
    loaded = _load(spec or DEFAULT_DESIGN)
    build = _build_dir(loaded.design.name)
    out.print(f"flow: {loaded.path} -> {build}/", markup=False)
    ok = True
    if loaded.design.pdk == "sky130":
        _layout(loaded)
        ok = _drc(loaded) & _lvs(loaded)
    else:
        out.print(f"layout: skipped, no {loaded.design.pdk} generator yet", markup=False)
    target = build / "train"
    _summary(_train(loaded, target), target)
    if not ok:
        err.print("flow: DRC or LVS failed: not tapeout-ready", markup=False)
        raise typer.Exit(1)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()
