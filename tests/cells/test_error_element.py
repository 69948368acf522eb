"""The error element (twinedge.circuits.error_element): the clamp's amplifier at transistor
level with the SKY130 models, and its characterisation."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from conftest import DESIGNS, needs_klayout

from twinedge.characterise.error_element import (
    ErrorElementConditions,
    characterise_error_element,
)
from twinedge.circuits.error_element import (
    devices,
    drawn_devices,
    realised_k,
    subckt,
    unit_counts,
)
from twinedge.pdk import get as get_pdk

SKY130 = get_pdk("sky130")


@pytest.fixture(scope="module")
def characterised():
    """The XOR chip's element (k 0.25, labels 0 and +-0.087 V, 16 Monte Carlo instances),
    through the cache the chip-spec training test finds it in."""
    from twinedge.characterise.error_element import cached_error_element, conditions_for
    from twinedge.spec.loader import load_spec

    spec = load_spec(DESIGNS / "xor_chip_sky130.yaml")
    return cached_error_element("sky130", conditions_for(spec.design, spec.dataset.labels))


def test_weights_are_unit_ratios() -> None:
    assert unit_counts(0.25) == (4, 1) and unit_counts(-0.25) == (4, 1)
    assert unit_counts(0.5) == (2, 1) and realised_k(-0.5) == -0.5
    # eta 0.3 (k 0.15): the nearest ratio with at most 16 reference units
    assert realised_k(0.15) == pytest.approx(2 / 13)
    with pytest.raises(ValueError, match="1/16"):
        unit_counts(0.01)
    diff, single = devices(0.25, True), devices(0.25, False)
    # three pairs with tails, eight sign switches, the mirror, the second stage, its capacitor
    assert len(diff) == 9 + 8 + 5 and len(single) == 6 + 4 + 5
    assert len({d.name for d in diff}) == len(diff)
    tails = {d.name: d.w for d in diff if d.name.startswith("T")}
    assert tails["Ta"] == 4 * tails["Tb"] == 4 * tails["Tc"]
    # as drawn (and simulated): devices wider than one contact column in fingers
    drawn = drawn_devices(SKY130, 0.25, True)
    text = subckt(SKY130, 0.25, True)
    assert text.count(SKY130.pfet) + text.count(SKY130.nfet) == len(drawn) > len(diff)
    assert max(d.w for d in drawn) <= SKY130.rules.sd_max_width
    widths = {d.name: d.w for d in diff}
    for name, w in widths.items():
        total = sum(d.w for d in drawn if d.name == name or d.name.startswith(f"{name}_"))
        assert total == pytest.approx(w, abs=0.05)


def test_the_element_nudges_towards_the_label_by_k(characterised) -> None:
    ch = characterised
    grid = np.asarray(ch.grid)
    o_plus, measured, ideal = grid[:, 0], grid[:, 4], grid[:, 5]
    # wherever the target is above ground (the element has no negative rail), it nudges the
    # right way
    reachable = (o_plus + ideal >= 0.03) & (np.abs(ideal) > 5e-3)
    assert reachable.sum() > len(grid) / 2
    assert np.all(np.sign(measured[reachable]) == np.sign(ideal[reachable]))
    # the pairs compress at the grid's largest |L - O| (0.45 V apart); a fit over the grid
    assert 0.5 < ch.gain < 1.05
    # near convergence (|L - O| <= 0.1 V, nudges up to 25 mV) and away from ground: the
    # ideal nudge plus one offset, to 7.5 mV (the pairs' compression)
    near = (np.abs(ideal) <= 0.25 * 0.1) & (o_plus >= 0.1) & (o_plus + ideal >= 0.05)
    fit = ideal[near] + np.mean(measured[near] - ideal[near])
    assert np.max(np.abs(measured[near] - fit)) < 7.5e-3
    # at L = O: the part that flips with the sign is a label error, nominally ~0
    assert abs(ch.offset_flip_v) < 5e-4 and abs(ch.offset_common_v) < 5e-3
    assert 0 < ch.mc_offset_flip_sigma_v < 3e-3  # mismatch draws differ, mV-scale
    assert 0 < ch.settle_s < 500e-9  # the phases are microseconds
    assert 0 < ch.power_w < 100e-6


def test_a_crossed_label_pair_is_seen(monkeypatch) -> None:
    """The characterisation can fail: a wiring error (the label pair crossed) nudges away
    from the label."""
    import twinedge.characterise.error_element as ce

    real = ce.subckt

    def crossed(pdk, k, differential, s):
        text = real(pdk, k, differential, s)
        swapped = text.replace(" oo lp lm ", " oo lm lp ", 1)  # the subcircuit's label ports
        assert swapped != text
        return swapped

    monkeypatch.setattr(ce, "subckt", crossed)
    cond = dataclasses.replace(ErrorElementConditions(), mc_n=0, labels=(-0.087,))
    ch = characterise_error_element(SKY130, cond)
    grid = np.asarray(ch.grid)
    assert ch.gain < 0.85 or np.any(np.sign(grid[:, 4]) != np.sign(grid[:, 5]))


def test_clamp_model_is_the_measured_table(characterised) -> None:
    from twinedge.learn.clamp import ErrorElementClamp

    clamp = ErrorElementClamp(characterised)
    grid = {tuple(np.round(r[:4], 6)): r[4] for r in characterised.grid}
    out = clamp(np.array([0.2, 0.25]), -0.087, 1.0)
    # the plus amplifier as measured; the minus one with outputs and label swapped
    assert out[0] == pytest.approx(0.2 + grid[(0.2, 0.25, -0.087, 1)], abs=1e-12)
    assert out[1] == pytest.approx(0.25 + grid[(0.25, 0.2, 0.087, 1)], abs=1e-12)
    # at zero error (L = O) both signs leave the outputs within the element's offset
    for sign in (1.0, -1.0):
        o = np.array([0.2, 0.2 + 0.087])
        assert np.allclose(clamp(o, -0.087, sign), o, atol=5e-3)
    with pytest.raises(ValueError, match="outside the characterised"):
        clamp(np.array([0.2, 0.2]), 0.2, 1.0)
    drawn = ErrorElementClamp(characterised, np.random.default_rng(0))
    assert not np.allclose(drawn(o, -0.087, 1.0), clamp(o, -0.087, 1.0), atol=1e-6)


def test_training_with_the_element_clamp_learns(characterised, tmp_path) -> None:
    """The short CL design (300 steps) learns about as fast with the element's clamp as with
    the ideal one."""
    from conftest import short_cl

    from twinedge.learn.clamp import ErrorElementClamp
    from twinedge.learn.train import trainer
    from twinedge.spec.loader import load_spec

    spec = load_spec(short_cl(tmp_path))
    ideal = trainer(spec).run(None)
    clamp = ErrorElementClamp(characterised, np.random.default_rng(0))
    element = trainer(spec, clamp=clamp).run(None)
    assert clamp.calls > 0 and clamp.clipped == 0
    assert element.mse[-1] < element.mse[0] / 3
    assert element.final_mse < 2 * ideal.final_mse


@needs_klayout
@pytest.mark.usefixtures("sky130_active")
def test_block_layout_is_drc_clean_and_matches_its_circuit(tmp_path) -> None:
    """The amplifier placed and routed from its netlist: both DRC decks (sign-off when
    PDK_ROOT is set), LVS against the device list; a reference missing a finger mismatches."""
    from twinedge.cells.error_element import error_element_block
    from twinedge.cells.gds import write_gds
    from twinedge.circuits.error_element import PORTS_DIFF, drawn_devices
    from twinedge.verify.drc import run_drc
    from twinedge.verify.lvs import run_block_lvs

    c = error_element_block(0.25, True)
    gds = write_gds(c, tmp_path / "ee.gds")
    drc = run_drc(gds, tmp_path / "drc", SKY130)
    assert drc.clean and drc.violations == 0 and drc.as_dict()["rules_in_decks"] > 400
    devs = drawn_devices(SKY130, 0.25, True)
    assert any(d.name.endswith("_5") for d in devs)  # the reference pair's tail: 6 fingers
    ports = [*PORTS_DIFF, "0"]
    lvs = run_block_lvs(gds, ports, devs, SKY130, tmp_path / "lvs")
    assert lvs.match, lvs.mismatches
    broken = run_block_lvs(gds, ports, [d for d in devs if d.name != "NCS_0"], SKY130,
                           tmp_path / "lvs2")  # fmt: skip
    assert not broken.match and broken.mismatches


def test_training_a_chip_spec_clamps_with_the_error_element(tmp_path, monkeypatch) -> None:
    """A spec with a chip section: the error element is characterised (a stage, kept on a
    re-run) and training clamps through it."""
    import json

    from conftest import short_cl
    from typer.testing import CliRunner

    from twinedge.cli import app

    spec = short_cl(tmp_path)
    spec.write_text(spec.read_text() + "chip:\n  error_element: {vbe: 0.6}\n")
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    res = runner.invoke(app, ["train", str(spec), "--out", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    assert "error element: k +0.250" in res.output
    rec = json.loads((tmp_path / "out" / "train.json").read_text())
    assert rec["clamp"].startswith("error element")
    ee = json.loads((tmp_path / "build/xor_4x4_cl/error_element/error_element.json").read_text())
    assert ee["labels"] == [-0.087, 0.0, 0.087] and ee["k_realised"] == 0.25
    again = runner.invoke(app, ["train", str(spec), "--out", str(tmp_path / "out2")])
    assert again.exit_code == 0 and "error element: inputs unchanged, kept" in again.output
