"""The chip's read-out: one analog pin (READ) shows a free output or any edge's G, chosen by
an address on digital pins, so that a tester can watch the outputs and the weights.

Why this shape:

* **G is a floating 4 pF node.** A switch from G onto a shared line would share the line's
  charge into it. So each edge has a reader of its own (image-sensor style): an NMOS source
  follower with its gate on G and its source on READ, and two PMOS switches in series from
  VDD to its drain, gated by the edge's row line and column line (active low). Only the
  selected edge's follower has a drain supply; the others' sources sit on READ with their
  drains floating and carry no current. G sees only the follower's gate.
* **Identical cells.** The select lines are array wiring, not a code drawn into each cell:
  a row line per lattice row (both bands of blocks) and a column line per site column and
  edge direction (``h``: the site's horizontal edge, ``v``: its vertical one).
* **The range.** The follower reads G - Vgs: G from about 0.75 V up (the edge conducts only
  for G above Vth + V, about 0.6 V and more in XOR); below that READ stays near 0 V.
  :mod:`twinedge.characterise.readout` measures the curve.
* **Outputs.** The free outputs sit at 0 ... 0.45 V, under an NMOS follower's range: two
  NMOS switches pick O+ or O- onto one PMOS follower (READ = O + |Vgs|). One device reads
  both, so O+ - O- is read without its offset. Its gate is pulled to VDD while G's are read
  (the follower off).
* **Bias.** A current sink on READ for the G followers (gate VCN), a current source for the
  output follower (gate VBP); the mode bit switches between them.

The address map (which RADDR value reads what) is the pin plan's
(:class:`twinedge.spec.pinplan.ReadMap`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from twinedge.circuits.logic import inv, nand, nor
from twinedge.circuits.mirror import Device, at_shortest_channel, subckt_text
from twinedge.spec.pinplan import DIRECTIONS, ReadMap

if TYPE_CHECKING:
    from twinedge.pdk import Pdk

SUBCKT = "twinedge_readout"
# the reader's own nets in an edge cell: READ and its two select lines
READER_PORTS = ("read", "rselb", "cselb")


@dataclass(frozen=True)
class ReadoutSizing:
    """The per-edge reader small (32 of them; its follower long enough to match), the
    decoder minimal, the bias devices long (µA)."""

    follower_w: float = 1.0
    follower_l: float = 1.0
    select_w: float = 0.42
    n_w: float = 0.42
    p_w: float = 0.84
    l: float = 0.15  # noqa: E741 - the SPICE parameter's name
    sink_w: float = 1.0
    sink_l: float = 4.0
    source_w: float = 4.0
    source_l: float = 2.0
    out_follower_w: float = 4.0
    out_follower_l: float = 1.0
    mux_w: float = 0.42

    def as_dict(self) -> dict:
        return asdict(self)


def reader_devices(s: ReadoutSizing = ReadoutSizing()) -> list[Device]:
    """One edge's reader (nets: ``g``, :data:`READER_PORTS`, ``vdd``)."""
    return [
        Device("RR", "p", "rd0", "rselb", "vdd", s.select_w, s.l),
        Device("RC", "p", "rd1", "cselb", "rd0", s.select_w, s.l),
        Device("RF", "n", "rd1", "g", "read", s.follower_w, s.follower_l),
    ]


def _bit(k: int, value: int) -> str:
    """Address bit ``k``'s net that is high when the bit equals ``value``."""
    return f"a{k}" if value else f"a{k}b"


def devices(m: ReadMap, s: ReadoutSizing = ReadoutSizing()) -> list[Device]:
    """The read-out block: address complements, row and column decoders (NAND: active-low
    lines), the output mux and follower, READ's sink and source."""
    n, p, gl = s.n_w, s.p_w, s.l
    top = m.bits - 1
    out: list[Device] = []
    for k in range(m.bits):
        out += inv(f"IA{k}", f"a{k}", f"a{k}b", n, p, gl)
    row0 = 1 + m.col_bits
    for r in range(m.rows):
        ins = tuple(_bit(row0 + k, r >> k & 1) for k in range(m.row_bits))
        out += nand(f"R{r}", (*ins, f"a{top}b"), m.row_line(r), n, p, gl)
    for c in range(m.cols):
        for d in DIRECTIONS:
            ins = tuple(_bit(1 + k, c >> k & 1) for k in range(m.col_bits))
            out += nand(f"C{c}{d.upper()}", (_bit(0, DIRECTIONS.index(d)), *ins),
                        m.col_line(c, d), n, p, gl)  # fmt: skip
    out += [
        *nor("SP", (f"a{top}b", "a0"), "selp", n, p, gl),  # O+: output mode, bit 0 low
        *nor("SM", (f"a{top}b", "a0b"), "selm", n, p, gl),
        Device("XP", "n", "og", "selp", "op", s.mux_w, gl),
        Device("XM", "n", "og", "selm", "om", s.mux_w, gl),
        Device("UP", "p", "og", f"a{top}", "vdd", s.mux_w, gl),  # G mode: follower off
        Device("PF", "p", "0", "og", "read", s.out_follower_w, s.out_follower_l),
        Device("Q1", "p", "q", "vbp", "vdd", s.source_w, s.source_l),
        Device("Q2", "p", "read", f"a{top}b", "q", s.source_w, gl),
        Device("K1", "n", "read", "vcn", "k", s.sink_w, s.sink_l),
        Device("K2", "n", "k", f"a{top}b", "0", s.sink_w, gl),
    ]
    return out


def subckt(pdk: Pdk, m: ReadMap, s: ReadoutSizing = ReadoutSizing()) -> str:
    return subckt_text(SUBCKT, m.ports(), at_shortest_channel(devices(m, s), pdk), pdk)
