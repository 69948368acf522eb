"""The chip's pin plan (twinedge.spec.pinplan): which TinyTapeout pin carries which signal,
and one-line errors when a chip cannot fit a tile's pins."""

from __future__ import annotations

import json

import pytest
import yaml
from conftest import DESIGNS
from typer.testing import CliRunner

from twinedge.cli import app
from twinedge.spec.errors import SpecError
from twinedge.spec.loader import load_spec

runner = CliRunner()


def _chip_spec(tmp_path, chip: dict, **changes) -> object:
    spec = yaml.safe_load((DESIGNS / "xor_4x4_cl.yaml").read_text())
    spec["chip"] = chip
    for path, value in changes.items():
        node = spec
        *head, last = path.split(".")
        for key in head:
            node = node[key]
        node[last] = value
    path = tmp_path / "chip.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def test_xor_chip_fits_a_tile_with_two_level_inputs_as_bits(tmp_path, monkeypatch) -> None:
    path = _chip_spec(tmp_path, {"analog_pins": {"READ": "ua[5]"}})
    monkeypatch.chdir(tmp_path)
    res = runner.invoke(app, ["pinplan", str(path)])
    assert res.exit_code == 0, res.output
    plan = json.loads((tmp_path / "build/xor_4x4_cl/chip/pin_plan.json").read_text())
    by_signal = {p["signal"]: p for p in plan["pins"]}
    assert by_signal["READ"]["pin"] == "ua[5]"  # as the spec asks
    # XOR's inputs take 0 / 0.45 V: bits on ui_in switching to one shared rail
    assert by_signal["V1"]["pin"] == "ui_in[0]" and by_signal["V2"]["pin"] == "ui_in[1]"
    assert plan["rails"] == {"VIN_HI": 0.45, "Vminus": 0.11, "Vplus": 0.33, "VLABEL": 0.087}
    analog = [p for p in plan["pins"] if p["pin"].startswith("ua[")]
    assert len(analog) == 6 and len({p["pin"] for p in analog}) == 6  # 4 rails, READ, VRESET
    assert by_signal["VRESET"]["kind"] == "analog in"
    assert "LABEL" in by_signal and by_signal["RADDR"]["pin"] == "uio_in[0..5]"  # 2 + 32
    md = (tmp_path / "build/xor_4x4_cl/chip/pin_plan.md").read_text()
    assert "| ua[5] | READ | analog out |" in md


@pytest.mark.parametrize(
    ("chip", "changes", "field", "words"),
    [
        ({"analog_pins": {"READ": "ua[7]"}}, {}, "chip.analog_pins.READ", "ua[5]"),
        ({"analog_pins": {"FOO": "ua[0]"}}, {}, "chip.analog_pins.FOO", "VIN_HI"),
        ({"analog_pins": {"READ": "ua[0]", "Vplus": "ua[0]"}}, {}, "chip.analog_pins", "already"),
        ({"error_element": {"vbe": 1.5}}, {}, "chip.error_element.vbe", "1.2"),
        # GF180MCU's TinyTapeout tiles are digital at 3.3 V: the rails are made on chip, and
        # a spec that asks for an analog pin is refused by the loader in one line
        ({"analog_pins": {"READ": "ua[5]"}},
         {"pdk": "gf180mcu", "cell.update.sizing": {"switch_l": 0.28}}, "chip.analog_pins",
         "no analog pins"),
        (
            {},
            {"pins.constants": {f"C{i}": {"node": node, "volts": 0.05 * (i + 1)}
                                for i, node in enumerate(([1, 0], [3, 0], [1, 3], [3, 3]))}},
            "chip", "6",
        ),
    ],
)  # fmt: skip
def test_a_chip_that_cannot_be_pinned_is_a_one_line_error(
    tmp_path, chip, changes, field, words
) -> None:
    path = _chip_spec(tmp_path, chip, **changes)
    with pytest.raises(SpecError) as exc:
        load_spec(path)
    text = str(exc.value)
    assert "\n" not in text and str(path) in text and field in text and words in text


