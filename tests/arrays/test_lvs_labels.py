"""LVS names what is wrong: labels on the wrong nets, a generator drawing other sizes than
the circuit states; and the reference's cell names are the layout's (from circuit data,
without drawing)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import gdsfactory as gf
import klayout.db as kdb
import pytest
from conftest import DESIGNS

import twinedge.pdk
from twinedge.circuits import twin_edge as twin_edge_circuit
from twinedge.spec import load_spec
from twinedge.stages.layout import run_layout
from twinedge.verify.lvs import run_lvs


@pytest.fixture(scope="module")
def xor_gds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    design = load_spec(DESIGNS / "xor_4x4.yaml").design
    return run_layout(design, tmp_path_factory.mktemp("xor") / "layout").gds


def _swap_labels(gds: Path, a: str, b: str, out: Path) -> Path:
    """``gds`` with the texts ``a`` and ``b`` exchanged (in every cell, on every layer)."""
    layout = kdb.Layout()
    layout.read(str(gds))
    swapped = 0
    for cell in layout.each_cell():
        for layer in layout.layer_indexes():
            for shape in cell.shapes(layer).each():
                if shape.is_text() and shape.text_string in (a, b):
                    shape.text_string = b if shape.text_string == a else a
                    swapped += 1
    assert swapped == 2
    layout.write(str(out))
    return out


def _lvs_json(tmp_path: Path, gds: Path) -> dict:
    design = load_spec(DESIGNS / "xor_4x4.yaml").design
    record = run_lvs(design, gds, tmp_path / "lvs").as_dict()
    return json.loads(json.dumps(record))  # as lvs.json holds it


def _names_both(mismatches: list[str], a: str, b: str) -> bool:
    return any(a in m and b in m for m in mismatches)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("V1", "V2"),  # two input pins
        ("Oplus_F", "Oplus_C"),  # one node's free and clamped twins: symmetric nets
    ],
)
def test_swapped_labels_are_named(tmp_path: Path, xor_gds: Path, a: str, b: str) -> None:
    record = _lvs_json(tmp_path, xor_gds)
    assert record["match"] and record["mismatches"] == []
    gds = _swap_labels(xor_gds, a, b, tmp_path / "swapped.gds")
    record = _lvs_json(tmp_path, gds)
    assert not record["match"]
    lines = record["mismatches"]
    # each label, with the net it sits on
    assert _names_both(lines, f"labelled {a} ", f"net {b} "), lines
    assert _names_both(lines, f"labelled {b} ", f"net {a} "), lines


def test_generator_sizing_bug_is_an_lvs_mismatch(tmp_path: Path, monkeypatch) -> None:
    """The reference states the circuit's capacitor, not the generator's geometry: a cell
    drawn with another capacitor width does not match, and the message gives both sizes."""
    import twinedge.cells.twin_edge as cells

    design = load_spec(DESIGNS / "xor_4x4.yaml").design
    drawn = cells.edge_geometry

    def wider_cap(*args: float) -> cells.EdgeGeometry:
        g = drawn(*args)
        return replace(g, cap_w=g.cap_w + 0.5)

    monkeypatch.setattr(cells, "edge_geometry", wider_cap)
    try:
        gds = run_layout(design, tmp_path / "layout").gds
    finally:
        monkeypatch.undo()
        gf.clear_cache()  # drop the cells drawn with the wider capacitor
    res = run_lvs(design, gds, tmp_path / "lvs")
    assert not res.match
    cap = twin_edge_circuit.for_design(design).cap
    assert any(
        "parameters differ" in m and f"W={cap.w_um + 0.5:g}" in m and f"W={cap.w_um:g}" in m
        for m in res.mismatches
    ), res.mismatches


@pytest.mark.parametrize(
    ("w", "l", "c"),
    [(1.0, 1.0, 20e-15), (0.42, 0.15, 1.5e-13), (2.0, 0.5, 4e-12), (1.0, 1.0, 1e-10)],
)
def test_edge_cell_names_are_gdsfactory_names(w: float, l: float, c: float) -> None:  # noqa: E741
    from twinedge.cells.twin_edge import twin_edge

    twinedge.pdk.activate("sky130")
    call = twin_edge_circuit.CellCall("twin_edge", (("w_um", w), ("l_um", l), ("c_gate_f", c)))
    assert twin_edge(**call.kwargs).name == call.name


def test_long_cell_names_are_cut_as_gdsfactory_cuts_them() -> None:
    # the name gdsfactory gave the mirror circuit's stacked update block in xor_4x4_cl_mirror
    full = "update_block_ECac_0p5_af_1p1_g_2p34_bf_3p58_bc_4p18_CNmirror_HCN1"
    cut = twin_edge_circuit.cell_name(full, ())
    assert cut == "update_block_ECac_0p5_af_1p1_g_2p34_bf_3p58_bc_4p18_CNm_c1e868fd"
    assert len(cut) == twin_edge_circuit.MAX_CELL_NAME
