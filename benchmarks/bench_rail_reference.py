"""A design's boundary levels made on chip by one poly resistor ladder
(twinedge/circuits/rail_reference.py): the levels are the chip's rails (its pin plan's:
inputs' levels, constants, the label level) plus any ``--extra`` (e.g. the reset level); the
ladder is sized from the PDK's resistor model for ``--current`` at ``--vdd``, then its taps
are measured at every corner, and it is laid out (block size; LVS against its circuit; DRC
with ``--drc``). The table is docs/periphery.md's ("A learning chip on GF180MCU").

    .venv/bin/python benchmarks/bench_rail_reference.py designs/xor_4x4_cl_gf180.yaml \
        --extra VRESET=1.6 --drc
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import astuple
from pathlib import Path

import twinedge.pdk
from twinedge.characterise.rail_reference import (
    LadderConditions,
    characterise_ladder,
    size_ladder,
)
from twinedge.spec import load_spec
from twinedge.spec.pinplan import rail_levels


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("spec")
    ap.add_argument("--vdd", type=float, default=3.3)
    ap.add_argument("--current", type=float, default=15e-6)
    ap.add_argument("--w", type=float, default=1.0, help="strip width (um)")
    ap.add_argument("--extra", nargs="*", default=[], help="NAME=VOLTS levels to add")
    ap.add_argument("--drc", action="store_true")
    a = ap.parse_args()
    t0 = time.perf_counter()
    spec = load_spec(a.spec)
    ds = spec.dataset
    levels = rail_levels(spec.design, ds.inputs, ds.labels)
    for item in a.extra:
        name, volts = item.split("=")
        levels[name] = float(volts)
    levels = {n.lower(): v for n, v in levels.items()}
    pdk = twinedge.pdk.get(spec.design.pdk)
    cond = LadderConditions(tuple(sorted(levels.items(), key=lambda kv: kv[1])), a.vdd,
                            a.current, a.w)  # fmt: skip
    c = characterise_ladder(pdk, cond)
    print(f"{spec.design.name} on {pdk.name}: ladder at {a.vdd:g} V, {a.current * 1e6:g} uA "
          f"target, strips {a.w:g} um wide: {c.strip_ohm_per_um:.1f} ohm/um + "
          f"{c.strip_head_ohm:.1f} ohm (heads); {c.current_a * 1e6:.2f} uA, "
          f"{c.power_w * 1e6:.1f} uW at tt")  # fmt: skip
    print("\n| stretch | strips x length (um) |")
    print("|---|---|")
    for s in c.stretches:
        print(f"| {s['lo']} -> {s['hi']} | {s['strips']} x {s['l_um']:g} |")
    taps = sorted(levels, key=levels.get)
    print("\n| corner | " + " | ".join(f"{t} ({levels[t]:g} V)" for t in taps)
          + " | worst error | common scale | ratio error |")  # fmt: skip
    print("|---" * (len(taps) + 4) + "|")
    for corner, got in c.corner_levels.items():
        cells = " | ".join(f"{got[t]:.4f}" for t in taps)
        print(
            f"| {corner} | {cells} | {c.corner_max_error_v[corner] * 1e3:.2f} mV | "
            f"{c.corner_scale[corner]:.4f} | {c.corner_ratio_error[corner] * 100:.2f} % |"
        )
    twinedge.pdk.activate(pdk.name)
    from twinedge.cells import periphery
    from twinedge.cells.gds import write_gds
    from twinedge.verify.drc import run_drc
    from twinedge.verify.lvs import run_block_lvs

    stretches = tuple(astuple(s) for s in size_ladder(pdk, cond))
    comp = periphery.rail_reference_block(stretches, a.w)
    cc = periphery.rail_reference_circuit(stretches, a.w)
    with tempfile.TemporaryDirectory() as tmp:
        gds = write_gds(comp, Path(tmp) / "ladder.gds")
        lvs = run_block_lvs(gds, list(cc.globals), list(cc.devices), pdk, Path(tmp) / "lvs")
        line = (f"\nlayout: {comp.info['length']:g} x {comp.info['height']:g} um; "
                f"LVS {'match' if lvs.match else 'MISMATCH'}")  # fmt: skip
        if a.drc:
            drc = run_drc(gds, Path(tmp) / "drc", pdk)
            line += f"; DRC {drc.violations} violations ({drc.rules_checked} rules)"
    print(line)
    print(f"({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
