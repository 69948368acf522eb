"""The error element (twinedge.circuits.error_element): the clamp's amplifier at transistor
level with the SKY130 models, and its characterisation."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from twinedge.characterise.error_element import (
    ErrorElementConditions,
    characterise_error_element,
)
from twinedge.circuits.error_element import devices, realised_k, subckt, unit_counts
from twinedge.pdk import get as get_pdk

SKY130 = get_pdk("sky130")


@pytest.fixture(scope="module")
def characterised():
    return characterise_error_element(SKY130, ErrorElementConditions(mc_n=6))


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
    text = subckt(SKY130, 0.25, True)
    assert text.count(SKY130.pfet) + text.count(SKY130.nfet) == len(diff)


def test_the_element_nudges_towards_the_label_by_k(characterised) -> None:
    ch = characterised
    grid = np.asarray(ch.grid)
    measured, ideal = grid[:, 4], grid[:, 5]
    big = np.abs(ideal) > 5e-3
    assert np.all(np.sign(measured[big]) == np.sign(ideal[big]))  # always the right way
    assert 0.85 < ch.gain < 1.05  # the pairs compress at the grid's largest |L - O|
    # near convergence (|L - O| small) the nudge is linear to a few mV
    near = np.abs(ideal) <= 0.25 * 0.1
    fit = ch.gain * ideal[near] + np.mean(measured[near] - ch.gain * ideal[near])
    assert np.max(np.abs(measured[near] - fit)) < 3e-3
    # at L = O: the part that flips with the sign is a label error, nominally ~0
    assert abs(ch.offset_flip_v) < 5e-4 and abs(ch.offset_common_v) < 5e-3
    assert 0 < ch.mc_offset_flip_sigma_v < 10e-3  # mismatch draws differ, mV-scale
    assert 0 < ch.settle_s < 200e-9  # the phases are microseconds
    assert 0 < ch.power_w < 100e-6


def test_a_crossed_label_pair_is_seen(monkeypatch) -> None:
    """The characterisation can fail: a wiring error (the label pair crossed) nudges away
    from the label."""
    import twinedge.characterise.error_element as ce

    real = ce.subckt

    def crossed(pdk, k, differential, s):
        text = real(pdk, k, differential, s)
        swapped = text.replace(" lp tb ", " LPX tb ").replace(" lm tb ", " lp tb ")
        assert swapped != text
        return swapped.replace(" LPX tb ", " lm tb ")

    monkeypatch.setattr(ce, "subckt", crossed)
    ch = characterise_error_element(SKY130, dataclasses.replace(ErrorElementConditions(), mc_n=0))
    grid = np.asarray(ch.grid)
    assert ch.gain < 0.85 or np.any(np.sign(grid[:, 4]) != np.sign(grid[:, 5]))
