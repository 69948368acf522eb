"""Input stamps: a stage re-runs only when the digest of its inputs changed.

Each stage folder holds ``stamp.json`` with the digest of what it was made from; the flow
compares it with the digest of the current inputs (files by content, settings by value).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

STAMP = "stamp.json"


def digest(*parts: object) -> str:
    h = hashlib.sha256()
    for part in parts:
        if isinstance(part, Path):
            h.update(part.read_bytes() if part.is_file() else b"<missing>")
        else:
            h.update(json.dumps(part, sort_keys=True, default=str).encode())
        h.update(b"\0")
    return h.hexdigest()


def is_current(folder: Path, key: str, outputs: list[str]) -> bool:
    stamp = folder / STAMP
    if not stamp.is_file() or not all((folder / o).is_file() for o in outputs):
        return False
    return json.loads(stamp.read_text()).get("inputs") == key


def mark(folder: Path, key: str) -> None:
    (folder / STAMP).write_text(json.dumps({"inputs": key}))
