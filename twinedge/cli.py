"""``twinedge`` command line: validate, train, characterise, layout, drc, lvs, flow.

Only arguments and printing live here; the stages are in :mod:`twinedge.stages`.
Exit codes: 0 success; 1 a run failed (an equilibrium did not converge, DRC violations, an
LVS mismatch, an output that cannot be written, the design's build folder in use with
``--no-wait``); 2 bad input (one line naming the file, field, value and what is allowed;
nothing written); 130 interrupted (one line naming what stopped; nothing of it kept).
"""

from __future__ import annotations

import contextlib
import inspect
import typing
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated

import click
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from typer.core import TyperGroup
from typer.models import ArgumentInfo

from twinedge import versions
from twinedge.artifacts import FolderBusy, OutputError, check_writable
from twinedge.spec import LoadedSpec, SpecError, load_spec
from twinedge.stages.base import Run, StageError

DEFAULT_DESIGN = Path(__file__).resolve().parent.parent / "designs" / "xor_4x4.yaml"


class _Commands(TyperGroup):
    """The command group, with each argument's help put back: typer (0.24) stores it on
    the argument before click (8.5, whose Argument took a ``help`` of its own) resets it to
    None, and ``twinedge <command> --help`` then listed arguments without saying what they
    are. The text comes from the command function's ``typer.Argument(help=...)``."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for command in self.commands.values():
            if command.callback is None:
                continue
            hints = typing.get_type_hints(inspect.unwrap(command.callback), include_extras=True)
            for param in command.params:
                if not isinstance(param, click.Argument) or getattr(param, "help", None):
                    continue
                meta = getattr(hints.get(param.name or ""), "__metadata__", ())
                param.help = next((m.help for m in meta if isinstance(m, ArgumentInfo)), None)


app = typer.Typer(
    cls=_Commands,
    add_completion=False,
    no_args_is_help=True,
    help="Compile learning metamaterials: spec -> training, layout, DRC, LVS, PEX, report.",
)
err = Console(stderr=True, highlight=False, soft_wrap=True)
out = Console(highlight=False, soft_wrap=True)


def _say(line: str) -> None:
    out.print(line, markup=False)


def _fail(message: str, code: int) -> typer.Exit:
    err.print(f"error: {message}", markup=False)
    return typer.Exit(code)


def _load(spec: Path) -> LoadedSpec:
    try:
        return load_spec(spec)
    except SpecError as exc:
        raise _fail(str(exc), 2) from None


@contextlib.contextmanager
def _progress(label: str, total: int) -> Iterator[Callable[[int], None]]:
    """A transient bar on stderr (off when stderr is no terminal)."""
    columns = [
        TextColumn(f"[bold]{label}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    ]
    with Progress(*columns, console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task(label, total=total)
        yield lambda k: bar.update(task, completed=k)


def _run(loaded: LoadedSpec) -> Run:
    return Run(loaded, Path("build") / loaded.design.name, say=_say, progress=_progress)


def _waiting(busy: str) -> None:
    err.print(f"{busy}; waiting for it to finish (--no-wait: stop instead)", markup=False)


@contextlib.contextmanager
def _session(spec: Path, command: str, no_wait: bool = False, hold: bool = True) -> Iterator[Run]:
    """A command's run on one design, every way it can end in one line.

    ``hold``: own ``build/<design>/`` meanwhile (:meth:`Run.hold`; waits for another run
    on the design, or refuses with ``no_wait``). Ctrl-C: ``interrupted: <stage> on
    <design>``, exit 130 (handled here because typer turns a KeyboardInterrupt that reaches
    it into a silent exit 130). A failed stage: its message and code. An output that cannot
    be written, or any other error of the file system: the path and the cause, exit 1.
    """
    run: Run | None = None
    try:
        run = _run(_load(spec))
        with run.hold(not no_wait, _waiting) if hold else contextlib.nullcontext():
            yield run
    except KeyboardInterrupt:
        if run is None:
            what = command
        elif run.current:
            what = f"{run.current} on {run.design.name} (nothing of this stage kept)"
        else:
            what = f"{command} on {run.design.name}"
        err.print(f"interrupted: {what}", markup=False)
        raise typer.Exit(130) from None
    except StageError as exc:
        raise _fail(str(exc), exc.exit_code) from None
    except OutputError as exc:
        raise _fail(str(exc), 1) from None
    except FolderBusy as exc:
        raise _fail(f"{exc}; not waiting (--no-wait)", 1) from None
    except OSError as exc:
        raise _fail(f"{exc.filename}: {exc.strerror}" if exc.filename else str(exc), 1) from None


SpecArg = Annotated[Path, typer.Argument(help="design spec (YAML)")]
NoWait = Annotated[
    bool,
    typer.Option(
        "--no-wait",
        help="when another twinedge run is using build/<design>/, stop with an error instead "
        "of waiting for it to finish",
    ),
]


def _version(value: bool) -> None:
    if value:
        _say(f"twinedge {versions.package('twinedge')}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="print the version and exit"
        ),
    ] = False,
) -> None:
    """Compile learning metamaterials: spec -> training, layout, DRC, LVS, PEX, report."""


@app.command()
def validate(spec: SpecArg) -> None:
    """Check a spec; print a one-line summary or a one-line error (exit 2)."""
    loaded = _load(spec)
    d = loaded.design
    net = d.network
    _say(
        f"ok: {spec}: {d.name} on {d.pdk}, {net.rows}x{net.cols} "
        f"{'periodic ' if net.periodic else ''}{net.topology}, {d.task.kind} task with "
        f"{len(loaded.dataset.labels)} datapoints, {d.training.n_steps} learning steps"
    )


def _summary(record: dict, out_dir: Path) -> None:
    m, run = record["metrics"], record["run"]
    _say(
        f"{record['design']}: {run['steps']} steps = {run['learning_time_s']:.4g} s "
        f"of learning time in {run['wall_s']:.3g} s wall "
        f"({run['steps_per_s']:.0f} steps/s)"
    )
    _say(
        f"  MSE {m['initial_mse']:.3e} -> {m['final_mse']:.3e} V^2 "
        f"({m['mse_reduction']:.1f}x lower)"
    )
    halving = ", ".join(
        f"{k} {'never' if v is None else f'{v:.3g} s'}"
        for k, v in m["mode_halving_times_s"].items()
    )
    if halving:
        _say(f"  modes halve at: {halving}; lower modes first: {m['modes_in_order']}")
    if "xor" in m:
        x = m["xor"]
        t = x["learning_time_to_solve_s"]
        _say(
            f"  XOR {'solved' if x['solved'] else 'NOT solved'}: min margin "
            f"{x['min_margin_frac_of_l0']:.2f} |L0| (need {x['required_margin_frac_of_l0']})"
            f"{'' if t is None else f', solved from t = {t:.3g} s on'}"
        )
    energy = record.get("update", {}).get("energy")
    if energy:
        _say(
            f"  {record['update']['rule']} update: {energy['energy_per_step_j']:.3g} J per "
            f"learning step of {energy['step_s']:.3g} s (twins {energy['twins_power_w']:.3g} W"
            + (
                f", update circuits {energy['update_circuits_power_learning_w']:.3g} W learning)"
                if "update_circuits_power_learning_w" in energy
                else f"; {energy.get('note', '')})"
            )
        )
    _say(f"  wrote {out_dir}/train.json, training.png, outputs.png, lattice.png")


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
            help="also characterise at these process corners, comma-separated (the PDK's "
            "corners, e.g. tt,ff,ss,sf,fs), and print a table",
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
    no_wait: NoWait = False,
) -> None:
    """Characterise the on-chip learning circuit with the PDK models (ngspice):
    build/<design>/characterise/."""
    from twinedge.stages import characterise as cl
    from twinedge.stages.flow import layout as layout_stage

    wanted = [c.strip() for c in corners.split(",")] if corners else []
    with _session(spec, "characterise", no_wait) as run:
        if wanted:
            cl.check_corners(run, wanted)
        cl.characterise(run)
        if array_check:
            cl.array_check(run)
        if post_layout:
            cl.post_layout_cell(run, layout_stage(run).gds)
        if wanted:
            cl.corner_table(run, wanted)


@app.command()
def train(
    spec: SpecArg,
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
    no_wait: NoWait = False,
) -> None:
    """Train the twin network (schematic level) and write train.json and plots."""
    from twinedge.stages import flow as stages

    elsewhere = out_dir is not None and not post_layout  # nothing goes to build/
    with _session(spec, "train", no_wait, hold=not elsewhere) as run:
        if not post_layout:
            target = out_dir or run.folder(stages.TRAIN)
            check_writable(target)  # now, not after the training
            with run.doing("train"):
                record = stages.train(run, out=target)
            _summary(record, target)
            return
        stages.require_post_layout(run)
        lay = stages.layout(run)
        ext = stages.extraction(run, lay.gds)
        schematic = stages.schematic_training(run, _summary)
        stages.compare_training(run, schematic, stages.post_layout_training(run, ext))


@app.command()
def pinplan(spec: SpecArg, no_wait: NoWait = False) -> None:
    """The chip's pin plan: which TinyTapeout pin carries which signal
    (build/<design>/chip/pin_plan.json and .md; the spec needs a chip section)."""
    from twinedge.stages.flow import pin_plan

    if _load(spec).design.chip is None:
        raise _fail(f"{spec}: chip: the spec has no chip section (allowed: a chip: mapping)", 2)
    with _session(spec, "pin plan", no_wait) as run:
        pin_plan(run)


@app.command()
def layout(spec: SpecArg, no_wait: NoWait = False) -> None:
    """Compile the spec to a GDS array of twin-edge cells (build/<design>/layout/)."""
    from twinedge.stages.flow import layout as layout_stage

    with _session(spec, "layout", no_wait) as run:
        layout_stage(run)


@app.command()
def drc(spec: SpecArg, no_wait: NoWait = False) -> None:
    """Run the PDK's DRC decks (the sign-off deck under $PDK_ROOT when set, and the
    fallback deck) on the layout; exit 1 on violations."""
    from twinedge.stages import flow as stages

    with _session(spec, "drc", no_wait) as run:
        record = stages.drc(run, stages.layout(run).gds)
    if record["violations"]:
        raise typer.Exit(1)


@app.command()
def lvs(spec: SpecArg, no_wait: NoWait = False) -> None:
    """Compare the extracted layout netlist with the spec's circuits; exit 1 on mismatch."""
    from twinedge.stages import flow as stages

    with _session(spec, "lvs", no_wait) as run:
        record = stages.lvs(run, stages.layout(run).gds)
    if not record["match"]:
        raise typer.Exit(1)


