"""Outputs and programs when things go wrong: unwritable folders, killed runs, Ctrl-C,
two runs on one design (``twinedge.artifacts``, ``twinedge.processes``)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from conftest import ROOT, read_only

from twinedge import processes
from twinedge.artifacts import (
    FolderBusy,
    OutputError,
    check_writable,
    clean_stale,
    folder_lock,
    staged_outputs,
    write_text,
)

linux_only = pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="reads /proc")


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def _alive(pid: int) -> bool:
    """Running (a zombie, killed and not yet reaped by its parent, is not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (OSError, IndexError):
        return False


def _wait_gone(pids: list[int], seconds: float = 5.0) -> list[int]:
    deadline = time.monotonic() + seconds
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return [p for p in pids if _alive(p)]


# ------------------------------------------------------------------ staged outputs
def test_an_interrupted_stage_leaves_neither_temporary_nor_partial_output(tmp_path: Path) -> None:
    dest = tmp_path / "stage"
    dest.mkdir()
    (dest / "old.json").write_text("old")
    with pytest.raises(KeyboardInterrupt), staged_outputs(dest) as tmp:
        assert tmp.name.startswith(f".stage.tmp-{os.getpid()}-")
        (tmp / "old.json").write_text("half")
        raise KeyboardInterrupt
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stage"]
    assert (dest / "old.json").read_text() == "old"


def test_threads_writing_one_file_each_use_their_own_temporary(tmp_path: Path) -> None:
    """Parallel Monte-Carlo threads fill one cache: a temporary named after the process
    alone was renamed away under another thread (FileNotFoundError in CI)."""
    from concurrent.futures import ThreadPoolExecutor

    path = tmp_path / "shared.lib.spice"
    barrier = threading.Barrier(8)

    def writer(i: int) -> None:
        barrier.wait()
        for k in range(200):
            write_text(path, f"{i} {k}\n")

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(writer, range(8)))
    assert path.read_text().endswith(" 199\n")
    assert [p.name for p in tmp_path.iterdir()] == ["shared.lib.spice"]


def test_a_file_where_the_output_folder_goes_is_one_error_before_any_work(tmp_path: Path) -> None:
    blocker = tmp_path / "out"
    blocker.write_text("not a folder")
    with pytest.raises(OutputError, match=rf"^{blocker}: cannot write: .*is a file"):
        check_writable(blocker)
    with pytest.raises(OutputError, match=rf"^{blocker / 'sub'}: cannot write: .*is a file"):
        check_writable(blocker / "sub")
    with pytest.raises(OutputError, match=rf"^{blocker}: cannot write"), staged_outputs(blocker):
        pass
    assert blocker.read_text() == "not a folder"


