"""``twinedge`` command line: validate, train, flow.

Exit codes: 0 success; 1 a run failed (e.g. an equilibrium did not converge); 2 bad input
(one line naming the file, field, value and what is allowed; nothing written).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from twinedge.spec import LoadedSpec, SpecError, load_spec

DEFAULT_DESIGN = Path(__file__).resolve().parent.parent / "designs" / "xor_4x4.yaml"

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Compile learning metamaterials: spec -> training -> reports.",
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


@app.command()
def flow(
    spec: Annotated[
        Path | None, typer.Argument(help="design spec (default: the embedded designs/xor_4x4.yaml)")
    ] = None,
) -> None:
    """Run every stage that exists so far on SPEC: validate, then train -> build/<design>/.

    Layout, DRC, LVS, extraction and post-layout simulation join as they land.
    """
    loaded = _load(spec or DEFAULT_DESIGN)
    target = _build_dir(loaded.design.name) / "train"
    out.print(f"flow: {loaded.path} -> {_build_dir(loaded.design.name)}/", markup=False)
    _summary(_train(loaded, target), target)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()
