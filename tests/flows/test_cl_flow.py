"""The on-chip learning cell end to end through the CLI: the CL flow, hybrid training,
characterise arguments."""

from __future__ import annotations

import pytest
from conftest import DESIGNS, short_cl
from typer.testing import CliRunner

from twinedge.cli import app

runner = CliRunner()


CL = DESIGNS / "xor_4x4_cl.yaml"  # the time-differenced circuit (cell.update.circuit: memory)


def test_hybrid_update_learns_xor(tmp_path) -> None:
    res = runner.invoke(
        app, ["train", str(DESIGNS / "xor_4x4_cl_hybrid.yaml"), "--out", str(tmp_path)]
    )
    assert res.exit_code == 0, res.output
    assert "XOR solved" in res.output
    import json

    rec = json.loads((tmp_path / "train.json").read_text())
    assert rec["update"]["rule"] == "hybrid digital"
    assert rec["update"]["circuit"]["r2"] >= 0.95
    energy = rec["update"]["energy"]
    assert energy["energy_per_step_j"] == pytest.approx(
        energy["twins_power_w"] * energy["step_s"], rel=1e-9
    )


def test_flow_on_cl_design_lays_out_verifies_and_trains(tmp_path, monkeypatch) -> None:
    """The CL flow on the time-differenced circuit: a DRC-clean, LVS-matched layout (real
    KLayout deck and comparer) of the twins and their 17-transistor update circuits, the
    circuit's whole-step characterisation, one cell extracted (kpex) and its steps re-run,
    training with both rules, the report. Short steps (1 us) and 300 of them keep CI quick."""
    import json

    from twinedge.circuits.memory import MemorySizing
    from twinedge.circuits.memory import devices as memory_devices

    spec = short_cl(tmp_path)
    monkeypatch.chdir(tmp_path)
    res = runner.invoke(app, ["flow", str(spec)])
    assert res.exit_code == 0, res.output
    assert "drc: clean" in res.output and "lvs: match" in res.output
    build = tmp_path / "build" / "xor_4x4_cl"
    lvs = json.loads((build / "lvs" / "lvs.json").read_text())
    # twins, gate capacitor, update circuit; LVS combines the parallel hold capacitors
    per_edge = 3 + len(memory_devices(MemorySizing(hold_cap_n=1)))
    assert lvs["layout_devices"] == lvs["reference_devices"] == 32 * per_edge
    rec = json.loads((build / "train" / "train.json").read_text())
    energy = rec["update"]["energy"]
    assert rec["update"]["rule"] == "on-chip" and rec["update"]["update_circuit"] == "memory"
    total = energy["energy_per_step_twins_j"] + energy["energy_per_step_update_circuits_j"]
    assert energy["energy_per_step_j"] == pytest.approx(total)
    assert 1e-11 < energy["energy_per_step_j"] < 1e-8  # 32 circuits at ~5 uW for ~1.2 us
    assert (build / "characterise" / "characterisation.png").exists()
    summary = json.loads((build / "characterise" / "summary.json").read_text())
    assert summary["circuit"] == "memory" and summary["r2"] >= 0.95
    assert summary["offset_fraction_of_full_scale"] < 0.01
    # one laid-out cell extracted (kpex, pfet layers included) and its steps re-run
    assert "post-layout cell (klayout-pex" in res.output
    pl = json.loads((build / "post_layout_cell" / "post_layout.json").read_text())
    assert pl["resistors"] > 100 and pl["capacitors"] > 100
    assert pl["gain_v_per_v2"] == pytest.approx(summary["gain_v_per_v2"], rel=0.3)
    assert pl["schematic_gain_v_per_v2"] == summary["gain_v_per_v2"]
    assert len(pl["zero_v"]) == len(pl["g_points"]) >= 3
    # the layout's systematic charge on the hold node, trimmed away with CALB's level
    trim = json.loads((build / "trim" / "trim.json").read_text())
    assert 0.0 < trim["calb_high_v"] < 1.8 and abs(trim["residual_v2"]) <= 1e-4
    assert pl["calb_high_v"] == trim["calb_high_v"] and abs(pl["residual_v2"]) < 1e-4
    report = json.loads((build / "report.json").read_text())
    assert report["post_layout_cell"] == pl and report["trim"] == trim
    post = json.loads((build / "post_layout" / "train.json").read_text())
    assert post["post_layout_cell"] == pl  # trained with the extracted cell's numbers
    assert post["update"]["circuit"]["gain_v_per_v2"] == pl["gain_v_per_v2"]
    assert report["post_layout_training"]["final_mse"] == post["final_mse"]
    assert report["tapeout_ready"] is False and report["not_ready_because"]
    assert all(d["clean"] for d in report["verified"]["drc"])
    assert report["verification"]["drc"]["violations"] == 0
    assert report["energy"]["energy_per_step_j"] == energy["energy_per_step_j"]
    html = (build / "report.html").read_text()
    assert "On-chip learning circuit" in html and "time-differenced" in html


def test_characterise_rejects_plain_cell() -> None:
    res = runner.invoke(app, ["characterise", str(DESIGNS / "xor_4x4.yaml")])
    assert res.exit_code == 2
    assert "cell.type" in res.output and "twin_edge_cl" in res.output


def test_characterise_rejects_unknown_corner() -> None:
    res = runner.invoke(app, ["characterise", str(CL), "--corners", "tt,xx"])
    assert res.exit_code == 2
    assert "--corners" in res.output and "'xx'" in res.output and "tt, ff" in res.output
