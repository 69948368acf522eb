"""Load a YAML spec into a validated :class:`Design`, or raise a one-line :class:`SpecError`.

Loading is side-effect free: nothing is written, so a bad spec leaves no trace on disk.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml
from pydantic import ValidationError

from twinedge.pdk import Pdk
from twinedge.pdk import get as get_pdk
from twinedge.pdk import names as pdk_names
from twinedge.spec.budget import check_budget
from twinedge.spec.errors import SpecError, clip
from twinedge.spec.limits import (
    LEAK_MIN_STEPS,
    MAX_CSV_BYTES,
    MAX_DATAPOINTS,
    MAX_SPEC_BYTES,
    MAX_STEPS,
    VOLTS_MAX,
    MiB,
    ReadError,
    YamlLimitError,
    parse_yaml,
    read_limited,
)
from twinedge.spec.pinplan import plan as pin_plan
from twinedge.spec.schema import (
    SWITCH_L_DEFAULT_UM,
    ClassifyTask,
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
    test_inputs: np.ndarray | None = None  # held out of training (classify tasks)
    test_labels: np.ndarray | None = None


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
        text = read_limited(path, MAX_SPEC_BYTES, "spec file").decode("utf-8")
    except ReadError as exc:
        raise SpecError(file, "<file>", exc.message) from None
    except UnicodeDecodeError:
        raise SpecError(file, "<file>", "spec file is not UTF-8 text") from None
    return load_spec_text(text, file, base_dir=path.parent)


def load_spec_text(text: str, file: str, base_dir: Path) -> LoadedSpec:
    if len(text) > MAX_SPEC_BYTES:
        raise SpecError(file, "<file>", f"spec text is over the {MAX_SPEC_BYTES // MiB} MiB limit")
    try:
        raw = parse_yaml(text)
    except YamlLimitError as exc:
        raise SpecError(file, _where(exc), str(exc.problem)) from None
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise SpecError(file, _where(exc), f"YAML syntax error: {problem}") from None
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:
        # a scalar YAML resolves but Python cannot build: an int over 4,300 digits, 2001-13-01
        raise SpecError(file, "<yaml>", f"unreadable value: {exc}") from None
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
    check_dataset(design, dataset, file)
    check_cell_on_pdk(design, file)
    check_device_range(design, dataset, file)
    check_budget(design, len(dataset.labels), file)
    if design.chip is not None:  # the chip's pins must fit a tile
        pin_plan(design, dataset.inputs, dataset.labels, file)
    return LoadedSpec(design=design, path=Path(file), dataset=dataset)


def _where(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    return f"line {mark.line + 1}, column {mark.column + 1}" if mark else "<yaml>"


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

    chip = design.chip
    if chip is not None and chip.post_layout_steps > chip.transient_steps:
        raise SpecError(
            file, "chip.post_layout_steps", "repeats the schematic transient's first steps",
            chip.post_layout_steps, f"0..{chip.transient_steps} (chip.transient_steps)",
        )  # fmt: skip
    pins = design.pins
    for name, node in pins.inputs.items():
        place(f"pins.inputs.{name}", node)
    for name, const in pins.constants.items():
        place(f"pins.constants.{name}.node", const.node)
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

    tr = design.training
    # duration / t_h before n_steps rounds it: the ratio of two finite floats can be inf
    steps = tr.steps if tr.steps is not None else tr.duration / tr.t_h
    if steps > MAX_STEPS:
        raise SpecError(
            file,
            "training.duration" if tr.steps is None else "training.steps",
            "too many learning steps",
            steps,
            f"at most {MAX_STEPS:,}",
        )
    leak = getattr(design.cell, "g_leak", None)
    if leak is not None and leak.tau_s < LEAK_MIN_STEPS * tr.step_s:
        raise SpecError(  # the leak is applied once a step, after the update: first order
            file, "cell.g_leak.tau_s", f"shorter than {LEAK_MIN_STEPS} learning steps",
            leak.tau_s, f">= {LEAK_MIN_STEPS * tr.step_s:g} s",
        )  # fmt: skip
    if not tr.v0 * tr.r0 * tr.c0 > 0:  # each is > 0, but their product can underflow
        raise SpecError(
            file, "training", "v0 * r0 * c0 is zero in floating point", [tr.v0, tr.r0, tr.c0]
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


def check_dataset(design: Design, dataset: Dataset, file: str) -> None:
    """Every datapoint's input volts and label finite and within +-VOLTS_MAX, whatever the
    device model. The schema bounds the volts a spec writes, but a regression's labels are
    computed (a steep slope can overflow): a NaN or infinite label would otherwise surface
    as an equilibrium that does not converge deep into training, blaming the network."""
    task = design.task
    for what, values in (("input", dataset.inputs), ("label", dataset.labels)):
        bad = np.flatnonzero(~(np.abs(values) <= VOLTS_MAX))  # NaN fails the comparison
        if bad.size:
            i = int(bad[0]) // (values.shape[1] if values.ndim == 2 else 1)
            raise SpecError(
                file,
                "task.path" if isinstance(task, CsvTask) else "task",
                f"datapoint {i}: {what} is not a voltage twinedge can simulate",
                float(values.flat[bad[0]]),
                f"finite, within +-{VOLTS_MAX:g} V",
            )


def check_sizing(design: Design, pdk: Pdk, file: str) -> None:
    """``cell.update.sizing`` within what the PDK's models and rules draw: no narrower than
    the models' narrowest bin, no shorter than the rules' shortest channel nor longer than
    the models' longest bin, a hold capacitor no wider than a contact-free diffusion."""
    update = getattr(design.cell, "update", None)
    if update is None:
        return
    r = pdk.rules
    given = dict(update.sizing.items())
    short = r.nfet_min_l > SWITCH_L_DEFAULT_UM  # the default is SKY130's shortest channel
    if update.circuit == "memory" and "switch_l" not in given and short:
        raise SpecError(
            file, "cell.update.sizing.switch_l", f"the default {SWITCH_L_DEFAULT_UM:g} um "
            f"is shorter than {design.pdk} draws: give it", None,
            f"{r.nfet_min_l:g}..{r.mos_l_max:g} um",
        )  # fmt: skip
    for name, um in given.items():
        if name.endswith("_w"):
            lo, hi = r.mos_w_min, r.sd_max_width if name == "hold_cap_w" else 100.0
        else:
            lo, hi = r.nfet_min_l, r.mos_l_max
        if not lo <= um <= hi:
            raise SpecError(
                file, f"cell.update.sizing.{name}", f"outside what {design.pdk} draws", um,
                f"{lo:g}..{hi:g} um",
            )  # fmt: skip


