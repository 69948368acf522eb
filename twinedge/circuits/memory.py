"""The time-differenced update circuit: the offset-free successor of :mod:`update_circuit`.

Why: the present circuit subtracts the free twin's squarer current from the clamped twin's
through two different mirror paths, so every mismatch between the paths is a current at zero
input (~4 % of full scale per edge), and on-chip Coupled Learning of XOR tolerates ~3e-5 V^2
(``benchmarks/bench_cl_offset_tolerance.py``): a 100x gap. Here one squarer, one mirror
and one current memory carry *both* terms, one after the other, so their mismatch cancels:

* phase CAL (the clamped twin at eta = 0, i.e. in the free state): the squarer pair on the
  clamped twin's terminals (PMOS followers, cross-coupled PMOS squarers: k (Vov^2 + dV^2))
  is mirrored by a cascoded NMOS mirror into node X, where a cascoded PMOS current memory,
  diode-connected through the CAL switch, sources exactly that current; X sits at the
  memory's gate voltage (~0.8 V, mid-range of G);
* CAL opens (the memory's gate holds on its own gate and a PMOS hold capacitor, both to VDD,
  its source), LEARN connects X to G, then the clamp is nudged (eta): G receives
  I_memory - I_squarer = k (dV_F^2 - dV_C^2) for t_h, and LEARN opens.

What is left at zero input: the CAL switch's charge on the hold node (a half-size dummy
switch and the hold capacitor keep it ~1e-5 V^2, its mismatch ~2e-5 V^2), X's small
capacitance charge-shared into G at LEARN (a weak pull of G towards X's CAL voltage), and
the cascodes' finite output resistance (the same). Measured in
:mod:`twinedge.characterise.memory`; ``docs/on_chip_learning.md`` has the argument.

The free twin's terminals are not read: at eta = 0 the clamped twin *is* in the free state,
so the circuit needs only the clamped twin (the free twin still provides O for the nudge).
Sizes in micrometres (``.option scale=1u``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from twinedge.circuits.mirror import Device, subckt_text
from twinedge.spec.schema import SWITCH_L_DEFAULT_UM

if TYPE_CHECKING:
    from twinedge.pdk import Pdk

SUBCKT = "twinedge_cl_memory"
PORTS = (
    "ac", "bc", "g", "vdd", "vbp", "vcn", "vcp", "vbj", "cal", "calb", "learn", "learnb",
    "vfloor",
)  # fmt: skip


@dataclass(frozen=True)
class MemorySizing:
    """Transistor sizes (um) of the time-differenced update circuit."""

    follower_w: float = 2.0
    follower_l: float = 2.0
    bias_w: float = 4.0
    bias_l: float = 4.0
    squarer_w: float = 0.9
    squarer_l: float = 15.0
    mirror_w: float = 2.0
    mirror_l: float = 8.0
    # wide cascodes (small overdrive): at 0.42 um the memory's cascode left saturation as X
    # went from its CAL voltage to G's at large stored currents (-2.3e-3 V^2 at no nudge and
    # |dV| = 0.45 V, 5 mV of G per step; 2 um with VCP 0.5: +1.1e-4)
    cascode_w: float = 2.0
    cascode_l: float = 1.0
    memory_w: float = 4.0
    memory_l: float = 4.0
    # PMOS capacitor on the memory's gate (~0.8 pF, to VDD); W <= 5.7 um (the rules'
    # sd_max_width)
    hold_cap_w: float = 5.0
    hold_cap_l: float = 20.0
    # more hold capacitance comes as parallel devices: the PMOS model has no bin beyond
    # L = 20 um, and the rules' sd_max_width keeps W under 5.7 um
    hold_cap_n: int = 1
    cal_switch_w: float = 0.84
    cal_dummy_w: float = 0.42  # half the switch: takes back the channel charge it releases
    switch_l: float = SWITCH_L_DEFAULT_UM
    learn_switch_w: float = 0.42
    floor_w: float = 0.42
    floor_l: float = 1.0
    # a constant current J into the memory's cascode (gate on VBJ): the same in both phases,
    # so it cancels, and the memory stores I_sq - J only (a smaller current, a smaller
    # transconductance for the CAL switch's charge to act on); 0: no such device
    sub_w: float = 0.0
    sub_l: float = 4.0

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class MemoryBias:
    """Global bias voltages (V): followers' current source, NMOS and PMOS cascode gates."""

    vbp: float = 0.6
    vcn: float = 0.8
    vcp: float = 0.5
    vbj: float = 1.8  # gate of the subtracted current's PMOS (VDD: off)
    # CALB's high level (its driver's supply, off-cell): the dummy's charge on the hold node
    # scales with it, so it trims the layout's systematic charge (the same in every cell)
    calb_high: float = 1.8


def devices(s: MemorySizing = MemorySizing()) -> list[Device]:
    """Every transistor (and MOS capacitor) of the circuit, in a fixed order."""
    sw, sl = s.squarer_w, s.squarer_l
    out = []
    for term in ("ac", "bc"):
        out.append(Device(f"F{term}", "p", "0", term, f"x{term}", s.follower_w, s.follower_l))
        out.append(Device(f"B{term}", "p", f"x{term}", "vbp", "vdd", s.bias_w, s.bias_l))
    out += [
        Device("S1", "p", "sq", "bc", "xac", sw, sl),
        Device("S2", "p", "sq", "ac", "xbc", sw, sl),
        Device("ND", "n", "sq", "sq", "0", s.mirror_w, s.mirror_l),  # squarer sum: diode
        Device("NO", "n", "z", "sq", "0", s.mirror_w, s.mirror_l),  # its copy ...
        Device("NC", "n", "x", "vcn", "z", s.cascode_w, s.cascode_l),  # ... sunk from X
        Device("M", "p", "y", "m", "vdd", s.memory_w, s.memory_l),  # the current memory
        Device("MC", "p", "x", "vcp", "y", s.cascode_w, s.cascode_l),
        *([Device("J", "p", "y", "vbj", "vdd", s.sub_w, s.sub_l)] if s.sub_w else []),
        *[
            Device(f"CM{k or ''}", "p", "vdd", "m", "vdd", s.hold_cap_w, s.hold_cap_l)
            for k in range(s.hold_cap_n)
        ],  # hold capacitor
        Device("SW", "n", "x", "cal", "m", s.cal_switch_w, s.switch_l),
        Device("SD", "n", "m", "calb", "m", s.cal_dummy_w, s.switch_l),
        Device("FL", "n", "vdd", "vfloor", "g", s.floor_w, s.floor_l),  # the G floor
        Device("LN", "n", "x", "learn", "g", s.learn_switch_w, s.switch_l),
        Device("LP", "p", "x", "learnb", "g", s.learn_switch_w, s.switch_l),
    ]
    return out


def subckt(pdk: Pdk, s: MemorySizing = MemorySizing()) -> str:
    """``.subckt twinedge_cl_memory`` (ports :data:`PORTS`) with the PDK's devices."""
    return subckt_text(SUBCKT, PORTS, devices(s), pdk)
