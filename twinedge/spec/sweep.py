"""Sweep axes: which spec fields a sweep varies, over which values, and the spec of each point.

A sweep is the spec's YAML with fields replaced. ``--vary FIELD=VALUES`` names a field by
its dotted path in the spec (``training.seed``, ``cell.model.corner``,
``cell.update.sizing.squarer_w``) and its values as

* ``A:B`` integers A, A+1, ..., B-1 (``training.seed=0:4``);
* ``V1,V2,...`` YAML scalars (``training.eta=0.2,0.5,1.0``, ``cell.model.corner=tt,ff``);
* ``pins=random:N``: N placements of the spec's pins (inputs, constants, output) on distinct
  nodes of the lattice, placement k drawn with seed k (reproducible, independent of N).

Points are the grid of all axes (the product). Every point is validated as a spec of its
own (the loader's checks, one-line errors) before anything runs.
"""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
import yaml

from twinedge.spec.errors import SpecError

MAX_POINTS = 100_000  # a sweep's grid, all axes together
MAX_VALUES = 10_000  # one axis
PINS = "pins"


@dataclass(frozen=True)
class Axis:
    field: str  # dotted path in the spec, or "pins"
    values: tuple[Any, ...]  # the field's values (pins: placement indices)

    def label(self, value: Any) -> str:
        return f"random:{value}" if self.field == PINS else str(value)


def _path(raw: dict, field: str, file: str) -> tuple[dict, str]:
    """The mapping that holds ``field`` in ``raw`` (missing mappings on the way are made:
    ``network.damage.removed`` in a spec without damage) and the field's last key; a
    value on the way that is not a mapping is refused. The loader then checks the field."""
    *head, last = field.split(".")
    node: Any = raw
    for k, key in enumerate(head):
        node = node.setdefault(key, {})
        if not isinstance(node, dict):
            where = ".".join(head[: k + 1])
            raise SpecError(file, f"--vary {field}", f"{where} is not a mapping in the spec")
    return node, last


def _scalar(text: str) -> Any:
    value = yaml.safe_load(text)
    if isinstance(value, (dict, list)):
        raise ValueError(text)
    return value


def parse_vary(text: str, raw: dict, file: str) -> Axis:
    """One ``--vary FIELD=VALUES`` option (module docstring) against the spec ``raw``."""
    field, sep, values = text.partition("=")
    field, values = field.strip(), values.strip()
    allowed = "FIELD=A:B, FIELD=V1,V2,... or pins=random:N"
    if not sep or not field or not values:
        raise SpecError(file, "--vary", "not FIELD=VALUES", text, allowed)
    if field == PINS:
        kind, _, n = values.partition(":")
        if kind != "random" or not n.isdigit() or not 1 <= int(n) <= MAX_VALUES:
            raise SpecError(file, "--vary pins", "placements", values, f"random:1..{MAX_VALUES}")
        return Axis(PINS, tuple(range(int(n))))
    _path(copy.deepcopy(raw), field, file)
    lo, colon, hi = values.partition(":")
    if colon and "," not in values:
        try:
            a, b = int(lo), int(hi)
        except ValueError:
            raise SpecError(file, f"--vary {field}", "a range", values, "A:B integers") from None
        if not 0 < b - a <= MAX_VALUES:
            raise SpecError(file, f"--vary {field}", "an empty or huge range", values,
                            f"A:B with 0 < B - A <= {MAX_VALUES}")  # fmt: skip
        return Axis(field, tuple(range(a, b)))
    try:
        parsed = tuple(_scalar(v.strip()) for v in values.split(","))
    except (yaml.YAMLError, ValueError):
        raise SpecError(file, f"--vary {field}", "not scalars", values, allowed) from None
    if len(parsed) > MAX_VALUES or len(set(map(repr, parsed))) != len(parsed):
        raise SpecError(file, f"--vary {field}", "repeated or too many values", values,
                        f"up to {MAX_VALUES} distinct values")  # fmt: skip
    return Axis(field, parsed)


def grid(axes: list[Axis], file: str) -> list[dict[str, Any]]:
    """Every combination of the axes' values, as {field: value} (the first axis slowest)."""
    fields = [a.field for a in axes]
    if len(set(fields)) != len(fields):
        raise SpecError(file, "--vary", "a field varied twice", ", ".join(fields))
    n = int(np.prod([len(a.values) for a in axes])) if axes else 0
    if not 0 < n <= MAX_POINTS:
        raise SpecError(file, "--vary", f"{n} points", n, f"1..{MAX_POINTS}")
    return [dict(zip(fields, combo, strict=True)) for combo in
            itertools.product(*(a.values for a in axes))]  # fmt: skip


def random_pins(raw: dict, index: int) -> dict:
    """The spec's pins on distinct nodes drawn with seed ``index``: each input, constant and
    output terminal keeps its name and volts, at a node of the lattice."""
    net, pins = raw["network"], copy.deepcopy(raw["pins"])
    nodes = [(r, c) for r in range(int(net["rows"])) for c in range(int(net["cols"]))]
    out = pins["output"]
    slots: list[tuple[dict, str]] = [(pins["inputs"], k) for k in pins["inputs"]]
    slots += [(pins["constants"][k], "node") for k in pins.get("constants") or {}]
    slots += [(out, k) for k in sorted(out)] if isinstance(out, dict) else []
    if not isinstance(out, dict):
        slots.append((pins, "output"))
    if len(slots) > len(nodes):
        raise SpecError("<sweep>", "--vary pins", f"{len(slots)} pins on {len(nodes)} nodes",
                        allowed="a lattice with a node per pin")  # fmt: skip
    rng = np.random.default_rng(index)
    for (holder, key), k in zip(slots, rng.permutation(len(nodes))[: len(slots)], strict=True):
        holder[key] = list(nodes[k])
    return pins


def point_spec(raw: dict, point: dict[str, Any]) -> dict:
    """``raw`` with the point's fields replaced (a copy)."""
    out = copy.deepcopy(raw)
    for field, value in point.items():
        if field == PINS:
            out[PINS] = random_pins(raw, int(value))
            continue
        node, last = _path(out, field, "<sweep>")
        node[last] = value
    return out
