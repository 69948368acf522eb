"""End to end through the CLI: the paper's XOR and regression are reproduced."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import DESIGNS, base_spec, write_spec
from typer.testing import CliRunner

from twinedge.cli import app

runner = CliRunner()
PLOTS = ("training.png", "outputs.png", "lattice.png")


def _train(spec: Path, out: Path) -> dict:
    result = runner.invoke(app, ["train", str(spec), "--out", str(out)])
    assert result.exit_code == 0, result.output
    record = json.loads((out / "train.json").read_text())
    for key in ("final_mse", "history", "outputs", "labels", "G"):
        assert key in record
    assert {"t", "mse", "modes"} <= set(record["history"][0])
    for png in PLOTS:
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return record


def test_xor_reproduces_paper(tmp_path: Path) -> None:
    rec = _train(DESIGNS / "xor_4x4_paper.yaml", tmp_path / "xor")
    xor = rec["metrics"]["xor"]
    # every output on the correct side of L0/2 by >= 20 % of |L0|
    assert xor["solved"] and xor["min_margin_frac_of_l0"] >= 0.2
    assert len(xor["margins_frac_of_l0"]) == 4
    h = rec["metrics"]["mode_halving_times_s"]
    assert h["E00"] is not None and h["E11"] is not None
    assert h["E00"] <= min(h["E01"], h["E10"]) and h["E11"] >= max(h["E01"], h["E10"])
    assert rec["metrics"]["modes_in_order"]
    assert rec["run"]["learning_time_s"] == pytest.approx(10.0)


def test_regression_reproduces_paper(tmp_path: Path) -> None:
    rec = _train(DESIGNS / "regression_4x4.yaml", tmp_path / "reg")
    m = rec["metrics"]
    assert m["mse_reduction"] >= 10
    h = m["mode_halving_times_s"]
    assert h["E0"] < h["E1"] < h["E2"]
    assert m["modes_in_order"]


def test_small_table_task_trains(tmp_path: Path) -> None:
    spec = base_spec()
    spec["pins"]["inputs"] = {"A": [0, 0], "B": [2, 0]}
    spec["task"] = {"kind": "table", "rows": [[0.0, 0.45, 0.2], [0.45, 0.0, 0.25]]}
    rec = _train(write_spec(tmp_path, spec), tmp_path / "out")
    assert len(rec["outputs"]) == 2 and rec["input_names"] == ["A", "B"]


def test_flow_without_spec_uses_default_design(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["flow"])
    assert result.exit_code == 0, result.output
    build = tmp_path / "build" / "xor_4x4"
    assert (build / "train" / "train.json").is_file()
    assert "XOR solved" in result.output
    # flow also lays the design out and verifies it (exit 0 means DRC clean, LVS match)
    assert (build / "layout" / "xor_4x4.gds").is_file()
    assert json.loads((build / "drc" / "drc.json").read_text())["violations"] == 0
    assert json.loads((build / "lvs" / "lvs.json").read_text())["match"] is True
    assert "edges/mm^2" in result.output


def test_validate_ok(tmp_path: Path) -> None:
    result = runner.invoke(app, ["validate", str(DESIGNS / "xor_4x4.yaml")])
    assert result.exit_code == 0 and result.output.startswith("ok: ")
