"""Hostile specs end in one line on stderr and exit 2: never a traceback, a hang or a blown
memory, and nothing written.

Every case is generated here, at the smallest size that shows it (a few kB, or just over a
limit), and run as ``python -m twinedge.cli validate`` in a child process limited to 2 GiB of
address space, in an empty working directory. The wall-time bound guards against hangs; it
is no benchmark (each case takes well under a second).
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from conftest import DESIGNS, ROOT, base_spec

from twinedge.spec import SpecError
from twinedge.spec.budget import DENSE_MAX_NODES, MEMORY_CAP, memory_limit
from twinedge.spec.errors import MAX_LINE
from twinedge.spec.limits import MAX_CSV_BYTES, MAX_DATAPOINTS, MAX_SPEC_BYTES

ADDRESS_SPACE = 2 << 30
# a guard against hangs and blow-ups (the alias bomb ran 73 s, /dev/zero forever), not a
# speed target: loose enough for a 2-core machine under load
WALL_S = 30.0


def _cap_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def _cli(spec: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        "OPENBLAS_NUM_THREADS": "1",  # BLAS reserves address space per thread
        "OMP_NUM_THREADS": "1",
    }
    return subprocess.run(
        [sys.executable, "-m", "twinedge.cli", "validate", spec],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=_cap_memory,
    )


def _refused(spec: str, cwd: Path) -> str:
    """Validate ``spec`` in ``cwd``: exit 2, one bounded line on stderr, within WALL_S, no
    new file. Returns the line."""
    before = sorted(os.listdir(cwd))
    t0 = time.perf_counter()
    proc = _cli(spec, cwd)
    wall = time.perf_counter() - t0
    assert proc.returncode == 2, proc.stderr[-3000:]
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and not proc.stdout, proc.stderr[-3000:]
    line = lines[0]
    assert line.startswith(f"error: {spec}: "), line
    assert len(line) <= len("error: ") + MAX_LINE, len(line)
    assert wall < WALL_S, f"{wall:.1f} s"
    assert sorted(os.listdir(cwd)) == before
    return line


def _dump(spec: dict) -> str:
    return yaml.safe_dump(spec, sort_keys=False)


def _write(d: Path, text: str | dict, name: str = "spec.yaml") -> str:
    (d / name).write_text(text if isinstance(text, str) else _dump(text))
    return name


def _with(dotted: str, value: object, spec: dict | None = None) -> dict:
    spec = spec or base_spec()
    node = spec
    *parents, last = dotted.split(".")
    for key in parents:
        node = node[key]
    node[last] = value
    return spec


# ---------------------------------------------------------------- cases
def alias_bomb(d: Path) -> str:
    """Billion laughs under ``name``: ten levels of ten aliases (10^10 values expanded)."""
    levels = ["  l0: &l0 [" + ", ".join(["lol"] * 10) + "]"]
    levels += [f"  l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]" for i in range(1, 10)]
    text = _dump(base_spec()).replace("name: tiny", "name:\n" + "\n".join(levels))
    return _write(d, text)


def alias_cycle(d: Path) -> str:
    return _write(d, _dump(base_spec()).replace("name: tiny", "name: &c [*c]"))


def key_1mb(d: Path) -> str:
    """An unknown 1 MB key (an explicit key: YAML caps plain keys at 1,024 characters)."""
    return _write(d, _dump(base_spec()) + "? " + "k" * 1_000_000 + "\n: 1\n")


def key_1mb_nested(d: Path) -> str:
    key = "  ? " + "k" * 1_000_000 + "\n  : 1\n"
    return _write(d, _dump(base_spec()).replace("  eta:", key + "  eta:"))


def list_for_a_name(d: Path) -> str:
    """A 100,000-item list where a string belongs: reported without rendering all of it."""
    return _write(d, _dump(base_spec()).replace("name: tiny", "name: [" + "x," * 99_999 + "x]"))


def deep_nesting(d: Path) -> str:
    return _write(d, _dump(base_spec()).replace("name: tiny", "name: " + "[" * 900 + "]" * 900))


def huge_integer(d: Path) -> str:
    return _write(d, _dump(_with("training.seed", 0)).replace("seed: 0", "seed: " + "9" * 5000))


def spec_dev_zero(d: Path) -> str:
    return "/dev/zero"


def spec_fifo(d: Path) -> str:
    os.mkfifo(d / "spec.yaml")
    return "spec.yaml"


def spec_over_limit(d: Path) -> str:
    return _write(d, _dump(base_spec()) + "#" * MAX_SPEC_BYTES + "\n")


def csv_dev_zero(d: Path) -> str:
    return _write(d, _with("task", {"kind": "csv", "path": "/dev/zero"}))


def csv_fifo(d: Path) -> str:
    os.mkfifo(d / "d.csv")
    return _write(d, _with("task", {"kind": "csv", "path": "d.csv"}))


def csv_over_limit(d: Path) -> str:
    (d / "d.csv").write_text("V1,label\n" + "0,0\n" * (MAX_CSV_BYTES // 4 + 1))
    return _write(d, _with("task", {"kind": "csv", "path": "d.csv"}))


def csv_too_many_rows(d: Path) -> str:
    (d / "d.csv").write_text("V1,label\n" + "0.1,0.2\n" * (MAX_DATAPOINTS + 1))
    return _write(d, _with("task", {"kind": "csv", "path": "d.csv"}))


def csv_nan(d: Path) -> str:
    (d / "d.csv").write_text("V1,label\n0.1,0.2\n0.2,nan\n")
    return _write(d, _with("task", {"kind": "csv", "path": "d.csv"}))


def lattice_4096(d: Path) -> str:
    spec = _with("network.rows", 4096, _with("network.cols", 4096))
    return _write(d, spec)


def _two_inputs() -> dict:
    return _with("pins.inputs", {"A": [0, 0], "B": [2, 0]})


def table_100k(d: Path) -> str:
    """100,000 rows in flow style (~0.8 MB, under the file limit)."""
    spec = _two_inputs()
    del spec["task"]
    rows = "[" + "[0,0,0]," * 100_000 + "]"
    return _write(d, _dump(spec) + f"task: {{kind: table, rows: {rows}}}\n")


def table_over_datapoints(d: Path) -> str:
    rows = [[0.0, 0.45, 0.2]] * (MAX_DATAPOINTS + 1)
    return _write(d, _with("task", {"kind": "table", "rows": rows}, _two_inputs()))


def xor_l0_nan(d: Path) -> str:
    spec = yaml.safe_load((DESIGNS / "xor_4x4_paper.yaml").read_text())
    return _write(d, _dump(spec).replace("l0: -0.087", "l0: .nan"))


def _yaml_value(dotted: str, text: str) -> Callable[[Path], str]:
    """The base spec with ``dotted`` set to the YAML scalar ``text`` (.nan, .inf, 1e308)."""

    def build(d: Path) -> str:
        return _write(d, _dump(_with(dotted, "@@")).replace("'@@'", text))

    build.__name__ = f"{dotted}={text}"
    return build


CASES: list[tuple[Callable[[Path], str], tuple[str, ...]]] = [
    (alias_bomb, ("YAML document too large", "200,000 values")),
    (alias_cycle, ("alias refers to a value that contains it",)),
    (key_1mb, ("unknown field",)),
    (key_1mb_nested, ("training.kkk", "unknown field")),
    (list_for_a_name, ("name: Input should be a valid string (got ['x', 'x',",)),
    (deep_nesting, ("nested more than",)),
    (huge_integer, ("<yaml>: unreadable value",)),
    (spec_dev_zero, ("<file>: spec file is a character device",)),
    (spec_fifo, ("<file>: spec file is a FIFO",)),
    (spec_over_limit, ("<file>: spec file is over the 1 MiB limit",)),
    (csv_dev_zero, ("task.path: CSV file is a character device", "/dev/zero")),
    (csv_fifo, ("task.path: CSV file is a FIFO",)),
    (csv_over_limit, ("task.path: CSV file is over the 16 MiB limit",)),
    (csv_too_many_rows, ("task.path", "more than 4,096 datapoints")),
    (csv_nan, ("task.path: d.csv line 3: not a finite voltage",)),
    (lattice_4096, ("network: needs ~", "4096x4096 lattice", "GiB")),
    (table_100k, ("YAML document too large",)),
    (table_over_datapoints, ("task.rows: List should have at most 4096 items",)),
    (xor_l0_nan, ("task.l0: Input should be a finite number",)),
    (_yaml_value("task.a", ".nan"), ("task.a: Input should be a finite number",)),
    (_yaml_value("task.c", ".inf"), ("task.c: Input should be a finite number",)),
    (_yaml_value("task.a", "1e308"), ("task.a: Input should be less than or equal to 100",)),
    (_yaml_value("training.eta", ".nan"), ("training.eta: Input should be a finite",)),
    (_yaml_value("training.g_init", "-.inf"), ("training.g_init: Input should be a finite",)),
    (_yaml_value("training.g_min", ".nan"), ("training.g_min: Input should be a finite",)),
    (_yaml_value("pins.constants.Vhi.volts", ".nan"), ("pins.constants.Vhi.volts: Input",)),
    (_yaml_value("cell.w_um", ".inf"), ("cell.w_um: Input should be a finite number",)),
]


@pytest.mark.parametrize(("build", "expect"), CASES, ids=[c[0].__name__ for c in CASES])
def test_hostile_spec_fails_in_one_line(
    tmp_path: Path, build: Callable[[Path], str], expect: tuple[str, ...]
) -> None:
    line = _refused(build(tmp_path), tmp_path)
    for text in expect:
        assert text in line, line


def test_table_row_nan_and_uniform_nan(tmp_path: Path) -> None:
    table = _with("task", {"kind": "table", "rows": [[0.1, 0.2], [0.3, "@@"]]})
    line = _refused(_write(tmp_path, _dump(table).replace("'@@'", ".nan")), tmp_path)
    assert "task.rows[1][1]: Input should be a finite number" in line
    uniform = _dump(_with("training.g_init", {"uniform": [1.0, "@@"]})).replace("'@@'", ".nan")
    line = _refused(_write(tmp_path, uniform), tmp_path)
    assert "training.g_init.uniform[1]: Input should be a finite number" in line


def test_duration_over_step_limit_is_a_spec_error(tmp_path: Path) -> None:
    """duration / t_h overflows to inf: too many steps, not an OverflowError in rounding."""
    spec = _with("training.steps", None)
    spec["training"].update(duration=1.0e300, t_h=1.0e-300)
    line = _refused(_write(tmp_path, spec), tmp_path)
    assert "training.duration: too many learning steps (got inf" in line


def test_regression_label_overflow_is_a_spec_error(tmp_path: Path) -> None:
    spec = base_spec()
    spec["task"].update(a=-100.0, c=100.0, b=1e-300, vmin=-100.0)
    line = _refused(_write(tmp_path, spec), tmp_path)
    assert "task: datapoint 0: label is not a voltage" in line


def test_shipped_design_validates_under_the_same_limits(tmp_path: Path) -> None:
    proc = _cli(str(DESIGNS / "lattice_64x64.yaml"), tmp_path)
    assert proc.returncode == 0 and proc.stdout.startswith("ok: "), proc.stderr[-3000:]
    assert not os.listdir(tmp_path)


# ---------------------------------------------------------------- units
def test_error_value_is_shortened_without_a_full_repr() -> None:
    """A list shared 10^10 times (what PyYAML builds from aliases) renders in bounded time."""
    value: object = ["lol"] * 10
    for _ in range(9):
        value = [value] * 10
    t0 = time.perf_counter()
    text = str(SpecError("f.yaml", "k" * 1_000_000, "m" * 1_000_000, value, "a" * 10**6))
    assert time.perf_counter() - t0 < 5.0  # a full repr would take minutes and gigabytes
    assert "\n" not in text and len(text) <= MAX_LINE and text.startswith("f.yaml: kkk")
    assert "<a huge integer>" in str(SpecError("f", "p", "m", 10**5000))


def test_memory_limit_is_half_the_machine_at_most_the_cap() -> None:
    limit, why = memory_limit()
    assert 0 < limit <= MEMORY_CAP and why


def test_dense_threshold_matches_the_solver() -> None:
    from twinedge.sim.solver import DENSE_MAX_NODES as SOLVER_DENSE_MAX_NODES

    assert DENSE_MAX_NODES == SOLVER_DENSE_MAX_NODES
