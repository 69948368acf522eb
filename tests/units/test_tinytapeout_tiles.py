"""TinyTapeout's tile templates as twinedge's data (``twinedge.pdk.tinytapeout``): the facts
the tile wrapper and the precheck share."""

from __future__ import annotations

import pytest

from twinedge.pdk.tinytapeout import parse_def, tile, tiles

DEF = """VERSION 5.8 ;
UNITS DISTANCE MICRONS 1000 ;
DIEAREA ( 0 0 ) ( 161000 225760 ) ;
PINS 2 ;
    - ua[0] + NET ua[0] + DIRECTION INOUT + USE SIGNAL
      + PORT
        + LAYER met4 ( -450 -500 ) ( 450 500 )
        + PLACED ( 152260 500 ) N ;
    - clk + NET clk + DIRECTION INPUT + USE SIGNAL
      + PORT
        + LAYER met4 ( -150 -500 ) ( 150 500 )
        + PLACED ( 143980 225260 ) {orient} ;
END PINS
END DESIGN
"""


def test_a_template_def_gives_die_area_and_pin_rectangles() -> None:
    (w, h), pins = parse_def(DEF.format(orient="N"))
    assert (w, h) == (161.0, 225.76)
    ua0, clk = pins
    assert ua0.name == "ua[0]" and ua0.direction == "INOUT" and ua0.layer == "met4"
    assert ua0.rect == (151.81, 0.0, 152.71, 1.0) and ua0.analog
    assert clk.rect == (143.83, 224.76, 144.13, 225.76) and not clk.analog


def test_a_rotated_pin_is_refused_not_guessed() -> None:
    with pytest.raises(ValueError, match="clk: orientation FS"):
        parse_def(DEF.format(orient="FS"))


def test_every_sky130_analog_tile_has_the_full_pin_set() -> None:
    all_tiles = tiles("sky130A")
    assert {(t.name, t.supply) for t in all_tiles} == {
        (n, s) for n in ("1x2", "2x2", "3x2", "4x2", "6x2") for s in ("1v8", "3v3")
    }
    for t in all_tiles:
        names = {p.name for p in t.pins}
        assert len(t.pins) == len(names) == 51
        assert {"clk", "ena", "rst_n"} <= names
        for bus in ("ui_in", "uo_out", "uio_in", "uio_out", "uio_oe"):
            assert {f"{bus}[{k}]" for k in range(8)} <= names
        assert [p.name for p in t.analog_pins] == [f"ua[{k}]" for k in range(8)]
        for p in t.pins:  # every pin on met4, inside the die, on its bottom or top edge
            x0, y0, x1, y1 = p.rect
            assert p.layer == "met4" and 0 <= x0 < x1 <= t.width and 0 <= y0 < y1 <= t.height
            assert y0 == 0 or y1 == t.height
    assert tile("sky130A", "6x2").width == 1030.4 and tile("sky130A", "1x2").height == 225.76
    assert tiles("sky130A")[0].area_um2 <= tiles("sky130A")[-1].area_um2


def test_an_unknown_tile_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="1x2, 2x2, 3x2, 4x2, 6x2"):
        tile("sky130A", "5x2")


def test_gf180_tiles_are_digital_blocks_on_metal4_at_3v3() -> None:
    """TinyTapeout's GF180MCU templates: 43 digital pins on Metal4, no analog pin; VDPWR at
    3.3 V, no VAPWR."""
    from twinedge.pdk.tinytapeout import SHUTTLE

    t = tile("gf180mcuD", "1x2")
    assert (t.width, t.height) == (346.64, 325.36) and len(t.pins) == 43
    assert not t.analog_pins and {p.layer for p in t.pins} == {"Metal4"}
    assert [x.name for x in tiles("gf180mcuD")] == ["1x1", "1x2", "2x2", "3x2", "4x2", "3x4",
                                                    "4x4"]  # fmt: skip
    assert SHUTTLE["gf180mcuD"].vdpwr == 3.3 and not SHUTTLE["gf180mcuD"].vapwr(t)
    assert SHUTTLE["sky130A"].vapwr(tile("sky130A", "1x2", "3v3"))
