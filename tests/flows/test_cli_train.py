"""End to end through the CLI: the paper's XOR and regression are reproduced."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml
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


def test_flow_without_spec_runs_the_default_design_end_to_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`twinedge flow` with no spec: every stage on the default design (here cut to 100
    learning steps so CI stays fast, ~0.3 s each post-layout; `make flow` runs 5,000)."""
    import twinedge.cli as cli

    raw = yaml.safe_load((DESIGNS / "xor_4x4.yaml").read_text())
    raw["training"].update(duration=None, steps=100)
    short = tmp_path / "xor_4x4.yaml"
    short.write_text(yaml.safe_dump(raw))
    monkeypatch.setattr(cli, "DEFAULT_DESIGN", short)
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["flow"])
    assert result.exit_code == 0, result.output
    build = tmp_path / "build" / "xor_4x4"
    assert (build / "layout" / "xor_4x4.gds").is_file()
    report = json.loads((build / "report.json").read_text())
    assert report["drc"]["violations"] == 0 and report["lvs"]["match"] is True
    # DRC and LVS pass, but nothing a shuttle checks exists yet: never tapeout-ready
    assert report["tapeout_ready"] is False and report["not_ready_because"]
    decks = report["verified"]["drc"]
    assert decks and all(d["clean"] for d in decks)
    if os.environ.get("PDK_ROOT"):  # the sign-off deck of the install runs too
        assert [d["kind"] for d in decks] == ["sign-off", "community"]
    assert report["verified"]["lvs"]["match"] and report["verified"]["pex"]
    for key in ("cell_um2", "array_um2", "edges_per_mm2"):
        assert report["area"][key] > 0
    for key in ("inference_j", "per_edge_j", "settling_s", "static_w", "learning_step_j"):
        assert report["energy"][key] > 0
    t = report["training"]
    assert t["schematic_final_mse"] < t["schematic_metrics"]["initial_mse"]
    assert t["post_layout_final_mse"] < t["post_layout_metrics"]["initial_mse"]
    # post-layout equilibria from the reduced wiring, checked against ngspice at 10 steps
    solver = json.loads((build / "post_layout" / "train.json").read_text())["post_layout"]
    solver = solver["solver"]
    assert solver["kind"].startswith("reduced") and solver["checked_steps"] == 10
    assert 0 < solver["worst_check_v"] <= 100e-6 and solver["within_tolerance"]
    assert solver["worst_source_power_rel"] < 1e-3  # what the learning-step energy uses
    prov = report["provenance"]
    assert {"spec_sha256", "tool_versions", "pdk_version", "seed"} <= set(prov)
    assert "<img" in (build / "report.html").read_text()
    # a second run keeps every stage whose inputs did not change
    again = runner.invoke(app, ["flow"])
    assert again.exit_code == 0, again.output
    stages = ("drc", "lvs", "pex", "train (schematic)", "train (post-layout)", "energy")
    for stage in stages:
        assert f"{stage}: inputs unchanged, kept" in again.output
    manifest = json.loads((build / "manifest.json").read_text())
    recorded = {s["stage"]: s for s in manifest["stages"]}
    assert set(recorded) == {"layout", *stages, "report"}
    assert not any(s["ran"] for s in recorded.values())  # editing nothing keeps every stage
    for s in recorded.values():
        assert s["key"] and s["code"] and s["outputs"]
        assert all(len(h) == 64 for h in s["outputs"].values())
    # PEX again (its netlist gets a new "Date:" line): the same netlist content keeps the
    # post-layout training and the energy
    netlist = build / "pex" / "xor_4x4.pex.spice"
    netlist.write_text(netlist.read_text().replace("Date:", "Date: (before)"))
    (build / "pex" / "stamp.json").unlink()
    third = runner.invoke(app, ["flow"])
    assert third.exit_code == 0, third.output
    assert "pex: inputs unchanged" not in third.output and "Date: (before)" not in (
        netlist.read_text()
    )
    for stage in ("train (post-layout)", "energy"):
        assert f"{stage}: inputs unchanged, kept" in third.output


def test_post_layout_needs_the_pdk_model(tmp_path: Path) -> None:
    result = runner.invoke(app, ["train", str(DESIGNS / "xor_4x4_paper.yaml"), "--post-layout"])
    assert result.exit_code == 2
    assert "cell.model.kind" in result.output and "allowed: pdk" in result.output


def test_validate_ok(tmp_path: Path) -> None:
    result = runner.invoke(app, ["validate", str(DESIGNS / "xor_4x4.yaml")])
    assert result.exit_code == 0 and result.output.startswith("ok: ")