def check_element_sizing(design: Design, pdk: Pdk, file: str) -> None:
    """``chip.error_element.in_l_um`` within what the PDK draws: a length the spec gives is
    refused below the shortest channel (the periphery's own shortest devices are drawn at
    it, :func:`twinedge.circuits.mirror.at_shortest_channel`; a spec's are not changed)."""
    if design.chip is None:
        return
    um, r = design.chip.error_element.in_l_um, pdk.rules
    if not r.nfet_min_l <= um <= r.mos_l_max:
        raise SpecError(
            file, "chip.error_element.in_l_um", f"outside what {design.pdk} draws", um,
            f"{r.nfet_min_l:g}..{r.mos_l_max:g} um",
        )  # fmt: skip


def check_cascodes(design: Design, pdk: Pdk, file: str) -> None:
    """The memory circuit's cascode gates (``cell.update.vcn`` / ``vcp``) within the supply."""
    update = getattr(design.cell, "update", None)
    for name in ("vcn", "vcp"):
        v = getattr(update, name, None)
        if v is not None and v > pdk.vdd:
            raise SpecError(
                file, f"cell.update.{name}", f"above the {design.pdk} supply", v,
                f"0..{pdk.vdd:g} V",
            )  # fmt: skip


def check_cell_on_pdk(design: Design, file: str) -> None:
    """A cell type the PDK's layouts have been verified with (``Pdk.cell_types``)."""
    if design.pdk not in pdk_names():
        return
    allowed = get_pdk(design.pdk).cell_types
    if design.cell.type not in allowed:
        raise SpecError(
            file, "cell.type", f"not laid out on {design.pdk} yet", design.cell.type,
            " or ".join(repr(c) for c in allowed),
        )  # fmt: skip


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
    check_sizing(design, pdk, file)
    check_element_sizing(design, pdk, file)
    check_cascodes(design, pdk, file)
    g_hi = pdk.vdd
    tr = design.training
    if tr.g_max > g_hi or tr.g_min < 0:
        raise SpecError(
            file,
            "training.g_max" if tr.g_max > g_hi else "training.g_min",
            f"gate range exceeds the {design.pdk} supply",
            [tr.g_min, tr.g_max],
            f"0 <= g_min < g_max <= {g_hi} V",
        )
    lo, hi = pdk.table_node_range
    held = dataset.inputs.ravel()
    if isinstance(design.pins.output, DifferentialOutput):
        # a differential label is O+ - O-: two nodes in the table's box differ by hi - lo
        for v in dataset.labels:
            if not lo - hi <= v <= hi - lo:
                raise SpecError(
                    file,
                    "task",
                    "differential label outside what the PDK model's node range can reach",
                    float(v),
                    f"{lo - hi:g} <= O+ - O- <= {hi - lo:g} V",
                )
    else:
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
        with np.errstate(all="ignore"):  # an overflowing label is check_dataset's to report
            slope = (task.c - task.a) / task.b
            y = np.where(v < task.b, task.a + slope * v, task.c)
        x = v[:, None]
    elif isinstance(task, TableTask):
        arr = np.asarray(task.rows, dtype=float)
        x, y = arr[:, :-1], arr[:, -1]
    elif isinstance(task, ClassifyTask):
        return _classes(task, design, file, base_dir)
    else:
        assert isinstance(task, CsvTask)
        x, y = _read_csv(task, names, file, base_dir)
    return Dataset(names=names, inputs=np.ascontiguousarray(x, float), labels=np.asarray(y, float))


