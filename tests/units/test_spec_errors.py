"""Every class of spec error: one line naming file, field, value and what is allowed."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import DESIGNS, base_spec, write_spec
from typer.testing import CliRunner

from twinedge.cli import app
from twinedge.spec import SpecError, load_spec

runner = CliRunner()


def _error(tmp_path: Path, spec: dict | str) -> SpecError:
    path = tmp_path / "bad.yaml"
    if isinstance(spec, str):
        path.write_text(spec)
    else:
        write_spec(tmp_path, spec, "bad.yaml")
    with pytest.raises(SpecError) as info:
        load_spec(path)
    text = str(info.value)
    assert "\n" not in text
    assert text.startswith(str(path) + ": ")
    return info.value


def _set(spec: dict, dotted: str, value: object) -> dict:
    node = spec
    keys = dotted.split(".")
    for k in keys[:-1]:
        node = node[k]
    node[keys[-1]] = value
    return spec


@pytest.mark.parametrize("design", sorted(DESIGNS.glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_designs_validate(design: Path) -> None:
    loaded = load_spec(design)
    assert loaded.design.name == design.stem


def test_node_outside_lattice(tmp_path: Path) -> None:
    err = _error(tmp_path, _set(base_spec(), "pins.inputs.V1", [5, 0]))
    assert err.path == "pins.inputs.V1"
    assert "[5, 0]" in str(err) and "row 0..2, col 0..2" in str(err)


def test_two_pins_on_one_node(tmp_path: Path) -> None:
    err = _error(tmp_path, _set(base_spec(), "pins.output.node", [0, 0]))
    assert err.path == "pins.output.node"
    assert "pins.inputs.V1" in str(err) and "one pin per node" in str(err)


@pytest.mark.parametrize("eta", [0.0, -0.1, 1.5])
def test_eta_outside_unit_interval(tmp_path: Path, eta: float) -> None:
    err = _error(tmp_path, _set(base_spec(), "training.eta", eta))
    assert err.path == "training.eta"
    assert repr(eta) in str(err)


def test_unknown_pdk(tmp_path: Path) -> None:
    err = _error(tmp_path, _set(base_spec(), "pdk", "tsmc65"))
    assert err.path == "pdk"
    assert "'tsmc65'" in str(err) and "'sky130'" in str(err) and "'gf180mcu'" in str(err)


def test_a_cell_not_yet_laid_out_on_the_pdk_is_a_one_line_error(
    tmp_path: Path, monkeypatch
) -> None:
    """A PDK lists the cell types its layouts were verified with (both PDKs have both now):
    a cell type outside that list is refused before any stage runs. Shown on a GF180MCU
    module that lists the plain twin edge only, as it did before issue 18's learning cell."""
    import dataclasses

    import yaml

    from twinedge.pdk import gf180mcu

    monkeypatch.setattr(
        gf180mcu, "PDK", dataclasses.replace(gf180mcu.PDK, cell_types=("twin_edge",))
    )
    spec = yaml.safe_load((DESIGNS / "xor_4x4_cl_gf180.yaml").read_text())
    err = _error(tmp_path, spec)
    assert err.path == "cell.type" and "not laid out on gf180mcu yet" in str(err)
    assert "'twin_edge'" in str(err)


def test_gf180mcu_accepted_by_schema(tmp_path: Path) -> None:
    path = write_spec(tmp_path, _set(base_spec(), "pdk", "gf180mcu"))
    assert load_spec(path).design.pdk == "gf180mcu"


def test_unknown_field(tmp_path: Path) -> None:
    err = _error(tmp_path, _set(base_spec(), "training.learning_rate", 3))
    assert err.path == "training.learning_rate" and "unknown field" in str(err)


def test_missing_field(tmp_path: Path) -> None:
    spec = base_spec()
    del spec["task"]
    err = _error(tmp_path, spec)
    assert err.path == "task" and "missing" in str(err)


def test_unknown_task_kind(tmp_path: Path) -> None:
    err = _error(tmp_path, _set(base_spec(), "task", {"kind": "mnist"}))
    assert err.path == "task.kind" and "'mnist'" in str(err) and "'xor'" in str(err)