@app.command()
def flow(
    spec: Annotated[
        Path | None,
        typer.Argument(help="design spec (YAML; default: the embedded designs/xor_4x4.yaml)"),
    ] = None,
    no_wait: NoWait = False,
) -> None:
    """Every stage: layout -> DRC -> LVS -> PEX -> training (schematic and post-layout) ->
    energy -> report (build/<design>/report.json, report.html, manifest.json).

    Stages whose inputs, code and tools are unchanged are kept. Exits 1 if DRC or LVS
    fails; the report is still written.
    """
    from twinedge import pdk
    from twinedge.stages import flow as stages
    from twinedge.stages.characterise import cl_flow

    with _session(spec or DEFAULT_DESIGN, "flow", no_wait) as run:
        d = run.design
        _say(f"flow: {run.spec.path} -> {run.build}/")
        if d.pdk not in pdk.REGISTRY:
            _say(f"layout: skipped, no {d.pdk} generator yet")
            stages.schematic_training(run, _summary)
            return
        if d.cell.type == "twin_edge_cl":
            checks = cl_flow(run, _summary)
        else:
            checks = stages.plain_flow(run, _summary)
    if checks["drc"]["violations"] or not checks["lvs"]["match"]:
        err.print("flow: DRC or LVS failed", markup=False)
        raise typer.Exit(1)


