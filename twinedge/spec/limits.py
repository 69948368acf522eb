"""Bounded input: how much of a spec, its YAML and its data files twinedge will read.

A spec comes from users and from scripts, and sometimes from nowhere good: ``/dev/zero``, a
FIFO nobody writes to, a billion-laughs YAML document (a few aliases that expand to 10^9
values), a 1 MB key. Each limit here turns such input into a one-line spec error, found in
bounded time and memory, before anything is built from it.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import yaml

MiB = 1 << 20
MAX_SPEC_BYTES = 1 * MiB
"""A spec is a few kB (the shipped designs: < 5 kB); a 4,096-row inline table ~150 kB."""
MAX_CSV_BYTES = 16 * MiB
"""A CSV task file: 4,096 datapoints take < 1 MB; room for extra columns the task ignores."""
MAX_DATAPOINTS = 4096
"""Datapoints of any task (the regression's ``points`` bound): every log point solves each one
(~400 log points a run), and every datapoint keeps a warm start of every node per twin."""
MAX_STEPS = 50_000_000
"""Learning steps of a run (~10 min of the 4x4 network's fastest training)."""
LEAK_MIN_STEPS = 100
"""``cell.g_leak.tau_s`` in learning steps, at least: the leak is applied once a step, after
its update (first order in step / tau: 0.5 % at this bound)."""
MAX_YAML_NODES = 200_000
"""Values in a YAML document, counted with every alias expanded: a full-size table (4,096 rows
of a few volts) is ~20,000; pydantic validates (and reports errors for) every value."""
MAX_YAML_DEPTH = 32
"""Nesting of a YAML document: a spec is five levels deep (``task.rows[i][j]``)."""
VOLTS_MAX = 100.0
"""Any voltage in a spec, in magnitude: far above every supply the cells run at (the
breadboard's 5.7 V gates); beyond it the device currents overflow long before training ends."""
MAX_NAME = 64
"""Characters of a design or pin name (pins name nets in the layout and its netlists)."""


class ReadError(Exception):
    """Why a file was not read (the caller names the field); ``missing``: it does not exist."""

    def __init__(self, message: str, missing: bool = False) -> None:
        self.message, self.missing = message, missing
        super().__init__(message)


_KINDS = {
    stat.S_ISDIR: "a directory",
    stat.S_ISCHR: "a character device",
    stat.S_ISBLK: "a block device",
    stat.S_ISFIFO: "a FIFO",
    stat.S_ISSOCK: "a socket",
}


def read_limited(path: Path, limit: int, what: str) -> bytes:
    """The bytes of regular file ``path``, at most ``limit`` of them, else :class:`ReadError`.

    Opened non-blocking (opening a FIFO would wait for a writer forever) and refused unless a
    regular file (a device or a pipe has no end); then at most ``limit + 1`` bytes are read,
    since a file's size can change (or, under /proc, be reported as 0) after ``fstat``.
    """
    too_large = ReadError(f"{what} is over the {limit // MiB} MiB limit")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise ReadError(f"{what} not found", missing=True) from None
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
        raise ReadError(f"cannot read {what}: {exc.__class__.__name__}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = next((k for test, k in _KINDS.items() if test(info.st_mode)), "another kind")
            raise ReadError(f"{what} is {kind}, not a regular file")
        if info.st_size > limit:
            raise too_large
        data = b""
        while len(data) <= limit:
            chunk = os.read(fd, limit + 1 - len(data))
            if not chunk:
                break
            data += chunk
    except OSError as exc:
        raise ReadError(f"cannot read {what}: {exc.__class__.__name__}") from None
    finally:
        os.close(fd)
    if len(data) > limit:
        raise too_large
    return data


# ---------------------------------------------------------------- YAML
class YamlLimitError(yaml.MarkedYAMLError):
    """A YAML document beyond :data:`MAX_YAML_NODES` or :data:`MAX_YAML_DEPTH`."""


_Loader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when installed


class _BoundedLoader(_Loader):  # type: ignore[misc, valid-type]
    """``yaml.SafeLoader`` that checks the composed node graph before building any object.

    PyYAML builds an aliased value once and shares it, so a billion-laughs document loads in
    milliseconds into a structure that anything walking it (validation, an error message's
    repr) visits 10^9 times. Counting each node's size with its aliases expanded (memoised:
    linear in the document) refuses it at the node where the count passes the limit.
    """

    def get_single_node(self) -> yaml.Node | None:
        node = super().get_single_node()
        if node is not None:
            _check_graph(node)
        return node


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return node.value
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def _check_graph(root: yaml.Node) -> None:
    """Expanded size and depth of every collection node, iteratively (no recursion limit to
    hit); an alias to a node still being composed (``&a [*a]``) is a cycle, refused too."""
    size: dict[int, int] = {}  # collections only: a scalar counts 1
    open_nodes: set[int] = set()  # started, children not all sized: the current path
    stack: list[tuple[yaml.Node, int, list[yaml.Node] | None]] = [(root, 0, None)]
    while stack:
        node, depth, kids = stack.pop()
        key = id(node)
        if kids is not None:  # every child sized: size the node
            open_nodes.discard(key)
            size[key] = 1 + sum(size.get(id(c), 1) for c in kids)
            if size[key] > MAX_YAML_NODES:
                raise _limit(node, f"more than {MAX_YAML_NODES:,} values with aliases expanded")
        elif key in open_nodes:
            raise _limit(node, "an alias refers to a value that contains it")
        elif key not in size and not isinstance(node, yaml.ScalarNode):
            if depth > MAX_YAML_DEPTH:
                raise _limit(node, f"nested more than {MAX_YAML_DEPTH} levels deep")
            kids = _children(node)
            open_nodes.add(key)
            stack.append((node, depth, kids))
            stack.extend((c, depth + 1, None) for c in kids if not isinstance(c, yaml.ScalarNode))


def _limit(node: yaml.Node, problem: str) -> YamlLimitError:
    problem = f"YAML document too large: {problem}"
    return YamlLimitError(problem=problem, problem_mark=node.start_mark)


def parse_yaml(text: str) -> Any:
    """``yaml.safe_load(text)`` within :data:`MAX_YAML_NODES` and :data:`MAX_YAML_DEPTH`."""
    loader = _BoundedLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()
