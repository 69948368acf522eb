"""TinyTapeout's precheck, implemented here: what a shuttle checks a tile's GDS, LEF and
Verilog stub for before it accepts it, each check a row with a one-line reason.

Why our own: the shuttle's tools (magic, its Python precheck) do not run here, and a user
should learn that a tile will be refused before submitting it. The checks follow the
precheck of ``TinyTapeout/tt-support-tools`` (read at dfa73d6): the top cell and cell
names, the boundary against the die area, zero-area shapes, forbidden and unknown layers,
every template pin in the LEF (exact rectangle) and as a pin shape in the GDS, the power
stripes, pin and label shapes on their drawn layer, info.yaml (TinyTapeout's format,
version 6), and the analog pins used exactly as it declares. The sign-off DRC deck runs
beside it (:mod:`twinedge.verify.drc`). The tile facts come from
:mod:`twinedge.pdk.tinytapeout`.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

import klayout.db as kdb
import yaml

from twinedge.pdk import Pdk
from twinedge.pdk.tinytapeout import SHUTTLE, ShuttleRules, Tile


class PrecheckInputError(ValueError):
    """The tile's files cannot be read at all (as opposed to a check that fails)."""


POWER_USE = {"VDPWR": "POWER", "VAPWR": "POWER", "VGND": "GROUND"}
NM = 1e-3  # um: the coordinates' resolution (a pin must match to it)


@dataclass
class Check:
    name: str
    passed: bool
    reason: str  # one line: what passed, or the first things that failed

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Precheck:
    tile: str
    top: str
    checks: list[Check] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(c.passed for c in self.checks)

    def failed(self) -> list[Check]:
        return [c for c in self.checks if not c.passed]

    def as_dict(self) -> dict:
        return {"tile": self.tile, "top": self.top, "passed": self.passed,
                "checks": [c.as_dict() for c in self.checks]}  # fmt: skip


# ------------------------------------------------------------------------------ LEF
@dataclass
class LefPin:
    direction: str
    use: str
    rects: list[tuple[str, tuple[float, float, float, float]]]  # (layer, rect um)


@dataclass
class Lef:
    macro: str
    origin: tuple[float, float]
    size: tuple[float, float]
    pins: dict[str, LefPin]


_LEF_GEOMETRY = re.compile(r"LAYER\s+(\S+)\s*;|RECT\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s*;")


def read_lef(text: str) -> Lef:
    """The one macro of a tile's LEF: its name, origin, size and pins (no obstructions)."""
    m = re.search(r"^\s*MACRO\s+(\S+)(.*?)^\s*END\s+\1\b", text, re.S | re.M)
    if not m:
        raise ValueError("no MACRO ... END block")
    name, body = m.group(1), m.group(2)
    origin = re.search(r"ORIGIN\s+(\S+)\s+(\S+)\s*;", body)
    size = re.search(r"SIZE\s+(\S+)\s+BY\s+(\S+)\s*;", body)
    pins = {}
    for pm in re.finditer(r"^\s*PIN\s+(\S+)(.*?)^\s*END\s+(\S+)", body, re.S | re.M):
        pin, block = pm.group(1), pm.group(2)
        direction = re.search(r"DIRECTION\s+(\w+)", block)
        use = re.search(r"USE\s+(\w+)", block)
        rects, layer = [], ""
        for tok in _LEF_GEOMETRY.finditer(block):
            if tok.group(1):
                layer = tok.group(1)
            else:
                rects.append((layer, tuple(float(v) for v in tok.groups()[1:])))
        pins[pin] = LefPin(
            direction.group(1) if direction else "", use.group(1) if use else "SIGNAL", rects
        )
    return Lef(
        name,
        (float(origin.group(1)), float(origin.group(2))) if origin else (0.0, 0.0),
        (float(size.group(1)), float(size.group(2))) if size else (0.0, 0.0),
        pins,
    )


