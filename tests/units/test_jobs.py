"""How many programs twinedge runs side by side (``TWINEDGE_JOBS``, else one per core)."""

from __future__ import annotations

import os

import pytest

from twinedge import processes


def test_jobs_follow_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TWINEDGE_JOBS", raising=False)
    assert processes.jobs() == (os.cpu_count() or 1)
    monkeypatch.setenv("TWINEDGE_JOBS", "3")
    assert processes.jobs() == 3
    assert processes.parallel(lambda x: x * 2, [1, 2, 3], processes.jobs()) == [2, 4, 6]


@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5"])
def test_a_bad_jobs_value_is_one_line(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("TWINEDGE_JOBS", value)
    with pytest.raises(ValueError, match="TWINEDGE_JOBS: not a positive whole number"):
        processes.jobs()
