"""Running programs (KLayout, kpex, ngspice, pip) so that none outlives the run that
started it.

Every program starts in a session and process group of its own (``start_new_session``), so
a terminal's Ctrl-C reaches twinedge alone; twinedge then kills the whole group (the program
and whatever it started) on Ctrl-C, on a timeout, on any error, and after a normal exit
(anything left behind). Without this, ``subprocess.run`` kills only the program it started
and only on a timeout, and a killed twinedge left KLayout or kpex writing into ``build/``.
On Linux the program also gets SIGKILL when the thread that started it dies, SIGKILL
included (``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import _thread
import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

_PR_SET_PDEATHSIG = 1
_prctl = ctypes.CDLL(None, use_errno=True).prctl if sys.platform == "linux" else None

_live: set[int] = set()  # process groups of programs running now
_live_lock = threading.Lock()
_stopping = threading.Event()  # set while :func:`parallel` stops: start nothing new


def _die_with_parent() -> None:
    """In the child between fork and exec: SIGKILL when its parent thread dies."""
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def run(
    cmd: Sequence[str],
    *,
    timeout: float,
    cwd: Path | str | None = None,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """``subprocess.run(cmd, capture_output=True, text=True, stdin=DEVNULL, timeout=...)``
    with the program in its own process group, killed as a group (see the module doc).
    Raises :class:`subprocess.TimeoutExpired` after ``timeout`` seconds."""
    if _stopping.is_set():
        raise ChildProcessError(f"not started ({cmd[0]}): the batch it belongs to stopped")
    proc = subprocess.Popen(
        list(cmd),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
        env=None if env is None else dict(env),
        start_new_session=True,
        preexec_fn=_die_with_parent,
    )
    try:
        with _live_lock:
            _live.add(proc.pid)
        out, err = proc.communicate(timeout=timeout)
    finally:
        _kill_group(proc.pid)  # on success: whatever the program left running
        with _live_lock:
            _live.discard(proc.pid)
        proc.stdout.close()  # type: ignore[union-attr]
        proc.stderr.close()  # type: ignore[union-attr]
        proc.wait()
    return subprocess.CompletedProcess(list(cmd), proc.returncode, out, err)


def kill_all() -> None:
    """Kill every program :func:`run` is waiting for, in any thread."""
    with _live_lock:
        groups = list(_live)
    for pgid in groups:
        _kill_group(pgid)


def jobs() -> int:
    """How many programs twinedge runs side by side: ``$TWINEDGE_JOBS`` (as make's ``-j``),
    else one per core. Under a test runner that already runs one worker per core, 1 keeps
    the machine from running twice as many simulations as it has cores."""
    value = os.environ.get("TWINEDGE_JOBS", "").strip()
    if not value:
        return os.cpu_count() or 1
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"TWINEDGE_JOBS: not a positive whole number (got {value!r})")
    return int(value)


def parallel(fn: Callable[[T], R], items: Iterable[T], workers: int) -> list[R]:
    """``[fn(x) for x in items]`` on ``workers`` threads, for calls that run programs.

    A thread pool lets an exception (Ctrl-C included) through only once every running call
    has returned, which for a transient can be half an hour: here the first exception kills
    the programs of the other calls and starts no new ones."""
    pool = ThreadPoolExecutor(max_workers=max(1, workers))
    try:
        return list(pool.map(fn, items))
    except BaseException:
        _stopping.set()
        pool.shutdown(wait=False, cancel_futures=True)
        kill_all()
        raise
    finally:
        pool.shutdown(wait=True)
        _stopping.clear()


_INTERRUPTED = threading.Event()


def _on_sigint(signum, frame) -> None:
    """Ctrl-C: remembered, then raised as usual. A KeyboardInterrupt raised while Python
    runs a finalizer (a weakref callback during garbage collection) cannot propagate:
    :func:`_unraisable` delivers it again once the finalizer has returned."""
    _INTERRUPTED.set()
    raise KeyboardInterrupt


_previous_hook = sys.unraisablehook
REDELIVER_S = 0.02  # a lost Ctrl-C is sent again this long after its finalizer


def _unraisable(args) -> None:
    """Python's hook for exceptions it cannot raise. A Ctrl-C lost in a finalizer is sent
    to the main thread again (as a new SIGINT, so it stops the run wherever it is) and not
    printed (a run that stops prints one line, not a finalizer's traceback); every other
    exception goes to the hook that was there before."""
    if args.exc_type is KeyboardInterrupt and _INTERRUPTED.is_set():
        # not from here: a signal handled inside this hook would be lost again
        again = threading.Timer(REDELIVER_S, _thread.interrupt_main, (signal.SIGINT,))
        again.daemon = True
        again.start()
        return
    _previous_hook(args)


def catch_interrupts() -> None:
    """Install the Ctrl-C handler (the CLI does, before any command)."""
    global _previous_hook
    _INTERRUPTED.clear()
    signal.signal(signal.SIGINT, _on_sigint)
    if sys.unraisablehook is not _unraisable:
        _previous_hook = sys.unraisablehook
        sys.unraisablehook = _unraisable


def check_interrupt() -> None:
    """Raise KeyboardInterrupt if Ctrl-C came and its exception was lost on the way; long
    loops call this once per iteration."""
    if _INTERRUPTED.is_set():
        raise KeyboardInterrupt


def interrupt_handler() -> Callable:
    """The SIGINT handler :func:`catch_interrupts` installs (code that holds Ctrl-C for a
    while puts it back and calls it)."""
    return _on_sigint
