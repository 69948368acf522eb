"""Verification back-ends: found by name, every PDK deck run and reported, results as JSON."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from pathlib import Path

import pytest

import twinedge.pdk
from twinedge.verify import BackendError, drc_backend, lvs_backend, pex_backend
from twinedge.verify.drc import deck_fingerprint, prepare_deck

# the PDK install the tests were pointed at (conftest: PDK_ROOT, as in CI)
SHARED_PDK_ROOT = Path(os.environ.get("PDK_ROOT") or "/nonexistent")


def test_backends_are_found_by_name() -> None:
    pdk = twinedge.pdk.get("sky130")
    assert drc_backend(pdk).name == "klayout"
    assert lvs_backend().name == "klayout"
    assert pex_backend().name == "kpex"
    with pytest.raises(BackendError, match="no LVS back-end 'calibre'"):
        lvs_backend("calibre")


def test_deck_fingerprint_names_every_deck(monkeypatch) -> None:
    pdk = twinedge.pdk.get("sky130")
    monkeypatch.setenv("PDK_ROOT", "")
    fallback = deck_fingerprint(pdk)
    assert len(fallback) == 1 and "sha256:" in fallback[0]
    if not SHARED_PDK_ROOT.is_dir():
        pytest.skip("no PDK install for the sign-off deck")
    monkeypatch.setenv("PDK_ROOT", str(SHARED_PDK_ROOT))
    both = deck_fingerprint(pdk)
    assert len(both) == 2 and both[1] == fallback[0]
    assert both == deck_fingerprint(pdk)


def test_patched_deck_copy_is_not_rewritten(tmp_path: Path) -> None:
    """A build folder kept from an earlier run (perhaps read-only) is left as it is."""
    deck = twinedge.pdk.get("sky130").fallback_drc_decks()[0]
    assert deck.patches
    copy = prepare_deck(deck, tmp_path)
    before = copy.stat().st_mtime_ns
    assert prepare_deck(deck, tmp_path) == copy
    assert copy.stat().st_mtime_ns == before


@pytest.mark.skipif(shutil.which("klayout") is None, reason="KLayout program not installed")
def test_drc_report_per_deck_as_json(tmp_path: Path) -> None:
    from twinedge.cells.gds import write_gds
    from twinedge.cells.twin_edge import twin_edge

    pdk = twinedge.pdk.activate("sky130")
    gds = write_gds(twin_edge(1.0, 1.0, 20e-15), tmp_path / "cell.gds")
    report = drc_backend(pdk).run(gds, tmp_path / "drc")
    record = json.loads(json.dumps(report.as_dict()))
    assert record["clean"] and record["violations"] == 0
    decks = record["decks"]
    assert [d["kind"] for d in decks] == [d.kind for d in pdk.drc_decks()]
    for d in decks:
        assert d["rules_in_deck"] > 100 and d["seconds"] > 0 and d["by_rule"] == {}
        assert Path(d["report"]).is_file() and d["name"] and d["note"]


@pytest.mark.skipif(shutil.which("klayout") is None, reason="KLayout program not installed")
def test_a_klayout_crash_is_retried_single_threaded(tmp_path: Path, monkeypatch) -> None:
    import subprocess

    from twinedge.verify import drc

    deck = twinedge.pdk.get("sky130").fallback_drc_decks()[0]
    deck = dataclasses.replace(deck, variables={**deck.variables, "thr": "2"})
    report = tmp_path / "x.lyrdb"
    exits = [11, 0]
    threads: list[str] = []

    def fake_run(cmd: list[str], **_: object) -> subprocess.CompletedProcess:
        threads.append(next(a for a in cmd if a.startswith("thr=")))
        code = exits.pop(0)
        if code == 0:
            report.write_text("<report-database><items/></report-database>")
        return subprocess.CompletedProcess(cmd, code, "", "Segmentation fault" if code else "")

    monkeypatch.setattr(drc.processes, "run", fake_run)
    res = drc.run_deck(deck, tmp_path / "x.gds", tmp_path, report, "TOP")
    assert res.clean and not exits
    assert any("crashed (exit 11)" in line for line in res.log)
    assert threads == ["thr=2", "thr=1"]  # the retry without worker threads
    exits[:] = [11, 11, 11]
    with pytest.raises(drc.DrcError, match="exit 11"):
        drc.run_deck(deck, tmp_path / "x.gds", tmp_path, report, "TOP")


def test_kpex_open_resistors_are_dropped_and_the_rest_kept() -> None:
    """kpex writes ``inf`` for a zero-width join of two regions of one net (GF180MCU's n-well
    shapes meeting at a corner); such a resistor is an open, and ngspice cannot read it."""
    from twinedge.verify.pex import summarize, without_open_resistors

    text = (
        "* pex\n.subckt top a b\nRext_1 vdd.$1.Nwell vdd.P5.Nwell inf\nRext_2 a b 97.9\n"
        "R3 a vdd.P5.Nwell INF\nCext_1 a b 1.5f\n.ends\n"
    )
    kept = without_open_resistors(text)
    assert "inf" not in kept.lower() and "Rext_2 a b 97.9" in kept and "Cext_1" in kept
    assert kept.count("\n") == text.count("\n") - 2
    summary = summarize(kept, substrate_net="SUB")
    assert summary.n_resistors == 1  # and the summary reads what is left


@pytest.mark.skipif(shutil.which("klayout") is None, reason="KLayout program not installed")
def test_the_community_decks_vpp_patch_reports_what_the_deck_reports(tmp_path: Path) -> None:
    """vpp.5 is patched to skip its whole-layout metal merge where there is no vpp (see
    twinedge.pdk.sky130): on a layout with vpp capacitors and metal beside them the
    patched deck reports exactly what the deck as shipped reports."""
    import klayout.db as kdb

    from twinedge.pdk import sky130
    from twinedge.verify import drc

    layout = kdb.Layout()
    layout.dbu = 0.001
    top = layout.create_cell("TOP")
    for (layer, datatype), box in (
        ((82, 64), (0, 0, 5000, 5000)),  # vpp
        ((82, 64), (9000, 0, 10000, 5000)),  # vpp, 1 um wide (vpp.1: 1.43 um)
        ((68, 20), (1000, 1000, 4000, 4000)),  # met1 inside the first
        ((68, 20), (5000, 0, 8000, 5000)),  # met1 1 um from that
        ((66, 20), (9200, 1000, 9400, 4000)),  # poly under the second (vpp.3)
    ):
        top.shapes(layout.layer(layer, datatype)).insert(kdb.Box(*box))
    gds = tmp_path / "vpp.gds"
    layout.write(str(gds))
    patched = twinedge.pdk.get("sky130").fallback_drc_decks()[0]
    assert sky130._VPP_SPACING_ONLY_WITH_VPP in patched.patches
    shipped = dataclasses.replace(
        patched, patches=tuple(p for p in patched.patches if p != sky130._VPP_SPACING_ONLY_WITH_VPP)
    )
    found = []
    for name, deck in (("patched", patched), ("shipped", shipped)):
        (tmp_path / name).mkdir()
        res = drc.run_deck(deck, gds, tmp_path / name, tmp_path / name / "r.lyrdb", "TOP")
        found.append(res.by_rule)
    assert found[0] == found[1]
    # vpp.5 itself reports nothing here, shipped or patched: its metals include the vpp
    # part's own, whose coincident edges shield it (KLayout's default); what the patch
    # must keep is the deck running the rule, and every other rule, where vpp exists
    assert found[0].get("vpp.1") and found[0].get("vpp.3")
