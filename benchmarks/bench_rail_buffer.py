"""Each rail of a design made on chip: the rail buffer (twinedge/circuits/rail_buffer.py)
sized to the currents the design's network draws from that level (benchmarks/
rail_currents.py, the worst over its G states), then characterised with the PDK's models:
load regulation over those currents at every corner (the tails' bias from a string sized
to ``--vbe`` at the buffers' supply, as the chip would make it), Monte Carlo offset,
settling and peak excursion after the load steps, power. The table is docs/periphery.md's
("A learning chip on GF180MCU").

    .venv/bin/python benchmarks/bench_rail_buffer.py designs/xor_4x4_cl_gf180.yaml \
        --vdd 3.3 --vbe 2.2
    .venv/bin/python benchmarks/bench_rail_buffer.py designs/xor_4x4_cl.yaml

``--vdd``: the buffers' supply (default: the PDK's circuits' supply; TinyTapeout's GF180MCU
tiles give 3.3 V); ``--vbe``: their tails' bias (``--constant-gm``: the reference is sized to
the tail current ``--vbe`` gives at tt).
"""

from __future__ import annotations

import argparse
import time
from dataclasses import astuple, replace

from twinedge.characterise.bias import size_strings
from twinedge.characterise.constant_gm import (
    characterise_reference,
    size_reference,
    tail_unit_current,
)
from twinedge.characterise.rail_buffer import (
    CORNERS,
    RailBufferConditions,
    characterise_rail_buffer,
    size_output,
)
from twinedge.circuits.rail_buffer import RailBufferSizing
from twinedge.learn.rail_loads import rail_loads
from twinedge.pdk import get as get_pdk
from twinedge.spec import load_spec


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("spec")
    ap.add_argument("--vdd", type=float, default=None)
    ap.add_argument("--vbe", type=float, default=0.6)
    ap.add_argument("--c-load", type=float, default=1e-12)
    ap.add_argument(
        "--ideal-bias", action="store_true",
        help="vbe from an ideal source (a current reference at the other corners) instead of "
        "a bias string sized to it at the buffers' supply",
    )  # fmt: skip
    ap.add_argument(
        "--constant-gm", action="store_true",
        help="vbe from a constant-gm reference (poly resistor) sized to a tail unit's current "
        "at --vbe, instead of a bias string",
    )  # fmt: skip
    a = ap.parse_args()
    pdk = get_pdk(load_spec(a.spec).design.pdk)
    t0 = time.time()
    string = reference = None
    if a.constant_gm:
        vdd = a.vdd or pdk.vdd
        i_unit = tail_unit_current(pdk, vdd, a.vbe)
        sized_ref = size_reference(pdk, i_unit, vdd)
        reference = astuple(sized_ref)
        ch_ref = characterise_reference(pdk, sized_ref, vdd, i_unit)
        print(f"vbe constant-gm reference: R1 {sized_ref.r_w:g} x {sized_ref.r_l:g} um; per "
              f"tail unit {i_unit * 1e6:.2f} uA at tt; corners (vbe V, uA): "
              + ", ".join(f"{c} {ch_ref.corner_vbe[c]:.3f} / "
                          f"{ch_ref.corner_i_unit_a[c] * 1e6:.2f}" for c in CORNERS)
              + f"; starts at every corner: {all(ch_ref.corner_started.values())}; "
              f"{ch_ref.corner_supply_a['tt'] * vdd * 1e6:.1f} uW")  # fmt: skip
    elif not a.ideal_bias:
        (sized,) = size_strings(pdk, {"vbe": a.vbe}, vdd=a.vdd)
        string = astuple(sized)
        print(f"vbe string: {sized}")
    print("| rail | drive | sources / sinks up to | r_out (ohm) | worst move over the load, "
          "tt / worst corner | offset tt, worst corner | worst error from the reference over "
          "the load, any corner | MC sigma | settles | peak | power |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for level, (src, snk) in rail_loads(load_spec(a.spec)).items():
        drive = "source" if src >= snk else "sink"
        cond = RailBufferConditions(
            level=level, i_source=src, i_sink=snk, vbe=a.vbe, vdd=a.vdd, c_load=a.c_load,
            sizing=RailBufferSizing(drive=drive), bias_string=string, bias_reference=reference,
        )  # fmt: skip
        cond = replace(cond, sizing=size_output(pdk, cond))
        ch = characterise_rail_buffer(pdk, cond)
        worst_c = max(CORNERS, key=lambda c: ch.corner_worst_move_v[c])
        off_c = max(CORNERS, key=lambda c: abs(ch.corner_offset_v[c]))
        err_c = max(CORNERS, key=lambda c: ch.corner_max_error_v[c])
        print(
            f"| {level:g} V | {drive} (MF/MP {cond.sizing.drive_w:g} um) "
            f"| {src * 1e6:.0f} / {snk * 1e6:.0f} uA | {ch.r_out_ohm:.2f} "
            f"| {ch.worst_move_v * 1e3:.2f} / {ch.corner_worst_move_v[worst_c] * 1e3:.2f} mV "
            f"({worst_c}) | {ch.offset_v * 1e3:+.2f}, {ch.corner_offset_v[off_c] * 1e3:+.2f} mV "
            f"({off_c}) | {ch.corner_max_error_v[err_c] * 1e3:.2f} mV ({err_c}) "
            f"| {ch.mc_offset_sigma_v * 1e3:.2f} mV | {ch.settle_s * 1e9:.0f} ns "
            f"| {ch.peak_v * 1e3:.0f} mV | {ch.power_w * 1e6:.0f} uW |"
        )
    bias = "ideal" if a.ideal_bias else "from its string"
    bias = "from a constant-gm reference" if a.constant_gm else bias
    print(f"({pdk.name}, buffers at {a.vdd or pdk.vdd:g} V, vbe {a.vbe:g} V {bias}, "
          f"{a.c_load * 1e12:g} pF on each rail; {time.time() - t0:.0f} s)")  # fmt: skip


if __name__ == "__main__":
    main()
