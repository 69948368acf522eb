"""A TinyTapeout project's ``info.yaml`` from the chip's pin plan.

The shuttle reads the project's tiles, top module, analog pin count and a line per pin from
it; the datasheet prints the pinout. Written from the same pin plan as the chip and its
README table, so the three describe the same pins. Format: TinyTapeout's ``yaml_version 6``
(as ``tt-support-tools``' ``project_info.py`` validates it; :mod:`twinedge.verify.precheck`
checks the same rules).
"""

from __future__ import annotations

import re

import yaml

from twinedge.pdk.tinytapeout import Tile
from twinedge.spec.pinplan import PinPlan

PINOUT_BUSES = {"ui_in": "ui", "uo_out": "uo", "uio_in": "uio", "uio_out": "uio", "ua": "ua"}


def _expand(pin: str) -> list[tuple[str, int]]:
    """``uio_in[0..5]`` -> [("uio", 0), ..., ("uio", 5)]; ``clk`` -> []."""
    m = re.fullmatch(r"(\w+)\[(\d+)(?:\.\.(\d+))?\]", pin)
    if not m or m.group(1) not in PINOUT_BUSES:
        return []
    lo, hi = int(m.group(2)), int(m.group(3) or m.group(2))
    return [(PINOUT_BUSES[m.group(1)], k) for k in range(lo, hi + 1)]


def pinout(plan: PinPlan) -> dict[str, str]:
    """Every ``ui``/``uo``/``uio`` key (empty where unused) and, when an analog pin is used,
    ``ua[0]``..``ua[5]``; a bus entry of the plan (``uio_in[0..5]``) gives a line per bit."""
    out = {f"{bus}[{k}]": "" for bus in ("ui", "uo", "uio") for k in range(8)}
    if analog_pins(plan):
        out |= {f"ua[{k}]": "" for k in range(6)}
    for p in plan.pins:
        bits = _expand(p.pin)
        for k, (bus, i) in enumerate(bits):
            label = f"{p.signal}[{k}]" if len(bits) > 1 else p.signal
            out[f"{bus}[{i}]"] = f"{label}: {p.kind}"
    return out


def analog_pins(plan: PinPlan) -> int:
    """The ``analog_pins`` count: the shuttle connects ua[0] .. ua[n-1]."""
    used = [i for p in plan.pins for bus, i in _expand(p.pin) if bus == "ua"]
    return max(used) + 1 if used else 0


def info_yaml(
    plan: PinPlan, tile: Tile, top: str, title: str, author: str, what: str, vapwr: bool
) -> str:
    """The ``info.yaml`` text (``vapwr``: the tile has the extra 3.3 V supply pin)."""
    n = analog_pins(plan)
    project = {
        "title": title,
        "author": author,
        "description": what,
        "language": "Analog",
        "clock_hz": 0,
        "tiles": tile.name,
        "analog_pins": n,
        "uses_3v3": vapwr,
        "top_module": top,
        "source_files": [f"{top}.v"],
    }
    doc = {"yaml_version": 6, "project": project, "pinout": pinout(plan)}
    return yaml.safe_dump(doc, sort_keys=False, width=100)