def test_unknown_topology(tmp_path: Path) -> None:
    err = _error(tmp_path, _set(base_spec(), "network.topology", "hexagonal"))
    assert err.path == "network.topology" and "'square_lattice'" in str(err)


def test_bad_field_inside_union_names_user_path(tmp_path: Path) -> None:
    err = _error(tmp_path, _set(base_spec(), "network.rows", 1))
    assert err.path == "network.rows"


def test_yaml_syntax_error(tmp_path: Path) -> None:
    err = _error(tmp_path, "name: x\npins: [unclosed\n")
    assert err.path.startswith("line ") and "YAML syntax error" in str(err)


def test_not_a_mapping(tmp_path: Path) -> None:
    err = _error(tmp_path, "- just\n- a list\n")
    assert err.path == "<top>"


def test_xor_needs_two_inputs(tmp_path: Path) -> None:
    spec = _set(base_spec(), "task", {"kind": "xor"})
    err = _error(tmp_path, spec)
    assert err.path == "pins.inputs" and "exactly 2" in str(err)


def test_table_row_length(tmp_path: Path) -> None:
    err = _error(
        tmp_path, _set(base_spec(), "task", {"kind": "table", "rows": [[0.1, 0.2], [0.1]]})
    )
    assert err.path == "task.rows[1]" and "1 input volts then the label" in str(err)


def test_csv_missing_file(tmp_path: Path) -> None:
    err = _error(tmp_path, _set(base_spec(), "task", {"kind": "csv", "path": "nope.csv"}))
    assert err.path == "task.path" and "not found" in str(err)


