"""Stage keys: a stage re-runs only when the digest of what it is made from changed.

What a stage is made from: its inputs (spec fields by value, artifacts by content), the
source of the code it runs (its modules and every ``twinedge`` module they import, found
by reading the imports, so an edit anywhere on that path changes the key without anyone
bumping a version by hand) and the versions of the tools it calls.

Each stage folder holds ``stamp.json`` with the key of what its outputs were made from.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import json
from collections.abc import Iterable
from functools import cache
from pathlib import Path

from twinedge.artifacts import write_text

STAMP = "stamp.json"


def file_record(path: Path) -> dict:
    """A file as keys and the manifest record it: its path and content's SHA-256."""
    return {"path": str(path), "sha256": file_sha256(path) if path.is_file() else None}


def _json_value(value: object) -> object:
    """What JSON cannot say itself: a file (``Path``, also inside a mapping or list) by its
    path and content, so that a stage whose input file changed at the same path re-runs;
    anything else as its string."""
    return file_record(value) if isinstance(value, Path) else str(value)


def digest(*parts: object) -> str:
    """SHA-256 over ``parts``: files (``Path``) by content, anything else by its JSON (files
    inside it by path and content)."""
    h = hashlib.sha256()
    for part in parts:
        if isinstance(part, Path):
            h.update(part.read_bytes() if part.is_file() else b"<missing>")
        else:
            h.update(json.dumps(part, sort_keys=True, default=_json_value).encode())
        h.update(b"\0")
    return h.hexdigest()


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@cache
def _origin(module: str) -> Path | None:
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        return None
    return Path(spec.origin)


@cache
def _imports(module: str) -> frozenset[str]:
    """The ``twinedge`` modules ``module`` imports (anywhere in it, lazy imports too, and
    modules a registry names as strings), with the packages above each."""
    path = _origin(module)
    if path is None:
        return frozenset()
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and node.value.startswith("twinedge.")
            and node.value.replace(".", "_").isidentifier()
        ):  # registries name their modules as strings (twinedge.pdk.REGISTRY)
            names = [node.value]
        for name in names:
            if name.split(".")[0] == "twinedge" and _origin(name) is not None:
                parts = name.split(".")
                found.update(".".join(parts[:k]) for k in range(1, len(parts) + 1))
    return frozenset(m for m in found if _origin(m) is not None)


def code_closure(modules: Iterable[str]) -> list[str]:
    """``modules`` and every twinedge module reachable through their imports, sorted."""
    seen: set[str] = set()
    todo = list(modules)
    while todo:
        m = todo.pop()
        if m in seen:
            continue
        if _origin(m) is None:
            raise ValueError(f"no source for module {m!r}")
        seen.add(m)
        todo.extend(_imports(m) - seen)
    return sorted(seen)


def code_digest(modules: Iterable[str]) -> str:
    """Digest of the source of ``modules`` and of everything they import from twinedge."""
    return digest(*[(m, digest(_origin(m))) for m in code_closure(modules)])


def is_current(folder: Path, key: str, outputs: Iterable[str]) -> bool:
    stamp = folder / STAMP
    if not stamp.is_file() or not all((folder / o).is_file() for o in outputs):
        return False
    try:
        return json.loads(stamp.read_text()).get("inputs") == key
    except (json.JSONDecodeError, OSError):
        return False


def mark(folder: Path, key: str) -> None:
    write_text(folder / STAMP, json.dumps({"inputs": key}))