@app.command()
def tapeout(
    spec: Annotated[Path, typer.Argument(help="a chip design (a spec with a chip: section)")],
    no_wait: NoWait = False,
) -> None:
    """The flow (stages kept where unchanged), then the chip in the smallest TinyTapeout
    tile that holds it: GDS, LEF, Verilog stub and info.yaml in build/<design>/tapeout/, and
    a row per check (the shuttle's precheck, DRC, the pins' wiring) in tapeout.json. Exits
    1 if a check fails, 2 if the spec has no chip section."""
    import json

    from twinedge.stages.characterise import cl_flow

    with _session(spec, "tapeout", no_wait) as run:
        d = run.design
        if d.chip is None or d.cell.type != "twin_edge_cl":
            raise _fail(f"{spec}: chip: a tapeout needs a twin_edge_cl design with a chip "
                        "section (e.g. designs/xor_chip_sky130.yaml)", 2)  # fmt: skip
        _say(f"tapeout: {run.spec.path} -> {run.build}/tapeout/")
        cl_flow(run, _summary)
        record = json.loads((run.build / "tapeout" / "tapeout.json").read_text())
        report = json.loads((run.build / "report.json").read_text())
    for c in record["checks"]:
        _say(f"  {'pass' if c['passed'] else 'FAIL'}  {c['name']}: {c['reason']}")
    _say(f"tapeout_ready: {str(report['tapeout_ready']).lower()}"
         + "".join(f"\n  because: {r}" for r in report["not_ready_because"]))  # fmt: skip
    if not record["passed"]:
        raise typer.Exit(1)


