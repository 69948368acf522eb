"""The blocks a chip makes for itself on a tile without analog pins (TinyTapeout's GF180MCU),
sized for one design (docs/periphery.md, "A learning chip on GF180MCU"):

* one reference ladder from VDD33, tapped at every level the chip reads: each buffered
  rail's reference, the label level and VRESET (gates only: straight from their taps), the
  regulator's reference and the read-out's two calibration references; one tap per distinct
  voltage, shared by every use of it;
* the constant-gm reference that biases the 3.3 V blocks;
* a rail buffer per rail that carries the network's current, its output stage sized to
  that rail's largest sourced and sunk currents (:func:`twinedge.learn.rail_loads.rail_loads`);
* the regulator making the circuits' VDD, its pass device sized for its load at ss;
* the digital read-out at its default sizes.

Each block's sizing is the one its own bench characterises (benchmarks/bench_*.py).
"""

from __future__ import annotations

import re
from dataclasses import astuple

from twinedge.characterise import chip_board as board
from twinedge.characterise.constant_gm import reference_for
from twinedge.characterise.memory import ABSTOL
from twinedge.characterise.mirror import model_header, run_ngspice
from twinedge.characterise.rail_buffer import RailBufferConditions, size_output
from twinedge.characterise.rail_reference import LadderConditions, size_ladder
from twinedge.characterise.regulator import RegulatorConditions, size_pass
from twinedge.characterise.slope_readout import SlopeConditions
from twinedge.circuits.chip import (
    SUPPLY_33,
    ChipWiring,
    OnChipBlocks,
    address_pin,
    bit_pin,
    instances,
    subckts,
)
from twinedge.circuits.rail_buffer import RailBufferSizing
from twinedge.learn.rail_loads import rail_loads
from twinedge.pdk import get as get_pdk
from twinedge.pdk.tinytapeout import SHUTTLE
from twinedge.spec.loader import LoadedSpec
from twinedge.spec.pinplan import PinPlan

VBE = 2.2  # the 3.3 V blocks' tail bias (the benches')
LADDER_A = 15e-6  # the ladder's current: 49.5 uW at 3.3 V (bench_rail_reference.py)
LADDER_W = 1.0  # its strips' width (um)


def is_direct(rail: str) -> bool:
    """A level that meets gates only (the label levels, VRESET): straight from its tap."""
    return rail.startswith("VLABEL") or rail == "VRESET"


def tap_names(uses: dict[str, float]) -> tuple[tuple[tuple[str, float], ...], dict[str, str]]:
    """One tap per distinct voltage, named after the level read straight from it (VLABEL,
    VRESET: their chip nets) or else ``ref_<first use>``; (taps low first, use -> tap net).
    Two levels read straight at one voltage would be one net under two names: refused. So is
    another use at VRESET's level: the reset switches the floor line (every cell's floor
    gate) onto VRESET's tap, and the charge it draws would kick whatever shares it."""
    at_reset = [u for u, v in uses.items() if u != "VRESET" and "VRESET" in uses
                and round(v, 9) == round(uses["VRESET"], 9)]  # fmt: skip
    if at_reset:
        raise ValueError(f"VRESET ({uses['VRESET']:g} V) needs a tap of its own; "
                         f"{', '.join(at_reset)} sit at its level")  # fmt: skip
    direct: dict[float, str] = {}
    for use, v in uses.items():
        if is_direct(use) and direct.setdefault(round(v, 9), use) != use:
            raise ValueError(f"{use} and {direct[round(v, 9)]} are both {v:g} V: one net, "
                             "two names; move one level")  # fmt: skip
    by_volts: dict[float, str] = dict(direct)
    for use, v in sorted(uses.items()):
        by_volts.setdefault(round(v, 9), f"ref_{use.lower()}")
    taps = tuple(sorted(((n, v) for v, n in by_volts.items()), key=lambda t: t[1]))
    return taps, {use: by_volts[round(v, 9)] for use, v in uses.items()}


