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
