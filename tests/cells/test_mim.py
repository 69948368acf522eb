"""The MIM capacitor (``cells/mim.py``, the PDK's cap_mim_m3_1): DRC clean on both decks
(the sign-off deck's capm rules catch a met3 wire too close to its bottom plate), one
device of C = camimc x area in LVS, and kpex's capacitance between its plates."""

from __future__ import annotations

import re
from pathlib import Path

import gdsfactory as gf
import pytest
from conftest import needs_klayout

from twinedge.cells.gds import write_gds
from twinedge.cells.mim import mim_cap
from twinedge.cells.twin_edge import rect
from twinedge.pdk import activate, get

SKY130 = get("sky130")
W, L = 10.0, 5.0


def _mim(tmp_path: Path, stray_met3: bool = False, wire_under: bool = False) -> Path:
    pdk = activate("sky130")
    gf.clear_cache()
    top = gf.Component(name="mim_test")
    top.add_ref(mim_cap(W, L))
    top.add_label("BOT", position=(-0.07, 2.0), layer=pdk.layers.MET3_LABEL)
    top.add_label("TOP", position=(5.0, 2.5), layer=pdk.layers.MET4_LABEL)
    if stray_met3:  # 0.46 um from the bottom plate (1.2 um asked)
        rect(top, pdk.layers.MET3, W + 0.6, 0.0, W + 1.0, L)
    if wire_under:  # a met1 wire ending under the plate, as an update block's tracks would
        rect(top, pdk.layers.MET1, -3.0, 2.0, 4.0, 2.5)
    return write_gds(top, tmp_path / "mim_test.gds")


@needs_klayout
def test_mim_is_drc_clean_and_a_met3_wire_near_its_plate_is_not(tmp_path: Path) -> None:
    from twinedge.verify.drc import run_drc

    clean = run_drc(_mim(tmp_path), tmp_path / "drc", SKY130)
    assert clean.clean and clean.violations == 0, clean.as_dict()["by_rule"]
    if not any(d.kind == "sign-off" for d in SKY130.drc_decks()):
        pytest.skip("no sign-off deck (PDK_ROOT unset): the fallback deck has no capm rules")
    bad = run_drc(_mim(tmp_path / "bad", stray_met3=True), tmp_path / "drc_bad", SKY130)
    assert not bad.clean and any("capm" in rule for rule in bad.as_dict()["by_rule"])


def test_lvs_extracts_one_mim_device_between_the_plates(tmp_path: Path) -> None:
    from twinedge.verify.lvs import extract

    netlist = extract(_mim(tmp_path), set(), SKY130)
    (circuit,) = list(netlist.each_circuit())
    (device,) = list(circuit.each_device())
    params = {
        p.name: device.parameter(p.id()) for p in device.device_class().parameter_definitions()
    }
    assert device.device_class().name == "sky130_fd_pr__model__cap_mim"
    assert params["A"] == pytest.approx(W * L)
    assert params["C"] == pytest.approx(SKY130.rules.camimc_f_per_um2 * W * L)
    terminals = device.device_class().terminal_definitions()
    assert {device.net_for_terminal(t.id()).name for t in terminals} == {"BOT", "TOP"}


def test_kpex_extracts_the_mim_capacitance_between_its_plates(tmp_path: Path) -> None:
    from twinedge.verify.pex import run_kpex
    from twinedge.verify.pex_lvsdb import build_pex_lvsdb

    lvsdb = tmp_path / "mim_test.lvsdb"
    build_pex_lvsdb(_mim(tmp_path), lvsdb, with_pfet=True)
    spice, _, _ = run_kpex(lvsdb, tmp_path / "kpex")
    text = spice.read_text()
    caps = re.findall(r"^C\S*\s+(\S+)\s+(\S+)\s+([0-9.eE+-]+)f\s*$", text, re.M)
    between = sum(
        float(c) for a, b, c in caps if {a.split(".")[0], b.split(".")[0]} == {"BOT", "TOP"}
    )
    area_c = SKY130.rules.camimc_f_per_um2 * W * L * 1e15  # fF
    assert area_c < between < 1.2 * area_c  # the plates' area and their fringe


@needs_klayout
def test_a_mim_over_wiring_is_flagged_so_none_lies_over_a_block(tmp_path: Path) -> None:
    """SKY130's capm.10: capm must not straddle nwell, diff, tap, poly, li1 or met1. A MIM
    over an update block's devices and tracks is not allowed (the community deck checks it;
    the sign-off deck does not): the reason C_G has no MIM share (docs/periphery.md)."""
    from twinedge.verify.drc import run_drc

    bad = run_drc(_mim(tmp_path, wire_under=True), tmp_path / "drc", SKY130)
    assert not bad.clean and "capm.10" in bad.as_dict()["by_rule"]
