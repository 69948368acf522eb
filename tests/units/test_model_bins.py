"""Decks on per-size model bins (twinedge.pdk.model_bins) give ngspice's numbers unchanged."""

from __future__ import annotations

import re
from pathlib import Path

from twinedge.characterise.mirror import model_header
from twinedge.pdk import get as get_pdk
from twinedge.pdk.model_bins import specialise
from twinedge.spice.deck import run_deck


def _deck() -> str:
    pdk = get_pdk("sky130")
    sizes = [(0.42, 8.0), (1.0, 1.0), (0.84, 0.15), (5.915, 4.0), (2.0, 20.0)]
    lines = [model_header(pdk, "tt", None, "bins").rstrip("\n"), "Vd d 0 1.2", "Vg g 0 0.9",
             "Vp p 0 0.2"]  # fmt: skip
    for k, (w, length) in enumerate(sizes):  # l = 8: on the edge between two bins
        lines.append(f"Vn{k} d n{k} 0")
        lines.append(f"X{k} n{k} g 0 0 {pdk.nfet} w={w!r} l={length!r}")
        lines.append(f"Vq{k} q{k} 0 0")
        lines.append(f"Y{k} q{k} p d d {pdk.pfet} w={w!r} l={length!r}".replace("Y", "X", 1))
    lines.append(f"Xe ne g 0 0 {pdk.nfet} w={{2*0.5}} l=1")  # an expression: full subcircuit
    lines.append("Ve d ne 0")
    currents = [f"i(vn{k})" for k in range(len(sizes))] + [f"i(vq{k})" for k in range(len(sizes))]
    lines += [".control", "op", f"print {' '.join(currents)} i(ve)", "quit 0", ".endc", ".end"]
    return "\n".join(lines) + "\n"


def _printed(out: str) -> dict[str, str]:
    return dict(re.findall(r"(i\(v\w+\))\s*=\s*(\S+)", out))


def test_sized_bins_give_the_same_currents_from_fewer_cards() -> None:
    deck = _deck()
    fast = specialise(deck)
    lib = re.search(r"^\.lib (\S+)", fast, re.M).group(1)
    assert "__bins_" in lib and "__l8_w0p42" in fast and "w={2*0.5}" in fast
    full = _printed(run_deck(deck, sized_bins=False))
    sized = _printed(run_deck(fast, sized_bins=False))
    assert _printed(run_deck(deck)) == sized  # every run goes through the sized bins
    assert len(full) == 11 and full == sized  # every current, to every printed digit
    assert all(abs(float(v)) > 1e-9 for v in full.values())  # each device conducts
    # each sized copy holds one or two bins of the device's 48
    text = Path(lib).read_text()
    name = re.search(r"(\S+__l8_w0p42)", fast).group(1)
    copy = re.search(rf"\.subckt\s+{name}\s.*?\.ends", text, re.S | re.I).group(0)
    assert 1 <= copy.count(".model") <= 4


def test_a_deck_without_a_binned_library_is_left_alone() -> None:
    deck = "* plain\nR1 a 0 1k\nV1 a 0 1\n.end\n"
    assert specialise(deck) == deck
