"""Write a stage's outputs all at once, or not at all; own a build folder while writing it.

A stage writes its files into a hidden temporary folder beside the destination; only when
every file is complete are they moved into the destination (each move an atomic rename). An
error midway leaves the previous outputs untouched and no half-written file. Other files in
the destination folder are left alone.

Temporaries are named ``.<name>.tmp-<pid>...`` after the process writing them, so that a
later run can remove those of a killed one (SIGKILL runs no clean-up) and leave those of a
live one (:func:`clean_stale`). One run at a time owns a design's build folder
(:func:`folder_lock`). A write that fails on the file system (read-only, full, a file
where a folder goes) raises :class:`OutputError`: one line naming the path and the cause.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

LOCK = ".lock"
_TEMP = re.compile(r"^\..+?\.tmp-(\d+(?=-|$))?")  # group 1: the writer's PID
# errors of the file system as a whole: whatever the call, it was writing output
_DISK_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG}


class OutputError(RuntimeError):
    """An output cannot be written; the message names the path and the cause."""

    def __init__(self, path: Path | str, cause: str) -> None:
        super().__init__(f"{path}: cannot write: {cause}")
        self.path = Path(path)
        self.cause = cause


class FolderBusy(RuntimeError):
    """Another run holds the folder's lock (and the caller chose not to wait)."""


def _cause(exc: OSError) -> str:
    return exc.strerror or str(exc)


def temp_name(name: str) -> str:
    """The hidden name of a temporary written for ``name`` by this process and thread."""
    return f".{name}.tmp-{os.getpid()}-{threading.get_ident()}"


def _under(exc: OSError, *roots: Path) -> bool:
    names = [Path(f) for f in (exc.filename, exc.filename2) if f is not None]
    return any(n == r or r in n.parents for n in names for r in roots)


@contextlib.contextmanager
def staged_outputs(dest: Path) -> Iterator[Path]:
    dest = Path(dest)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=temp_name(dest.name) + "-", dir=dest.parent))
    except OSError as exc:
        raise OutputError(dest, _cause(exc)) from None
    try:
        yield tmp
        dest.mkdir(exist_ok=True)
        for item in sorted(tmp.iterdir()):
            os.replace(item, dest / item.name)
    except OSError as exc:  # ours to report if it happened writing the outputs
        if exc.errno in _DISK_ERRORS or _under(exc, tmp, dest):
            raise OutputError(dest, _cause(exc)) from None
        raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_text(path: Path, text: str) -> Path:
    """Write ``path`` whole or not at all (a temporary beside it, renamed over it)."""
    path = Path(path)
    tmp = path.with_name(temp_name(path.name))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(text)
        tmp.replace(path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise OutputError(path, _cause(exc)) from None
    return path


def check_writable(dest: Path) -> None:
    """Raise :class:`OutputError` now if the folder ``dest`` could not be written later (a
    file in its place, a read-only folder or file system, no space for a folder). Called
    before long work, so that an unwritable output fails in a second, not after it."""
    dest = Path(dest)
    for path in (dest, *dest.parents):
        if path.exists():
            if not path.is_dir():
                raise OutputError(dest, f"{path} is a file, not a folder")
            break
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        for where in (dest.parent, dest) if dest.is_dir() else (dest.parent,):
            os.rmdir(tempfile.mkdtemp(prefix=temp_name(dest.name) + "-", dir=where))
    except OSError as exc:
        raise OutputError(dest, _cause(exc)) from None


def _writer_alive(name: str) -> bool:
    """Whether the process named in a temporary's name still runs (names without a PID
    come from versions that did not record it: nobody holds those)."""
    found = _TEMP.match(name)
    if found is None or found.group(1) is None:
        return False
    pid = int(found.group(1))
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def stale_temporaries(folder: Path) -> list[Path]:
    """Temporaries of dead processes in ``folder``'s tree, and ``folder``'s own beside it
    (a stage writing the whole folder stages it in its parent)."""
    folder = Path(folder)
    found = list(folder.parent.glob(f".{folder.name}.tmp-*"))
    for root, dirs, files in os.walk(folder):
        found += [Path(root) / n for n in (*dirs, *files) if _TEMP.match(n)]
        dirs[:] = [d for d in dirs if not _TEMP.match(d)]  # removed whole
    return sorted(p for p in found if not _writer_alive(p.name))


def clean_stale(folder: Path) -> list[Path]:
    """Remove :func:`stale_temporaries` (those it can: a read-only build keeps them)."""
    removed = []
    for path in stale_temporaries(folder):
        try:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
        except OSError:
            continue
        removed.append(path)
    return removed


def _holder(fd: int, tries: int = 20) -> str:
    """`` (pid N)`` of the lock's holder. It writes its pid just after taking the lock, so
    a run that finds the lock taken in between reads an empty file: it looks again, for up
    to a second (a CI run once printed no pid)."""
    for _ in range(tries):
        with contextlib.suppress(OSError, ValueError):
            pid = int(os.pread(fd, 32, 0).decode().strip())
            return f" (pid {pid})"
        time.sleep(0.05)
    return ""


@contextlib.contextmanager
def folder_lock(
    folder: Path, wait: bool = True, on_wait: Callable[[str], None] | None = None
) -> Iterator[None]:
    """Hold ``folder/.lock`` (``flock``, released by the kernel however the process ends):
    a second run on the folder waits for the first (``on_wait`` told why, once) or, with
    ``wait=False``, raises :class:`FolderBusy`. A folder that exists but cannot be written
    (a read-only build) is used unlocked: no run can change it either."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        if not folder.is_dir():
            raise OutputError(folder, _cause(exc)) from None
    path = folder / LOCK
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            yield
            return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            busy = f"{folder}: in use by another twinedge run{_holder(fd)}"
            if not wait:
                raise FolderBusy(busy) from None
            if on_wait:
                on_wait(busy)
            fcntl.flock(fd, fcntl.LOCK_EX)
        with contextlib.suppress(OSError):  # who holds it, for the next one's message
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)


@contextlib.contextmanager
def cache_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path``'s cache entry while it is looked up or made:
    two processes that need the same entry (two flows, two test workers) compute it once,
    the second waiting and then reading what the first wrote."""
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def private_tmp(path: Path) -> Path:
    """A temporary name beside ``path`` that no other process uses (for write + rename)."""
    return path.with_name(temp_name(path.name))