def test_the_plain_cell_has_no_chip(tmp_path) -> None:
    spec = yaml.safe_load((DESIGNS / "xor_4x4.yaml").read_text())
    spec["chip"] = {}
    path = tmp_path / "plain.yaml"
    path.write_text(yaml.safe_dump(spec))
    res = runner.invoke(app, ["validate", str(path)])
    assert res.exit_code == 2 and "cell.type" in res.output and "twin_edge_cl" in res.output


def test_the_error_element_is_characterised_with_the_specs_knobs(tmp_path) -> None:
    from twinedge.characterise.error_element import conditions_for

    spec = load_spec(DESIGNS / "xor_chip_sky130.yaml")
    cond = conditions_for(spec.design, spec.dataset.labels)
    assert cond.k == 0.25 and cond.labels == (-0.087, 0.0, 0.087) and cond.vbe == 0.6
    path = _chip_spec(tmp_path, {"error_element": {"vbe": 0.5, "in_l_um": 4.0}})
    changed = load_spec(path)
    cond = conditions_for(changed.design, changed.dataset.labels)
    assert cond.vbe == 0.5 and cond.sizing.in_l == 4.0 and cond.sizing.in_w == 4.0


def _gf180_plan(**changes):
    """The XOR chip's pin plan on GF180MCU, made from the design and dataset directly (the
    changes are ones the loader refuses)."""
    from twinedge.spec.loader import build_dataset
    from twinedge.spec.pinplan import plan
    from twinedge.spec.schema import Design

    spec = yaml.safe_load((DESIGNS / "xor_4x4_cl_gf180.yaml").read_text())
    spec["chip"] = changes.pop("chip", {})
    spec.update(changes)
    design = Design.model_validate(spec)
    data = build_dataset(design, "chip.yaml", DESIGNS)
    return plan(design, data.inputs, data.labels, "chip.yaml")


def test_a_tile_without_analog_pins_gets_its_rails_on_chip() -> None:
    """TinyTapeout's GF180MCU tiles: no analog pin, VDPWR at 3.3 V. The rails are the
    same levels (made by the chip's ladder and buffers), READ is timed on uo_out[0] with
    three read-out bits on ui_in, the address and control pins as on SKY130."""
    pp = _gf180_plan()
    by_signal = {p.signal: p for p in pp.pins}
    assert pp.rails_on_chip and not any(p.pin.startswith("ua[") for p in pp.pins)
    assert pp.rails == {"VIN_HI": 0.45, "Vminus": 0.11, "Vplus": 0.33, "VLABEL": 0.087}
    assert by_signal["VDD33"].pin == "VDPWR" and "3.3 V" in by_signal["VDD33"].what
    assert by_signal["DOUT"].pin == "uo_out[0]" and by_signal["DOUT"].kind == "digital out"
    assert [by_signal[s].pin for s in ("V1", "V2", "LABEL", "TRAIN", "RRST", "RCAL", "RHI")] == [
        f"ui_in[{i}]" for i in range(7)
    ]
    assert "READ" not in by_signal and "VRESET" not in by_signal
    assert by_signal["RADDR"].pin == "uio_in[0..5]" and by_signal["PHASE"].pin == "clk"
    assert "Rails made on chip" in pp.markdown() and pp.as_dict()["rails_on_chip"]


def test_a_voltage_input_has_no_pin_on_a_tile_without_analog_pins() -> None:
    """A regression's input and label take many levels: analog pins, none on GF180MCU's
    tiles."""
    reg = yaml.safe_load((DESIGNS / "regression_4x4.yaml").read_text())
    with pytest.raises(SpecError) as exc:
        _gf180_plan(task=reg["task"], pins=reg["pins"])
    text = str(exc.value)
    assert "\n" not in text and "pins.inputs" in text and "V1, LABEL" in text
    assert "no analog pins" in text


def test_analog_pin_choices_are_refused_on_a_tile_without_analog_pins() -> None:
    with pytest.raises(SpecError) as exc:
        _gf180_plan(chip={"analog_pins": {"READ": "ua[0]"}})
    assert "chip.analog_pins" in str(exc.value) and "no analog pins" in str(exc.value)
