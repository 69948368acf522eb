"""The error element: the circuit that forms the clamped twin's outputs on chip.

The patent's "error element" (the paper's nudge): from the free twin's outputs O and the
label L it drives each clamped output node to

    O_C = O + k (L - O),   k = +-eta/2 (symmetric nudge) or eta (one-sided),

and for a differential output (O = O+ - O-, L = VL+ - VL-) the plus node to
O+ + k (L - O) and the minus node to O- - k (L - O), which keeps the pair's common mode.

One amplifier per clamped node, a differential difference amplifier (DDA):

* PMOS input pairs (the network's nodes sit at 0 .. 0.45 V, below an NMOS pair's range),
  each with its own tail, their drains summed into one NMOS mirror load (x1 diode, x2 out):
  the loop forces  sum_i gm_i (V_i,x2 - V_i,x1) = 0;
* pair ``a`` compares the output with its own free output (weight 1); pair ``b`` the label
  rails and pair ``c`` the two free outputs (differential), or pair ``b`` the label and O
  (single output), each with weight |k| = units_b / units_a: the weights are ratios of
  identical unit devices (width and tail current scale together: equal overdrive, so gm
  scales exactly with the unit count);
* the nudge sign flips k: NMOS switches cross pairs ``b``/``c``'s inputs at their gates
  (NUDGE high: +k, NUDGEB high: -k); no DC flows through them, and a pair's own offset then
  stays on the same side for both signs (a common shift of both clamped states, which the
  symmetric nudge does not see; crossing the drains instead made it flip: a label error);
* a second stage (NMOS common source, PMOS current-source load) drives the clamped node,
  which carries the clamped twin's current; a PMOS capacitor on x2 sets the dominant pole
  (the output's pole, set by the network's node resistance, lies far above it).

The free outputs only meet gates: the element does not load the free twin. Sizes in
micrometres (``.option scale=1u``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from fractions import Fraction
from typing import TYPE_CHECKING

from twinedge.circuits.cl import ClCircuit
from twinedge.circuits.mirror import Device, at_shortest_channel, subckt_text

if TYPE_CHECKING:
    from twinedge.pdk import Pdk

SUBCKT_SINGLE = "twinedge_error_single"
SUBCKT_DIFF = "twinedge_error_diff"
# out: the clamped node; o: this node's free output; oo: the other free output
# (differential only); lp / lm: the label's rails (L = lp - lm, or L = lp for one output)
PORTS_DIFF = ("out", "o", "oo", "lp", "lm", "nudge", "nudgeb", "vdd", "vbe")
PORTS_SINGLE = ("out", "o", "lp", "nudge", "nudgeb", "vdd", "vbe")
MAX_UNITS = 16  # the largest unit count of the reference pair (|k| >= 1/16)


@dataclass(frozen=True)
class ErrorElementSizing:
    """Unit devices (um): every input pair is ``units`` of these, its tail ``units`` tails."""

    # long, narrow input devices on wide tails: the most overdrive the headroom allows (the
    # PMOS's |Vth| ~1 V leaves ~0.3 V above a 0.45 V input), so the widest linear range; their
    # area sets the offset that flips with the nudge sign, a label error of k x the weighted
    # pairs' offset (1 x 2 um: sigma 2.3 mV, half of XOR's seeds failed; 4 x 8 um: 0.7 mV)
    in_w: float = 4.0
    in_l: float = 8.0
    tail_w: float = 8.0
    tail_l: float = 4.0
    load_w: float = 4.0
    load_l: float = 8.0
    switch_w: float = 0.84
    switch_l: float = 0.15
    # second stage: NMOS common source (its current density matches the mirror diode's, so
    # x2 sits at x1 at balance), PMOS load from the tails' bias
    cs_w: float = 20.0
    cs_l: float = 2.0
    out_load_w: float = 20.0
    out_load_l: float = 2.0
    # PMOS capacitor on x2 (to VDD), in fingers: in the whole chip's transient (its clamped
    # network as the load) a 5 um one let both amplifiers ring at +eta (0.1 .. 0.5 V swings on
    # the minus output); at 20 um they settle to the characterised nudge. An isolated bench
    # (R-C loads, source resistance on the inputs, update circuits on the output) did not ring
    comp_w: float = 20.0
    comp_l: float = 10.0

    def as_dict(self) -> dict:
        return asdict(self)


def unit_counts(k: float) -> tuple[int, int]:
    """(units of the reference pair, units of each weighted pair) whose ratio is nearest to
    |k| with at most :data:`MAX_UNITS` reference units."""
    f = Fraction(abs(k)).limit_denominator(MAX_UNITS)
    if f == 0:
        raise ValueError(f"nudge weight |k| = {abs(k)} is below 1/{MAX_UNITS}")
    return f.denominator, f.numerator


def input_pair(
    name: str, units: int, gate_x2: str, gate_x1: str, s: ErrorElementSizing, steer: bool = False
) -> list[Device]:
    """A PMOS pair with its tail. ``steer``: its gates reach their inputs through the sign
    switches (NUDGE: as wired, NUDGEB: crossed). Switching the gates, not the drains, keeps
    the pair's own offset on the same side for both signs: a common shift of both clamped
    states (harmless), not a sign-flipping one (a label error: with drain switches, 0.7 mV
    of it failed one XOR seed in four)."""
    tail = f"t{name}"
    g2, g1 = (f"g{name}2", f"g{name}1") if steer else (gate_x2, gate_x1)
    out = [
        Device(f"T{name}", "p", tail, "vbe", "vdd", s.tail_w * units, s.tail_l),
        Device(f"P{name}2", "p", "x2", g2, tail, s.in_w * units, s.in_l),
        Device(f"P{name}1", "p", "x1", g1, tail, s.in_w * units, s.in_l),
    ]
    if steer:  # NMOS pass the 0 .. 0.45 V inputs with 1.35 V of gate drive or more
        sw = (s.switch_w, s.switch_l)
        out += [
            Device(f"S{name}22", "n", g2, "nudge", gate_x2, *sw),
            Device(f"S{name}11", "n", g1, "nudge", gate_x1, *sw),
            Device(f"S{name}21", "n", g2, "nudgeb", gate_x1, *sw),
            Device(f"S{name}12", "n", g1, "nudgeb", gate_x2, *sw),
        ]
    return out


def devices(
    k: float, differential: bool, s: ErrorElementSizing = ErrorElementSizing()
) -> list[Device]:
    """Every transistor of one amplifier (one clamped node), for a nudge weight ``k`` at
    NUDGE high (the sign: which side of the mirror pairs b/c drive)."""
    ua, ub = unit_counts(k)
    # the second stage inverts, so the output's gate sits on the diode's side (x1); the loop
    # then sets gm_a (out - o) = sum of the weighted pairs' gm (V_x2 - V_x1): at +k pair b's
    # x2 gate is the label (lp), pair c's the other output; a negative k starts crossed
    if differential:
        b = ("lp", "lm") if k > 0 else ("lm", "lp")
        c = ("oo", "o") if k > 0 else ("o", "oo")
        weighted = [*input_pair("b", ub, *b, s, True), *input_pair("c", ub, *c, s, True)]
    else:
        b = ("lp", "o") if k > 0 else ("o", "lp")
        weighted = input_pair("b", ub, *b, s, True)
    return [
        *input_pair("a", ua, "o", "out", s, False),
        *weighted,
        Device("ND", "n", "x1", "x1", "0", s.load_w, s.load_l),
        Device("NM", "n", "x2", "x1", "0", s.load_w, s.load_l),
        Device("NCS", "n", "out", "x2", "0", s.cs_w, s.cs_l),
        Device("POL", "p", "out", "vbe", "vdd", s.out_load_w, s.out_load_l),
        Device("CC", "p", "vdd", "x2", "vdd", s.comp_w, s.comp_l),
    ]


def subckt(
    pdk: Pdk, k: float, differential: bool, s: ErrorElementSizing = ErrorElementSizing()
) -> str:
    """``.subckt`` of one amplifier (:data:`PORTS_DIFF` or :data:`PORTS_SINGLE`)."""
    name, ports = (SUBCKT_DIFF, PORTS_DIFF) if differential else (SUBCKT_SINGLE, PORTS_SINGLE)
    return subckt_text(name, ports, drawn_devices(pdk, k, differential, s), pdk)


def realised_k(k: float) -> float:
    """The weight the unit ratio realises (the sign of ``k``)."""
    ua, ub = unit_counts(k)
    return ub / ua if k > 0 else -ub / ua


def fingers(devs: list[Device], w_max: float, grid: float) -> list[Device]:
    """Devices wider than ``w_max`` (the widest S/D diffusion the rules allow one contact
    column) as equal parallel fingers ``<name>_<i>`` on the manufacturing ``grid``: the form
    the layout draws, so simulation and LVS use it too (LVS combines the fingers); a
    resistor and a device drawn ``whole`` stay one."""
    out = []
    for d in devs:
        n = max(1, math.ceil(d.w / w_max - 1e-9))
        if n == 1 or d.kind == "r" or d.whole:  # a resistor is one strip, however wide
            out.append(d)
            continue
        w = round(round(d.w / n / grid) * grid, 6)
        out += [replace(d, name=f"{d.name}_{i}", w=w) for i in range(n)]
    return out


def as_drawn(devs: list[Device], pdk: Pdk) -> list[Device]:
    """``devs`` as ``pdk`` draws them: no channel shorter than its shortest
    (:func:`twinedge.circuits.mirror.at_shortest_channel`), wide devices in fingers."""
    return fingers(at_shortest_channel(devs, pdk), pdk.rules.sd_max_width, pdk.grid_um)


def drawn_block(
    pdk: Pdk, name: str, ports: tuple[str, ...], devs: list[Device], channel: tuple[str, ...]
) -> ClCircuit:
    """A periphery circuit as the two-row block placer takes it: ``devs`` as drawn on
    ``pdk``, its ports and ground global nets (a via stack each), ``channel`` their tracks'
    order."""
    return ClCircuit(name, tuple(as_drawn(devs, pdk)), (*ports, "0"), channel)


def drawn_devices(
    pdk: Pdk, k: float, differential: bool, s: ErrorElementSizing = ErrorElementSizing()
) -> list[Device]:
    """:func:`devices` as drawn on ``pdk``."""
    return as_drawn(devices(k, differential, s), pdk)


def block_circuit(
    pdk: Pdk, k: float, differential: bool, s: ErrorElementSizing = ErrorElementSizing()
) -> ClCircuit:
    """One amplifier as the two-row block placer takes it: its ports as global nets (a via
    stack each), quiet DC tracks between the label/output tracks and the switch controls."""
    ports = PORTS_DIFF if differential else PORTS_SINGLE
    channel = ("0", "vdd", "vbe", "nudge", "nudgeb", "lp", "lm", "o", "oo", "out")
    return ClCircuit(
        name=SUBCKT_DIFF if differential else SUBCKT_SINGLE,
        devices=tuple(drawn_devices(pdk, k, differential, s)),
        globals=(*ports, "0"),
        channel=tuple(n for n in channel if n in (*ports, "0")),
    )
