"""Write a stage's outputs all at once, or not at all.

A stage writes its files into a hidden temporary folder beside the destination; only when
every file is complete are they moved into the destination (each move an atomic rename). An
error midway leaves the previous outputs untouched and no half-written file. Other files in
the destination folder are left alone.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def staged_outputs(dest: Path) -> Iterator[Path]:
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.tmp-", dir=dest.parent))
    try:
        yield tmp
        dest.mkdir(exist_ok=True)
        for item in sorted(tmp.iterdir()):
            os.replace(item, dest / item.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


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
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")
