"""The chip's read-out (issue 16): every edge has an address of its own on the select lines,
and with the PDK's models READ follows the addressed edge's G (and only that edge's) and
the addressed free output, without moving G (ngspice, SKY130)."""

from __future__ import annotations

import numpy as np
import pytest

from twinedge.characterise.readout import ReadoutConditions, characterise_readout
from twinedge.circuits.readout import devices
from twinedge.pdk import get as get_pdk
from twinedge.sim.network import square_lattice_edges
from twinedge.spec.pinplan import ReadMap

SKY130 = get_pdk("sky130")


def test_every_edge_of_a_periodic_lattice_has_its_own_select_lines_and_address() -> None:
    m = ReadMap(4, 4)
    edges = [(divmod(int(a), 4), divmod(int(b), 4)) for a, b in square_lattice_edges(4, 4, True)]
    lines = {tuple(m.select_lines(a, b).values()) for a, b in edges}
    assert len(lines) == 32  # no two edges share a (row line, column line) pair
    addresses = {m.edge_address(*m.site(a, b)) for a, b in edges}
    outputs = {m.output_address(0), m.output_address(1)}
    assert len(addresses) == 32 and not addresses & outputs
    assert max(addresses | outputs) < 2**m.bits == 64
    # the wrap edge (r, 3) -> (r, 0) belongs to site (r, 3), whichever end comes first (for
    # three columns or more: with two, the order says which of the two parallel edges)
    assert m.site((2, 0), (2, 3)) == m.site((2, 3), (2, 0)) == (2, 3, "h")


def test_each_select_line_has_one_decoder_gate() -> None:
    m = ReadMap(4, 4)
    outs = [d.d for d in devices(m)] + [d.s for d in devices(m)]
    for line in m.lines():
        assert line in outs


@pytest.fixture(scope="module")
def readout():
    return characterise_readout(SKY130, ReadoutConditions(4, 4, mc_n=4))


def test_read_follows_the_addressed_g_only(readout) -> None:
    s = readout.summary()
    g, tt = np.asarray(readout.g_v), np.asarray(readout.read_of_g["tt"])
    band = g >= 0.8
    assert np.all(np.diff(tt[band]) > 0)  # monotonic: a tester can invert it
    assert 0.6 < s["gain_g_1v"] < 1.0  # a source follower with body effect
    assert max(s["g_min_readable_v"].values()) < 0.85
    assert readout.unselected_effect_v < 1e-3  # another edge's G does not reach READ
    assert abs(s["kick_selected_v"]) < 2e-3 and abs(s["kick_after_v"]) < 1e-4
    assert s["settle_s"] < 10e-6


def test_read_shows_both_outputs_through_one_follower(readout) -> None:
    s = readout.summary()
    assert 0.7 < s["output_gain"] < 1.0
    assert s["output_plus_minus_max_diff_v"] < 1e-3
    rp = np.asarray(readout.read_of_o_plus)
    assert rp.max() < SKY130.vdd - 0.1 and np.all(np.diff(rp) > 0)