def size_on_chip(
    spec: LoadedSpec, pp: PinPlan, vreset: float, vbe: float = VBE,
    loads: dict[float, tuple[float, float]] | None = None,
) -> OnChipBlocks:  # fmt: skip
    """The chip's own rails, supply and read-out for ``spec`` and its pin plan (whose rails
    are on chip), the reset level at ``vreset``, from the shuttle's VDPWR; ``loads``: each
    rail's (sourced, sunk) A by level (default :func:`rail_loads`: the network's, which
    needs the design's device table)."""
    if not pp.rails_on_chip:
        raise ValueError(f"{pp.design}: its pin plan takes its rails from the board")
    pdk = get_pdk(spec.design.pdk)
    vdd33 = SHUTTLE[pdk.install_name].vdpwr
    loads = {round(v, 9): ab for v, ab in (loads or rail_loads(spec)).items()}
    buffered = {r: v for r, v in pp.rails.items() if round(v, 9) in loads}
    unserved = [r for r in pp.rails if r not in buffered and not is_direct(r)]
    if unserved:
        raise ValueError(f"{pp.design}: rails {unserved} carry no current and meet no gate")
    reg = RegulatorConditions(level=pdk.vdd, vdd=vdd33, vbe=vbe)
    slope = SlopeConditions(vdd=vdd33)
    uses = {**buffered, **{r: v for r, v in pp.rails.items() if is_direct(r)},
            "VRESET": vreset, "regulator": reg.ref, "slope_lo": slope.vlo,
            "slope_hi": slope.vhi}  # fmt: skip
    taps, refs = tap_names(uses)
    ports = tuple((f"t{k + 1}", v) for k, (_, v) in enumerate(taps))
    ladder = size_ladder(pdk, LadderConditions(ports, vdd33, LADDER_A, LADDER_W))
    buffers = []
    for rail, v in buffered.items():
        src, snk = loads[round(v, 9)]
        drive = "source" if src >= snk else "sink"
        cond = RailBufferConditions(level=v, i_source=src, i_sink=snk, vbe=vbe, vdd=vdd33,
                                    sizing=RailBufferSizing(drive=drive))  # fmt: skip
        buffers.append((rail, astuple(size_output(pdk, cond))))
    return OnChipBlocks(
        taps=taps,
        ladder=tuple(astuple(s) for s in ladder),
        ladder_w=LADDER_W,
        reference=astuple(reference_for(pdk, vdd33, vbe)),
        buffers=tuple(buffers),
        regulator=astuple(size_pass(pdk, reg)),
        slope=astuple(slope.sizing),
        refs={rail: refs[rail] for rail in buffered}
        | {k: refs[k] for k in ("regulator", "slope_lo", "slope_hi")},
    )


def operating_point(w: ChipWiring, pp: PinPlan, pdk_name: str, corner: str = "tt") -> dict:
    """The chip at rest, at DC (ngspice ``op`` on its whole netlist, only its pins driven:
    VDD33 at the shuttle's VDPWR, the clock and TRAIN low, RST_N and ENA high, the read-out
    held in reset, every bit and address pin low): the levels its own blocks make (VDD from
    the regulator, each rail, VRESET, the 3.3 V blocks' bias) and the supply current. What
    the board would see before it clocks anything."""
    if w.on_chip is None:
        raise ValueError(f"{pp.design}: the board makes this chip's rails")
    pdk = get_pdk(pdk_name)
    v33 = board.pin_high(pdk, w)
    pins = {"TRAIN": 0.0, "ENA": v33, "RST_N": v33, "PHASE": 0.0, "LABEL": 0.0,
            "RRST": v33, "RCAL": 0.0, "RHI": 0.0}  # fmt: skip
    pins |= {bit_pin(n): 0.0 for n in w.inputs}
    pins |= {address_pin(k): 0.0 for k in range(w.read_map.bits)}
    nets = [*board.own_levels(pdk, w, pp), "vbe_rails"]
    lines = [model_header(pdk, corner, None, "twinedge chip at rest", abstol=ABSTOL,
                          resistor=True).rstrip("\n"),
             subckts(pdk, w).rstrip("\n"), *instances(pdk, w),
             f"Vsupply {SUPPLY_33} 0 {v33!r}",
             *(f"Vpin_{p} {p} 0 {v!r}" for p, v in pins.items()),
             ".control", "set numdgt=8", "op", *(f"print v({n})" for n in nets),
             "print i(vsupply)", "quit 0", ".endc", ".end"]  # fmt: skip
    out = run_ngspice("\n".join(lines) + "\n")

    def printed(what: str) -> float:
        m = re.search(rf"^{re.escape(what.lower())}\s*=\s*(\S+)", out, re.M)
        if m is None:
            raise ValueError(f"chip operating point: ngspice printed no {what}")
        return float(m.group(1))

    return {
        "corner": corner,
        "vdd33_v": v33,
        "levels_v": {n: printed(f"v({n})") for n in nets},
        "supply_a": -printed("i(vsupply)"),
    }
