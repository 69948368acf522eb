"""The rails' references on chip: a poly resistor ladder from VDD to ground, tapped at every
boundary level the network needs (inputs' high levels, constants, the label level; the
reset level where the caller adds it, as ``bench_rail_reference.py --extra`` does), for a
shuttle whose tiles bring no analog level in (TinyTapeout's GF180MCU tiles; docs/periphery.md,
"A learning chip on GF180MCU").

Why a ladder of one resistor type: its taps are ratios of the supply set by the strips'
lengths, which the process moves together (every strip's sheet resistance is the same), so
the levels move with the supply only, and together: XOR learns with every boundary level
scaled by 0.8-1.2 (``benchmarks/bench_rail_scale.py``). A diode string cannot make 0.11 V,
and transistors in triode follow their own corner. The taps drive only gates (the rail
buffers' input pairs, the label drivers' switches), so the ladder's current is a power
budget, not a load.

Each stretch between two taps is one or more equal strips of the PDK's poly resistor in
series (at most ``max_strip_um`` long each, so the block stays a row of modest strips); the
lengths come from :func:`twinedge.characterise.rail_reference.size_ladder` (the model's
resistance of a strip, heads included). Sizes in micrometres.

Each tap also carries a capacitor (a MOS plate with its gate on the tap, drawn whole: NMOS
on ground for a high tap, PMOS on VDD for a low one, so that its channel is inverted). The
taps drive only gates, but some of those switch: the digital read-out's reference
conversions put its comparator's input onto a tap, the reset puts the floor line onto
VRESET's, and the charge they drew kicked every tap through the ladder (measured in the
GF180MCU chip's transient: VRESET 0.96 V down, and the 0.45 V tap that the regulator and
VIN_HI's buffer read with it, so VDD and VIN_HI moved). With :data:`TAP_CAP` (~2 pF)
per tap the kick fell to ~50 mV on VRESET (1 pF: 88 mV); the regulator,
which multiplies its tap by four, also reads it through a low-pass (circuits/regulator.py).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass

from twinedge.circuits.mirror import Device, subckt_text

SUBCKT = "twinedge_rail_reference"
TAP_CAP = (20.0, 23.0)  # each tap's capacitor (W, L um): 460 um^2 of gate, ~2 pF
# a tap above this share of the supply gets an NMOS plate (gate on the tap, channel on
# ground: inverted from ~1.2 V at 3.3 V), a lower one a PMOS plate (channel on the supply)
NMOS_CAP_FRACTION = 0.36
SUPPLY = "vdd"
GROUND = "0"


@dataclass(frozen=True)
class Stretch:
    """The ladder between two neighbouring nets: ``strips`` equal strips of ``l_um``."""

    lo: str
    hi: str
    strips: int
    l_um: float


def stretches_of(levels: Mapping[str, float], vdd: float) -> list[tuple[str, str, float]]:
    """(lower net, upper net, volts across) from ground up to VDD through every tap; taps
    must lie strictly between 0 and ``vdd`` and differ."""
    taps = sorted(levels.items(), key=lambda kv: kv[1])
    volts = [v for _, v in taps]
    if not taps or volts[0] <= 0.0 or volts[-1] >= vdd or len(set(volts)) != len(volts):
        raise ValueError(
            f"ladder taps {dict(taps)}: distinct levels strictly between 0 and {vdd:g} V"
        )
    nets = [(GROUND, 0.0), *taps, (SUPPLY, vdd)]
    return [(lo, hi, vh - vl) for (lo, vl), (hi, vh) in itertools.pairwise(nets)]


def strips_for(l_total: float, max_strip_um: float) -> int:
    return max(1, math.ceil(l_total / max_strip_um - 1e-9))


def devices(
    stretches: list[Stretch], w_um: float, tap_cap: tuple[float, float] = TAP_CAP
) -> list[Device]:
    """The ladder's strips from ground up: ``R<lower net>_<k>``, inner nets ``<upper>_<k>``;
    each tap's capacitor ``C<tap>``, ``tap_cap`` (W, L; (0, 0): none), the NMOS ones first,
    the PMOS ones last."""
    out: list[Device] = []
    for s in stretches:
        nets = [s.lo, *(f"{s.hi}_{k}" for k in range(1, s.strips)), s.hi]
        for k in range(s.strips):
            lo, hi = nets[k], nets[k + 1]
            out.append(Device(f"R{s.lo}_{k}", "r", hi, hi, lo, w_um, s.l_um))
    caps = [
        Device(f"C{t}", "n", GROUND, t, GROUND, *tap_cap, whole=True)
        if high else Device(f"C{t}", "p", SUPPLY, t, SUPPLY, *tap_cap, whole=True)
        for t, high in _high_taps(stretches).items() if min(tap_cap) > 0
    ]  # fmt: skip
    # the NMOS plates first: the block's substrate tap, at its left end, must have n+
    # diffusion near it (GF180MCU's DF.14)
    return [d for d in caps if d.kind == "n"] + out + [d for d in caps if d.kind == "p"]


def _high_taps(stretches: list[Stretch]) -> dict[str, bool]:
    """Each tap -> whether it sits above :data:`NMOS_CAP_FRACTION` of the supply (its share
    of the ladder's strip length below it: equal strips of one material)."""
    total = sum(s.strips * s.l_um for s in stretches)
    below, out = 0.0, {}
    for s in stretches:
        below += s.strips * s.l_um
        if s.hi != SUPPLY:
            out[s.hi] = below / total > NMOS_CAP_FRACTION
    return out


def ports(stretches: list[Stretch]) -> tuple[str, ...]:
    """VDD then the taps, lowest first."""
    return (SUPPLY, *(s.hi for s in stretches if s.hi != SUPPLY))


def subckt(
    pdk,
    stretches: list[Stretch],
    w_um: float,
    tap_cap: tuple[float, float] = TAP_CAP,
) -> str:
    """``.subckt twinedge_rail_reference vdd <taps>`` (ground is node 0)."""
    return subckt_text(SUBCKT, ports(stretches), devices(stretches, w_um, tap_cap), pdk)