# ----------------------------------------------------------------------------- checks
def _box(layout: kdb.Layout, rect) -> kdb.Box:
    x0, y0, x1, y1 = (round(v / layout.dbu) for v in rect)
    return kdb.Box(x0, y0, x1, y1)


def _um(layout: kdb.Layout, box: kdb.Box) -> str:
    b = box.to_dtype(layout.dbu)
    return f"({b.left:g}, {b.bottom:g}) - ({b.right:g}, {b.top:g})"


def _region(layout: kdb.Layout, cell: kdb.Cell, layer, flat: bool) -> kdb.Region:
    index = layout.find_layer(*layer)
    if index is None:
        return kdb.Region()
    return kdb.Region(cell.begin_shapes_rec(index)) if flat else kdb.Region(cell.shapes(index))


def _first(items: list[str], n: int = 3) -> str:
    more = f" (+{len(items) - n} more)" if len(items) > n else ""
    return "; ".join(items[:n]) + more


def _top(layout: kdb.Layout, top: str) -> Check:
    tops = [c.name for c in layout.top_cells()]
    if tops != [top]:
        return Check("top cell", False, f"top cells {tops}, expected exactly [{top!r}]")
    if not top.startswith("tt_um_"):
        return Check("top cell", False, f"{top!r} does not start with tt_um_")
    return Check("top cell", True, f"one top cell, {top}")


def _cell_names(layout: kdb.Layout) -> Check:
    bad = [c.name for c in layout.each_cell() if "#" in c.name or "/" in c.name]
    if bad:
        return Check("cell names", False, f"names with '#' or '/': {_first(bad)}")
    return Check("cell names", True, f"{layout.cells()} cells, none with '#' or '/'")


def _boundary(layout: kdb.Layout, cell: kdb.Cell, pdk: Pdk, tile: Tile) -> Check:
    bound = _region(layout, cell, pdk.layers.PR_BOUNDARY, flat=False)
    if bound.is_empty():
        return Check("boundary", False, "no boundary shape in the top cell")
    die = _box(layout, (0.0, 0.0, tile.width, tile.height))
    if bound.bbox() != die:
        return Check(
            "boundary", False,
            f"boundary {_um(layout, bound.bbox())}, die area of tile {tile.name} "
            f"{_um(layout, die)}",
        )  # fmt: skip
    if cell.bbox() != die:
        return Check("boundary", False, f"shapes reach {_um(layout, cell.bbox())}, past the die")
    size = f"{tile.width:g} x {tile.height:g} um"
    return Check("boundary", True, f"boundary = die {size} at (0, 0)")


def _zero_area(layout: kdb.Layout) -> Check:
    bad = []
    for c in layout.each_cell():
        for index in layout.layer_indexes():
            for s in c.shapes(index).each():
                if s.is_text() or s.is_edge() or s.is_point():
                    continue
                points = {(p.x, p.y) for p in s.path.each_point()} if s.is_path() else set()
                if s.is_path() and (s.path.width == 0 or len(points) < 2):
                    bad.append(f"{c.name}: path {s.path}")
                elif (s.is_box() or s.is_polygon()) and s.polygon.area() == 0:
                    bad.append(f"{c.name}: {s}")
    if bad:
        return Check("zero area", False, f"{len(bad)} zero-area shapes: {_first(bad, 2)}")
    return Check("zero area", True, "no zero-area shape")


def _layers(layout: kdb.Layout, pdk: Pdk, rules: ShuttleRules) -> Check:
    known = {tuple(v): k for k, v in vars(pdk.layers).items() if v is not None}
    forbidden = {tuple(getattr(pdk.layers, n)) for n in rules.forbidden}
    bad, unknown = [], []
    for index in layout.layer_indexes():
        info = layout.get_info(index)
        key = (info.layer, info.datatype)
        if all(layout.cell(c).shapes(index).is_empty() for c in range(layout.cells())):
            continue
        if key in forbidden:
            bad.append(f"{key[0]}/{key[1]} ({known[key].lower()})")
        elif key not in known:
            unknown.append(f"{key[0]}/{key[1]}")
    if bad:
        return Check("layers", False, f"forbidden on this shuttle: {_first(bad)}")
    if unknown:
        return Check("layers", False, f"layers the PDK does not name: {_first(unknown)}")
    return Check("layers", True, "only the PDK's layers, none forbidden")