def test_a_read_only_folder_is_one_error_naming_it(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    with read_only(folder):
        with pytest.raises(OutputError) as caught:
            check_writable(folder / "train")
        assert str(caught.value).startswith(f"{folder / 'train'}: cannot write: ")
        assert caught.value.cause in ("Read-only file system", "Permission denied")
        unwritable = pytest.raises(OutputError, match=rf"^{folder / 'train'}: cannot write: ")
        with unwritable, staged_outputs(folder / "train") as tmp:
            (tmp / "x").write_text("x")
    assert list(folder.iterdir()) == []


# ------------------------------------------------------------------ temporaries of killed runs
def test_temporaries_of_dead_runs_are_removed_and_of_live_ones_kept(tmp_path: Path) -> None:
    build = tmp_path / "build" / "d"
    (build / "pex").mkdir(parents=True)
    dead, live = _dead_pid(), os.getpid()
    stale = [
        build / f".pex.tmp-{dead}-k2j9",  # a stage's staging folder
        build / "pex" / f".stamp.json.tmp-{dead}",  # a file written beside its target
        build.parent / f".d.tmp-{dead}-x1",  # the folder's own (a whole-folder stage)
        build / ".lvs.tmp-7ab3x",  # named before PIDs were recorded
    ]
    kept = [build / f".layout.tmp-{live}-q8", build.parent / f".other.tmp-{dead}-z"]
    for path in stale + kept:
        if path.name.endswith(".json.tmp-" + str(dead)):
            path.write_text("{")
        else:
            (path / "kpex").mkdir(parents=True)
            (path / "kpex" / "partial.spice").write_text("* half")
    assert sorted(clean_stale(build)) == sorted(stale)
    assert all(not p.exists() for p in stale) and all(p.exists() for p in kept)
    assert (build / "pex").is_dir()


# ------------------------------------------------------------------ the lock
def test_the_lock_refuses_a_second_holder_and_names_the_first(tmp_path: Path) -> None:
    folder = tmp_path / "build" / "d"
    busy = pytest.raises(FolderBusy, match=rf"^{folder}: in use by .* \(pid {os.getpid()}\)")
    with folder_lock(folder), busy, folder_lock(folder, wait=False):
        pass
    with folder_lock(folder, wait=False):  # released with the first
        pass


def test_a_waiting_holder_is_told_once_and_gets_the_lock(tmp_path: Path) -> None:
    folder = tmp_path / "d"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from twinedge.artifacts import folder_lock\n"
            f"with folder_lock({str(folder)!r}):\n"
            "    print('held', flush=True); time.sleep(1.5)",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert holder.stdout.readline().strip() == "held"
    told: list[str] = []
    t0 = time.monotonic()
    with folder_lock(folder, on_wait=told.append):
        waited = time.monotonic() - t0
    holder.wait(timeout=10)
    assert told == [f"{folder}: in use by another twinedge run (pid {holder.pid})"]
    assert 0.5 < waited < 10


# ------------------------------------------------------------------ programs
@linux_only
def test_a_timeout_kills_the_program_and_what_it_started(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    t0 = time.monotonic()
    with pytest.raises(subprocess.TimeoutExpired):
        processes.run(["sh", "-c", f"sleep 60 & echo $! > {pids}; sleep 60"], timeout=1)
    assert time.monotonic() - t0 < 5
    assert _wait_gone([int(pids.read_text())]) == []


_RUNNER = textwrap.dedent(
    """
    import sys
    from twinedge import processes
    try:
        processes.run(["sh", "-c", "sleep 60 & echo $$ $! > LOG; sleep 60"], timeout=600)
    except KeyboardInterrupt:
        sys.exit(130)
    """
)


def _start_runner(tmp_path: Path) -> tuple[subprocess.Popen, int, int]:
    """A Python process whose :func:`processes.run` waits on ``sh``, which started a
    ``sleep``: the runner and the PIDs of sh and sleep, once all run."""
    log = tmp_path / "runner.log"
    runner = subprocess.Popen(
        [sys.executable, "-c", _RUNNER.replace("LOG", str(log))],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while not (log.is_file() and log.read_text().strip()) and time.monotonic() < deadline:
        time.sleep(0.05)
    sh, sleep = map(int, log.read_text().split())
    return runner, sh, sleep


@linux_only
def test_ctrl_c_kills_the_program_and_what_it_started(tmp_path: Path) -> None:
    runner, sh, sleep = _start_runner(tmp_path)
    os.killpg(runner.pid, signal.SIGINT)  # what a terminal does: the program is not in it
    assert runner.wait(timeout=5) == 130
    assert _wait_gone([sh, sleep]) == []


@linux_only
def test_a_killed_twinedge_takes_its_program_along(tmp_path: Path) -> None:
    """SIGKILL runs no clean-up in twinedge: the kernel kills the program it started
    (PR_SET_PDEATHSIG); what that program started in turn is not covered."""
    runner, sh, sleep = _start_runner(tmp_path)
    try:
        runner.kill()
        runner.wait(timeout=5)
        assert _wait_gone([sh]) == []
    finally:
        os.kill(sleep, signal.SIGKILL)


@linux_only
def test_a_failed_call_in_a_batch_stops_the_others_now(tmp_path: Path) -> None:
    def call(seconds: int) -> str:
        if seconds == 0:
            time.sleep(0.5)  # the other call's program is running by now
            raise RuntimeError("failed")
        return processes.run(["sleep", str(seconds)], timeout=600).stdout

    t0 = time.monotonic()
    with pytest.raises(RuntimeError, match="failed"):
        processes.parallel(call, [0, 60], 2)
    assert time.monotonic() - t0 < 10
    assert processes.run(["echo", "ok"], timeout=10).stdout == "ok\n"  # usable again