PRECHECK_OUT = "report folder (default: precheck/ beside the GDS)"
PRECHECK_PDK = "the tile's PDK (default: the first with a technology module)"
PRECHECK_SUPPLY = "1v8 or 3v3 (default: the shuttle's core supply; on SKY130 3v3: VAPWR tiles)"


@app.command()
def precheck(
    gds: Annotated[Path, typer.Argument(help="the tile's GDS (top cell tt_um_<project>)")],
    tile: Annotated[str, typer.Option("--tile", help="TinyTapeout tile, e.g. 1x2")] = "1x2",
    pdk_name: Annotated[str | None, typer.Option("--pdk", help=PRECHECK_PDK)] = None,
    supply: Annotated[str | None, typer.Option("--supply", help=PRECHECK_SUPPLY)] = None,
    lef: Annotated[Path | None, typer.Option(help="the macro's LEF (default: GDS.lef)")] = None,
    verilog: Annotated[Path | None, typer.Option(help="black-box stub (default: GDS.v)")] = None,
    info: Annotated[Path | None, typer.Option(help="info.yaml (default: beside the GDS)")] = None,
    out: Annotated[Path | None, typer.Option(help=PRECHECK_OUT)] = None,
    no_drc: Annotated[bool, typer.Option("--no-drc", help="skip the PDK's DRC decks")] = False,
) -> None:
    """Check a TinyTapeout tile as the shuttle's precheck does (pins, boundary, power
    stripes, layers, names, info.yaml, analog pins) and run the PDK's DRC decks; a row per
    check in precheck.json; exit 1 if any fails."""
    import json

    from twinedge import pdk as pdks
    from twinedge.artifacts import OutputError, write_text
    from twinedge.pdk.tinytapeout import tile as find_tile
    from twinedge.verify.precheck import Check, PrecheckInputError
    from twinedge.verify.precheck import precheck as run_precheck

    pdk_name = pdk_name or pdks.names()[0]
    if pdk_name not in pdks.names():
        raise _fail(f"--pdk: {pdk_name!r} is not one of {', '.join(pdks.names())}", 2)
    chosen = pdks.activate(pdk_name)
    try:
        t = find_tile(chosen.install_name, tile, supply)
    except KeyError as exc:
        raise _fail(f"--tile/--supply: {exc.args[0]}", 2) from None
    files = {"GDS": gds, "--lef": lef or gds.with_suffix(".lef"),
             "--verilog": verilog or gds.with_suffix(".v"),
             "--info": info or gds.parent / "info.yaml"}  # fmt: skip
    for option, path in files.items():
        if not path.is_file():
            raise _fail(f"{option}: {path}: no such file", 2)
    top = gds.stem
    try:
        res = run_precheck(
            gds, files["--lef"].read_text(), files["--verilog"].read_text(),
            files["--info"].read_text(), t, top, chosen,
        )  # fmt: skip
    except (PrecheckInputError, UnicodeDecodeError) as exc:
        raise _fail(f"GDS: {exc}" if isinstance(exc, PrecheckInputError) else str(exc), 2) from None
    folder = out or gds.parent / "precheck"  # beside the GDS
    if not no_drc:
        from twinedge.verify.drc import run_drc

        for deck in run_drc(gds, folder / "drc", chosen).as_dict()["decks"]:
            n = deck["violations"]
            why = "clean" if not n else f"{n} violations: " + ", ".join(sorted(deck["by_rule"]))
            res.checks.append(Check(f"DRC {deck['name']}", n == 0, why))
    try:
        write_text(folder / "precheck.json", json.dumps(res.as_dict(), indent=1) + "\n")
    except OutputError as exc:
        raise _fail(str(exc), 2) from None
    for c in res.checks:
        _say(f"{'pass' if c.passed else 'FAIL'}  {c.name}: {c.reason}")
    _say(f"precheck: {top} on tile {res.tile}: "
         f"{'every check passed' if res.passed else f'{len(res.failed())} failed'}; "
         f"{folder / 'precheck.json'}")  # fmt: skip
    if not res.passed:
        raise typer.Exit(1)


