"""A TinyTapeout tile around a design: the macro's frame and the files a submission is.

The frame is what the shuttle fixes: the boundary equal to the die area at the origin,
every pin of the template on its layer with a pin shape and a label, and the power stripes
(VDPWR, VGND; VAPWR on a 3.3 V tile) running the tile's height. Its LEF and Verilog
black-box stub are written from the same data, so the three cannot disagree.
:mod:`twinedge.verify.precheck` checks them.
"""

from __future__ import annotations

from dataclasses import dataclass

import gdsfactory as gf

from twinedge.cells.twin_edge import rect, snap
from twinedge.pdk import tech as pdk
from twinedge.pdk.tinytapeout import SHUTTLE, Tile

STRIPE_W = 2.0  # um, each power stripe (the shuttle asks for 1.2 or more)
STRIPE_END = 5.0  # um from the die's bottom and top edge: clear of the pins there


@dataclass(frozen=True)
class Stripe:
    net: str  # VDPWR, VGND, VAPWR
    x: float  # left edge, um
    y0: float
    y1: float

    @property
    def rect(self) -> tuple[float, float, float, float]:
        return (self.x, self.y0, snap(self.x + STRIPE_W), self.y1)


def power_stripes(tile: Tile, xs: dict[str, float], end: float = STRIPE_END) -> list[Stripe]:
    """A stripe per supply net at the given left x, from ``end`` above the bottom to ``end``
    below the top (STRIPE_END: clear of the template's pins; less where a stripe is far from
    them)."""
    return [Stripe(n, snap(x), end, snap(tile.height - end)) for n, x in xs.items()]


def _pin_shapes(c: gf.Component, name: str, box: tuple[float, ...], drawn, pin_layer) -> None:
    rect(c, drawn, *box)
    rect(c, pin_layer, *box)
    c.add_label(name, position=((box[0] + box[2]) / 2, (box[1] + box[3]) / 2),
                layer=pdk.label_of[drawn])  # fmt: skip


def tile_frame(tile: Tile, top: str, stripes: list[Stripe]) -> gf.Component:
    """The tile's top cell with its frame only (the design is added as a reference)."""
    rules = SHUTTLE[pdk.install_name]
    drawn, pin_layer = getattr(pdk, rules.pin_layer), getattr(pdk, rules.pin_purpose)
    c = gf.Component(name=top)
    rect(c, pdk.PR_BOUNDARY, 0.0, 0.0, tile.width, tile.height)
    for p in tile.pins:
        _pin_shapes(c, p.name, p.rect, drawn, pin_layer)
    for s in stripes:
        _pin_shapes(c, s.net, s.rect, drawn, pin_layer)
    return c


def lef(tile: Tile, top: str, stripes: list[Stripe]) -> str:
    """The macro's LEF: size, every template pin, the power pins with their USE."""
    lines = ["VERSION 5.7 ;", 'BUSBITCHARS "[]" ;', 'DIVIDERCHAR "/" ;', f"MACRO {top}",
             "  CLASS BLOCK ;", f"  FOREIGN {top} ;", "  ORIGIN 0.000 0.000 ;",
             f"  SIZE {tile.width:.3f} BY {tile.height:.3f} ;"]  # fmt: skip

    def pin(name: str, direction: str, use: str, rects: list[tuple[str, tuple]]) -> None:
        lines.extend([f"  PIN {name}", f"    DIRECTION {direction} ;", f"    USE {use} ;"])
        for layer, r in rects:
            coords = " ".join(f"{v:.3f}" for v in r)
            lines.extend(["    PORT", f"      LAYER {layer} ;", f"        RECT {coords} ;"])
            lines.append("    END")
        lines.append(f"  END {name}")

    for p in tile.pins:
        pin(p.name, p.direction, "SIGNAL", [(p.layer, p.rect)])
    layer = tile.pins[0].layer
    for net in dict.fromkeys(s.net for s in stripes):
        use = "GROUND" if net == "VGND" else "POWER"
        pin(net, "INOUT", use, [(layer, s.rect) for s in stripes if s.net == net])
    lines += [f"END {top}", "END LIBRARY", ""]
    return "\n".join(lines)


def verilog_stub(tile: Tile, top: str) -> str:
    """The black-box module TinyTapeout instantiates: the template's ports and the supplies."""
    supplies = ["VDPWR", "VGND"] + (["VAPWR"] if SHUTTLE[pdk.install_name].vapwr(tile) else [])
    buses: dict[str, tuple[str, int]] = {}
    for p in tile.pins:
        base = p.name.split("[")[0]
        width = int(p.name[p.name.index("[") + 1 : -1]) + 1 if "[" in p.name else 1
        kind = {"INPUT": "input", "OUTPUT": "output", "INOUT": "inout"}[p.direction]
        buses[base] = (kind, max(width, buses.get(base, ("", 0))[1]))
    ports = [f"  inout wire {s}," for s in supplies]
    for base, (kind, width) in buses.items():
        rng = f"[{width - 1}:0] " if width > 1 else ""
        ports.append(f"  {kind} wire {rng}{base},")
    ports[-1] = ports[-1].rstrip(",")
    return "\n".join([f"(* blackbox *) module {top} (", *ports, ");", "endmodule", ""])