def _covered(layout: kdb.Layout, pins: kdb.Region, rect) -> bool:
    """A LEF rectangle under the top cell's pin shapes (1 nm inset allowed, as TinyTapeout)."""
    box = _box(layout, rect).enlarged(-1, -1)
    return (kdb.Region(box) - pins).is_empty()


def _pins(layout: kdb.Layout, cell: kdb.Cell, pdk: Pdk, tile: Tile, lef: Lef, rules) -> Check:
    pin_shapes = _region(layout, cell, getattr(pdk.layers, rules.pin_purpose), flat=False)
    bad = []
    template = {p.name: p for p in tile.pins}
    for name, p in template.items():
        got = lef.pins.get(name)
        if got is None:
            bad.append(f"{name} missing from the LEF")
            continue
        if len(got.rects) != 1:
            bad.append(f"{name}: {len(got.rects)} LEF rectangles, expected 1")
            continue
        layer, rect = got.rects[0]
        if layer != p.layer or any(abs(a - b) > NM / 2 for a, b in zip(rect, p.rect, strict=True)):
            bad.append(f"{name}: LEF {layer} {rect}, template {p.layer} {p.rect}")
        elif not _covered(layout, pin_shapes, rect):
            bad.append(f"{name}: no {rules.pin_purpose.lower()} shape over {rect} in the GDS")
    extra = [n for n in lef.pins if n not in template and n not in POWER_USE]
    bad += [f"{n}: not a pin of the template" for n in extra]
    if bad:
        return Check("pins", False, _first(bad))
    return Check("pins", True, f"all {len(template)} template pins, exact, in LEF and GDS")


def _power(layout, cell, pdk: Pdk, tile: Tile, lef: Lef, verilog: str, rules) -> Check:
    wanted = ["VDPWR", "VGND"] + (["VAPWR"] if rules.vapwr(tile) else [])
    pin_shapes = _region(layout, cell, getattr(pdk.layers, rules.pin_purpose), flat=False)
    code = re.sub(r"//.*|/\*.*?\*/", "", verilog, flags=re.S)
    layer_name = next(p.layer for p in tile.pins)
    bad = []
    for name in [*wanted, *(n for n in POWER_USE if n in lef.pins and n not in wanted)]:
        pin = lef.pins.get(name)
        if name not in wanted:
            bad.append(f"{name} on a {tile.supply} tile")
            continue
        if pin is None:
            bad.append(f"{name} missing from the LEF")
            continue
        if pin.use != POWER_USE[name]:
            bad.append(f"{name}: USE {pin.use}, expected {POWER_USE[name]}")
        if not re.search(rf"\b{name}\b", code):
            bad.append(f"{name} not in the Verilog stub")
        if not pin.rects:
            bad.append(f"{name}: no port")
        merged = kdb.Region()
        for layer, rect in pin.rects:
            if layer != layer_name:
                bad.append(f"{name}: a port on {layer}, not {layer_name}")
            merged.insert(_box(layout, rect))
            if not _covered(layout, pin_shapes, rect):
                bad.append(f"{name}: no {rules.pin_purpose.lower()} shape over {rect} in the GDS")
        for box in merged.merged().each():
            b = box.bbox().to_dtype(layout.dbu)
            where = f"{name} stripe at x {b.left:g}"
            if b.width() < rules.power_min_width - NM / 2:
                bad.append(f"{where}: {b.width():g} um wide (< {rules.power_min_width:g})")
            if b.bottom > rules.power_reach + NM / 2:
                bad.append(f"{where} starts at y {b.bottom:g} (> {rules.power_reach:g} um)")
            if b.top < tile.height - rules.power_reach - NM / 2:
                bad.append(
                    f"{where} ends at y {b.top:g} (< {tile.height - rules.power_reach:g} um)"
                )
            if b.left < 0 or b.bottom < 0 or b.right > tile.width or b.top > tile.height:
                bad.append(f"{where} leaves the die")
    if bad:
        return Check("power pins", False, _first(bad))
    return Check("power pins", True, f"{', '.join(wanted)}: stripes on {layer_name}, full height")


