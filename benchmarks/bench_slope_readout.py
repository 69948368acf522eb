"""The digital read-out (twinedge/circuits/slope_readout.py) as a TinyTapeout board would use
it: READ at levels from 0.1 to 1.7 V and the two ladder references, each one's edge time on
the output pin after the ramp is let go, at every corner; the board's two-point calibration
turns times back into levels (worst error), one tick of its 125 MHz timer is the
resolution. Bias from the chip's constant-gm reference. The table is docs/periphery.md's
("A learning chip on GF180MCU").

    .venv/bin/python benchmarks/bench_slope_readout.py designs/xor_4x4_cl_gf180.yaml
"""

from __future__ import annotations

import argparse
import time
from dataclasses import astuple

import twinedge.pdk
from twinedge.characterise.constant_gm import reference_for
from twinedge.characterise.slope_readout import (
    CORNERS,
    TICK_S,
    SlopeConditions,
    characterise_slope_readout,
)
from twinedge.spec import load_spec


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("spec")
    ap.add_argument("--vdd", type=float, default=3.3)
    ap.add_argument("--vbe", type=float, default=2.2)
    a = ap.parse_args()
    t0 = time.time()
    pdk = twinedge.pdk.get(load_spec(a.spec).design.pdk)
    cond = SlopeConditions(vdd=a.vdd, bias_reference=astuple(reference_for(pdk, a.vdd, a.vbe)))
    ch = characterise_slope_readout(pdk, cond)
    lo, hi = cond.levels[0], cond.levels[-1]
    print(f"{pdk.name}, {a.vdd:g} V; references {cond.vlo:g} / {cond.vhi:g} V; levels "
          f"{lo:g}-{hi:g} V; timer tick {TICK_S * 1e9:g} ns\n")  # fmt: skip
    print("| corner | ramp (V/us) | edge at the lowest / highest level | worst error after "
          "calibration | one tick |")  # fmt: skip
    print("|---|---|---|---|---|")
    for c in CORNERS:
        t = ch.corner_times_s[c]
        print(f"| {c} | {ch.corner_slope_v_per_s[c] * 1e-6:.3f} | {t[0] * 1e9:.0f} / "
              f"{t[-1] * 1e9:.0f} ns | {ch.corner_max_error_v[c] * 1e3:.2f} mV | "
              f"{ch.corner_lsb_v[c] * 1e3:.2f} mV |")  # fmt: skip
    twinedge.pdk.activate(pdk.name)
    from twinedge.cells import periphery

    comp = periphery.slope_readout_block()
    print(
        f"\nfull scale {ch.full_scale_s * 1e6:.2f} us (slowest corner); block "
        f"{comp.info['length']:g} x {comp.info['height']:g} um ({time.time() - t0:.0f} s)"
    )


if __name__ == "__main__":
    main()