def test_csv_missing_column(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text("V2,label\n0.1,0.2\n")
    err = _error(tmp_path, _set(base_spec(), "task", {"kind": "csv", "path": "d.csv"}))
    assert err.path == "task.path" and "['V1']" in str(err)


def test_csv_non_numeric(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text("V1,label\n0.1,0.2\nabc,0.3\n")
    err = _error(tmp_path, _set(base_spec(), "task", {"kind": "csv", "path": "d.csv"}))
    assert "line 3" in str(err)


def test_csv_task_loads(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text("label,V1\n0.2,0.0\n0.3,0.45\n")
    path = write_spec(tmp_path, _set(base_spec(), "task", {"kind": "csv", "path": "d.csv"}))
    data = load_spec(path).dataset
    assert data.inputs.tolist() == [[0.0], [0.45]] and data.labels.tolist() == [0.2, 0.3]


def test_g_init_outside_bounds(tmp_path: Path) -> None:
    err = _error(tmp_path, _set(base_spec(), "training.g_init", 9.0))
    assert err.path == "training.g_init" and "[0.7, 5.7]" in str(err)


def test_duration_and_steps_both(tmp_path: Path) -> None:
    err = _error(tmp_path, _set(base_spec(), "training.duration", 1.0))
    assert err.path == "training" and "exactly one of duration" in str(err)


def test_regression_breakpoint_outside_range(tmp_path: Path) -> None:
    err = _error(tmp_path, _set(base_spec(), "task.b", 0.9))
    assert err.path == "task.b"


def test_spec_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="spec file not found"):
        load_spec(tmp_path / "missing.yaml")


@pytest.mark.parametrize("command", ["validate", "train", "flow"])
def test_cli_bad_spec_exit_2_one_line_nothing_written(
    tmp_path: Path, command: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    bad = write_spec(tmp_path, _set(base_spec(), "pins.inputs.V1", [9, 9]), "bad.yaml")
    args = [command, str(bad)] + (["--out", str(tmp_path / "out")] if command == "train" else [])
    before = sorted(p.name for p in tmp_path.iterdir())
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith(f"error: {bad}: pins.inputs.V1: ")
    assert "Traceback" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_pdk_model_gate_range_beyond_device_rating(tmp_path: Path) -> None:
    spec = _set(base_spec(), "cell.model", {"kind": "pdk", "corner": "tt"})
    err = _error(tmp_path, spec)  # base spec's g_max 5.7 V > SKY130's 1.8 V
    assert err.path == "training.g_max"
    assert "0 <= g_min < g_max <= 1.8 V" in str(err)


def test_pdk_model_node_voltage_outside_table(tmp_path: Path) -> None:
    spec = _set(base_spec(), "cell.model", {"kind": "pdk"})
    spec = _set(spec, "training.g_max", 1.8)
    spec = _set(spec, "training.g_min", 0.45)
    spec = _set(spec, "training.g_init", 1.0)
    spec = _set(spec, "pins.constants.Vhi.volts", 0.9)
    err = _error(tmp_path, spec)
    assert err.path == "pins.constants.Vhi.volts" and "0.0 <= V <= 0.6 V" in str(err)


def test_unknown_corner(tmp_path: Path) -> None:
    err = _error(tmp_path, _set(base_spec(), "cell.model", {"kind": "pdk", "corner": "xx"}))
    assert err.path.startswith("cell.model") and "tt" in str(err)


@pytest.mark.parametrize(
    ("field", "value", "expect"),
    [
        ("cell.update.circuit", "gilbert", "'memory' or 'mirror'"),
        ("cell.update.calb_high", 2.5, "less than or equal to 1.8"),
        ("cell.update.calb_high", "manual", "'auto'"),
        ("cell.update.hold_cap_n", 0, "greater than or equal to 1"),
        ("cell.update.hold_cap_n", 9, "less than or equal to 8"),
        ("cell.cap_finger_l_v_um", 0.2, "greater than or equal to 0.5"),
        ("cell.compact", "yes please", "valid boolean"),
    ],
)
def test_cl_update_circuit_fields(tmp_path: Path, field: str, value: object, expect: str) -> None:
    import yaml

    spec = yaml.safe_load((DESIGNS / "xor_4x4_cl.yaml").read_text())
    err = _error(tmp_path, _set(spec, field, value))
    assert err.path == field and expect in str(err), str(err)


def test_hold_caps_belong_to_the_memory_circuit(tmp_path: Path) -> None:
    import yaml

    spec = yaml.safe_load((DESIGNS / "xor_4x4_cl.yaml").read_text())
    spec = _set(spec, "cell.update.circuit", "mirror")
    err = _error(tmp_path, spec)
    assert err.path == "cell.update" and "memory circuit only" in str(err), str(err)


@pytest.mark.parametrize(
    ("field", "value", "expect"),
    [
        ("squarer_w", 0.2, "outside what sky130 draws (got 0.2; allowed: 0.42..100 um)"),
        ("hold_cap_w", 6.0, "outside what sky130 draws (got 6.0; allowed: 0.42..5.7 um)"),
        ("hold_cap_l", 25.0, "outside what sky130 draws (got 25.0; allowed: 0.15..20 um)"),
        ("mirror_l", 0.1, "outside what sky130 draws (got 0.1; allowed: 0.15..20 um)"),
        ("memory_w", -1.0, "greater than 0"),
        ("bias_q", 1.0, "unknown field"),
    ],
)
def test_memory_sizing_within_the_pdk(
    tmp_path: Path, field: str, value: float, expect: str
) -> None:
    """``cell.update.sizing``: the schema bounds any size, the loader the PDK's own limits
    (the models' bins, a hold capacitor's contact-free diffusion)."""
    import yaml

    spec = yaml.safe_load((DESIGNS / "xor_4x4_cl_4x.yaml").read_text())
    spec["cell"]["update"]["sizing"][field] = value
    err = _error(tmp_path, spec)
    assert err.path == f"cell.update.sizing.{field}" and expect in str(err), str(err)


@pytest.mark.parametrize(
    ("design", "path", "value", "expect"),
    [
        ("xor_4x4_cl_gf180.yaml", "cell.update.sizing.switch_l", 0.15,
         "outside what gf180mcu draws (got 0.15; allowed: 0.28..50 um)"),
        ("xor_4x4_cl_gf180.yaml", "cell.update.vcn", 2.5,
         "above the gf180mcu supply (got 2.5; allowed: 0..1.8 V)"),
        ("xor_4x4_cl.yaml", "cell.update.vcp", 1.9,
         "above the sky130 supply (got 1.9; allowed: 0..1.8 V)"),
    ],
)  # fmt: skip
def test_memory_circuit_within_the_pdk(
    tmp_path: Path, design: str, path: str, value: float, expect: str
) -> None:
    """The shortest channel is the PDK's (GF180MCU's 3.3 V devices: 0.28 um), the cascodes'
    gates within its supply."""
    import yaml

    spec = _set(yaml.safe_load((DESIGNS / design).read_text()), path, value)
    err = _error(tmp_path, spec)
    assert err.path == path and expect in str(err), str(err)


def test_the_default_switch_length_is_refused_where_it_is_too_short(tmp_path: Path) -> None:
    """The memory circuit's switches default to SKY130's shortest channel: on GF180MCU a spec
    without ``switch_l`` is refused at once, not by DRC after the layout."""
    import yaml

    from twinedge.circuits.memory import MemorySizing
    from twinedge.spec.schema import SWITCH_L_DEFAULT_UM

    assert MemorySizing().switch_l == SWITCH_L_DEFAULT_UM
    spec = yaml.safe_load((DESIGNS / "xor_4x4_cl_gf180.yaml").read_text())
    del spec["cell"]["update"]["sizing"]["switch_l"]
    err = _error(tmp_path, spec)
    assert err.path == "cell.update.sizing.switch_l", str(err)
    assert "the default 0.15 um is shorter than gf180mcu draws" in str(err)
    assert "allowed: 0.28..50 um" in str(err)


def test_an_element_length_shorter_than_the_pdk_draws_is_refused() -> None:
    """The error element's unit length is the spec's: below a PDK's shortest channel it is
    refused in one line, not drawn longer (checked on the chip's design directly)."""
    from twinedge.pdk import get as get_pdk
    from twinedge.spec.errors import SpecError
    from twinedge.spec.loader import check_element_sizing

    d = load_spec(DESIGNS / "xor_chip_sky130.yaml").design
    short = d.chip.model_copy(
        update={"error_element": d.chip.error_element.model_copy(update={"in_l_um": 0.2})}
    )
    d = d.model_copy(update={"chip": short})
    check_element_sizing(d, get_pdk("sky130"), "chip.yaml")  # 0.2 um: SKY130 draws it
    with pytest.raises(SpecError) as err:
        check_element_sizing(d, get_pdk("gf180mcu"), "chip.yaml")
    assert err.value.path == "chip.error_element.in_l_um"
    assert "allowed: 0.28..50 um" in str(err.value)


def test_sizing_belongs_to_the_memory_circuit(tmp_path: Path) -> None:
    import yaml

    spec = yaml.safe_load((DESIGNS / "xor_4x4_cl_4x.yaml").read_text())
    spec["cell"]["update"].update(circuit="mirror", hold_cap_n=1)
    err = _error(tmp_path, spec)
    assert err.path == "cell.update" and "sizing applies to the memory circuit" in str(err)


def test_cascode_biases_belong_to_the_memory_circuit(tmp_path: Path) -> None:
    import yaml

    spec = yaml.safe_load((DESIGNS / "xor_4x4_cl.yaml").read_text())
    spec["cell"]["update"].update(circuit="mirror", hold_cap_n=1, vcn=0.9)
    err = _error(tmp_path, spec)
    assert err.path == "cell.update" and "vcn / vcp apply to the memory circuit" in str(err)


@pytest.mark.parametrize("width", [0.5, 31.0])
def test_cap_finger_width_outside_range(tmp_path: Path, width: float) -> None:
    import yaml

    spec = yaml.safe_load((DESIGNS / "xor_4x4_cl.yaml").read_text())
    err = _error(tmp_path, _set(spec, "cell.cap_finger_w_um", width))
    assert err.path == "cell.cap_finger_w_um" and repr(width) in str(err)


def test_post_layout_steps_beyond_the_transient_are_refused(tmp_path: Path) -> None:
    """The tile's post-layout transient repeats the schematic chip transient's first steps."""
    import yaml

    spec = yaml.safe_load((DESIGNS / "xor_chip_sky130.yaml").read_text())
    spec["chip"]["transient_steps"] = 4
    spec["chip"]["post_layout_steps"] = 5
    err = _error(tmp_path, yaml.safe_dump(spec))
    assert err.path == "chip.post_layout_steps" and "0..4" in str(err)