def _pin_labels(layout: kdb.Layout, cell: kdb.Cell, pdk: Pdk) -> Check:
    """Every pin shape and label of a layer lies on that layer's drawing."""
    bad = []
    names = vars(pdk.layers)
    for n, layer in names.items():
        for suffix in ("_PIN", "_LABEL"):
            if not n.endswith(suffix) or n[: -len(suffix)] not in names:
                continue
            drawn = _region(layout, cell, names[n[: -len(suffix)]], flat=True)
            index = layout.find_layer(*layer)
            if index is None:
                continue
            it = cell.begin_shapes_rec(index)
            while not it.at_end():
                s = it.shape()
                if s.is_text():
                    p = it.trans() * kdb.Point(s.text.x, s.text.y)
                    if not drawn.interacting(kdb.Region(kdb.Box(p, p).enlarged(1, 1))).count():
                        bad.append(f"label {s.text.string!r} on {n.lower()} off its drawing")
                else:
                    poly = kdb.Region(s.polygon.transformed(it.trans()))
                    if not (poly - drawn).is_empty():
                        bad.append(f"{n.lower()} shape {_um(layout, poly.bbox())} off its drawing")
                it.next()
    if bad:
        return Check("pin labels", False, _first(bad))
    return Check("pin labels", True, "every pin shape and label on its drawn layer")


def _analog(layout, cell, pdk: Pdk, tile: Tile, declared: int, rules: ShuttleRules) -> Check:
    metal = _region(layout, cell, getattr(pdk.layers, rules.pin_layer), flat=True)
    vias = _region(layout, cell, getattr(pdk.layers, rules.via_below), flat=True)
    inner, outer = (round(v / layout.dbu) for v in rules.analog_ring)
    if not 0 <= declared <= rules.max_analog_pins:
        top_n = rules.max_analog_pins
        return Check("analog pins", False, f"{declared} declared; a tile has 0..{top_n}")
    bad = []
    for k, p in enumerate(tile.analog_pins):
        box = _box(layout, p.rect)
        ring = kdb.Region(box.enlarged(outer, outer)) - kdb.Region(box.enlarged(inner, inner))
        used = not (metal & ring).is_empty() or not (vias & kdb.Region(box)).is_empty()
        if used != (k < declared):
            bad.append(f"{p.name} {'used' if used else 'unused'}, declared {declared} analog pins")
    if bad:
        return Check("analog pins", False, _first(bad))
    return Check("analog pins", True, f"ua[0..{declared - 1}] used, the rest free" if declared
                 else "no analog pin used")  # fmt: skip


PROJECT_FIELDS = ("title", "author", "description", "tiles", "language", "top_module",
                  "source_files", "clock_hz")  # fmt: skip
DIGITAL_KEYS = tuple(f"{bus}[{k}]" for bus in ("ui", "uo", "uio") for k in range(8))
ANALOG_KEYS = tuple(f"ua[{k}]" for k in range(6))


