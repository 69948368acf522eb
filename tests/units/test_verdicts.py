"""The tapeout verdicts of a learning chip: its reset through the pins is one of them."""

from __future__ import annotations

from twinedge.stages.flow import (
    OWN_LEVEL_TOLERANCE_V,
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
    """A chip that makes its own VDD and rails: each one's worst excursion in learning and
    in inference is a verdict; a chip whose board drives them has none to give."""
    held = {"VDD": 0.004, "VIN_HI": 0.003}
    moved = {"VDD": 0.11, "VIN_HI": 0.033, "Vplus": 0.002}
    tr = _transient(1.0, 0.001)
    tr["summary"]["own_levels_worst_v"] = held
    tr["inference"] = {"own_levels_worst_v": moved}
    (reason,) = _own_levels_verdict(tr)
    assert "inference" in reason and "VDD 110 mV" in reason and "VIN_HI 33 mV" in reason
    assert "Vplus" not in reason and f"{1e3 * OWN_LEVEL_TOLERANCE_V:.0f} mV" in reason
    tr["inference"] = {"own_levels_worst_v": held}
    assert _own_levels_verdict(tr) == []
    assert _own_levels_verdict(_transient(1.0, 0.001)) == []  # rails on pins
