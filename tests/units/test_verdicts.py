"""The tapeout verdicts of a learning chip: its reset through the pins is one of them."""

from __future__ import annotations

from twinedge.stages.flow import (
    RESET_TOLERANCE_V,
    _own_levels_verdict,
    _reset_verdict,
    _verdicts,
)

CLEAN = ({"violations": 0}, {"match": True})
TILE = {"checks": [{"name": "boundary", "passed": True, "reason": ""}]}


def _transient(mean: float, spread: float) -> dict:
    return {"summary": {"reset": {"g_mean_v": mean, "g_spread_v": spread}}}


def test_a_chip_whose_reset_lands_on_g_init_with_a_passing_tile_is_ready() -> None:
    reset = _reset_verdict(_transient(1.002, 0.004), 1.0)
    assert reset == []
    assert _verdicts(*CLEAN, chip=True, tile=TILE, reset=reset) == []


def test_a_reset_off_g_init_or_not_simulated_keeps_the_chip_from_tapeout() -> None:
    off = _reset_verdict(_transient(1.0, 3 * RESET_TOLERANCE_V), 1.0)
    assert len(off) == 1 and "G reset" in off[0] and "g_init 1.0" in off[0]
    missing = _reset_verdict(None, 1.0)
    assert len(missing) == 1 and "transient_steps" in missing[0]
    assert _verdicts(*CLEAN, chip=True, tile=TILE, reset=off) == off


def test_a_failed_tile_check_or_no_tile_is_a_reason() -> None:
    failed = {"checks": [{"name": "boundary", "passed": False, "reason": "no prBoundary"}]}
    assert _verdicts(*CLEAN, chip=True, tile=failed, reset=[]) == [
        "tapeout boundary: no prBoundary"
    ]
    assert "precheck has not run" in _verdicts(*CLEAN, chip=True, tile=None, reset=[])[0]


def test_a_chip_whose_own_supply_or_rails_move_is_not_ready() -> None:
    """A chip that makes its own VDD and rails: each one's longest time beyond the tolerance
    in learning and in inference is a verdict (a short kick is not; VRESET, used only in the
    reset, is not); a chip whose board drives them has none to give."""
    from twinedge.characterise.chip_board import LEVEL_RECOVERY_S, LEVEL_TOLERANCE_V

    peak = {"VDD": 0.11, "VIN_HI": 0.033, "Vplus": 0.3, "VRESET": 0.9}
    short = {"VDD": 0.0, "VIN_HI": 0.5 * LEVEL_RECOVERY_S, "Vplus": 0.0, "VRESET": 1e-6}
    long = {**short, "VDD": 2 * LEVEL_RECOVERY_S, "VIN_HI": 1e-6}
    tr = _transient(1.0, 0.001)
    tr["summary"]["own_levels_worst_v"] = peak
    tr["summary"]["own_levels_beyond_s"] = short
    tr["inference"] = {"own_levels_worst_v": peak, "own_levels_beyond_s": long}
    (reason,) = _own_levels_verdict(tr)
    assert "inference" in reason and "VDD for 400 ns (peak 110 mV)" in reason
    assert "VIN_HI for 1000 ns" in reason and "Vplus" not in reason and "VRESET" not in reason
    assert f"{1e3 * LEVEL_TOLERANCE_V:.0f} mV" in reason
    tr["inference"] = {"own_levels_worst_v": peak, "own_levels_beyond_s": short}
    assert _own_levels_verdict(tr) == []
    assert _own_levels_verdict(_transient(1.0, 0.001)) == []  # rails on pins
    tr["inference"] = {"own_levels_worst_v": peak}  # a record without the times: its peaks
    assert "VDD" in _own_levels_verdict(tr)[0]


def test_a_levels_disturbance_lasts_until_it_is_back_for_good() -> None:
    """The time an own level spends beyond the tolerance: a short kick is short, a ring that
    crosses the band between its swings is one long disturbance (not many short ones), an
    offset lasts the whole window."""
    import numpy as np

    from twinedge.characterise.chip_board import longest_excursions

    t = np.linspace(0.0, 5e-6, 50_001)
    ring = 1.8 + 0.1 * np.sin(2 * np.pi * 50e6 * t) * np.exp(-t / 1e-6)  # 20 ns swings
    kick = 1.8 + 0.3 * ((t > 1e-6) & (t < 1.05e-6))
    col = {"v(ring)": ring, "v(kick)": kick, "v(off)": np.full_like(t, 1.83)}
    got = longest_excursions(t, col, {"ring": 1.8, "kick": 1.8, "off": 1.8}, 0.0, 5e-6, 0.02)
    assert abs(got["ring"] - np.log(5) * 1e-6) < 30e-9  # beyond 20 mV until 0.1 e^-t = 0.02
    assert abs(got["kick"] - 50e-9) < 1e-9 and got["off"] == 5e-6