def _info(text: str, tile: Tile, top: str, rules: ShuttleRules) -> tuple[Check, int | None]:
    """info.yaml as the shuttle validates it; returns the check and its ``analog_pins``."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        return Check("info.yaml", False, f"not YAML: {str(exc).splitlines()[0]}"), None
    if not isinstance(doc, dict) or not isinstance(doc.get("project"), dict):
        return Check("info.yaml", False, "no project: section"), None
    project, pins = doc["project"], doc.get("pinout") or {}
    bad = []
    if doc.get("yaml_version") != 6:
        bad.append(f"yaml_version {doc.get('yaml_version')!r}, expected 6")
    bad += [f"project.{f} missing" for f in PROJECT_FIELDS if f not in project]
    if project.get("top_module") != top:
        bad.append(f"project.top_module {project.get('top_module')!r}, expected {top!r}")
    if str(project.get("tiles")) != tile.name:
        bad.append(f"project.tiles {project.get('tiles')!r}, expected {tile.name!r}")
    n = project.get("analog_pins", 0)
    if not isinstance(n, int) or not 0 <= n <= rules.max_analog_pins:
        bad.append(f"project.analog_pins {n!r}: an integer 0..{rules.max_analog_pins}")
        n = None
    if bool(project.get("uses_3v3", False)) != rules.vapwr(tile):
        bad.append(f"project.uses_3v3 {project.get('uses_3v3')!r} on a {tile.supply} tile")
    if not isinstance(pins, dict):
        pins = {}
        bad.append("pinout: not a mapping")
    bad += [f"pinout.{k} missing" for k in DIGITAL_KEYS if not isinstance(pins.get(k), str)]
    if any(k in pins for k in ANALOG_KEYS):
        bad += [f"pinout.{k} missing" for k in ANALOG_KEYS if not isinstance(pins.get(k), str)]
    bad += [f"pinout.{k}: not a pin" for k in pins if k not in DIGITAL_KEYS + ANALOG_KEYS]
    if n is not None:
        described = [k for k in range(6) if pins.get(f"ua[{k}]")]
        if described != list(range(n)):
            bad.append(f"pinout describes ua{described}, analog_pins {n} declares ua[0..{n - 1}]")
    if bad:
        return Check("info.yaml", False, _first(bad)), n
    return Check("info.yaml", True, f"yaml_version 6, {top}, tiles {tile.name}, {n} analog"), n


def precheck(
    gds: Path, lef_text: str, verilog: str, info: str, tile: Tile, top: str, pdk: Pdk
) -> Precheck:
    """Every check of the module docstring on one tile's artifacts (GDS, LEF, Verilog
    stub, info.yaml)."""
    rules = SHUTTLE[pdk.install_name]
    layout = kdb.Layout()
    try:
        layout.read(str(gds))
    except RuntimeError as exc:
        why = str(exc).splitlines()[0]
        raise PrecheckInputError(f"{gds}: not a readable layout ({why})") from None
    result = Precheck(tile=f"{tile.name} ({tile.template})", top=top)
    checks = result.checks
    checks += [_top(layout, top), _cell_names(layout), _zero_area(layout)]
    checks.append(_layers(layout, pdk, rules))
    cell = layout.cell(top)
    try:
        lef = read_lef(lef_text)
    except ValueError as exc:
        checks.append(Check("LEF", False, str(exc)))
        return result
    lef_ok = lef.macro == top and lef.origin == (0.0, 0.0) and lef.size == (tile.width, tile.height)
    checks.append(Check(
        "LEF macro", lef_ok,
        f"MACRO {lef.macro}, ORIGIN {lef.origin}, SIZE {lef.size[0]:g} BY {lef.size[1]:g}"
        + ("" if lef_ok else f"; expected {top} at (0, 0), {tile.width:g} BY {tile.height:g}"),
    ))  # fmt: skip
    if cell is None:
        return result
    checks += [
        _boundary(layout, cell, pdk, tile),
        _pins(layout, cell, pdk, tile, lef, rules),
        _power(layout, cell, pdk, tile, lef, verilog, rules),
        _pin_labels(layout, cell, pdk),
    ]
    info_check, analog_pins = _info(info, tile, top, rules)
    checks.append(info_check)
    if analog_pins is None:
        checks.append(Check("analog pins", False, "info.yaml declares no readable analog_pins"))
    else:
        checks.append(_analog(layout, cell, pdk, tile, analog_pins, rules))
    return result