SWEEP_VARY = "FIELD=A:B (integers), FIELD=V1,V2,... or pins=random:N; repeat for a grid"
SWEEP_SCHEDULER = "a running Dask scheduler (tcp://HOST:8786); default: a LocalCluster"


@app.command()
def sweep(
    spec: SpecArg,
    vary: Annotated[list[str], typer.Option("--vary", help=SWEEP_VARY)],
    scheduler: Annotated[str | None, typer.Option("--scheduler", help=SWEEP_SCHEDULER)] = None,
    workers: Annotated[
        int | None, typer.Option("--workers", min=1, help="LocalCluster workers (default: cores)")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="output folder (default build/<design>/sweep)")
    ] = None,
) -> None:
    """Train the spec at every point of a grid of varied fields, on Dask: results.csv,
    success rates, plots and index.html; finished points are cached and never re-run."""
    import shlex
    import sys

    from twinedge.stages import sweep as sw

    loaded = _load(spec)
    try:
        axes, points = sw.plan_points(loaded, vary)
    except SpecError as exc:
        raise _fail(str(exc), 2) from None
    target = out or Path("build") / loaded.design.name / "sweep"
    try:
        check_writable(target)
        with _progress(f"sweep {loaded.design.name}", len(points)) as tick:
            rows, run = sw.run_points(loaded, points, scheduler, workers, tick)
        command = shlex.join(["twinedge", *sys.argv[1:]])
        record = sw.write_sweep(target, loaded, axes, points, rows, run, command)
    except KeyboardInterrupt:
        err.print("interrupted: sweep (finished points cached; no output written)", markup=False)
        raise typer.Exit(130) from None
    except OutputError as exc:
        raise _fail(str(exc), 1) from None
    except OSError as exc:  # a scheduler that cannot be reached
        raise _fail(f"--scheduler {scheduler}: {exc}" if scheduler else str(exc), 1) from None
    s = record["summary"]
    _say(f"sweep {loaded.design.name}: {s['learned']}/{s['points']} learned "
         f"({s['success_rate']:.1%}), {s['errors']} errors; {run['computed']} computed on "
         f"{run['where']}, {run['cached']} cached; {target / 'index.html'}")  # fmt: skip


def main() -> None:
    from twinedge.processes import catch_interrupts

    catch_interrupts()
    app()


if __name__ == "__main__":
    main()