FEATURE_MAX = 1e12  # a raw feature's magnitude (any unit)


def _classes(task: ClassifyTask, design: Design, file: str, base_dir: Path) -> Dataset:
    """A classify task's training and held-out datapoints (class docstring)."""
    names = tuple(design.pins.inputs)
    arr = read_columns(base_dir / task.path, [*names, task.target], file, FEATURE_MAX, "number")
    x, cls = arr[:, :-1], arr[:, -1]
    classes = sorted({int(c) for c in cls})
    if task.positive not in classes or not np.array_equal(cls, np.round(cls)):
        raise SpecError(file, "task.positive", "not a class of the target column",
                        task.positive, ", ".join(map(str, classes[:10])))  # fmt: skip
    lo, hi = x.min(axis=0), x.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    volts = task.low + (x - lo) / span * (task.high - task.low)
    labels = np.where(cls == task.positive, task.l0, 0.0)
    rng = np.random.default_rng(task.split_seed)
    test = np.zeros(len(cls), bool)
    for c in classes:  # stratified: each class keeps its share in both parts
        rows = np.flatnonzero(cls == c)
        test[rng.permutation(rows)[: round(task.test_fraction * len(rows))]] = True
    if test.all():
        raise SpecError(file, "task.test_fraction", "leaves no datapoint to train on",
                        task.test_fraction, "a smaller fraction")  # fmt: skip
    held = (np.ascontiguousarray(volts[test]), labels[test]) if test.any() else (None, None)
    return Dataset(names, np.ascontiguousarray(volts[~test]), labels[~test], *held)


def _read_csv(
    task: CsvTask, names: tuple[str, ...], file: str, base_dir: Path
) -> tuple[np.ndarray, np.ndarray]:
    """The datapoints of a CSV task: a header naming every input and ``label``, then one row
    per datapoint, every value a voltage."""
    arr = read_columns(base_dir / task.path, [*names, "label"], file, VOLTS_MAX, "voltage")
    return arr[:, :-1], arr[:, -1]


def read_columns(csv_path: Path, want: list[str], file: str, bound: float, what: str) -> np.ndarray:
    """Columns ``want`` of a CSV file with a header, as (rows, len(want)) floats within
    +-``bound`` (a ``what``). Read bounded (MAX_CSV_BYTES, then MAX_DATAPOINTS rows): a path
    such as ``/dev/zero`` or a FIFO ends in a one-line error, never in a read that does not
    end."""
    try:
        text = read_limited(csv_path, MAX_CSV_BYTES, "CSV file").decode("utf-8")
    except ReadError as exc:
        allowed = "a path relative to the spec file" if exc.missing else None
        raise SpecError(file, "task.path", exc.message, str(csv_path), allowed) from None
    except UnicodeDecodeError:
        raise SpecError(file, "task.path", "CSV file is not UTF-8 text", str(csv_path)) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    rows: list[list[float]] = []
    try:
        header = next(reader, [])
        missing = [c for c in want if c not in header]
        if missing:
            raise SpecError(
                file, "task.path", f"CSV lacks columns {missing}", header, f"columns {want}"
            )
        cols = [header.index(c) for c in want]
        for row in reader:
            if not row:
                continue  # a blank line
            where = f"{csv_path.name} line {reader.line_num}"
            if len(rows) == MAX_DATAPOINTS:
                raise SpecError(
                    file,
                    "task.path",
                    f"{where}: CSV has more than {MAX_DATAPOINTS:,} datapoints",
                    str(csv_path),
                    f"at most {MAX_DATAPOINTS:,} rows",
                )
            try:
                vals = [float(row[j]) for j in cols]
            except (IndexError, ValueError):
                raise SpecError(
                    file, "task.path", f"{where}: non-numeric value", row, "numbers"
                ) from None
            if not all(abs(v) <= bound for v in vals):  # NaN fails the comparison
                raise SpecError(
                    file,
                    "task.path",
                    f"{where}: not a finite {what}",
                    vals,
                    f"finite numbers within +-{bound:g}",
                )
            rows.append(vals)
    except csv.Error as exc:
        raise SpecError(
            file, "task.path", f"cannot read CSV: {clip(str(exc), 60)}", str(csv_path)
        ) from None
    if not rows:
        raise SpecError(
            file, "task.path", "CSV has no datapoints", str(csv_path), "at least one row"
        )
    return np.asarray(rows, dtype=float)
