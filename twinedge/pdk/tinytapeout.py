"""TinyTapeout tiles as data: the die area of each tile and the exact name, direction, layer
and rectangle of every pin of the ``tt_um_<project>`` macro.

Why data: a submission is rejected when one pin differs from the shuttle's template by a
grid step, so the tile wrapper and the precheck both read the same facts. They come from
the official template DEFs (``TinyTapeout/tt-support-tools``), turned into
``data/tinytapeout_<pdk>.json`` by ``scripts/tt_templates.py``; twinedge never reads the
DEFs at run time. :func:`parse_def` is that conversion (a DEF's DIEAREA and PINS only).
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path

DATA = Path(__file__).parent / "data"


@dataclass(frozen=True)
class ShuttleRules:
    """What TinyTapeout's precheck asks of a tile beyond its pins (layer names as in the
    PDK's ``layers``)."""

    forbidden: tuple[str, ...]  # layers a tile must not contain
    pin_layer: str  # the template pins' and the power stripes' drawing layer
    pin_purpose: str  # the pin purpose that must cover every LEF port in the top cell
    via_below: str  # a via into the pin layer (an analog pin is used when one lies on it)
    # the layer under that via, where a chip's channel tracks run (the tile's lines land on
    # them): met3 under SKY130's met4 pins, met2 under GF180MCU's (its met3 role)
    track_layer: str
    power_min_width: float = 1.2  # um, each power stripe
    power_reach: float = 10.0  # um: a stripe starts at most this far above the bottom and
    # ends at most this far below the top
    analog_ring: tuple[float, float] = (0.1, 0.5)  # um around an analog pin: metal there
    # connects it
    max_analog_pins: int = 6
    core_supply: str = "1v8"  # VDPWR's voltage; a tile of another supply adds VAPWR

    @property
    def vdpwr(self) -> float:
        """VDPWR in volts."""
        return float(self.core_supply.replace("v", "."))

    def vapwr(self, tile: Tile) -> bool:
        """Whether ``tile`` has the extra (3.3 V analog) supply pin VAPWR."""
        return tile.supply != self.core_supply


SHUTTLE = {
    "sky130A": ShuttleRules(
        forbidden=("MET5", "MET5_PIN", "MET5_LABEL"),
        pin_layer="MET4",
        pin_purpose="MET4_PIN",
        via_below="VIA3",
        track_layer="MET3",
    ),
    # TinyTapeout's GF180MCU shuttle (tt-support-tools precheck/tech_data.py): pins and power
    # stripes on Metal4 (the generators' ``met3`` role), Metal5 forbidden (their ``met4``
    # role), no analog pin (``analog_pin_rects`` raises NotImplementedError for gf180mcuD and
    # no analog template exists), VDPWR at 3.3 V (its standard cells are timed at 3.3 V).
    "gf180mcuD": ShuttleRules(
        forbidden=("MET4", "MET4_LABEL"),
        pin_layer="MET3",
        pin_purpose="MET3_PIN",
        via_below="VIA2",
        track_layer="MET2",
        max_analog_pins=0,
        core_supply="3v3",
    ),
}


@dataclass(frozen=True)
class TilePin:
    name: str  # e.g. "ua[0]", "ui_in[3]", "clk"
    direction: str  # INPUT, OUTPUT, INOUT
    layer: str  # the PDK's layer name in the DEF (met4, Metal4)
    rect: tuple[float, float, float, float]  # um, die coordinates

    @property
    def analog(self) -> bool:
        return self.name.startswith("ua[")


@dataclass(frozen=True)
class Tile:
    name: str  # e.g. "1x2", "6x2"
    template: str  # the DEF it came from, e.g. "tt_analog_1x2"
    width: float  # die area (um), origin at (0, 0)
    height: float
    supply: str  # "1v8" or "3v3": the supplies' voltage (ShuttleRules.vapwr: whether VAPWR)
    pins: tuple[TilePin, ...]

    @property
    def area_um2(self) -> float:
        return self.width * self.height

    def pin(self, name: str) -> TilePin:
        return next(p for p in self.pins if p.name == name)

    @property
    def analog_pins(self) -> tuple[TilePin, ...]:
        return tuple(sorted((p for p in self.pins if p.analog), key=lambda p: _index(p.name)))


