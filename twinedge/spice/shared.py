"""ngspice in-process through its shared library (``libngspice``), with a thin ctypes binding.

Running ngspice as a library avoids a process start per simulation: a circuit is loaded once
(``ngSpice_Circ``) and each operating point is ``alter`` + ``op`` + reading vectors. The
library holds one simulator per process, so this module exposes one :func:`shared` instance.
API: ngspice's ``sharedspice.h`` (ngSpice_Init, ngSpice_Command, ngSpice_Circ,
ngGet_Vec_Info, ngSpice_CurPlot, ngSpice_AllVecs).

Ctrl-C: ngspice reports its output through Python callbacks, and an exception raised in a
callback cannot leave it (ctypes prints "Exception ignored" and ngspice goes on), so the
KeyboardInterrupt of a Ctrl-C that lands there would be lost and the run never stop. A call
into the library therefore holds SIGINT as a flag and raises KeyboardInterrupt once the call
returns (:meth:`NgspiceShared._call`); an analysis that runs for seconds runs in ngspice's
own thread, which a Ctrl-C halts (``bg_halt``) while Python waits for it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import signal
import threading
import time
from collections.abc import Iterable

import numpy as np

from twinedge.processes import interrupt_handler


class NgspiceSharedError(RuntimeError):
    pass


class _VectorInfo(ctypes.Structure):
    _fields_ = [
        ("v_name", ctypes.c_char_p),
        ("v_type", ctypes.c_int),
        ("v_flags", ctypes.c_short),
        ("v_realdata", ctypes.POINTER(ctypes.c_double)),
        ("v_compdata", ctypes.c_void_p),
        ("v_length", ctypes.c_int),
    ]


_SEND_CHAR = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_void_p)
_SEND_STAT = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_void_p)
_EXIT = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.c_int, ctypes.c_bool, ctypes.c_bool, ctypes.c_int, ctypes.c_void_p
)
_BG_RUNNING = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_bool, ctypes.c_int, ctypes.c_void_p)
POLL_S = 0.05  # how often a wait for ngspice's own thread looks for Ctrl-C


class NgspiceShared:
    """One loaded ``libngspice``: load circuits, run commands, read real vectors."""

    def __init__(self, library: str | None = None) -> None:
        path = library or ctypes.util.find_library("ngspice") or "libngspice.so.0"
        try:
            self._lib = ctypes.CDLL(path)
        except OSError as exc:
            raise NgspiceSharedError(
                f"cannot load the ngspice shared library ({path}): {exc}; "
                "install it with apt-get install libngspice0"
            ) from None
        lib = self._lib
        lib.ngSpice_Init.argtypes = [
            _SEND_CHAR,
            _SEND_STAT,
            _EXIT,
            ctypes.c_void_p,
            ctypes.c_void_p,
            _BG_RUNNING,
            ctypes.c_void_p,
        ]
        lib.ngSpice_Command.argtypes = [ctypes.c_char_p]
        lib.ngSpice_Circ.argtypes = [ctypes.POINTER(ctypes.c_char_p)]
        lib.ngGet_Vec_Info.argtypes = [ctypes.c_char_p]
        lib.ngGet_Vec_Info.restype = ctypes.POINTER(_VectorInfo)
        lib.ngSpice_CurPlot.restype = ctypes.c_char_p
        lib.ngSpice_AllVecs.argtypes = [ctypes.c_char_p]
        lib.ngSpice_AllVecs.restype = ctypes.POINTER(ctypes.c_char_p)
        lib.ngSpice_running.restype = ctypes.c_bool
        self._out: list[str] = []
        self._exited = False
        self._bg_done = threading.Event()  # ngspice's own thread has finished its command
        # keep the callbacks referenced for the library's lifetime
        self._cb = (
            _SEND_CHAR(self._on_char),
            _SEND_STAT(lambda *_: 0),
            _EXIT(self._on_exit),
            _BG_RUNNING(self._on_bg_running),
        )
        if lib.ngSpice_Init(self._cb[0], self._cb[1], self._cb[2], None, None, self._cb[3], None):
            raise NgspiceSharedError("ngSpice_Init failed")
        self._lock = threading.Lock()

    def _on_char(self, text: bytes, _id: int, _user: object) -> int:
        self._out.append(text.decode(errors="replace"))
        return 0

    def _on_exit(self, status: int, _unload: bool, _quit: bool, _id: int, _user: object) -> int:
        self._exited = True
        return 0

    def _on_bg_running(self, stopped: bool, _id: int, _user: object) -> int:
        if stopped:
            self._bg_done.set()
        return 0

    def _call(self, fn, *args):
        """``fn(*args)`` (a library function) with a Ctrl-C held until it returns, then
        raised as KeyboardInterrupt (see the module doc). Only where Python's own handler is
        in place: a caller's handler, or SIGINT ignored, stays as it is."""
        current = signal.getsignal(signal.SIGINT)
        if threading.current_thread() is not threading.main_thread() or current not in (
            signal.default_int_handler,
            interrupt_handler(),
        ):
            return fn(*args)
        caught: list[int] = []
        signal.signal(signal.SIGINT, lambda signum, _frame: caught.append(signum))
        try:
            status = fn(*args)
        finally:
            signal.signal(signal.SIGINT, current)
        if caught:
            current(signal.SIGINT, None)  # raises KeyboardInterrupt (and remembers it)
        return status

    def _in_background(self, cmd: str) -> int:
        """Run ``cmd`` in ngspice's own thread and wait for it; a Ctrl-C (or any exception)
        while waiting halts it (``bg_halt``) before going on.

        The thread reports its end (``_on_bg_running``) before ngspice stops counting it
        as running, and ngspice ignores commands such as ``destroy`` meanwhile (with a
        warning only): the wait also lasts until ``ngSpice_running`` is false."""
        self._bg_done.clear()
        status = self._call(self._lib.ngSpice_Command, f"bg_{cmd}".encode())
        if status != 0:
            return status
        try:
            while not self._bg_done.wait(POLL_S):
                pass
            while self._lib.ngSpice_running():
                time.sleep(0.001)
        except BaseException:
            self._call(self._lib.ngSpice_Command, b"bg_halt")
            raise
        return 0

    # ------------------------------------------------------------------ commands
    def command(self, cmd: str, background: bool = False) -> list[str]:
        """Run one ngspice command; returns what ngspice printed. Raises on errors.

        ``background``: for an analysis that takes seconds (a long ``tran``), run in
        ngspice's own thread so that Ctrl-C stops it within :data:`POLL_S`. Not for short
        ones: each of ngspice's progress reports then costs a Python thread state (a 45 ms
        ``dc`` sweep takes 0.3 s), and a Ctrl-C waits for a short one anyway."""
        with self._lock:
            start = len(self._out)
            if background:
                status = self._in_background(cmd)
            else:
                status = self._call(self._lib.ngSpice_Command, cmd.encode())
            if status != 0:
                raise NgspiceSharedError(f"ngspice rejected '{cmd}'")
            printed = self._out[start:]
        errors = _errors(printed)
        if errors:
            raise NgspiceSharedError(f"ngspice '{cmd}': {errors[0].removeprefix('stderr ')}")
        return printed

    def load(self, netlist: str) -> None:
        """Load a circuit (title line first, ``.end`` appended when missing)."""
        lines = [ln for ln in netlist.splitlines() if ln.strip()]
        if not lines or lines[-1].strip().lower() != ".end":
            lines.append(".end")
        arr = (ctypes.c_char_p * (len(lines) + 1))(*[ln.encode() for ln in lines], None)
        with self._lock:
            start = len(self._out)
            status = self._call(self._lib.ngSpice_Circ, arr)
            printed = self._out[start:]
        bad = _errors(printed)
        if status != 0 or bad:
            raise NgspiceSharedError(
                "ngspice could not load the circuit: "
                + (bad[0].removeprefix("stderr ") if bad else f"{status}")
            )

    def vector(self, name: str) -> np.ndarray:
        info = self._lib.ngGet_Vec_Info(name.encode())
        if not info or not info.contents.v_realdata:
            raise NgspiceSharedError(f"no real vector '{name}' in the current plot")
        n = info.contents.v_length
        return np.ctypeslib.as_array(info.contents.v_realdata, shape=(n,)).copy()

    def op(self, nodes: Iterable[str]) -> dict[str, float]:
        """Operating point; node voltages by name."""
        self.command("op")
        return {n: float(self.vector(f"v({n})")[0]) for n in nodes}

    def alter(self, device: str, value: float) -> None:
        self.command(f"alter {device} = {value!r}")

    def reset(self) -> None:
        """Drop every loaded circuit and its results (memory does not grow over a run)."""
        self.command("destroy all")
        self.command("remcirc")


def _errors(printed: list[str]) -> list[str]:
    """ngspice's error lines among what it printed (it reports errors on stderr)."""
    return [ln for ln in printed if ln.startswith("stderr") and "error" in ln.lower()]


_shared: NgspiceShared | None = None


def shared() -> NgspiceShared:
    """The process's one ngspice library instance (created on first use)."""
    global _shared
    if _shared is None:
        _shared = NgspiceShared()
    return _shared
