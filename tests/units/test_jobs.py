"""How many programs twinedge runs side by side (``TWINEDGE_JOBS``, else one per core), and
Ctrl-C that Python could not raise."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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


def test_a_ctrl_c_lost_in_a_finalizer_is_raised_after_it_and_prints_nothing() -> None:
    # Ctrl-C while Python runs a weakref callback: the KeyboardInterrupt cannot propagate
    # (Python would print "Exception ignored in ..." and carry on); twinedge's hook keeps
    # it quiet and raises it again in the main thread once the finalizer has returned
    script = """
import os, signal, sys, time, weakref
from twinedge.processes import catch_interrupts
catch_interrupts()
class Thing: pass
def callback(ref):
    os.kill(os.getpid(), signal.SIGINT)
    for _ in range(1000):  # the handler runs here, inside the finalizer
        pass
thing = Thing()
ref = weakref.ref(thing, callback)
try:
    del thing
    time.sleep(2.0)  # the run goes on: the Ctrl-C comes back within it
    print("carried on", flush=True)
except KeyboardInterrupt:
    print("raised after the finalizer", flush=True)
"""
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    assert proc.stdout == "raised after the finalizer\n"
    assert proc.stderr == ""


def test_ngspice_threads_wait_passively_unless_the_user_says_otherwise() -> None:
    # libgomp's spinning waits made two ngspice runs side by side ~50x slower
    root = Path(__file__).resolve().parents[2]
    script = "import os, twinedge; print(os.environ['OMP_WAIT_POLICY'])"
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    for given, expected in ((None, "PASSIVE"), ("ACTIVE", "ACTIVE")):
        run_env = {**env, "PYTHONPATH": str(root), **({"OMP_WAIT_POLICY": given} if given else {})}
        out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                             env=run_env, timeout=60)  # fmt: skip
        assert out.stdout.strip() == expected, out.stderr
