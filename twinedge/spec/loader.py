"""Load a YAML spec into a validated :class:`Design`, or raise a one-line :class:`SpecError`.

Loading is side-effect free: nothing is written, so a bad spec leaves no trace on disk.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml
from pydantic import ValidationError

from twinedge.pdk import get as get_pdk
from twinedge.pdk import names as pdk_names
from twinedge.spec.errors import SpecError
from twinedge.spec.schema import (
    CsvTask,
    Design,
    DifferentialOutput,
    PdkModel,
    RegressionTask,
    SquareLattice,
    TableTask,
    UniformInit,
    XorTask,
)


@dataclass(frozen=True)
class Dataset:
    """Training datapoints: ``inputs[i, j]`` is the volts on input ``names[j]`` for point i."""

    names: tuple[str, ...]
    inputs: np.ndarray  # (P, n_inputs)
    labels: np.ndarray  # (P,)


@dataclass(frozen=True)
class LoadedSpec:
    design: Design
    path: Path
    dataset: Dataset


def load_spec(path: str | Path) -> LoadedSpec:
    """Parse, validate and cross-check ``path``; build its dataset."""
    path = Path(path)
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(file, "<file>", "spec file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(file, "<file>", f"cannot read spec: {exc.__class__.__name__}") from None
    return load_spec_text(text, file, base_dir=path.parent)


def load_spec_text(text: str, file: str, base_dir: Path) -> LoadedSpec:
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "<yaml>"
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise SpecError(file, where, f"YAML syntax error: {problem}") from None
    if not isinstance(raw, dict):
        raise SpecError(
            file, "<top>", "spec must be a YAML mapping", type(raw).__name__, "a mapping of fields"
        )
    try:
        design = Design.model_validate(raw)
    except ValidationError as exc:
        raise SpecError.from_validation(file, exc) from None
    check_semantics(design, file)
    dataset = build_dataset(design, file, base_dir)
    check_device_range(design, dataset, file)
    return LoadedSpec(design=design, path=Path(file), dataset=dataset)


# ---------------------------------------------------------------- cross-field rules
def check_semantics(design: Design, file: str) -> None:
    net = design.network
    assert isinstance(net, SquareLattice)
    allowed = f"row 0..{net.rows - 1}, col 0..{net.cols - 1} of the {net.rows}x{net.cols} lattice"
    used: dict[tuple[int, int], str] = {}

    def place(field: str, node: tuple[int, int]) -> None:
        r, c = node
        if r >= net.rows or c >= net.cols:
            raise SpecError(file, field, "node is outside the lattice", list(node), allowed)
        if node in used:
            raise SpecError(
                file, field, f"node already used by {used[node]}", list(node), "one pin per node"
            )
        used[node] = field

    pins = design.pins
    for name, node in pins.inputs.items():
        place(f"pins.inputs.{name}", node)
    for name, const in pins.constants.items():
        place(f"pins.constants.{name}.node", const.node)
        _finite(file, f"pins.constants.{name}.volts", const.volts)
    if isinstance(pins.output, DifferentialOutput):
        place("pins.output.plus", pins.output.plus)
        place("pins.output.minus", pins.output.minus)
    else:
        place("pins.output.node", pins.output.node)

    n_in = len(pins.inputs)
    task = design.task
    if isinstance(task, XorTask) and n_in != 2:
        raise SpecError(file, "pins.inputs", "xor needs exactly 2 inputs", sorted(pins.inputs))
    if isinstance(task, RegressionTask) and n_in != 1:
        raise SpecError(
            file, "pins.inputs", "regression needs exactly 1 input", sorted(pins.inputs)
        )
    if isinstance(task, RegressionTask) and not task.vmin < task.b <= task.vmax:
        raise SpecError(
            file,
            "task.b",
            "breakpoint outside the input range",
            task.b,
            f"vmin < b <= vmax = ({task.vmin}, {task.vmax}]",
        )
    if isinstance(task, TableTask):
        for i, row in enumerate(task.rows):
            if len(row) != n_in + 1:
                raise SpecError(
                    file,
                    f"task.rows[{i}]",
                    "wrong number of values",
                    row,
                    f"{n_in} input volts then the label",
                )
            for j, v in enumerate(row):
                _finite(file, f"task.rows[{i}][{j}]", v)

    tr = design.training
    for field in ("g_min", "g_max", "eta", "t_h", "v0", "r0", "c0"):
        _finite(file, f"training.{field}", getattr(tr, field))
    if tr.duration is not None:
        _finite(file, "training.duration", tr.duration)
    if tr.n_steps > 50_000_000:
        raise SpecError(
            file,
            "training.duration" if tr.steps is None else "training.steps",
            "too many learning steps",
            tr.n_steps,
            "at most 50,000,000",
        )
    g_range = f"[g_min, g_max] = [{tr.g_min}, {tr.g_max}]"
    if isinstance(tr.g_init, UniformInit):
        lo, hi = tr.g_init.uniform
        if not (tr.g_min <= lo <= hi <= tr.g_max):
            raise SpecError(
                file,
                "training.g_init.uniform",
                "range must lie inside G bounds",
                [lo, hi],
                f"lo <= hi inside {g_range}",
            )
    elif not (tr.g_min <= tr.g_init <= tr.g_max):
        raise SpecError(
            file, "training.g_init", "initial G outside the G bounds", tr.g_init, g_range
        )


def check_device_range(design: Design, dataset: Dataset, file: str) -> None:
    """A PDK model's corner, and its safe operating area (gate up to the PDK's supply) and
    the node-voltage box its table covers (twinedge.sim.tabulated.Grid): a spec outside
    them would be simulated by extrapolation."""
    model = design.cell.model
    if not isinstance(model, PdkModel):
        return
    if design.pdk not in pdk_names():
        raise SpecError(
            file,
            "cell.model.kind",
            "no device models for this pdk yet",
            "pdk",
            f"level1 for pdk {design.pdk}; pdk models for {', '.join(pdk_names())}",
        )
    pdk = get_pdk(design.pdk)
    if model.corner not in pdk.corners:
        *rest, last = (repr(c) for c in pdk.corners)
        raise SpecError(
            file,
            "cell.model.corner",
            f"not a corner of the {design.pdk} models",
            model.corner,
            f"{', '.join(rest)} or {last}" if rest else last,
        )
    g_hi = pdk.vdd
    tr = design.training
    if tr.g_max > g_hi or tr.g_min < 0:
        raise SpecError(
            file,
            "training.g_max" if tr.g_max > g_hi else "training.g_min",
            f"gate range exceeds the {design.pdk} device rating",
            [tr.g_min, tr.g_max],
            f"0 <= g_min < g_max <= {g_hi} V",
        )
    lo, hi = pdk.table_node_range
    # a differential label is O+ - O-, not a node voltage
    held = dataset.inputs.ravel()
    if not isinstance(design.pins.output, DifferentialOutput):
        held = np.r_[held, dataset.labels]
    checks = [("task", v) for v in held]
    checks += [(f"pins.constants.{k}.volts", c.volts) for k, c in design.pins.constants.items()]
    for field, v in checks:
        if not lo <= v <= hi:
            raise SpecError(
                file,
                field,
                "node voltage outside the PDK model's range",
                float(v),
                f"{lo} <= V <= {hi} V",
            )


def _finite(file: str, field: str, value: float) -> None:
    if not math.isfinite(value):
        raise SpecError(file, field, "must be a finite number", value)


# ---------------------------------------------------------------- datasets
def build_dataset(design: Design, file: str, base_dir: Path) -> Dataset:
    names = tuple(design.pins.inputs)
    task = design.task
    if isinstance(task, XorTask):
        lo, hi = task.low, task.high
        x = np.array([[lo, lo], [lo, hi], [hi, lo], [hi, hi]])
        y = np.array([0.0, task.l0, task.l0, 0.0])
    elif isinstance(task, RegressionTask):
        v = np.linspace(task.vmin, task.vmax, task.points)
        slope = (task.c - task.a) / task.b
        y = np.where(v < task.b, task.a + slope * v, task.c)
        x = v[:, None]
    elif isinstance(task, TableTask):
        arr = np.asarray(task.rows, dtype=float)
        x, y = arr[:, :-1], arr[:, -1]
    else:
        assert isinstance(task, CsvTask)
        x, y = _read_csv(task, names, file, base_dir)
    return Dataset(names=names, inputs=np.ascontiguousarray(x, float), labels=np.asarray(y, float))


def _read_csv(
    task: CsvTask, names: tuple[str, ...], file: str, base_dir: Path
) -> tuple[np.ndarray, np.ndarray]:
    csv_path = (base_dir / task.path).resolve()
    want = [*names, "label"]
    try:
        with csv_path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            header = reader.fieldnames or []
            missing = [c for c in want if c not in header]
            if missing:
                raise SpecError(
                    file, "task.path", f"CSV lacks columns {missing}", header, f"columns {want}"
                )
            rows: list[list[float]] = []
            for line_no, row in enumerate(reader, start=2):
                try:
                    vals = [float(row[c]) for c in want]
                except (TypeError, ValueError):
                    raise SpecError(
                        file,
                        "task.path",
                        f"{csv_path.name} line {line_no}: non-numeric value",
                        row,
                        "numbers",
                    ) from None
                if not all(math.isfinite(v) for v in vals):
                    raise SpecError(
                        file,
                        "task.path",
                        f"{csv_path.name} line {line_no}: non-finite value",
                        vals,
                        "finite numbers",
                    )
                rows.append(vals)
    except FileNotFoundError:
        raise SpecError(
            file,
            "task.path",
            "CSV file not found",
            str(csv_path),
            "a path relative to the spec file",
        ) from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise SpecError(
            file, "task.path", f"cannot read CSV: {exc.__class__.__name__}", str(csv_path)
        ) from None
    if not rows:
        raise SpecError(
            file, "task.path", "CSV has no datapoints", str(csv_path), "at least one row"
        )
    arr = np.asarray(rows, dtype=float)
    return arr[:, :-1], arr[:, -1]
