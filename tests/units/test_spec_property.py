"""Property: any spec either validates or fails with the one-line error, never a traceback."""

from __future__ import annotations

import copy
from pathlib import Path

import yaml
from conftest import base_spec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from twinedge.cli import app
from twinedge.spec import SpecError, load_spec_text

FILE = "random.yaml"

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-10, 5000),
    st.text(max_size=8),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(
        [
            "sky130",
            "gf180mcu",
            "xor",
            "table",
            "csv",
            "regression",
            "square_lattice",
            "twin_edge",
            "level1",
            "random",
            "cyclic",
        ]
    ),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)


def _paths(node: object, prefix: tuple = ()) -> list[tuple]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


@st.composite
def mutated_specs(draw: st.DrawFn) -> dict:
    spec = base_spec()
    for _ in range(draw(st.integers(1, 4))):
        paths = _paths(spec)
        path = draw(st.sampled_from(paths))
        parent = spec
        for key in path[:-1]:
            parent = parent[key]
        action = draw(st.sampled_from(["set", "delete", "add"]))
        if action == "set":
            parent[path[-1]] = draw(values)
        elif action == "delete":
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=6))] = draw(values)
    return copy.deepcopy(spec)


def _check(text: str) -> None:
    try:
        load_spec_text(text, FILE, Path("."))
    except SpecError as exc:
        msg = str(exc)
        assert "\n" not in msg and msg.startswith(f"{FILE}: ")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_specs())
def test_mutated_specs_validate_or_fail_in_one_line(spec: dict) -> None:
    _check(yaml.safe_dump(spec))


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_text_validates_or_fails_in_one_line(text: str) -> None:
    _check(text)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(mutated_specs())
def test_cli_validate_exit_codes(tmp_path: Path, spec: dict) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(spec))
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code in (0, 2), result.output
    assert "Traceback" not in result.output
    if result.exit_code == 2:
        assert len(result.output.strip().splitlines()) == 1