def _index(name: str) -> int:
    return int(name[name.index("[") + 1 : -1])


_DIE = re.compile(r"DIEAREA\s*\(\s*(-?\d+)\s+(-?\d+)\s*\)\s*\(\s*(-?\d+)\s+(-?\d+)\s*\)")
_PIN = re.compile(
    r"-\s+(\S+)\s+\+\s+NET\s+\S+\s+\+\s+DIRECTION\s+(\w+).*?"
    r"\+\s+LAYER\s+(\S+)\s+\(\s*(-?\d+)\s+(-?\d+)\s*\)\s*\(\s*(-?\d+)\s+(-?\d+)\s*\)\s*"
    r"\+\s+PLACED\s+\(\s*(-?\d+)\s+(-?\d+)\s*\)\s+(\w+)\s*;",
    re.S,
)


def parse_def(text: str) -> tuple[tuple[float, float], list[TilePin]]:
    """(die width and height in um, pins) of a tile template DEF. Only unrotated (N) pin
    placements occur in the templates; any other orientation is refused, not guessed."""
    units = int(re.search(r"UNITS\s+DISTANCE\s+MICRONS\s+(\d+)", text).group(1))
    x0, y0, x1, y1 = (int(v) for v in _DIE.search(text).groups())
    if (x0, y0) != (0, 0):
        raise ValueError(f"die area does not start at the origin: ({x0}, {y0})")
    section = text[text.index("\nPINS") : text.index("END PINS")]
    pins = []
    for m in _PIN.finditer(section):
        name, direction, layer = m.group(1), m.group(2), m.group(3)
        rx0, ry0, rx1, ry1, px, py = (int(v) for v in m.groups()[3:9])
        if m.group(10) != "N":
            raise ValueError(f"pin {name}: orientation {m.group(10)} (only N is read)")
        rect = tuple(round(v / units, 4) for v in (px + rx0, py + ry0, px + rx1, py + ry1))
        pins.append(TilePin(name, direction, layer, rect))  # type: ignore[arg-type]
    declared = int(re.search(r"\nPINS\s+(\d+)", text).group(1))
    if len(pins) != declared:
        raise ValueError(f"read {len(pins)} pins of the {declared} the DEF declares")
    return (round(x1 / units, 4), round(y1 / units, 4)), pins


@cache
def tiles(pdk_name: str) -> tuple[Tile, ...]:
    """Every tile of ``pdk_name``'s shuttle, smallest die area first."""
    path = DATA / f"tinytapeout_{pdk_name}.json"
    if not path.exists():
        raise KeyError(f"no TinyTapeout tiles for PDK {pdk_name!r}")
    out = []
    for t in json.loads(path.read_text())["tiles"]:
        pins = tuple(
            TilePin(p["name"], p["direction"], p["layer"], tuple(p["rect"])) for p in t["pins"]
        )
        out.append(Tile(t["name"], t["template"], t["width"], t["height"], t["supply"], pins))
    return tuple(sorted(out, key=lambda t: (t.area_um2, t.supply)))


def tile(pdk_name: str, name: str, supply: str | None = None) -> Tile:
    """Tile ``name`` of ``pdk_name``'s shuttle; ``supply`` None: its core supply's."""
    supply = supply or SHUTTLE[pdk_name].core_supply
    for t in tiles(pdk_name):
        if t.name == name and t.supply == supply:
            return t
    known = ", ".join(sorted({t.name for t in tiles(pdk_name)}))
    raise KeyError(f"no {supply} TinyTapeout tile {name!r} for {pdk_name} (tiles: {known})")


def as_json(source: str, tiles_: list[Tile]) -> str:
    """The data file's text (``scripts/tt_templates.py``): a tile's fields, then a pin a line."""
    blocks = []
    for t in tiles_:
        head = {k: v for k, v in asdict(t).items() if k != "pins"}
        pins = ",\n".join("   " + json.dumps(asdict(p)) for p in t.pins)
        blocks.append(f'  {json.dumps(head)[:-1]},\n  "pins": [\n{pins}\n  ]}}')
    return f'{{"source": {json.dumps(source)}, "tiles": [\n' + ",\n".join(blocks) + "\n]}\n"
