"""Versions of the packages and programs twinedge runs: one place that asks them.

Stage keys include the versions of the tools a stage calls (a new KLayout re-runs DRC),
and every artifact records what made it.
"""

from __future__ import annotations

import platform
import re
import shutil
import subprocess
from functools import cache
from importlib import metadata

from twinedge import processes


@cache
def package(name: str) -> str:
    """A Python distribution's version (``python`` is the interpreter's)."""
    if name == "python":
        return platform.python_version()
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


@cache
def program(exe: str, flag: str = "--version", pattern: str = r"(\S+)$") -> str:
    """A program's version from ``exe flag`` (first match of ``pattern`` in its output)."""
    path = shutil.which(exe)
    if path is None:
        return "not installed"
    try:
        proc = processes.run([path, flag], timeout=60)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    m = re.search(pattern, (proc.stdout + proc.stderr).strip(), re.M)
    return m.group(1) if m else "unknown"


PROGRAMS = {  # tool name -> (executable, flag, pattern)
    "klayout": ("klayout", "-v", r"KLayout (\S+)"),
    "ngspice": ("ngspice", "--version", r"ngspice-(\S+)"),
}


def tool(name: str) -> str:
    """A program's (``PROGRAMS``) or a Python package's version."""
    if name in PROGRAMS:
        return program(*PROGRAMS[name])
    return package(name)


def tools(names: tuple[str, ...] | list[str]) -> dict[str, str]:
    return {n: tool(n) for n in names}
